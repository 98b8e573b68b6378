/*
 * listener.c — the authentication cache's listener: one thread with its
 * own connection (rl_pg_connect, application_name redlight-authcache)
 * holding LISTEN redlight_auth. A notification's payload is a user id,
 * whose entries it evicts, or '*' (a TRUNCATE), which empties the cache.
 *
 * The cache is on exactly while LISTEN holds: switched on (after a flush)
 * once the LISTEN has been answered, off (with a flush) as soon as the
 * connection fails. Notifications sent while it was down are lost, hence
 * the flush when it comes back too. It reconnects with backoff from
 * RECONNECT_MIN_MS doubling to RECONNECT_MAX_MS, and logs each change of
 * state once, not each failed attempt.
 *
 * A connection that is silently gone (a partition: no FIN, no RST) would
 * deliver nothing and look idle: after PING_MS without traffic the thread
 * runs SELECT 1 within PING_TIMEOUT_MS, and a failure counts as lost.
 *
 * Stop: rl_authcache_listener_stop writes a byte into a pipe the thread
 * polls with its socket, then joins it.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/authcache/authcache.h"
#include "internal/authcache/authcache_int.h"
#include "internal/base/clock.h"
#include "internal/base/parse.h"
#include "internal/data/conn.h"
#include "internal/jsonlog/jsonlog.h"

#define CHANNEL "redlight_auth"
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 5000
#define PING_MS 10000
#define PING_TIMEOUT_MS 3000

static void
on_notify(void *ctx, const char *channel, const char *payload)
{
    struct rl_authcache *c = ctx;
    if (strcmp(channel, CHANNEL) != 0) {
        return;
    }
    atomic_fetch_add(&c->notifications, 1);
    int64_t id;
    if (rl_parse_i64(payload, RL_PARSE_SIGN, INT64_MIN, INT64_MAX, NULL, &id) ==
        RL_OK) {
        rl_authcache_evict_user(c, id);
    } else {
        rl_authcache_flush(c); /* '*', or a payload we cannot read */
    }
}

/* Polls the stop pipe (and fd, if >= 0) for up to ms. Returns 1 when fd
 * is readable, 0 on timeout, -1 when asked to stop. */
static int
wait_for(struct rl_authcache *c, int fd, int64_t ms)
{
    struct pollfd p[2] = {
        {.fd = rl_stop_fd(&c->stop), .events = POLLIN},
        {.fd = fd, .events = POLLIN},
    };
    int n = poll(p, fd >= 0 ? 2 : 1, (int)(ms < 0 ? 0 : ms));
    if (atomic_load(&c->stopping) || (n > 0 && p[0].revents != 0)) {
        return -1;
    }
    return n > 0 && p[1].revents != 0 ? 1 : 0;
}

/* Connects and LISTENs; on success switches the cache on. */
static PGconn *
connect_and_listen(struct rl_authcache *c, char *err, size_t cap)
{
    PGconn *pg = NULL;
    int64_t deadline = rl_pg_deadline(rl_mono_ms(), CONNECT_TIMEOUT_MS);
    enum rl_err e = rl_pg_connect(c->dsn, "redlight-authcache", NULL, deadline,
                                  &pg, err, cap);
    if (e != RL_OK) {
        return NULL;
    }
    /* Through a pooler LISTEN would be accepted and hear nothing: the
     * cache must stay off then (-db-listen-dsn names a direct one). */
    bool direct = false;
    PGresult *r = NULL;
    e = rl_pg_direct(pg, deadline, &direct);
    if (e == RL_OK && !direct) {
        snprintf(err, cap, "%s",
                 "the connection goes through a pooler, where LISTEN does "
                 "not work: give -db-listen-dsn a direct one");
    } else if (e != RL_OK) {
        snprintf(err, cap, "%s", PQerrorMessage(pg));
    } else {
        e = rl_pg_exec(pg, "SET statement_timeout = 3000; LISTEN " CHANNEL,
                       deadline, &r);
        if (e != RL_OK || PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, cap, "%s",
                     e == RL_OK ? PQresultErrorMessage(r) : PQerrorMessage(pg));
            e = RL_ERR_CONN;
        }
        PQclear(r);
    }
    if (e != RL_OK || !direct) {
        PQfinish(pg);
        return NULL;
    }
    rl_authcache_set_on(c, true);
    atomic_store(&c->listening, true);
    atomic_fetch_add(&c->reconnects, 1);
    return pg;
}

