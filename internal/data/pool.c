/*
 * pool.c — the libpq connection pool: opening, handing out, checking and
 * closing connections. Statements on a connection are in exec.c; the
 * layout both share is in pool_int.h.
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
#include "internal/data/pool_int.h"
#include "internal/jsonlog/jsonlog.h"

#define IDLE_CHECK_MS 1000

static void
conn_free(struct rl_conn *c)
{
    if (c != NULL) {
        PQfinish(c->pg);
        free(c);
    }
}

/* On rl_db_open's first connection pg (set up without statement_timeout):
 * finds whether the DSN goes through a pooler, and on a direct session
 * sets statement_timeout (and max_parallel_workers_per_gather) as every
 * later connection will. Single-threaded:
 * the pool is not shared yet. */
static enum rl_err
pool_mode(struct rl_db *db, PGconn *pg, int64_t deadline)
{
    bool direct = true;
    enum rl_err e = rl_pg_direct(pg, deadline, &direct);
    if (e != RL_OK) {
        return e;
    }
    db->pooled = !direct;
    if (db->pooled) {
        snprintf(db->begin_sql, sizeof(db->begin_sql),
                 "BEGIN; SET LOCAL statement_timeout = %d",
                 db->cfg.query_timeout_ms);
        rl_log_props(RL_LOG_INFO,
                     "database: connected through a pooler (statement "
                     "timeout sent with each statement)",
                     NULL);
        return RL_OK;
    }
    snprintf(db->begin_sql, sizeof(db->begin_sql), "BEGIN");
    char set[160];
    if (db->cfg.parallel_workers >= 0) {
        snprintf(set, sizeof(set),
                 "SELECT set_config('statement_timeout', '%d', false), "
                 "set_config('max_parallel_workers_per_gather', '%d', false)",
                 db->cfg.query_timeout_ms, db->cfg.parallel_workers);
    } else {
        snprintf(set, sizeof(set),
                 "SELECT set_config('statement_timeout', '%d', false)",
                 db->cfg.query_timeout_ms);
    }
    PGresult *r;
    e = rl_pg_exec(pg, set, deadline, &r);
    if (e == RL_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        e = RL_ERR_CONN;
    }
    PQclear(r);
    return e;
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
    /* TimeZone, DateStyle and client_encoding are reported by the server
     * (ParameterStatus), so a pooler replays them on whichever server
     * connection it hands out; statement_timeout is not: through a pooler
     * it goes with each statement (exec.c). The first connection does not
     * know yet (rl_db_open) and sets it once it does. */
    char direct[128] = "";
    if (!db->pooled && db->begin_sql[0] != '\0') {
        int n = snprintf(direct, sizeof(direct), "SET statement_timeout = %d; ",
                         db->cfg.query_timeout_ms);
        if (db->cfg.parallel_workers >= 0) {
            snprintf(direct + n, sizeof(direct) - (size_t)n,
                     "SET max_parallel_workers_per_gather = %d; ",
                     db->cfg.parallel_workers);
        }
    }
    char setup[256];
    snprintf(setup, sizeof(setup),
             "%sSET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
             "SET client_encoding = 'UTF8'",
             direct);
    int64_t deadline = rl_pg_deadline(rl_mono_ms(), db->connect_ms);
    enum rl_err e = rl_pg_connect(db->dsn, "redlight", setup, deadline, &c->pg,
                                  msg, sizeof(msg));
    if (e == RL_OK && db->begin_sql[0] == '\0') {
        e = pool_mode(db, c->pg, deadline);
        if (e != RL_OK) {
            snprintf(msg, sizeof(msg), "%s",
                     e == RL_ERR_TIMEOUT ? "timeout: the database did not "
                                           "answer the connection set-up "
                                           "before the deadline"
                                         : PQerrorMessage(c->pg));
            msg[strcspn(msg, "\n")] = '\0';
            PQfinish(c->pg);
        }
    }
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
enum rl_err
rl_db_conn_reopen(struct rl_conn *c)
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
bool
rl_db_conn_alive(struct rl_conn *c)
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

bool
rl_db_pooled(const struct rl_db *db)
{
    return db->pooled;
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
                !rl_db_conn_alive(c)) {
                rl_log_props(RL_LOG_INFO, "replacing dead database connection",
                             NULL);
                if (rl_db_conn_reopen(c) != RL_OK) {
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
            if (rl_db_simple(c, "ROLLBACK") != RL_OK) {
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
