/*
 * replica.c — the read replica's checker thread and its flag (replica.h).
 *
 * Owns: two PGconns of its own (the primary, to read its WAL position; the
 * replica), the replica's pool (opened here on the first good check, closed
 * by rl_replica_stop) and the ring of the primary's recent WAL positions.
 * r->mu guards the stats; `usable` and `pool` are atomics the request path
 * reads without a lock. Every round trip is bounded (conn.h): connect by
 * CONNECT_MS, each query by QUERY_MS; a connection that failed is closed
 * and opened again at the next check.
 */
#include "internal/data/replica.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/base/clock.h"
#include "internal/base/hex.h"
#include "internal/data/conn.h"
#include "internal/jsonlog/jsonlog.h"

#define CONNECT_MS 2000
#define QUERY_MS 1000
#define RING 64 /* kept primary positions: 64 intervals >= 16 x max lag */

struct sample {
    int64_t at_ms;
    uint64_t lsn;
};

struct rl_replica {
    struct rl_replica_config cfg;
    char *primary_dsn, *replica_dsn;
    int64_t interval_ms;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool stopping; /* under mu */
    _Atomic(struct rl_db *) pool;
    atomic_bool usable;
    /* The thread's own. */
    PGconn *primary, *replica;
    struct sample ring[RING];
    int nring, next;
    /* Under mu. */
    struct rl_replica_stats st;
};

/* One to eight hex digits from *s, up to `stop`; *s moves past them. */
static bool
hex32(const char **s, char stop, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0;
    for (; **s != stop; (*s)++, n++) {
        int d = rl_hex_value(**s);
        if (d < 0 || n == 8) {
            return false;
        }
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return n > 0;
}

/* "16/B374D848" (pg_lsn's text) -> 0x16B374D848; false if it is not one. */
static bool
parse_lsn(const char *s, uint64_t *out)
{
    uint64_t hi = 0, lo = 0;
    if (s == NULL || !hex32(&s, '/', &hi)) {
        return false;
    }
    s++;
    if (!hex32(&s, '\0', &lo)) {
        return false;
    }
    *out = hi << 32 | lo;
    return true;
}

/* Opens *pg on dsn if it is closed. */
static bool
ensure(PGconn **pg, const char *dsn, char *err, size_t cap)
{
    if (*pg != NULL && PQstatus(*pg) == CONNECTION_OK) {
        return true;
    }
    PQfinish(*pg);
    *pg = NULL;
    return rl_pg_connect(dsn, "redlight-replica-check", NULL,
                         rl_pg_deadline(rl_mono_ms(), CONNECT_MS), pg, err,
                         cap) == RL_OK;
}

/* One row of sql on *pg within QUERY_MS, or NULL (the connection closed,
 * err says why). */
static PGresult *
query(PGconn **pg, const char *sql, char *err, size_t cap)
{
    PGresult *r = NULL;
    enum rl_err e =
        rl_pg_exec(*pg, sql, rl_pg_deadline(rl_mono_ms(), QUERY_MS), &r);
    if (e == RL_OK && PQresultStatus(r) == PGRES_TUPLES_OK &&
        PQntuples(r) == 1) {
        return r;
    }
    snprintf(err, cap, "%s",
             e == RL_ERR_TIMEOUT ? "no answer within the deadline"
             : e == RL_OK        ? PQresultErrorMessage(r)
                                 : PQerrorMessage(*pg));
    err[strcspn(err, "\n")] = '\0';
    PQclear(r);
    PQfinish(*pg);
    *pg = NULL;
    return NULL;
}

/* The lag bound from the kept positions: 0 when lsn has reached the newest,
 * else now - the time of the newest one it has reached; -1 when it has
 * reached none of them. */
static int64_t
lag_of(const struct rl_replica *r, uint64_t lsn, int64_t now)
{
    for (int k = 0; k < r->nring; k++) {
        const struct sample *s = &r->ring[(r->next - 1 - k + RING) % RING];
        if (lsn >= s->lsn) {
            return k == 0 ? 0 : now - s->at_ms;
        }
    }
    return -1;
}

/* One check: *lag_ms as lag_of, or false with why. */
static bool
check(struct rl_replica *r, int64_t *lag_ms, char *why, size_t cap)
{
    char err[128];
    uint64_t plsn = 0, rlsn = 0;
    if (!ensure(&r->primary, r->primary_dsn, err, sizeof(err))) {
        snprintf(why, cap, "primary unreachable: %s", err);
        return false;
    }
    PGresult *p = query(&r->primary, "SELECT pg_current_wal_flush_lsn()", err,
                        sizeof(err));
    if (p == NULL || !parse_lsn(PQgetvalue(p, 0, 0), &plsn)) {
        snprintf(why, cap, "primary: %s", p == NULL ? err : "not an LSN");
        PQclear(p);
        return false;
    }
    PQclear(p);
    int64_t now = rl_mono_ms();
    r->ring[r->next] = (struct sample){.at_ms = now, .lsn = plsn};
    r->next = (r->next + 1) % RING;
    r->nring += r->nring < RING;
    if (!ensure(&r->replica, r->replica_dsn, err, sizeof(err))) {
        snprintf(why, cap, "unreachable: %s", err);
        return false;
    }
    PGresult *q = query(&r->replica,
                        "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()",
                        err, sizeof(err));
    if (q == NULL) {
        snprintf(why, cap, "%s", err);
        return false;
    }
    bool standby = strcmp(PQgetvalue(q, 0, 0), "t") == 0;
    bool ok = standby && parse_lsn(PQgetvalue(q, 0, 1), &rlsn);
    PQclear(q);
    if (!ok) {
        snprintf(why, cap, "%s", "not a standby (not in recovery)");
        return false;
    }
    *lag_ms = lag_of(r, rlsn, rl_mono_ms());
    return true;
}

/* Records a check's outcome; logs when usable flips. */
static void
publish(struct rl_replica *r, bool reached, bool usable, int64_t lag,
        const char *why)
{
    bool was = atomic_load(&r->usable);
    pthread_mutex_lock(&r->mu);
    r->st.checks++;
    r->st.failures += !reached;
    r->st.lag_ms = reached ? lag : -1;
    r->st.usable = usable;
    snprintf(r->st.reason, sizeof(r->st.reason), "%s", usable ? "" : why);
    r->st.changes += was != usable;
    pthread_mutex_unlock(&r->mu);
    atomic_store(&r->usable, usable);
    if (was != usable) {
        if (usable) {
            rl_log_props(RL_LOG_INFO, "replica: in use for lists",
                         RL_LOG_INT("lag_ms", lag), NULL);
        } else {
            rl_log_props(RL_LOG_ERROR,
                         "replica: skipped, lists read the primary",
                         RL_LOG_STR("reason", why), NULL);
        }
    }
}

static void *
checker_main(void *arg)
{
    struct rl_replica *r = arg;
    char why[sizeof(r->st.reason)];
    bool first = true;
    for (;;) {
        int64_t lag = -1;
        bool reached = check(r, &lag, why, sizeof(why));
        bool usable = false;
        if (reached && lag < 0) {
            snprintf(why, sizeof(why), "%s", "lag unknown yet");
        } else if (reached && lag > r->cfg.max_lag_ms) {
            snprintf(why, sizeof(why), "lag %" PRId64 " ms over %" PRId64, lag,
                     r->cfg.max_lag_ms);
        } else if (reached) {
            usable = true;
        }
        if (usable && atomic_load(&r->pool) == NULL) {
            struct rl_db *db = NULL;
            const char *msg = NULL;
            if (rl_db_open(&r->cfg.pool, &db, &msg) == RL_OK) {
                atomic_store(&r->pool, db);
            } else {
                usable = false;
                snprintf(why, sizeof(why), "pool: %s",
                         msg != NULL ? msg : "cannot open");
            }
        }
        if (first && !usable) {
            /* Say why once at start-up, even though nothing flipped. */
            rl_log_props(RL_LOG_ERROR,
                         "replica: skipped, lists read the primary",
                         RL_LOG_STR("reason", why), NULL);
        }
        first = false;
        publish(r, reached, usable, lag, why);
        pthread_mutex_lock(&r->mu);
        struct timespec ts = rl_mono_deadline(r->interval_ms);
        while (!r->stopping &&
               pthread_cond_timedwait(&r->wake, &r->mu, &ts) == 0) {
        }
        bool stop = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stop) {
            break;
        }
    }
    PQfinish(r->primary);
    PQfinish(r->replica);
    r->primary = r->replica = NULL;
    return NULL;
}