/* Serves one connection until it fails (returns false, err says why) or
 * the thread is asked to stop (returns true). */
static bool
serve(struct rl_authcache *c, PGconn *pg, char *err, size_t cap)
{
    int64_t quiet_since = rl_mono_ms();
    for (;;) {
        int64_t left = quiet_since + PING_MS - rl_mono_ms();
        int r = wait_for(c, PQsocket(pg), left);
        if (r < 0) {
            return true;
        }
        if (r == 0) {
            PGresult *res = NULL;
            enum rl_err e =
                rl_pg_exec(pg, "SELECT 1",
                           rl_pg_deadline(rl_mono_ms(), PING_TIMEOUT_MS), &res);
            bool ok = e == RL_OK && PQresultStatus(res) == PGRES_TUPLES_OK;
            PQclear(res);
            if (!ok) {
                snprintf(err, cap, "%s",
                         e == RL_ERR_TIMEOUT ? "no answer to a ping"
                                             : PQerrorMessage(pg));
                return false;
            }
        }
        /* After a readable socket, or notifications that came with the
         * ping's reply. */
        if (rl_pg_notifications(pg, on_notify, c) < 0 ||
            PQstatus(pg) != CONNECTION_OK) {
            snprintf(err, cap, "%s", PQerrorMessage(pg));
            return false;
        }
        quiet_since = rl_mono_ms();
    }
}

static void *
listener_main(void *arg)
{
    struct rl_authcache *c = arg;
    int64_t backoff = RECONNECT_MIN_MS;
    bool down_logged = false;
    char err[256];
    while (!atomic_load(&c->stopping)) {
        PGconn *pg = connect_and_listen(c, err, sizeof(err));
        if (pg == NULL) {
            if (!down_logged) {
                err[strcspn(err, "\n")] = '\0';
                rl_log_props(RL_LOG_ERROR,
                             "auth cache: cannot listen, caching off",
                             RL_LOG_STR("error", err), NULL);
                down_logged = true;
            }
            if (wait_for(c, -1, backoff) < 0) {
                break;
            }
            backoff =
                backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
            continue;
        }
        backoff = RECONNECT_MIN_MS;
        rl_log_props(RL_LOG_INFO, "auth cache: listening, caching on",
                     RL_LOG_STR("channel", CHANNEL), NULL);
        bool stopped = serve(c, pg, err, sizeof(err));
        rl_authcache_set_on(c, false); /* off before anyone sees it */
        atomic_store(&c->listening, false);
        PQfinish(pg);
        if (stopped) {
            break;
        }
        err[strcspn(err, "\n")] = '\0';
        rl_log_props(RL_LOG_ERROR, "auth cache: listener lost, caching off",
                     RL_LOG_STR("error", err), NULL);
        down_logged = true; /* the failed reconnects that follow say nothing */
        if (wait_for(c, -1, backoff) < 0) {
            break;
        }
    }
    return NULL;
}

enum rl_err
rl_authcache_listen(struct rl_authcache *c, const char *dsn)
{
    if (c->started) {
        return RL_ERR_INVALID;
    }
    c->dsn = strdup(dsn != NULL ? dsn : "");
    if (c->dsn == NULL) {
        return RL_ERR_NOMEM;
    }
    if (!rl_stop_init(&c->stop)) {
        free(c->dsn);
        c->dsn = NULL;
        return RL_ERR_IO;
    }
    if (pthread_create(&c->tid, NULL, listener_main, c) != 0) {
        rl_authcache_listener_stop(c);
        return RL_ERR_NOMEM;
    }
    c->started = true;
    return RL_OK;
}

void
rl_authcache_listener_stop(struct rl_authcache *c)
{
    atomic_store(&c->stopping, true);
    rl_stop_fire(&c->stop);
    if (c->started) {
        pthread_join(c->tid, NULL);
        c->started = false;
    }
    rl_stop_close(&c->stop);
    free(c->dsn);
    c->dsn = NULL;
}
