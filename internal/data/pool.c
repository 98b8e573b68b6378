/*
 * pool.c — the libpq connection pool.
 *
 * Owns: every PGconn of the process (except the migrator's and the mail
 * worker's own), the idle list (LIFO, so hot connections stay hot) and the
 * statistics. db->mu guards everything in struct rl_db; a struct rl_conn is
 * touched only by the thread holding it. Connections are opened and closed
 * outside the lock. A janitor thread closes connections idle longer than
 * max_idle_time_ms.
 *
 * Health: an idle connection whose socket is readable has been told
 * something by the server (usually that it is shutting down); it is checked
 * with PQconsumeInput and replaced if dead — no round trip on the hot path.
 *
 * Deadlines: nothing here waits on the server without one (conn.h does
 * the waiting). Opening a connection, with its SET line, must finish
 * within connect_ms; every other round trip (PREPARE, a statement, BEGIN,
 * COMMIT, ROLLBACK) within budget_ms = statement_timeout + slack, counted
 * from when it is sent. A round trip that passes its deadline returns
 * RL_ERR_TIMEOUT and leaves its connection broken: the query is still in
 * flight on it, so release closes it and the pool opens a fresh one on
 * demand. That is how the pool recovers from a server that froze.
 */
#include "internal/data/pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/base/clock.h"
#include "internal/data/pg_int.h"
#include "internal/jsonlog/jsonlog.h"

#define IDLE_CHECK_MS 1000

struct rl_conn {
    PGconn *pg;
    struct rl_conn *next; /* idle list */
    int64_t idle_since_ms;
    bool broken;
    bool prepared_on; /* copy of db->cfg.prepared */
    char sqlstate[6];
    char constraint[64];
    unsigned char prepared[RL_STMT_SLOTS];
    struct rl_db *db;
};

struct rl_db {
    struct rl_db_config cfg;
    char *dsn;
    int64_t connect_ms; /* bound of opening a connection */
    int64_t budget_ms;  /* bound of every other round trip */
    pthread_mutex_t mu;
    pthread_cond_t freed; /* a connection was released or a slot freed */
    pthread_cond_t wake;  /* janitor: close/stop */
    pthread_t janitor;
    bool janitor_started;
    bool closing;
    struct rl_conn *idle; /* newest first */
    int open;
    int in_use;
    int idle_count;
    atomic_int idle_hint; /* copy of idle_count readable without mu */
    int64_t wait_count;
    int64_t wait_ns;
    int64_t max_idle_closed;
    int64_t max_idle_time_closed;
};

static void
conn_free(struct rl_conn *c)
{
    if (c != NULL) {
        PQfinish(c->pg);
        free(c);
    }
}

/* Opens and configures a connection within db->connect_ms. Called without
 * db->mu. Server NOTICEs (e.g. "text-search query doesn't contain
 * lexemes") are expected and harmless: rl_pg_connect keeps them off
 * stderr. */
static enum rl_err
conn_open(struct rl_db *db, struct rl_conn **out, const char **errmsg)
{
    static __thread char msg[256];
    struct rl_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RL_ERR_NOMEM;
    }
    c->db = db;
    c->prepared_on = db->cfg.prepared;
    char set[160];
    snprintf(set, sizeof(set),
             "SET statement_timeout = %d; SET TimeZone = 'UTC'; "
             "SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'",
             db->cfg.query_timeout_ms);
    enum rl_err e = rl_pg_connect(db->dsn, "redlight", set,
                                  rl_pg_deadline(rl_mono_ms(), db->connect_ms),
                                  &c->pg, msg, sizeof(msg));
    if (e != RL_OK) {
        if (errmsg != NULL) {
            *errmsg = msg;
        }
        rl_log_props(RL_LOG_ERROR, "database connection failed",
                     RL_LOG_STR("error", msg), NULL);
        free(c);
        return e == RL_ERR_NOMEM ? e : RL_ERR_CONN;
    }
    *out = c;
    return RL_OK;
}

/* Reopens c in place after its server went away. */
static enum rl_err
conn_reopen(struct rl_conn *c)
{
    struct rl_conn *fresh;
    enum rl_err e = conn_open(c->db, &fresh, NULL);
    if (e != RL_OK) {
        c->broken = true;
        return e;
    }
    PQfinish(c->pg);
    c->pg = fresh->pg;
    fresh->pg = NULL;
    free(fresh);
    memset(c->prepared, 0, sizeof(c->prepared));
    c->broken = false;
    return RL_OK;
}

/* True when an idle connection is still usable: nothing arrived on its
 * socket, or what arrived left it CONNECTION_OK. */
static bool
conn_alive(struct rl_conn *c)
{
    if (PQstatus(c->pg) != CONNECTION_OK) {
        return false;
    }
    struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
    if (p.fd < 0) {
        return false;
    }
    int n = poll(&p, 1, 0);
    if (n == 0) {
        return true;
    }
    if (n < 0) {
        return errno == EINTR;
    }
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
        return false;
    }
    PGnotify *note;
    while ((note = PQnotifies(c->pg)) != NULL) {
        PQfreemem(note);
    }
    /* Readable and still OK: a notice or notification. A closed socket
     * makes PQconsumeInput fail, handled above. */
    return true;
}

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
        e = rl_pg_await(c->pg, stmt_deadline(c), res);
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
static enum rl_err
simple(struct rl_conn *c, const char *sql)
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

