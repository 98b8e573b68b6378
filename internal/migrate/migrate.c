/*
 * migrate.c — golang-migrate-compatible migrations on libpq.
 *
 * Owns: the migrator (one PGconn holding golang-migrate's session advisory
 * lock, the quoted name of schema_migrations, the scanned file set and the
 * last error message). Everything is malloc-owned by the migrator and freed
 * in rl_migrate_free; every PGresult is cleared before the function that got
 * it returns.
 *
 * What is copied from golang-migrate v4 (database/postgres/postgres.go,
 * database/util.go, migrate.go) so that a team can switch tools either way:
 *   - lock key GenerateAdvisoryLockId(databaseName, schema, table), where
 *     databaseName is the URL path ("/greenlight") when the DSN is a URL,
 *     and `SELECT pg_advisory_lock($1)` / `SELECT pg_advisory_unlock($1)`;
 *   - the table: created when information_schema does not show it, as
 *     (version bigint not null primary key, dirty boolean not null);
 *   - SetVersion: TRUNCATE, then INSERT (version, dirty) unless the version
 *     is NilVersion and clean, in one transaction;
 *   - each step records (target, dirty=true), runs the file, then records
 *     (target, dirty=false), where target is the version the step leads to
 *     (for a down step, the previous version, or NilVersion);
 *   - a dirty database refuses up/down/goto with "Dirty database version N.
 *     Fix and force version."
 * Redlight adds: the file and the clean mark run in one transaction, so a
 * failed file leaves nothing behind but the dirty mark.
 *
 * This file connects, keeps schema_migrations and runs the steps; the pure
 * parsing (parse.c), the directory (files.c), the error message and round
 * trips (sql.c) and the advisory lock (lock.c) are beside it, behind
 * migrate_int.h.
 */
#include "internal/migrate/migrate.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/base/parse.h"
#include "internal/data/conn.h"
#include "internal/migrate/migrate_int.h"

static void
notice_receiver(void *arg, const PGresult *res)
{
    struct rl_migrator *m = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (m->opts.warn != NULL && sev != NULL && strcmp(sev, "WARNING") == 0) {
        fputs(PQresultErrorMessage(res), m->opts.warn);
    }
}

/* ---- state --------------------------------------------------------------- */

static void
fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

/* golang-migrate's SetVersion. With own_tx it is its own transaction;
 * without, it joins the caller's. */
static enum rl_err
set_version(struct rl_migrator *m, int64_t version, bool dirty, bool own_tx)
{
    enum rl_err err;
    char sql[512];
    char vbuf[24];
    const char *params[2];

    if (own_tx &&
        (err = rl_migrate_exec(m, "begin", "BEGIN", 0, NULL)) != RL_OK) {
        return err;
    }
    snprintf(sql, sizeof(sql), "TRUNCATE %s", m->qtable);
    err = rl_migrate_exec(m, "cannot reset schema_migrations", sql, 0, NULL);
    if (err == RL_OK && (version >= 0 || dirty)) {
        fmt_i64(vbuf, sizeof(vbuf), version);
        params[0] = vbuf;
        params[1] = dirty ? "true" : "false";
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s (version, dirty) VALUES ($1, $2)", m->qtable);
        err = rl_migrate_exec(m, "cannot record the version", sql, 2, params);
    }
    if (own_tx) {
        if (err == RL_OK) {
            err = rl_migrate_exec(m, "cannot commit the version", "COMMIT", 0,
                                  NULL);
        }
        if (err != RL_OK) {
            rl_migrate_rollback(m);
        }
    }
    return err;
}

enum rl_err
rl_migrate_version(struct rl_migrator *m, int64_t *version, bool *dirty)
{
    *version = RL_MIGRATE_NIL_VERSION;
    *dirty = false;
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT version, dirty FROM %s LIMIT 1",
             m->qtable);
    PGresult *res =
        rl_migrate_query(m, "cannot read schema_migrations", sql, 0, NULL);
    if (res == NULL) {
        return rl_migrate_conn_err(m);
    }
    if (PQntuples(res) > 0) {
        int64_t v;
        if (rl_parse_i64(PQgetvalue(res, 0, 0), RL_PARSE_STRTOL, INT64_MIN,
                         INT64_MAX, NULL, &v) != RL_OK) {
            rl_migrate_msg_add(m, "schema_migrations holds a bad version: %s",
                               PQgetvalue(res, 0, 0));
            PQclear(res);
            return RL_ERR_DB;
        }
        *version = v;
        *dirty = PQgetvalue(res, 0, 1)[0] == 't';
    }
    PQclear(res);
    return RL_OK;
}

