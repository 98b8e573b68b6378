/*
 * conn.c — libpq with deadlines (see conn.h for why).
 *
 * Owns nothing beyond a call: the caller owns the PGconn and the results.
 * Every wait is wait_socket(), a poll(2) on PQsocket bounded by a deadline
 * on the monotonic clock; libpq itself is only asked to do what cannot
 * block (non-blocking mode, PQconnectPoll, PQconsumeInput, PQisBusy).
 */
#include "internal/data/conn.h"

#include <ctype.h>
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

/* prefix + msg into err (cap > 0), without trailing newlines and blanks:
 * libpq's whole message, as PQconnectdb's callers print it. */
static void
whole(char *err, size_t cap, const char *prefix, const char *msg)
{
    if (err == NULL || cap == 0) {
        return;
    }
    snprintf(err, cap, "%s%s", prefix,
             msg != NULL && *msg != '\0' ? msg : "unknown");
    size_t len = strlen(err);
    while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' ')) {
        err[--len] = '\0';
    }
}

/* How a connection is opened: the server's way (rl_pg_connect) or as
 * PQconnectdb would (rl_pg_connectdb, plain = true). */
struct how {
    bool plain;
    char *err;
    size_t cap;
};

/* Says msg into the caller's err: whole for a plain client, else its first
 * line. */
static void
say(const struct how *h, const char *msg)
{
    if (h->plain) {
        whole(h->err, h->cap, "", msg);
    } else {
        one_line(h->err, h->cap, msg);
    }
}

static void
ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Drives PQconnectPoll until the connection is made or deadline_ms. */
static enum rl_err
connect_poll(PGconn *pg, int64_t deadline_ms, const struct how *h)
{
    /* As the libpq manual says: behave as if the last call had returned
     * PGRES_POLLING_WRITING. */
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
        if (st == PGRES_POLLING_OK) {
            return RL_OK;
        }
        if (st == PGRES_POLLING_FAILED) {
            say(h, PQerrorMessage(pg));
            return RL_ERR_CONN;
        }
        short events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int w = wait_socket(pg, events, deadline_ms);
        if (w == 0) {
            if (h->plain) {
                /* PQconnectdb's words: the message so far names the host
                 * ("connection to server at ... failed: "). */
                whole(h->err, h->cap, PQerrorMessage(pg), "timeout expired");
            } else {
                one_line(h->err, h->cap,
                         "timeout: the database did not complete the "
                         "connection before the deadline");
            }
            return RL_ERR_TIMEOUT;
        }
        if (w < 0) {
            say(h, PQerrorMessage(pg));
            return RL_ERR_CONN;
        }
        st = PQconnectPoll(pg);
    }
}

enum rl_err
rl_pg_connect_timeout_ms(const char *value, int64_t *ms)
{
    if (value == NULL) {
        *ms = 0;
        return RL_OK;
    }
    /* libpq's parse_int_param: strtol(3) in an int, blanks after it. */
    const char *end = NULL;
    int64_t v = 0;
    if (rl_parse_i64(value, RL_PARSE_STRTOL, INT_MIN, INT_MAX, &end, &v) !=
        RL_OK) {
        return RL_ERR_INVALID;
    }
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (*end != '\0') {
        return RL_ERR_INVALID;
    }
    /* connectDBComplete: "insist on at least two seconds"; negative is 0. */
    *ms = v <= 0 ? 0 : (v < 2 ? 2 : v) * 1000;
    return RL_OK;
}

/* A plain client refuses what PQconnectdb refuses: PQconnectStartParams
 * with expand_dbname would take a bare word for a database name. */
static enum rl_err
check_dsn(const char *dsn, const struct how *h)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &msg);
    if (opts != NULL) {
        PQconninfoFree(opts);
        return RL_OK;
    }
    if (msg == NULL) {
        say(h, "out of memory");
        return RL_ERR_NOMEM;
    }
    say(h, msg);
    PQfreemem(msg);
    return RL_ERR_CONN;
}