static void *
janitor_main(void *arg)
{
    struct rl_db *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->closing) {
        int64_t period = db->cfg.max_idle_time_ms / 2;
        if (period < 100) {
            period = 100;
        }
        if (period > 1000) {
            period = 1000;
        }
        struct timespec ts = rl_mono_deadline(period);
        pthread_cond_timedwait(&db->wake, &db->mu, &ts);
        if (db->closing) {
            break;
        }
        /* Idle list is newest first: cut the tail of expired ones. */
        int64_t limit = rl_mono_ms() - db->cfg.max_idle_time_ms;
        struct rl_conn **pp = &db->idle;
        while (*pp != NULL && (*pp)->idle_since_ms > limit) {
            pp = &(*pp)->next;
        }
        struct rl_conn *expired = *pp;
        *pp = NULL;
        int n = 0;
        for (struct rl_conn *c = expired; c != NULL; c = c->next) {
            n++;
        }
        db->idle_count -= n;
        atomic_store(&db->idle_hint, db->idle_count);
        db->open -= n;
        db->max_idle_time_closed += n;
        if (n > 0) {
            pthread_cond_broadcast(&db->freed);
        }
        pthread_mutex_unlock(&db->mu);
        while (expired != NULL) {
            struct rl_conn *next = expired->next;
            conn_free(expired);
            expired = next;
        }
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

enum rl_err
rl_db_open(const struct rl_db_config *cfg, struct rl_db **out,
           const char **errmsg)
{
    if (cfg->dsn == NULL || cfg->max_open <= 0 || cfg->query_timeout_ms <= 0 ||
        cfg->connect_timeout_ms < 0 || cfg->deadline_slack_ms < 0) {
        if (errmsg != NULL) {
            *errmsg = "invalid pool configuration";
        }
        return RL_ERR_INVALID;
    }
    struct rl_db *db = calloc(1, sizeof(*db));
    if (db == NULL) {
        return RL_ERR_NOMEM;
    }
    db->cfg = *cfg;
    if (db->cfg.max_idle > db->cfg.max_open) {
        db->cfg.max_idle = db->cfg.max_open;
    }
    if (db->cfg.max_idle < 0) {
        db->cfg.max_idle = 0;
    }
    db->dsn = strdup(cfg->dsn);
    db->cfg.dsn = db->dsn;
    db->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms
                                                 : RL_PG_CONNECT_TIMEOUT_MS;
    db->budget_ms =
        rl_pg_budget_ms(cfg->query_timeout_ms, cfg->deadline_slack_ms);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->freed, &ca);
    pthread_cond_init(&db->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (db->dsn == NULL) {
        rl_db_close(db);
        return RL_ERR_NOMEM;
    }
    struct rl_conn *c;
    enum rl_err e = conn_open(db, &c, errmsg);
    if (e != RL_OK) {
        rl_db_close(db);
        return e;
    }
    db->open = 1;
    db->in_use = 1;
    rl_db_release(db, c);
    if (db->cfg.max_idle_time_ms > 0) {
        if (pthread_create(&db->janitor, NULL, janitor_main, db) != 0) {
            rl_db_close(db);
            return RL_ERR_NOMEM;
        }
        db->janitor_started = true;
    }
    *out = db;
    return RL_OK;
}

void
rl_db_close(struct rl_db *db)
{
    if (db == NULL) {
        return;
    }
    pthread_mutex_lock(&db->mu);
    db->closing = true;
    pthread_cond_broadcast(&db->wake);
    pthread_cond_broadcast(&db->freed);
    struct rl_conn *idle = db->idle;
    db->idle = NULL;
    pthread_mutex_unlock(&db->mu);
    if (db->janitor_started) {
        pthread_join(db->janitor, NULL);
    }
    while (idle != NULL) {
        struct rl_conn *next = idle->next;
        conn_free(idle);
        idle = next;
    }
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->freed);
    pthread_cond_destroy(&db->wake);
    free(db->dsn);
    free(db);
}