/* Reads the state and refuses a dirty database, like golang-migrate. */
static enum rl_err
clean_version(struct rl_migrator *m, int64_t *version)
{
    bool dirty;
    enum rl_err err = rl_migrate_version(m, version, &dirty);
    if (err != RL_OK) {
        return err;
    }
    if (dirty) {
        rl_migrate_msg_add(
            m, "Dirty database version %" PRId64 ". Fix and force version.",
            *version);
        return RL_ERR_DIRTY;
    }
    return RL_OK;
}

/* ---- connecting ---------------------------------------------------------- */

struct rl_migrator *
rl_migrate_new(const struct rl_migrate_opts *opts)
{
    struct rl_migrator *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->opts = *opts;
    return m;
}

/* golang-migrate's ensureVersionTable. */
static enum rl_err
ensure_table(struct rl_migrator *m, const char *schema)
{
    const char *params[2] = {schema, RL_MIGRATE_TABLE};
    PGresult *res =
        rl_migrate_query(m, "cannot look for schema_migrations",
                         "SELECT COUNT(1) FROM information_schema.tables "
                         "WHERE table_schema = $1 AND table_name = $2 LIMIT 1",
                         2, params);
    if (res == NULL) {
        return rl_migrate_conn_err(m);
    }
    bool exists = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    PQclear(res);
    if (exists) {
        return RL_OK;
    }
    char sql[512];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS %s (version bigint not null primary "
             "key, dirty boolean not null)",
             m->qtable);
    return rl_migrate_exec(m, "cannot create schema_migrations", sql, 0, NULL);
}

enum rl_err
rl_migrate_connect(struct rl_migrator *m)
{
    enum rl_err err;
    rl_migrate_msg_clear(m);
    /* As PQconnectdb: blocking, bounded by libpq's connect_timeout only,
     * libpq's whole message (msg_add_trimmed keeps 4096 bytes of it). */
    char why[4097];
    err = rl_pg_connectdb(m->opts.dsn, NULL, NULL, &m->conn, why, sizeof(why));
    if (err == RL_ERR_NOMEM) {
        rl_migrate_msg_add(m, "out of memory");
        return RL_ERR_NOMEM;
    }
    if (err != RL_OK) {
        rl_migrate_msg_add(m, "cannot connect to the database: ");
        rl_migrate_msg_add_trimmed(m, why);
        return RL_ERR_CONN;
    }
    PQsetNoticeReceiver(m->conn, notice_receiver, m);

    PGresult *res = rl_migrate_query(
        m, "cannot read the current schema",
        "SELECT current_database(), current_schema()", 0, NULL);
    if (res == NULL) {
        return rl_migrate_conn_err(m);
    }
    if (PQgetisnull(res, 0, 1)) {
        rl_migrate_msg_add(
            m, "no schema: current_schema() is null (check search_path)");
        PQclear(res);
        return RL_ERR_DB;
    }
    const char *current_db = PQgetvalue(res, 0, 0);
    const char *schema = PQgetvalue(res, 0, 1);

    char *dbname = rl_migrate_lock_dbname(m->opts.dsn, current_db);
    char *qschema = PQescapeIdentifier(m->conn, schema, strlen(schema));
    size_t qlen = qschema ? strlen(qschema) + sizeof(RL_MIGRATE_TABLE) + 4 : 0;
    m->qtable = qschema ? malloc(qlen) : NULL;
    if (dbname == NULL || m->qtable == NULL) {
        free(dbname);
        PQfreemem(qschema);
        PQclear(res);
        rl_migrate_msg_add(m, "out of memory");
        return RL_ERR_NOMEM;
    }
    snprintf(m->qtable, qlen, "%s.\"%s\"", qschema, RL_MIGRATE_TABLE);
    PQfreemem(qschema);

    const char *names[2] = {schema, RL_MIGRATE_TABLE};
    m->lock_key = rl_migrate_lock_id(dbname, names, 2);
    snprintf(m->lock_key_str, sizeof(m->lock_key_str), "%" PRIu32, m->lock_key);
    free(dbname);

    err = rl_migrate_take_lock(m);
    if (err == RL_OK) {
        err = ensure_table(m, schema);
    }
    PQclear(res);
    return err;
}

/* ---- running files ----------------------------------------------------- */

static enum rl_err
load_set(struct rl_migrator *m)
{
    char buf[1024];
    if (m->set_loaded) {
        return RL_OK;
    }
    enum rl_err err =
        rl_migrate_scan_dir(m->opts.dir, &m->set, buf, sizeof(buf));
    if (err != RL_OK) {
        rl_migrate_free_set(&m->set);
        rl_migrate_msg_add(m, "%s", buf);
        return err;
    }
    m->set_loaded = true;
    return RL_OK;
}

/* Runs a whole file with the simple query protocol, which accepts many
 * statements. COPY has no data source here, so it is refused. */
