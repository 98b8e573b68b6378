/*
 * exec.c — statements on a pooled connection (pg_int.h): prepare on first
 * use, execute, BEGIN/COMMIT/ROLLBACK, each round trip within the pool's
 * budget_ms; SQLSTATEs mapped to rl_err; a read that finds its connection
 * dead retried once on a fresh one. The connection is the caller's (the
 * thread holding it), so nothing here locks.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal/base/clock.h"
#include "internal/data/pg_int.h"
#include "internal/data/pool_int.h"
#include "internal/jsonlog/jsonlog.h"

static void
copy_field(char *dst, size_t cap, const PGresult *r, int field)
{
    const char *v = PQresultErrorField(r, field);
    snprintf(dst, cap, "%s", v != NULL ? v : "");
}

/* The deadline of a round trip sent now. */
static int64_t
stmt_deadline(const struct rl_conn *c)
{
    return rl_pg_deadline(rl_mono_ms(), c->db->budget_ms);
}

/* Waits for the answer to what `sent` (a PQsend* result) put on the wire.
 * Without an answer the connection is unusable: it is marked broken, and
 * *conn_lost says whether it died (rather than went quiet). */
static enum rl_err
round_trip(struct rl_conn *c, const char *what, int sent, PGresult **res,
           bool *conn_lost)
{
    enum rl_err e = RL_ERR_CONN;
    *res = NULL;
    if (sent) {
        e = PQpipelineStatus(c->pg) == PQ_PIPELINE_ON
                ? rl_pg_await_pipeline(c->pg, stmt_deadline(c), res)
                : rl_pg_await(c->pg, stmt_deadline(c), res);
    }
    if (e == RL_OK) {
        return RL_OK;
    }
    c->broken = true;
    if (e == RL_ERR_TIMEOUT) {
        rl_log_props(RL_LOG_ERROR,
                     "database did not answer before the deadline: dropping "
                     "the connection",
                     RL_LOG_STR("statement", what),
                     RL_LOG_INT("deadline_ms", c->db->budget_ms), NULL);
        return RL_ERR_TIMEOUT;
    }
    char err[256];
    snprintf(err, sizeof(err), "%s", PQerrorMessage(c->pg));
    err[strcspn(err, "\n")] = '\0';
    rl_log_props(RL_LOG_ERROR, "database connection lost",
                 RL_LOG_STR("statement", what), RL_LOG_STR("error", err), NULL);
    if (conn_lost != NULL) {
        *conn_lost = true;
    }
    return RL_ERR_CONN;
}

/* BEGIN, COMMIT or ROLLBACK within the round-trip deadline. */
enum rl_err
rl_db_simple(struct rl_conn *c, const char *sql)
{
    PGresult *r;
    enum rl_err e = round_trip(c, sql, PQsendQuery(c->pg, sql), &r, NULL);
    if (e != RL_OK) {
        return e;
    }
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        copy_field(c->sqlstate, sizeof(c->sqlstate), r, PG_DIAG_SQLSTATE);
        e = strcmp(c->sqlstate, "57014") == 0 ? RL_ERR_TIMEOUT : RL_ERR_DB;
    }
    PQclear(r);
    return e;
}

/* Before a statement is sent: through a pooler, and outside a transaction
 * (whose BEGIN set it), puts statement_timeout in front of it in one
 * pipeline (conn.h). False when that could not be sent. */
static bool
piped(struct rl_conn *c)
{
    if (!c->db->pooled || PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        return true;
    }
    return rl_pg_send_local_timeout(c->pg, c->db->cfg.query_timeout_ms);
}