enum rl_err
rl_db_acquire(struct rl_db *db, struct rl_conn **out)
{
    int64_t deadline = rl_mono_ms() + db->cfg.acquire_timeout_ms;
    bool waited = false;
    int64_t wait_start = 0;
    pthread_mutex_lock(&db->mu);
    for (;;) {
        if (db->closing) {
            pthread_mutex_unlock(&db->mu);
            return RL_ERR_CONN;
        }
        if (db->idle != NULL) {
            struct rl_conn *c = db->idle;
            db->idle = c->next;
            db->idle_count--;
            atomic_store(&db->idle_hint, db->idle_count);
            db->in_use++;
            if (waited) {
                db->wait_count++;
                db->wait_ns += rl_mono_ns() - wait_start;
            }
            pthread_mutex_unlock(&db->mu);
            c->next = NULL;
            /* A connection reused within IDLE_CHECK_MS skips the check (a
             * poll(2) per request is measurable); a read that still finds
             * it dead is retried on a fresh one by rl_db_exec. */
            if (rl_mono_ms() - c->idle_since_ms > IDLE_CHECK_MS &&
                !conn_alive(c)) {
                rl_log_props(RL_LOG_INFO, "replacing dead database connection",
                             NULL);
                if (conn_reopen(c) != RL_OK) {
                    c->broken = true;
                    rl_db_release(db, c);
                    return RL_ERR_CONN;
                }
            }
            *out = c;
            return RL_OK;
        }
        if (db->open < db->cfg.max_open) {
            db->open++;
            db->in_use++;
            if (waited) {
                db->wait_count++;
                db->wait_ns += rl_mono_ns() - wait_start;
            }
            pthread_mutex_unlock(&db->mu);
            struct rl_conn *c;
            enum rl_err e = conn_open(db, &c, NULL);
            if (e != RL_OK) {
                pthread_mutex_lock(&db->mu);
                db->open--;
                db->in_use--;
                pthread_cond_signal(&db->freed);
                pthread_mutex_unlock(&db->mu);
                return e;
            }
            *out = c;
            return RL_OK;
        }
        if (!waited) {
            waited = true;
            wait_start = rl_mono_ns();
        }
        int64_t left = deadline - rl_mono_ms();
        if (left <= 0) {
            db->wait_count++;
            db->wait_ns += rl_mono_ns() - wait_start;
            pthread_mutex_unlock(&db->mu);
            return RL_ERR_POOL_TIMEOUT;
        }
        struct timespec ts = rl_mono_deadline(left);
        pthread_cond_timedwait(&db->freed, &db->mu, &ts);
    }
}

void
rl_db_release(struct rl_db *db, struct rl_conn *c)
{
    if (c == NULL) {
        return;
    }
    if (!c->broken) {
        PGTransactionStatusType ts = PQtransactionStatus(c->pg);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
            if (simple(c, "ROLLBACK") != RL_OK) {
                c->broken = true;
            }
        } else if (ts != PQTRANS_IDLE) {
            c->broken = true; /* busy or unknown: cannot be reused safely */
        }
    }
    c->sqlstate[0] = '\0';
    c->constraint[0] = '\0';
    pthread_mutex_lock(&db->mu);
    db->in_use--;
    bool drop = c->broken || db->closing || db->idle_count >= db->cfg.max_idle;
    if (drop) {
        db->open--;
        if (!c->broken && !db->closing) {
            db->max_idle_closed++;
        }
    } else {
        c->idle_since_ms = rl_mono_ms();
        c->next = db->idle;
        db->idle = c;
        db->idle_count++;
        atomic_store(&db->idle_hint, db->idle_count);
    }
    pthread_cond_signal(&db->freed);
    pthread_mutex_unlock(&db->mu);
    if (drop) {
        conn_free(c);
    }
}

bool
rl_db_has_idle(struct rl_db *db)
{
    return atomic_load_explicit(&db->idle_hint, memory_order_relaxed) > 0;
}

void
rl_db_stats(struct rl_db *db, struct rl_db_stats *out)
{
    pthread_mutex_lock(&db->mu);
    out->max_open = db->cfg.max_open;
    out->open = db->open;
    out->in_use = db->in_use;
    out->idle = db->idle_count;
    out->wait_count = db->wait_count;
    out->wait_duration_ns = db->wait_ns;
    out->max_idle_closed = db->max_idle_closed;
    out->max_idle_time_closed = db->max_idle_time_closed;
    out->max_lifetime_closed = 0;
    pthread_mutex_unlock(&db->mu);
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
                       PQsendQueryPrepared(c->pg, def->name, def->nparams,
                                           values, lengths, NULL, 0),
                       &r, conn_lost);
    } else {
        e = round_trip(c, def->name,
                       PQsendQueryParams(c->pg, def->sql, def->nparams, NULL,
                                         values, lengths, NULL, 0),
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
    if (c->broken && conn_reopen(c) != RL_OK) {
        return RL_ERR_CONN;
    }
    bool in_tx = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
    /* A write cannot be retried blindly (it may have committed), so make
     * sure the connection is alive before sending it: one poll(2), paid
     * only by writes outside a transaction. */
    if (!def->read_only && !in_tx && !conn_alive(c) &&
        conn_reopen(c) != RL_OK) {
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
        if (def->read_only && !in_tx && conn_reopen(c) == RL_OK) {
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
    if ((c->broken || !conn_alive(c)) && conn_reopen(c) != RL_OK) {
        return RL_ERR_CONN;
    }
    enum rl_err e = simple(c, "BEGIN");
    if (e == RL_ERR_CONN && conn_reopen(c) == RL_OK) {
        e = simple(c, "BEGIN"); /* nothing was done yet: safe to retry */
    }
    return e;
}

enum rl_err
rl_db_commit(struct rl_conn *c)
{
    return simple(c, "COMMIT");
}

void
rl_db_rollback(struct rl_conn *c)
{
    if (!c->broken) {
        (void)simple(c, "ROLLBACK");
    }
}
