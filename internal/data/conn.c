/*
 * conn.c — libpq with deadlines (see conn.h for why).
 *
 * Owns nothing beyond a call: the caller owns the PGconn and the results.
 * Every wait is wait_socket(), a poll(2) on PQsocket bounded by a deadline
 * on the monotonic clock; libpq itself is only asked to do what cannot
 * block (non-blocking mode, PQconnectPoll, PQconsumeInput, PQisBusy).
 */
#include "internal/data/conn.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal/base/clock.h"
#include "internal/base/parse.h"

int
rl_pg_poll_ms(int64_t deadline_ms, int64_t now_ms)
{
    if (deadline_ms <= now_ms) {
        return 0;
    }
    /* deadline - now cannot overflow: both are >= 0 on CLOCK_MONOTONIC,
     * but guard against callers passing anything. */
    if (now_ms < 0 && deadline_ms > INT64_MAX + now_ms) {
        return INT_MAX;
    }
    int64_t left = deadline_ms - now_ms;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int64_t
rl_pg_deadline(int64_t now_ms, int64_t budget_ms)
{
    if (budget_ms <= 0) {
        return now_ms;
    }
    if (now_ms > INT64_MAX - budget_ms) {
        return INT64_MAX;
    }
    return now_ms + budget_ms;
}

int64_t
rl_pg_budget_ms(int statement_timeout_ms, int slack_ms)
{
    return (int64_t)statement_timeout_ms +
           (slack_ms > 0 ? slack_ms : RL_PG_SLACK_MS);
}

/* Waits until pg's socket reports one of events (or an error/hang-up,
 * which libpq will then find) or deadline_ms passes. Returns 1 when ready,
 * 0 on the deadline, -1 when there is no socket or poll fails. */
static int
wait_socket(PGconn *pg, short events, int64_t deadline_ms)
{
    for (;;) {
        int fd = PQsocket(pg);
        if (fd < 0) {
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int64_t now = rl_mono_ms();
        int n = poll(&p, 1, rl_pg_poll_ms(deadline_ms, now));
        if (n > 0) {
            return 1;
        }
        if (n < 0 && errno != EINTR) {
            return -1;
        }
        if (n == 0 && rl_mono_ms() >= deadline_ms) {
            return 0;
        }
    }
}

/* The first line of msg into err (cap > 0). */
static void
one_line(char *err, size_t cap, const char *msg)
{
    if (err == NULL || cap == 0) {
        return;
    }
    snprintf(err, cap, "%s", msg != NULL && *msg != '\0' ? msg : "unknown");
    err[strcspn(err, "\n")] = '\0';
}

static void
ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Drives PQconnectPoll until the connection is made or deadline_ms. */
static enum rl_err
connect_poll(PGconn *pg, int64_t deadline_ms, char *err, size_t cap)
{
    /* As the libpq manual says: behave as if the last call had returned
     * PGRES_POLLING_WRITING. */
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
        if (st == PGRES_POLLING_OK) {
            return RL_OK;
        }
        if (st == PGRES_POLLING_FAILED) {
            one_line(err, cap, PQerrorMessage(pg));
            return RL_ERR_CONN;
        }
        short events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int w = wait_socket(pg, events, deadline_ms);
        if (w == 0) {
            one_line(err, cap,
                     "timeout: the database did not complete the "
                     "connection before the deadline");
            return RL_ERR_TIMEOUT;
        }
        if (w < 0) {
            one_line(err, cap, PQerrorMessage(pg));
            return RL_ERR_CONN;
        }
        st = PQconnectPoll(pg);
    }
}

enum rl_err
rl_pg_connect(const char *dsn, const char *app_name, const char *setup_sql,
              int64_t deadline_ms, PGconn **out, char *err, size_t cap)
{
    *out = NULL;
    /* Defaults first: a DSN that sets the same keywords wins (expand_dbname
     * = 1 makes the "dbname" value the whole DSN). The keepalives find a
     * peer that vanished while the connection sat idle; tcp_user_timeout
     * bounds unacknowledged writes. connect_timeout is left out: only
     * libpq's blocking connect honours it, deadline_ms replaces it. */
    const char *keys[] = {"application_name", "tcp_user_timeout",
                          "keepalives_idle", "dbname", NULL};
    const char *vals[] = {app_name, "10000", "30", dsn, NULL};
    PGconn *pg = PQconnectStartParams(keys, vals, 1);
    if (pg == NULL) {
        one_line(err, cap, "out of memory");
        return RL_ERR_NOMEM;
    }
    enum rl_err e;
    if (PQstatus(pg) == CONNECTION_BAD) {
        one_line(err, cap, PQerrorMessage(pg)); /* e.g. a malformed DSN */
        e = RL_ERR_CONN;
        goto fail;
    }
    if ((e = connect_poll(pg, deadline_ms, err, cap)) != RL_OK) {
        goto fail;
    }
    PQsetNoticeProcessor(pg, ignore_notice, NULL);
    if (PQsetnonblocking(pg, 1) != 0) {
        one_line(err, cap, PQerrorMessage(pg));
        e = RL_ERR_CONN;
        goto fail;
    }
    if (setup_sql != NULL) {
        PGresult *r;
        e = rl_pg_exec(pg, setup_sql, deadline_ms, &r);
        if (e == RL_ERR_TIMEOUT) {
            one_line(err, cap,
                     "timeout: the database did not answer the "
                     "connection set-up before the deadline");
            goto fail;
        }
        if (e != RL_OK) {
            one_line(err, cap, PQerrorMessage(pg));
            goto fail;
        }
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            one_line(err, cap, PQresultErrorMessage(r));
            PQclear(r);
            e = RL_ERR_CONN;
            goto fail;
        }
        PQclear(r);
    }
    *out = pg;
    return RL_OK;
fail:
    PQfinish(pg);
    return e;
}

