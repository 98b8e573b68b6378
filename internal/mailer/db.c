/*
 * db.c — a mail worker thread's own database connection: connecting with
 * the session set-up, and the round trips the job and the loop make on it.
 * Each function is called only by the thread that owns the connection.
 *
 * SQL comes from the statement table (internal/data/statements.h) but runs
 * with unnamed statements on the worker's connection: the request pool's
 * prepared-statement bookkeeping does not apply here.
 *
 * Through a pooler (PgBouncer in transaction mode: rl_pg_direct says so)
 * session settings would land on one server connection and LISTEN would
 * hear nothing: the worker then sets its timeouts per transaction (BEGIN;
 * SET LOCAL ...) and per statement (conn.h's pipeline), and only polls.
 *
 * Deadlines: connecting (with its SET/LISTEN line) and every round trip go
 * through internal/data/conn.h, bounded by CONNECT_TIMEOUT_MS and by
 * STATEMENT_TIMEOUT_MS + slack. A database that stops answering turns
 * into a failed cycle: the connection is dropped and the loop reconnects
 * with backoff, so the worker recovers by itself once the database is back.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal/base/clock.h"
#include "internal/data/conn.h"
#include "internal/data/statements.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/mailer/worker_int.h"

/* statement_timeout of the worker's connections; the client-side deadline
 * of a round trip is this plus RL_PG_SLACK_MS. */
#define STATEMENT_TIMEOUT_MS 10000
/* Bound of connect + set-up. Longer than the request pool's: nobody waits
 * on this thread, and under load a patient attempt beats a new one. */
#define CONNECT_TIMEOUT_MS 10000
/* idle_in_transaction_session_timeout of the worker's transactions. */
#define IDLE_IN_TX_TIMEOUT_MS 120000

void
rl_mailer_drop_conn(struct rl_mailer_worker *w)
{
    if (w->pg != NULL) {
        PQfinish(w->pg);
        w->pg = NULL;
    }
}

/* One line of libpq's error text (first line, no newline). */
void
rl_mailer_pg_error(PGconn *pg, const PGresult *r, char *buf, size_t cap)
{
    const char *e = r != NULL ? PQresultErrorMessage(r) : "";
    if (e == NULL || *e == '\0') {
        e = pg != NULL ? PQerrorMessage(pg) : "out of memory";
    }
    snprintf(buf, cap, "%s", e);
    buf[strcspn(buf, "\n")] = '\0';
}

/* Logs why a round trip on statement `what` failed. A timeout leaves the
 * query in flight: the caller's failure path drops the connection. */
static void
log_failure(PGconn *pg, const char *what, enum rl_err e, const PGresult *r)
{
    char err[256];
    if (e == RL_ERR_TIMEOUT) {
        snprintf(err, sizeof(err), "no answer within %d ms",
                 STATEMENT_TIMEOUT_MS + RL_PG_SLACK_MS);
    } else {
        rl_mailer_pg_error(pg, r, err, sizeof(err));
    }
    rl_log_props(RL_LOG_ERROR, "mailer: query failed",
                 RL_LOG_STR("statement", what), RL_LOG_STR("error", err), NULL);
}

static int64_t
stmt_deadline(void)
{
    return rl_pg_deadline(rl_mono_ms(),
                          rl_pg_budget_ms(STATEMENT_TIMEOUT_MS, 0));
}

/* Runs a statement without parameters or rows; logs a failure. */
bool
rl_mailer_run_simple(PGconn *pg, const char *sql)
{
    PGresult *r;
    enum rl_err e = rl_pg_exec(pg, sql, stmt_deadline(), &r);
    bool ok = e == RL_OK && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        log_failure(pg, sql, e, r);
    }
    PQclear(r);
    return ok;
}

bool
rl_mailer_connect(struct rl_mailer_worker *w)
{
    char err[256];
    int64_t deadline = rl_pg_deadline(rl_mono_ms(), CONNECT_TIMEOUT_MS);
    enum rl_err e = rl_pg_connect(w->m->dsn, "redlight-mailer",
                                  "SET TimeZone = 'UTC'; "
                                  "SET client_encoding = 'UTF8'",
                                  deadline, &w->pg, err, sizeof(err));
    bool direct = false;
    if (e == RL_OK && (e = rl_pg_direct(w->pg, deadline, &direct)) != RL_OK) {
        rl_mailer_pg_error(w->pg, NULL, err, sizeof(err));
    }
    w->pooled = !direct;
    if (e == RL_OK && direct) {
        /* A session of its own: the settings hold, LISTEN works. The
         * transaction stays open during a send (up to the 30 s SMTP
         * timeout); a process that hangs longer must not hold its job's
         * lock forever. */
        char setup[256];
        snprintf(setup, sizeof(setup),
                 "SET statement_timeout = %d; "
                 "SET idle_in_transaction_session_timeout = %d%s",
                 STATEMENT_TIMEOUT_MS, IDLE_IN_TX_TIMEOUT_MS,
                 w->m->cfg.listen ? "; LISTEN mail_outbox" : "");
        if (!rl_mailer_run_simple(w->pg, setup)) {
            rl_mailer_drop_conn(w);
            return false;
        }
    }
    if (e != RL_OK) {
        rl_mailer_drop_conn(w);
        rl_log_props(RL_LOG_ERROR, "mailer: database connection failed",
                     RL_LOG_STR("error", err), NULL);
        return false;
    }
    return true;
}

bool
rl_mailer_begin(struct rl_mailer_worker *w)
{
    if (!w->pooled) {
        return rl_mailer_run_simple(w->pg, "BEGIN");
    }
    char sql[160];
    snprintf(sql, sizeof(sql),
             "BEGIN; SET LOCAL statement_timeout = %d; "
             "SET LOCAL idle_in_transaction_session_timeout = %d",
             STATEMENT_TIMEOUT_MS, IDLE_IN_TX_TIMEOUT_MS);
    return rl_mailer_run_simple(w->pg, sql);
}

/* Runs statement id with params; *res on success (caller PQclear()s). */
bool
rl_mailer_exec_stmt(struct rl_mailer_worker *w, enum rl_stmt id,
                    const char *const *values, PGresult **res)
{
    const struct rl_stmt_def *def = &rl_stmts[id];
    PGresult *r = NULL;
    enum rl_err e = RL_ERR_CONN;
    if (w->pooled && PQtransactionStatus(w->pg) == PQTRANS_IDLE) {
        /* Through a pooler, outside a transaction: the timeout goes with
         * the statement (conn.h). */
        if (rl_pg_send_local_timeout(w->pg, STATEMENT_TIMEOUT_MS) &&
            PQsendQueryParams(w->pg, def->sql, def->nparams, NULL, values, NULL,
                              NULL, 0)) {
            e = rl_pg_await_pipeline(w->pg, stmt_deadline(), &r);
        }
    } else {
        e = rl_pg_exec_params(w->pg, def->sql, def->nparams, values, NULL,
                              stmt_deadline(), &r);
    }
    if (e == RL_OK) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            *res = r;
            return true;
        }
    }
    log_failure(w->pg, def->name, e, r);
    PQclear(r);
    return false;
}
