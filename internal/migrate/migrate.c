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
 */
#include "internal/migrate/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal/base/parse.h"
#include "internal/base/percent.h"

#define MIGRATIONS_TABLE "schema_migrations"
#define LOCK_SALT 1486364155u /* golang-migrate advisoryLockIDSalt */
#define ERRMSG_MAX 8192
#define TRUNC_MARK " [...]"

struct rl_migrator {
    struct rl_migrate_opts opts;
    PGconn *conn;
    char *qtable; /* "schema"."schema_migrations", quoted by libpq */
    uint32_t lock_key;
    char lock_key_str[16];
    bool locked;
    bool set_loaded;
    struct rl_migration_set set;
    char errmsg[ERRMSG_MAX];
    size_t errlen;
};

/* ---- error messages ---------------------------------------------------- */

static void
msg_clear(struct rl_migrator *m)
{
    m->errmsg[0] = '\0';
    m->errlen = 0;
}

static void msg_add(struct rl_migrator *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends to the error message; past ERRMSG_MAX the message ends in a
 * visible truncation mark rather than being cut silently. */
static void
msg_add(struct rl_migrator *m, const char *fmt, ...)
{
    size_t room = sizeof(m->errmsg) - m->errlen;
    if (room <= 1) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->errmsg + m->errlen, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        m->errmsg[m->errlen] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        size_t mark = sizeof(TRUNC_MARK);
        memcpy(m->errmsg + sizeof(m->errmsg) - mark, TRUNC_MARK, mark);
        m->errlen = sizeof(m->errmsg) - 1;
        return;
    }
    m->errlen += (size_t)n;
}

/* Adds `text` without trailing newlines and blanks (libpq messages end in
 * a newline), capped so one field cannot take the whole buffer. */
static void
msg_add_trimmed(struct rl_migrator *m, const char *text)
{
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) {
        len--;
    }
    msg_add(m, "%.*s", (int)(len > 4096 ? 4096 : len), text);
}

/* ---- file names and the directory -------------------------------------- */

static bool
ends_with(const char *s, size_t len, const char *suffix, size_t slen)
{
    return len >= slen && memcmp(s + len - slen, suffix, slen) == 0;
}

bool
rl_migrate_parse_filename(const char *filename, uint64_t *version, bool *is_up,
                          size_t *name_off, size_t *name_len, bool *overflow)
{
    static const char up[] = ".up.sql";
    static const char down[] = ".down.sql";
    size_t len = strlen(filename);
    size_t suffix;

    *overflow = false;
    if (ends_with(filename, len, up, sizeof(up) - 1)) {
        *is_up = true;
        suffix = sizeof(up) - 1;
    } else if (ends_with(filename, len, down, sizeof(down) - 1)) {
        *is_up = false;
        suffix = sizeof(down) - 1;
    } else {
        return false;
    }

    size_t digits = 0;
    while (filename[digits] >= '0' && filename[digits] <= '9') {
        digits++;
    }
    /* The '_' must come before the suffix; the identifier may be empty. */
    if (digits == 0 || filename[digits] != '_' || digits + 1 > len - suffix) {
        return false;
    }

    uint64_t v = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned d = (unsigned)(filename[i] - '0');
        if (v > (UINT64_C(9223372036854775807) - d) / 10) {
            *overflow = true; /* bigint cannot record it */
            return false;
        }
        v = v * 10 + d;
    }
    *version = v;
    *name_off = digits + 1;
    *name_len = len - suffix - (digits + 1);
    return true;
}