static PGresult *
exec_script(struct rl_migrator *m, const char *text, bool *copy_refused)
{
    PGresult *res = PQexec(m->conn, text);
    ExecStatusType st = PQresultStatus(res);
    *copy_refused = false;
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        *copy_refused = true;
        PQclear(res);
        if (st == PGRES_COPY_IN) {
            (void)PQputCopyEnd(m->conn, "COPY is not supported in "
                                        "migration files");
        } else {
            char *row;
            while (PQgetCopyData(m->conn, &row, 0) > 0) {
                PQfreemem(row);
            }
        }
        res = NULL;
        PGresult *r;
        while ((r = PQgetResult(m->conn)) != NULL) {
            PQclear(r);
        }
    }
    return res;
}

/* Describes a failed migration file: what, where, and how to recover. */
static void
describe_file_error(struct rl_migrator *m, const PGresult *res,
                    const char *what, const char *path, const char *text)
{
    rl_migrate_describe_error(m, res, what);
    rl_migrate_msg_add(m, "\n  file: %s", path);
    const char *pos =
        res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (pos != NULL && text != NULL) {
        int64_t p;
        if (rl_parse_i64(pos, RL_PARSE_STRTOL, 1, LONG_MAX, NULL, &p) ==
            RL_OK) {
            long line;
            long col;
            rl_migrate_line_col(text, p, &line, &col);
            rl_migrate_msg_add(m, ", line %ld, column %ld", line, col);
        }
    }
    rl_migrate_describe_extra(m, res);
}

/* One golang-migrate step: mark `target` dirty, run the file, mark it clean.
 * `from` is the version before the step, for the recovery advice. */
static enum rl_err
run_step(struct rl_migrator *m, const struct rl_migration *mig, bool up,
         int64_t from, int64_t target)
{
    const char *path = up ? mig->up_path : mig->down_path;
    const char *name = up ? mig->up_name : mig->down_name;
    char *text = NULL;
    char what[256];
    struct timespec t0;
    struct timespec t1;
    enum rl_err err;

    if (name == NULL) {
        name = up ? mig->down_name : mig->up_name;
    }
    snprintf(what, sizeof(what), "migration %" PRIu64 "/%c %s failed",
             mig->version, up ? 'u' : 'd', name ? name : "");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (path != NULL && (err = rl_migrate_read_file(m, path, &text)) != RL_OK) {
        return err; /* nothing recorded yet */
    }
    if ((err = set_version(m, target, true, true)) != RL_OK) {
        free(text);
        return err;
    }
    if (text == NULL) {
        /* No file for this direction: golang-migrate just moves on. */
        err = set_version(m, target, false, true);
    } else if ((err = rl_migrate_exec(m, "begin", "BEGIN", 0, NULL)) == RL_OK) {
        bool copy_refused;
        PGresult *res = exec_script(m, text, &copy_refused);
        ExecStatusType st = PQresultStatus(res);
        if (copy_refused) {
            rl_migrate_msg_add(m,
                               "%s: COPY is not supported in migration files\n"
                               "  file: %s",
                               what, path);
            err = RL_ERR_DB;
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
                   st != PGRES_EMPTY_QUERY) {
            describe_file_error(m, res, what, path, text);
            err = rl_migrate_conn_err(m);
        }
        PQclear(res);
        if (err == RL_OK) {
            err = set_version(m, target, false, false);
        }
        if (err == RL_OK) {
            res = PQexec(m->conn, "COMMIT");
            if (PQresultStatus(res) != PGRES_COMMAND_OK ||
                strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
                /* e.g. a deferred constraint failing at commit */
                describe_file_error(m, res, what, path, NULL);
                err = rl_migrate_conn_err(m);
            }
            PQclear(res);
        }
        if (err != RL_OK) {
            rl_migrate_rollback(m);
            rl_migrate_msg_add(
                m,
                "\nthe file's transaction was rolled back and "
                "schema_migrations records version %" PRId64
                " as dirty; the schema is still at version %" PRId64
                ": fix the file, run `migrate force %" PRId64
                "`, then migrate again",
                target, from, from);
        }
    }
    free(text);
    if (err != RL_OK) {
        return err;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (m->opts.out != NULL) {
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms < 1000.0) {
            fprintf(m->opts.out, "%" PRIu64 "/%c %s (%.1fms)\n", mig->version,
                    up ? 'u' : 'd', name ? name : "", ms);
        } else {
            fprintf(m->opts.out, "%" PRIu64 "/%c %s (%.2fs)\n", mig->version,
                    up ? 'u' : 'd', name ? name : "", ms / 1e3);
        }
        fflush(m->opts.out);
    }
    return RL_OK;
}

/* Reads a clean state and the file set, and places the current version in
 * it: *cur_idx is -1 for NilVersion. */