/* One attempt. Sets *conn_lost when the failure was the connection's. */
static enum rl_err
exec_once(struct rl_conn *c, const struct rl_stmt_def *def,
          const char *const *values, const int *lengths, PGresult **res,
          bool *conn_lost)
{
    PGresult *r;
    enum rl_err e;
    *conn_lost = false;
    if (c->prepared_on) {
        if (!c->prepared[def->slot]) {
            e = round_trip(
                c, def->name,
                PQsendPrepare(c->pg, def->name, def->sql, def->nparams, NULL),
                &r, conn_lost);
            if (e != RL_OK) {
                return e;
            }
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                copy_field(c->sqlstate, sizeof(c->sqlstate), r,
                           PG_DIAG_SQLSTATE);
                rl_log_props(RL_LOG_ERROR, "prepare failed",
                             RL_LOG_STR("statement", def->name),
                             RL_LOG_STR("error", PQresultErrorMessage(r)),
                             NULL);
                PQclear(r);
                return strcmp(c->sqlstate, "57014") == 0 ? RL_ERR_TIMEOUT
                                                         : RL_ERR_DB;
            }
            PQclear(r);
            c->prepared[def->slot] = 1;
        }
        e = round_trip(c, def->name,
                       piped(c) &&
                           PQsendQueryPrepared(c->pg, def->name, def->nparams,
                                               values, lengths, NULL, 0),
                       &r, conn_lost);
    } else {
        e = round_trip(c, def->name,
                       piped(c) &&
                           PQsendQueryParams(c->pg, def->sql, def->nparams,
                                             NULL, values, lengths, NULL, 0),
                       &r, conn_lost);
    }
    if (e != RL_OK) {
        return e;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *res = r;
        return RL_OK;
    }
    copy_field(c->sqlstate, sizeof(c->sqlstate), r, PG_DIAG_SQLSTATE);
    copy_field(c->constraint, sizeof(c->constraint), r,
               PG_DIAG_CONSTRAINT_NAME);
    if (strcmp(c->sqlstate, "57014") == 0) {
        e = RL_ERR_TIMEOUT;
    } else if (strcmp(c->sqlstate, "26000") == 0) {
        /* Prepared statement gone (e.g. DISCARD ALL by a proxy). */
        c->prepared[def->slot] = 0;
        e = RL_ERR_DB;
    } else {
        e = RL_ERR_DB;
    }
    if (e != RL_ERR_TIMEOUT && strcmp(c->sqlstate, "23505") != 0 &&
        strcmp(c->sqlstate, "23514") != 0) {
        rl_log_props(RL_LOG_ERROR, "query failed",
                     RL_LOG_STR("statement", def->name),
                     RL_LOG_STR("sqlstate", c->sqlstate),
                     RL_LOG_STR("error", PQresultErrorMessage(r)), NULL);
    }
    PQclear(r);
    return e;
}

enum rl_err
rl_db_exec_def(struct rl_conn *c, const struct rl_stmt_def *def,
               const char *const *values, const int *lengths, PGresult **res)
{
    bool lost;
    c->sqlstate[0] = '\0';
    c->constraint[0] = '\0';
    if (c->broken && rl_db_conn_reopen(c) != RL_OK) {
        return RL_ERR_CONN;
    }
    bool in_tx = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
    /* A write cannot be retried blindly (it may have committed), so make
     * sure the connection is alive before sending it: one poll(2), paid
     * only by writes outside a transaction. */
    if (!def->read_only && !in_tx && !rl_db_conn_alive(c) &&
        rl_db_conn_reopen(c) != RL_OK) {
        return RL_ERR_CONN;
    }
    enum rl_err e = exec_once(c, def, values, lengths, res, &lost);
    if (e == RL_ERR_DB && strcmp(c->sqlstate, "26000") == 0 && !in_tx) {
        e = exec_once(c, def, values, lengths, res, &lost);
    }
    if (lost) {
        c->broken = true;
        /* A read outside a transaction can safely run again; a write may
         * or may not have committed, so the caller must see the error. */
        if (def->read_only && !in_tx && rl_db_conn_reopen(c) == RL_OK) {
            e = exec_once(c, def, values, lengths, res, &lost);
            if (lost) {
                c->broken = true;
            }
        }
    }
    return e;
}

enum rl_err
rl_db_exec(struct rl_conn *c, enum rl_stmt id, const char *const *values,
           const int *lengths, PGresult **res)
{
    return rl_db_exec_def(c, &rl_stmts[id], values, lengths, res);
}

enum rl_err
rl_db_run_def(struct rl_db *db, const struct rl_stmt_def *def,
              const char *const *values, PGresult **res)
{
    struct rl_conn *c;
    enum rl_err e = rl_db_acquire(db, &c);
    if (e != RL_OK) {
        return e;
    }
    e = rl_db_exec_def(c, def, values, NULL, res);
    rl_db_release(db, c);
    return e;
}

enum rl_err
rl_db_run(struct rl_db *db, enum rl_stmt id, const char *const *values,
          PGresult **res)
{
    return rl_db_run_def(db, &rl_stmts[id], values, res);
}

const char *
rl_db_last_sqlstate(const struct rl_conn *c)
{
    return c->sqlstate;
}

const char *
rl_db_last_constraint(const struct rl_conn *c)
{
    return c->constraint;
}

enum rl_err
rl_db_begin(struct rl_conn *c)
{
    if ((c->broken || !rl_db_conn_alive(c)) && rl_db_conn_reopen(c) != RL_OK) {
        return RL_ERR_CONN;
    }
    /* Through a pooler BEGIN carries the transaction's SET LOCAL. */
    enum rl_err e = rl_db_simple(c, c->db->begin_sql);
    if (e == RL_ERR_CONN && rl_db_conn_reopen(c) == RL_OK) {
        /* nothing was done yet: safe to retry */
        e = rl_db_simple(c, c->db->begin_sql);
    }
    return e;
}

enum rl_err
rl_db_commit(struct rl_conn *c)
{
    return rl_db_simple(c, "COMMIT");
}

void
rl_db_rollback(struct rl_conn *c)
{
    if (!c->broken) {
        (void)rl_db_simple(c, "ROLLBACK");
    }
}