static int
cmp_migration(const void *a, const void *b)
{
    const struct rl_migration *x = a;
    const struct rl_migration *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static char *
join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    size_t nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

/* Finds or appends the entry for `version` (unsorted while scanning). */
static struct rl_migration *
set_entry(struct rl_migration_set *set, size_t *cap, uint64_t version)
{
    for (size_t i = 0; i < set->len; i++) {
        if (set->items[i].version == version) {
            return &set->items[i];
        }
    }
    if (set->len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct rl_migration *n = realloc(set->items, ncap * sizeof(*n));
        if (n == NULL) {
            return NULL;
        }
        set->items = n;
        *cap = ncap;
    }
    struct rl_migration *e = &set->items[set->len++];
    memset(e, 0, sizeof(*e));
    e->version = version;
    return e;
}

enum rl_err
rl_migrate_scan_dir(const char *dir, struct rl_migration_set *set, char *errbuf,
                    size_t errlen)
{
    enum rl_err err = RL_OK;
    size_t cap = 0;
    set->items = NULL;
    set->len = 0;

    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(errbuf, errlen, "cannot open migrations directory %s: %s", dir,
                 strerror(errno));
        return RL_ERR_IO;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                snprintf(errbuf, errlen, "cannot read %s: %s", dir,
                         strerror(errno));
                err = RL_ERR_IO;
            }
            break;
        }
        uint64_t version;
        bool is_up;
        bool overflow;
        size_t off;
        size_t nlen;
        if (!rl_migrate_parse_filename(de->d_name, &version, &is_up, &off,
                                       &nlen, &overflow)) {
            if (overflow) {
                snprintf(errbuf, errlen,
                         "migration file %s/%s: version does not fit in a "
                         "bigint",
                         dir, de->d_name);
                err = RL_ERR_INVALID;
                break;
            }
            continue;
        }
        char *path = join_path(dir, de->d_name);
        if (path == NULL) {
            err = RL_ERR_NOMEM;
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path); /* a directory or dangling link is not a migration */
            continue;
        }
        struct rl_migration *e = set_entry(set, &cap, version);
        char *name = e == NULL ? NULL : strndup(de->d_name + off, nlen);
        if (name == NULL) {
            free(path);
            err = RL_ERR_NOMEM;
            break;
        }
        char **slot_path = is_up ? &e->up_path : &e->down_path;
        char **slot_name = is_up ? &e->up_name : &e->down_name;
        if (*slot_path != NULL) {
            snprintf(errbuf, errlen,
                     "duplicate migration file: %s and %s are both version "
                     "%" PRIu64 " %s",
                     *slot_path, path, version, is_up ? "up" : "down");
            free(name);
            free(path);
            err = RL_ERR_INVALID;
            break;
        }
        *slot_path = path;
        *slot_name = name;
    }
    closedir(d);
    if (err == RL_ERR_NOMEM) {
        snprintf(errbuf, errlen, "out of memory");
    }
    if (err == RL_OK && set->len > 1) {
        qsort(set->items, set->len, sizeof(set->items[0]), cmp_migration);
    }
    return err;
}

void
rl_migrate_free_set(struct rl_migration_set *set)
{
    if (set == NULL) {
        return;
    }
    for (size_t i = 0; i < set->len; i++) {
        free(set->items[i].up_name);
        free(set->items[i].up_path);
        free(set->items[i].down_name);
        free(set->items[i].down_path);
    }
    free(set->items);
    set->items = NULL;
    set->len = 0;
}