/* The deadline PQconnectdb would keep on pg, a connection just started:
 * its connect_timeout (the DSN's, the service file's or
 * PGCONNECT_TIMEOUT, as libpq resolved it) from now, or none. */
static enum rl_err
libpq_deadline(PGconn *pg, int64_t *deadline_ms, const struct how *h)
{
    PQconninfoOption *opts = PQconninfo(pg);
    if (opts == NULL) {
        say(h, "out of memory");
        return RL_ERR_NOMEM;
    }
    const char *value = NULL;
    for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "connect_timeout") == 0) {
            value = o->val;
            break;
        }
    }
    int64_t ms = 0;
    enum rl_err e = rl_pg_connect_timeout_ms(value, &ms);
    if (e != RL_OK) {
        /* libpq's message, after the host it had started on. */
        char bad[256];
        snprintf(bad, sizeof(bad),
                 "invalid integer value \"%s\" for connection option "
                 "\"connect_timeout\"",
                 value);
        whole(h->err, h->cap, PQerrorMessage(pg), bad);
        e = RL_ERR_CONN;
    } else {
        *deadline_ms = ms > 0 ? rl_pg_deadline(rl_mono_ms(), ms) : INT64_MAX;
    }
    PQconninfoFree(opts);
    return e;
}

static enum rl_err
open_conn(const char *dsn, const char *app_name, const char *setup_sql,
          int64_t deadline_ms, const struct how *h, PGconn **out)
{
    *out = NULL;
    enum rl_err e;
    if (h->plain && (e = check_dsn(dsn, h)) != RL_OK) {
        return e;
    }
    /* Defaults first: a DSN that sets the same keywords wins (expand_dbname
     * = 1 makes the "dbname" value the whole DSN). The keepalives find a
     * peer that vanished while the connection sat idle; tcp_user_timeout
     * bounds unacknowledged writes. A plain client keeps libpq's, as
     * PQconnectdb would (a migration that sits out a network hiccup goes on
     * as before). A NULL value is no value: libpq's default.
     * connect_timeout is left out: PQconnectPoll ignores it, deadline_ms
     * replaces it (for a plain client, libpq_deadline reads it back). */
    const char *keys[5];
    const char *vals[5];
    size_t n = 0;
    keys[n] = "application_name";
    vals[n++] = app_name;
    if (!h->plain) {
        keys[n] = "tcp_user_timeout";
        vals[n++] = "10000";
        keys[n] = "keepalives_idle";
        vals[n++] = "30";
    }
    keys[n] = "dbname";
    vals[n++] = dsn;
    keys[n] = NULL;
    vals[n] = NULL;
    PGconn *pg = PQconnectStartParams(keys, vals, 1);
    if (pg == NULL) {
        say(h, "out of memory");
        return RL_ERR_NOMEM;
    }
    if (PQstatus(pg) == CONNECTION_BAD) {
        say(h, PQerrorMessage(pg)); /* e.g. a malformed DSN */
        e = RL_ERR_CONN;
        goto fail;
    }
    if (h->plain && (e = libpq_deadline(pg, &deadline_ms, h)) != RL_OK) {
        goto fail;
    }
    if ((e = connect_poll(pg, deadline_ms, h)) != RL_OK) {
        goto fail;
    }
    if (!h->plain) {
        PQsetNoticeProcessor(pg, ignore_notice, NULL);
        if (PQsetnonblocking(pg, 1) != 0) {
            say(h, PQerrorMessage(pg));
            e = RL_ERR_CONN;
            goto fail;
        }
    }
    if (setup_sql != NULL) {
        PGresult *r;
        e = rl_pg_exec(pg, setup_sql, deadline_ms, &r);
        if (e == RL_ERR_TIMEOUT) {
            say(h, "timeout: the database did not answer the "
                   "connection set-up before the deadline");
            goto fail;
        }
        if (e != RL_OK) {
            say(h, PQerrorMessage(pg));
            goto fail;
        }
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            say(h, PQresultErrorMessage(r));
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

enum rl_err
rl_pg_connect(const char *dsn, const char *app_name, const char *setup_sql,
              int64_t deadline_ms, PGconn **out, char *err, size_t cap)
{
    const struct how h = {.plain = false, .err = err, .cap = cap};
    return open_conn(dsn, app_name, setup_sql, deadline_ms, &h, out);
}

enum rl_err
rl_pg_connectdb(const char *dsn, const char *app_name, const char *setup_sql,
                PGconn **out, char *err, size_t cap)
{
    const struct how h = {.plain = true, .err = err, .cap = cap};
    /* libpq_deadline sets the deadline once the connection has started. */
    return open_conn(dsn, app_name, setup_sql, INT64_MAX, &h, out);
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

/* rl_pg_await and rl_pg_await_pipeline: collects every result until the
 * connection is idle again — the NULL that ends one query's results, or in
 * pipeline mode the PGRES_PIPELINE_SYNC that ends the pipeline (NULLs there
 * only separate its queries). */
static enum rl_err
collect(PGconn *pg, bool pipeline, int64_t deadline_ms, PGresult **out)
{
    *out = NULL;
    enum rl_err e = flush_out(pg, deadline_ms);
    if (e != RL_OK) {
        return e;
    }
    PGresult *keep = NULL;
    bool after_null = false;
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
            /* Two NULLs in a row: the pipeline lost its sync (a broken
             * connection); nothing more will come. */
            if (pipeline && !after_null && PQstatus(pg) == CONNECTION_OK) {
                after_null = true;
                continue;
            }
            break;
        }
        after_null = false;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            if (!PQexitPipelineMode(pg)) {
                PQclear(keep);
                return RL_ERR_CONN;
            }
            break;
        }
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
    if (PQstatus(pg) != CONNECTION_OK ||
        PQpipelineStatus(pg) != PQ_PIPELINE_OFF) {
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
rl_pg_await(PGconn *pg, int64_t deadline_ms, PGresult **out)
{
    return collect(pg, false, deadline_ms, out);
}

bool
rl_pg_send_local_timeout(PGconn *pg, int timeout_ms)
{
    char ms[16];
    snprintf(ms, sizeof(ms), "%d", timeout_ms > 0 ? timeout_ms : 0);
    const char *v[1] = {ms};
    return PQenterPipelineMode(pg) &&
           PQsendQueryParams(pg,
                             "SELECT set_config('statement_timeout', $1, true)",
                             1, NULL, v, NULL, NULL, 0);
}

enum rl_err
rl_pg_await_pipeline(PGconn *pg, int64_t deadline_ms, PGresult **out)
{
    *out = NULL;
    if (!PQpipelineSync(pg)) {
        return RL_ERR_CONN;
    }
    return collect(pg, true, deadline_ms, out);
}

enum rl_err
rl_pg_direct(PGconn *pg, int64_t deadline_ms, bool *direct)
{
    PGresult *r;
    enum rl_err e = rl_pg_exec(pg, "SELECT pg_backend_pid()", deadline_ms, &r);
    if (e != RL_OK) {
        return e;
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        PQclear(r);
        return RL_ERR_CONN;
    }
    *direct = rl_pg_int(r, 0, 0) == (int64_t)PQbackendPID(pg);
    PQclear(r);
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

int
rl_pg_notifications(PGconn *pg,
                    void (*fn)(void *ctx, const char *channel,
                               const char *payload),
                    void *ctx)
{
    if (!PQconsumeInput(pg)) {
        return -1;
    }
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(pg)) != NULL) {
        if (fn != NULL) {
            fn(ctx, note->relname, note->extra);
        }
        PQfreemem(note);
        n++;
    }
    return n;
}