static enum rl_err
prepare(struct rl_migrator *m, int64_t *cur, long *cur_idx)
{
    enum rl_err err = clean_version(m, cur);
    if (err == RL_OK) {
        err = load_set(m);
    }
    if (err != RL_OK) {
        return err;
    }
    *cur_idx = -1;
    if (*cur != RL_MIGRATE_NIL_VERSION) {
        *cur_idx = rl_migrate_set_find(&m->set, *cur);
        if (*cur_idx < 0) {
            rl_migrate_msg_add(m,
                               "no migration found for version %" PRId64
                               " (the recorded version) in %s",
                               *cur, m->opts.dir);
            return RL_ERR_INVALID;
        }
    }
    return RL_OK;
}

static enum rl_err
run_up(struct rl_migrator *m, long from_idx, long to_idx, size_t limit,
       int64_t cur, size_t *applied)
{
    size_t n = 0;
    enum rl_err err = RL_OK;
    for (long i = from_idx + 1; i <= to_idx && (limit == 0 || n < limit); i++) {
        const struct rl_migration *mig = &m->set.items[i];
        err = run_step(m, mig, true, cur, (int64_t)mig->version);
        if (err != RL_OK) {
            break;
        }
        cur = (int64_t)mig->version;
        n++;
    }
    if (applied != NULL) {
        *applied = n;
    }
    return err;
}

static enum rl_err
run_down(struct rl_migrator *m, long from_idx, long to_idx, size_t limit,
         size_t *applied)
{
    size_t n = 0;
    enum rl_err err = RL_OK;
    for (long i = from_idx; i > to_idx && (limit == 0 || n < limit); i--) {
        const struct rl_migration *mig = &m->set.items[i];
        int64_t target = i > 0 ? (int64_t)m->set.items[i - 1].version
                               : RL_MIGRATE_NIL_VERSION;
        err = run_step(m, mig, false, (int64_t)mig->version, target);
        if (err != RL_OK) {
            break;
        }
        n++;
    }
    if (applied != NULL) {
        *applied = n;
    }
    return err;
}

/* The start of up, down and goto: no message, nothing applied yet, then
 * prepare. */
static enum rl_err
begin_steps(struct rl_migrator *m, size_t *applied, int64_t *cur, long *idx)
{
    rl_migrate_msg_clear(m);
    if (applied != NULL) {
        *applied = 0;
    }
    return prepare(m, cur, idx);
}

enum rl_err
rl_migrate_up(struct rl_migrator *m, size_t limit, size_t *applied)
{
    int64_t cur;
    long idx;
    enum rl_err err = begin_steps(m, applied, &cur, &idx);
    if (err != RL_OK) {
        return err;
    }
    if (m->set.len == 0) {
        rl_migrate_msg_add(m, "no migration files in %s", m->opts.dir);
        return RL_ERR_NOT_FOUND;
    }
    return run_up(m, idx, (long)m->set.len - 1, limit, cur, applied);
}

enum rl_err
rl_migrate_down(struct rl_migrator *m, size_t limit, size_t *applied)
{
    int64_t cur;
    long idx;
    enum rl_err err = begin_steps(m, applied, &cur, &idx);
    if (err != RL_OK) {
        return err;
    }
    return run_down(m, idx, -1, limit, applied);
}

enum rl_err
rl_migrate_goto(struct rl_migrator *m, uint64_t version, size_t *applied)
{
    int64_t cur;
    long idx;
    enum rl_err err = begin_steps(m, applied, &cur, &idx);
    if (err != RL_OK) {
        return err;
    }
    long to = version > INT64_MAX
                  ? -1
                  : rl_migrate_set_find(&m->set, (int64_t)version);
    if (to < 0) {
        rl_migrate_msg_add(m,
                           "no migration found for version %" PRIu64 " in %s",
                           version, m->opts.dir);
        return RL_ERR_NOT_FOUND;
    }
    if (to >= idx) {
        return run_up(m, idx, to, 0, cur, applied);
    }
    return run_down(m, idx, to, 0, applied);
}

enum rl_err
rl_migrate_force(struct rl_migrator *m, int64_t version)
{
    rl_migrate_msg_clear(m);
    if (version < RL_MIGRATE_NIL_VERSION) {
        rl_migrate_msg_add(m, "version must be >= -1");
        return RL_ERR_INVALID;
    }
    return set_version(m, version, false, true);
}

const char *
rl_migrate_errmsg(const struct rl_migrator *m)
{
    return m->errmsg;
}

void
rl_migrate_free(struct rl_migrator *m)
{
    if (m == NULL) {
        return;
    }
    if (m->conn != NULL) {
        rl_migrate_release_lock(m);
        PQfinish(m->conn); /* also drops the lock if unlocking failed */
    }
    free(m->qtable);
    rl_migrate_free_set(&m->set);
    free(m);
}