/* Index of `version` in the sorted set, or -1. */
static long
set_find(const struct rl_migration_set *set, int64_t version)
{
    if (version < 0) {
        return -1;
    }
    size_t lo = 0;
    size_t hi = set->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t v = set->items[mid].version;
        if (v == (uint64_t)version) {
            return (long)mid;
        }
        if (v < (uint64_t)version) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/* ---- the lock key ------------------------------------------------------ */

static uint32_t
crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

uint32_t
rl_migrate_lock_id(const char *database_name, const char *const *additional,
                   size_t n_additional)
{
    /* Current golang-migrate v4 puts the names first and the database name
     * last: strings.Join(append(additionalNames, databaseName), "\x00"). Its
     * util_test.go pins ("database_name", "schema_name_1") to 2453313553.
     * (Its 2018 version appended the names after the database name.) */
    static const unsigned char nul = 0;
    uint32_t crc = 0;
    for (size_t i = 0; i < n_additional; i++) {
        crc = crc32_update(crc, (const unsigned char *)additional[i],
                           strlen(additional[i]));
        crc = crc32_update(crc, &nul, 1);
    }
    crc = crc32_update(crc, (const unsigned char *)database_name,
                       strlen(database_name));
    return crc * LOCK_SALT; /* uint32 arithmetic wraps, as in Go */
}

/* The database name golang-migrate's CLI would use for `dsn`: Go's
 * url.Parse(dsn).Path, percent-decoded, leading '/' included. Returns a
 * malloc'd string, "" when the URL has no path (golang-migrate then asks
 * the server), or NULL for a key=value DSN (*nomem tells NULL from
 * out-of-memory). */
static char *
url_database_name(const char *dsn, bool *nomem)
{
    static const char *const schemes[] = {"postgres://", "postgresql://"};
    const char *rest = NULL;
    *nomem = false;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t sl = strlen(schemes[i]);
        if (strncasecmp(dsn, schemes[i], sl) == 0) {
            rest = dsn + sl;
            break;
        }
    }
    if (rest == NULL) {
        return NULL;
    }
    /* Go cuts the fragment, then the query, then the authority. */
    size_t end = strcspn(rest, "#");
    size_t query_at = strcspn(rest, "?");
    if (query_at < end) {
        end = query_at;
    }
    const char *slash = memchr(rest, '/', end);
    size_t plen = slash == NULL ? 0 : end - (size_t)(slash - rest);
    char *out = malloc(plen + 1);
    if (out == NULL) {
        *nomem = true;
        return NULL;
    }
    size_t o = plen ? rl_percent_decode(slash, plen, out) : 0;
    out[o] = '\0';
    return out;
}

/* ---- SQL helpers -------------------------------------------------------- */

static enum rl_err
conn_err(const struct rl_migrator *m)
{
    return PQstatus(m->conn) == CONNECTION_BAD ? RL_ERR_CONN : RL_ERR_DB;
}

/* Describes a failed result (or a NULL one) after the prefix `what`. */
static void
describe_error(struct rl_migrator *m, const PGresult *res, const char *what)
{
    const char *primary =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    msg_add(m, "%s: ", what);
    if (primary == NULL) {
        msg_add_trimmed(m, PQerrorMessage(m->conn));
        return;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    msg_add_trimmed(m, primary);
    if (state != NULL) {
        msg_add(m, " (SQLSTATE %s)", state);
    }
}

/* Adds detail, hint and context lines of a failed result. */
static void
describe_extra(struct rl_migrator *m, const PGresult *res)
{
    static const struct {
        int field;
        const char *label;
    } extra[] = {
        {PG_DIAG_MESSAGE_DETAIL, "detail"},
        {PG_DIAG_MESSAGE_HINT, "hint"},
        {PG_DIAG_CONTEXT, "context"},
    };
    if (res == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        const char *v = PQresultErrorField(res, extra[i].field);
        if (v != NULL && v[0] != '\0') {
            msg_add(m, "\n  %s: ", extra[i].label);
            msg_add_trimmed(m, v);
        }
    }
}

/* Runs one statement with text parameters. Returns the result when it
 * succeeded (the caller clears it), otherwise NULL with the error in m. */
static PGresult *
query(struct rl_migrator *m, const char *what, const char *sql, int nparams,
      const char *const *params)
{
    PGresult *res =
        PQexecParams(m->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        return res;
    }
    describe_error(m, res, what);
    describe_extra(m, res);
    PQclear(res);
    return NULL;
}

static enum rl_err
exec_sql(struct rl_migrator *m, const char *what, const char *sql, int nparams,
         const char *const *params)
{
    PGresult *res = query(m, what, sql, nparams, params);
    if (res == NULL) {
        return conn_err(m);
    }
    PQclear(res);
    return RL_OK;
}

/* Leaves the connection outside any transaction; used on error paths, so
 * its own failure only matters through the error already reported. */
static void
rollback(struct rl_migrator *m)
{
    PGTransactionStatusType ts = PQtransactionStatus(m->conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        PQclear(PQexec(m->conn, "ROLLBACK"));
    }
}

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

    if (own_tx && (err = exec_sql(m, "begin", "BEGIN", 0, NULL)) != RL_OK) {
        return err;
    }
    snprintf(sql, sizeof(sql), "TRUNCATE %s", m->qtable);
    err = exec_sql(m, "cannot reset schema_migrations", sql, 0, NULL);
    if (err == RL_OK && (version >= 0 || dirty)) {
        fmt_i64(vbuf, sizeof(vbuf), version);
        params[0] = vbuf;
        params[1] = dirty ? "true" : "false";
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s (version, dirty) VALUES ($1, $2)", m->qtable);
        err = exec_sql(m, "cannot record the version", sql, 2, params);
    }
    if (own_tx) {
        if (err == RL_OK) {
            err = exec_sql(m, "cannot commit the version", "COMMIT", 0, NULL);
        }
        if (err != RL_OK) {
            rollback(m);
        }
    }
    return err;
}