int64_t
rl_pg_int(const PGresult *r, int row, int col)
{
    int64_t v = 0;
    if (rl_parse_i64(PQgetvalue(r, row, col), RL_PARSE_STRTOL, INT64_MIN,
                     INT64_MAX, NULL, &v) != RL_OK) {
        return 0;
    }
    return v;
}

static bool
failed(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
           st != PGRES_EMPTY_QUERY;
}

/* Pushes the query out; the server may answer (or complain) meanwhile,
 * and the manual asks to consume input whenever the socket is readable. */
static enum rl_err
flush_out(PGconn *pg, int64_t deadline_ms)
{
    for (;;) {
        int f = PQflush(pg);
        if (f == 0) {
            return RL_OK;
        }
        if (f < 0) {
            return RL_ERR_CONN;
        }
        int w = wait_socket(pg, POLLIN | POLLOUT, deadline_ms);
        if (w == 0) {
            return RL_ERR_TIMEOUT;
        }
        if (w < 0 || !PQconsumeInput(pg)) {
            return RL_ERR_CONN;
        }
    }
}

enum rl_err
rl_pg_await(PGconn *pg, int64_t deadline_ms, PGresult **out)
{
    *out = NULL;
    enum rl_err e = flush_out(pg, deadline_ms);
    if (e != RL_OK) {
        return e;
    }
    PGresult *keep = NULL;
    for (;;) {
        while (PQisBusy(pg)) {
            int w = wait_socket(pg, POLLIN, deadline_ms);
            if (w == 0) {
                PQclear(keep);
                return RL_ERR_TIMEOUT;
            }
            if (w < 0 || !PQconsumeInput(pg)) {
                PQclear(keep);
                return RL_ERR_CONN;
            }
        }
        PGresult *r = PQgetResult(pg);
        if (r == NULL) {
            break;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
            st == PGRES_COPY_BOTH) {
            /* Nothing here runs COPY; its protocol would need driving. */
            PQclear(r);
            PQclear(keep);
            return RL_ERR_CONN;
        }
        if (keep == NULL) {
            keep = r;
        } else if (failed(keep)) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        PQclear(keep);
        return RL_ERR_CONN;
    }
    if (keep == NULL) {
        return RL_ERR_CONN; /* a sent query always yields a result */
    }
    *out = keep;
    return RL_OK;
}

enum rl_err
rl_pg_exec(PGconn *pg, const char *sql, int64_t deadline_ms, PGresult **out)
{
    *out = NULL;
    if (!PQsendQuery(pg, sql)) {
        return RL_ERR_CONN;
    }
    return rl_pg_await(pg, deadline_ms, out);
}

enum rl_err
rl_pg_exec_params(PGconn *pg, const char *sql, int nparams,
                  const char *const *values, const int *lengths,
                  int64_t deadline_ms, PGresult **out)
{
    *out = NULL;
    if (!PQsendQueryParams(pg, sql, nparams, NULL, values, lengths, NULL, 0)) {
        return RL_ERR_CONN;
    }
    return rl_pg_await(pg, deadline_ms, out);
}