static void
replica_free(struct rl_replica *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->wake);
    free(r->primary_dsn);
    free(r->replica_dsn);
    free(r);
}

enum rl_err
rl_replica_start(const struct rl_replica_config *cfg, struct rl_replica **out)
{
    if (cfg->primary_dsn == NULL || cfg->pool.dsn == NULL ||
        cfg->pool.dsn[0] == '\0' || cfg->max_lag_ms <= 0) {
        return RL_ERR_INVALID;
    }
    struct rl_replica *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return RL_ERR_NOMEM;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->wake, &ca);
    pthread_condattr_destroy(&ca);
    r->cfg = *cfg;
    r->primary_dsn = strdup(cfg->primary_dsn);
    r->replica_dsn = strdup(cfg->pool.dsn);
    if (r->primary_dsn == NULL || r->replica_dsn == NULL) {
        replica_free(r);
        return RL_ERR_NOMEM;
    }
    r->cfg.primary_dsn = r->primary_dsn;
    r->cfg.pool.dsn = r->replica_dsn;
    int64_t iv = cfg->max_lag_ms / 4;
    r->interval_ms = iv < 100 ? 100 : iv > 1000 ? 1000 : iv;
    r->st.lag_ms = -1;
    snprintf(r->st.reason, sizeof(r->st.reason), "%s", "not checked yet");
    atomic_init(&r->pool, NULL);
    atomic_init(&r->usable, false);
    if (pthread_create(&r->tid, NULL, checker_main, r) != 0) {
        replica_free(r);
        return RL_ERR_NOMEM;
    }
    *out = r;
    return RL_OK;
}

struct rl_db *
rl_replica_db(struct rl_replica *r)
{
    if (r == NULL || !atomic_load_explicit(&r->usable, memory_order_acquire)) {
        return NULL;
    }
    return atomic_load_explicit(&r->pool, memory_order_acquire);
}

void
rl_replica_stats(struct rl_replica *r, struct rl_replica_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->lag_ms = -1;
    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
}

void
rl_replica_stop(struct rl_replica *r)
{
    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->tid, NULL);
    rl_db_close(atomic_load(&r->pool));
    replica_free(r);
}