enum rl_err
rl_migrate_version(struct rl_migrator *m, int64_t *version, bool *dirty)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT version, dirty FROM %s LIMIT 1",
             m->qtable);
    PGresult *res = query(m, "cannot read schema_migrations", sql, 0, NULL);
    if (res == NULL) {
        return conn_err(m);
    }
    *version = RL_MIGRATE_NIL_VERSION;
    *dirty = false;
    if (PQntuples(res) > 0) {
        int64_t v;
        if (rl_parse_i64(PQgetvalue(res, 0, 0), RL_PARSE_STRTOL, INT64_MIN,
                         INT64_MAX, NULL, &v) != RL_OK) {
            msg_add(m, "schema_migrations holds a bad version: %s",
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
        msg_add(m, "Dirty database version %" PRId64 ". Fix and force version.",
                *version);
        return RL_ERR_DIRTY;
    }
    return RL_OK;
}

/* ---- connecting and locking ------------------------------------------- */

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

static enum rl_err
take_lock(struct rl_migrator *m)
{
    char timeout[32];
    const char *p1[1] = {timeout};
    const char *p2[1] = {m->lock_key_str};
    enum rl_err err;

    /* SET LOCAL bounds only this wait; the session lock outlives COMMIT. */
    snprintf(timeout, sizeof(timeout), "%dms",
             m->opts.lock_timeout_ms > 0 ? m->opts.lock_timeout_ms : 0);
    if ((err = exec_sql(m, "begin", "BEGIN", 0, NULL)) != RL_OK) {
        return err;
    }
    err = exec_sql(m, "cannot set lock_timeout",
                   "SELECT set_config('lock_timeout', $1, true)", 1, p1);
    if (err == RL_OK) {
        PGresult *res = PQexecParams(m->conn, "SELECT pg_advisory_lock($1)", 1,
                                     NULL, p2, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            const char *state =
                res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
            if (state != NULL && strcmp(state, "55P03") == 0) {
                msg_add(m,
                        "timeout: can't acquire database lock (advisory lock "
                        "%s is still held after %d ms)",
                        m->lock_key_str, m->opts.lock_timeout_ms);
                err = RL_ERR_LOCKED;
            } else {
                describe_error(m, res, "try lock failed");
                err = conn_err(m);
            }
        }
        PQclear(res);
    }
    if (err == RL_OK) {
        m->locked = true; /* held even if COMMIT fails */
        err = exec_sql(m, "commit", "COMMIT", 0, NULL);
    }
    if (err != RL_OK) {
        rollback(m);
    }
    return err;
}

/* golang-migrate's ensureVersionTable. */
static enum rl_err
ensure_table(struct rl_migrator *m, const char *schema)
{
    const char *params[2] = {schema, MIGRATIONS_TABLE};
    PGresult *res = query(m, "cannot look for schema_migrations",
                          "SELECT COUNT(1) FROM information_schema.tables "
                          "WHERE table_schema = $1 AND table_name = $2 LIMIT 1",
                          2, params);
    if (res == NULL) {
        return conn_err(m);
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
    return exec_sql(m, "cannot create schema_migrations", sql, 0, NULL);
}

enum rl_err
rl_migrate_connect(struct rl_migrator *m)
{
    enum rl_err err;
    msg_clear(m);
    m->conn = PQconnectdb(m->opts.dsn);
    if (m->conn == NULL) {
        msg_add(m, "out of memory");
        return RL_ERR_NOMEM;
    }
    if (PQstatus(m->conn) != CONNECTION_OK) {
        msg_add(m, "cannot connect to the database: ");
        msg_add_trimmed(m, PQerrorMessage(m->conn));
        return RL_ERR_CONN;
    }
    PQsetNoticeReceiver(m->conn, notice_receiver, m);

    PGresult *res =
        query(m, "cannot read the current schema",
              "SELECT current_database(), current_schema()", 0, NULL);
    if (res == NULL) {
        return conn_err(m);
    }
    if (PQgetisnull(res, 0, 1)) {
        msg_add(m, "no schema: current_schema() is null (check search_path)");
        PQclear(res);
        return RL_ERR_DB;
    }
    const char *current_db = PQgetvalue(res, 0, 0);
    const char *schema = PQgetvalue(res, 0, 1);

    /* golang-migrate's CLI passes url.Path ("/dbname") as the database
     * name, and asks current_database() only when the path is empty. A
     * key=value DSN has no URL form, so use what its URL would say. */
    bool nomem;
    char *dbname = url_database_name(m->opts.dsn, &nomem);
    if (dbname == NULL && !nomem) {
        size_t l = strlen(current_db);
        dbname = malloc(l + 2);
        if (dbname != NULL) {
            dbname[0] = '/';
            memcpy(dbname + 1, current_db, l + 1);
        }
    } else if (dbname != NULL && dbname[0] == '\0') {
        free(dbname);
        dbname = strdup(current_db);
    }
    char *qschema = PQescapeIdentifier(m->conn, schema, strlen(schema));
    size_t qlen = qschema ? strlen(qschema) + sizeof(MIGRATIONS_TABLE) + 4 : 0;
    m->qtable = qschema ? malloc(qlen) : NULL;
    if (dbname == NULL || m->qtable == NULL) {
        free(dbname);
        PQfreemem(qschema);
        PQclear(res);
        msg_add(m, "out of memory");
        return RL_ERR_NOMEM;
    }
    snprintf(m->qtable, qlen, "%s.\"%s\"", qschema, MIGRATIONS_TABLE);
    PQfreemem(qschema);

    const char *names[2] = {schema, MIGRATIONS_TABLE};
    m->lock_key = rl_migrate_lock_id(dbname, names, 2);
    snprintf(m->lock_key_str, sizeof(m->lock_key_str), "%" PRIu32, m->lock_key);
    free(dbname);

    err = take_lock(m);
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
        msg_add(m, "%s", buf);
        return err;
    }
    m->set_loaded = true;
    return RL_OK;
}

/* Reads a whole migration file. Refuses files over RL_MIGRATE_FILE_MAX and
 * files holding a NUL byte (libpq would stop reading the SQL there). */
static enum rl_err
read_file(struct rl_migrator *m, const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        msg_add(m, "cannot open %s: %s", path, strerror(errno));
        return RL_ERR_IO;
    }
    size_t cap = 4096;
    size_t len = 0;
    char *buf = malloc(cap);
    enum rl_err err = buf ? RL_OK : RL_ERR_NOMEM;
    while (err == RL_OK) {
        if (len + 1 == cap) {
            /* Room for RL_MIGRATE_FILE_MAX + 1 bytes tells "too big". */
            size_t ncap = cap * 2;
            if (ncap > RL_MIGRATE_FILE_MAX + 2) {
                ncap = RL_MIGRATE_FILE_MAX + 2;
            }
            char *n = realloc(buf, ncap);
            if (n == NULL) {
                err = RL_ERR_NOMEM;
                break;
            }
            buf = n;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            msg_add(m, "cannot read %s: %s", path, strerror(errno));
            err = RL_ERR_IO;
        } else if (r == 0) {
            break;
        } else if ((len += (size_t)r) > RL_MIGRATE_FILE_MAX) {
            msg_add(m, "%s: larger than %zu bytes", path, RL_MIGRATE_FILE_MAX);
            err = RL_ERR_INVALID;
        }
    }
    close(fd);
    if (err == RL_OK && memchr(buf, '\0', len) != NULL) {
        msg_add(m, "%s: contains a NUL byte", path);
        err = RL_ERR_INVALID;
    }
    if (err != RL_OK) {
        if (err == RL_ERR_NOMEM) {
            msg_add(m, "out of memory reading %s", path);
        }
        free(buf);
        return err;
    }
    buf[len] = '\0';
    *out = buf;
    return RL_OK;
}

/* Line and column (both 1-based) of the character at 1-based character
 * position `pos` in UTF-8 text, as PostgreSQL counts positions. */
static void
line_col(const char *text, long pos, long *line, long *col)
{
    long chars = 0;
    *line = 1;
    *col = 1;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p & 0xC0) == 0x80) {
            continue; /* continuation byte */
        }
        if (++chars >= pos) {
            return;
        }
        if (*p == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
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
    describe_error(m, res, what);
    msg_add(m, "\n  file: %s", path);
    const char *pos =
        res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (pos != NULL && text != NULL) {
        int64_t p;
        if (rl_parse_i64(pos, RL_PARSE_STRTOL, 1, LONG_MAX, NULL, &p) ==
            RL_OK) {
            long line;
            long col;
            line_col(text, p, &line, &col);
            msg_add(m, ", line %ld, column %ld", line, col);
        }
    }
    describe_extra(m, res);
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
    if (path != NULL && (err = read_file(m, path, &text)) != RL_OK) {
        return err; /* nothing recorded yet */
    }
    if ((err = set_version(m, target, true, true)) != RL_OK) {
        free(text);
        return err;
    }
    if (text == NULL) {
        /* No file for this direction: golang-migrate just moves on. */
        err = set_version(m, target, false, true);
    } else if ((err = exec_sql(m, "begin", "BEGIN", 0, NULL)) == RL_OK) {
        bool copy_refused;
        PGresult *res = exec_script(m, text, &copy_refused);
        ExecStatusType st = PQresultStatus(res);
        if (copy_refused) {
            msg_add(m,
                    "%s: COPY is not supported in migration files\n"
                    "  file: %s",
                    what, path);
            err = RL_ERR_DB;
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
                   st != PGRES_EMPTY_QUERY) {
            describe_file_error(m, res, what, path, text);
            err = conn_err(m);
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
                err = conn_err(m);
            }
            PQclear(res);
        }
        if (err != RL_OK) {
            rollback(m);
            msg_add(m,
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
        *cur_idx = set_find(&m->set, *cur);
        if (*cur_idx < 0) {
            msg_add(m,
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

enum rl_err
rl_migrate_up(struct rl_migrator *m, size_t limit, size_t *applied)
{
    int64_t cur;
    long idx;
    msg_clear(m);
    if (applied != NULL) {
        *applied = 0;
    }
    enum rl_err err = prepare(m, &cur, &idx);
    if (err != RL_OK) {
        return err;
    }
    if (m->set.len == 0) {
        msg_add(m, "no migration files in %s", m->opts.dir);
        return RL_ERR_NOT_FOUND;
    }
    return run_up(m, idx, (long)m->set.len - 1, limit, cur, applied);
}

enum rl_err
rl_migrate_down(struct rl_migrator *m, size_t limit, size_t *applied)
{
    int64_t cur;
    long idx;
    msg_clear(m);
    if (applied != NULL) {
        *applied = 0;
    }
    enum rl_err err = prepare(m, &cur, &idx);
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
    msg_clear(m);
    if (applied != NULL) {
        *applied = 0;
    }
    enum rl_err err = prepare(m, &cur, &idx);
    if (err != RL_OK) {
        return err;
    }
    long to = version > INT64_MAX ? -1 : set_find(&m->set, (int64_t)version);
    if (to < 0) {
        msg_add(m, "no migration found for version %" PRIu64 " in %s", version,
                m->opts.dir);
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
    msg_clear(m);
    if (version < RL_MIGRATE_NIL_VERSION) {
        msg_add(m, "version must be >= -1");
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
        if (m->locked && PQstatus(m->conn) == CONNECTION_OK) {
            rollback(m);
            const char *p[1] = {m->lock_key_str};
            PQclear(PQexecParams(m->conn, "SELECT pg_advisory_unlock($1)", 1,
                                 NULL, p, NULL, NULL, 0));
        }
        PQfinish(m->conn); /* also drops the lock if unlocking failed */
    }
    free(m->qtable);
    rl_migrate_free_set(&m->set);
    free(m);
}
