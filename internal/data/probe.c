/*
 * probe.c — the database reachability probe (probe.h): one thread, one
 * connection of its own, a stop pipe polled together with the
 * connection's socket. The connection and the thread belong to the probe;
 * only `reachable` is shared (atomic).
 */
#include "internal/data/probe.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/base/clock.h"
#include "internal/base/stop.h"
#include "internal/data/conn.h"
#include "internal/jsonlog/jsonlog.h"

struct rl_db_probe {
    char *dsn;
    atomic_bool reachable;
    atomic_bool stopping;
    struct rl_stop stop;
    pthread_t tid;
    bool started;
};

/* Polls the stop pipe, and fd when >= 0, for up to ms. -1: asked to stop;
 * 1: fd readable (or failed); 0: the time passed. */
static int
sleep_or_wake(struct rl_db_probe *p, int fd, int ms)
{
    struct pollfd pf[2] = {
        {.fd = rl_stop_fd(&p->stop), .events = POLLIN},
        {.fd = fd, .events = POLLIN},
    };
    int n = poll(pf, fd >= 0 ? 2 : 1, ms);
    if (atomic_load(&p->stopping) || (n > 0 && pf[0].revents != 0)) {
        return -1;
    }
    return n > 0 && pf[1].revents != 0 ? 1 : 0;
}

/* SELECT 1 on *pg within the probe's deadline. RL_OK, RL_ERR_TIMEOUT (no
 * answer) or RL_ERR_CONN (anything else); err says why. */
static enum rl_err
ping(PGconn *pg, char *err, size_t cap)
{
    PGresult *res = NULL;
    enum rl_err e =
        rl_pg_exec(pg, "SELECT 1",
                   rl_pg_deadline(rl_mono_ms(), RL_DB_PROBE_TIMEOUT_MS), &res);
    if (e == RL_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        e = RL_ERR_CONN;
    }
    PQclear(res);
    if (e != RL_OK) {
        snprintf(err, cap, "%s",
                 e == RL_ERR_TIMEOUT ? "no answer to the probe"
                                     : PQerrorMessage(pg));
        e = e == RL_ERR_TIMEOUT ? e : RL_ERR_CONN;
    }
    return e;
}

/* One probe: SELECT 1 on the connection, or a new connection when there
 * is none or it failed other than by silence (a connection ended on its
 * own is replaced without calling the database down). True when the
 * database answered; *pg is then open, else NULL. */
static bool
probe_once(struct rl_db_probe *p, PGconn **pg, char *err, size_t cap)
{
    if (*pg != NULL) {
        enum rl_err e = ping(*pg, err, cap);
        if (e == RL_OK) {
            return true;
        }
        PQfinish(*pg);
        *pg = NULL;
        if (e == RL_ERR_TIMEOUT) {
            return false; /* a reconnect would wait just as long */
        }
    }
    return rl_pg_connect(p->dsn, "redlight-probe", NULL,
                         rl_pg_deadline(rl_mono_ms(), RL_DB_PROBE_TIMEOUT_MS),
                         pg, err, cap) == RL_OK;
}

static void
set_reachable(struct rl_db_probe *p, bool ok, char *err)
{
    if (atomic_exchange(&p->reachable, ok) == ok) {
        return;
    }
    if (ok) {
        rl_log_props(RL_LOG_INFO, "database probe: reachable again", NULL);
        return;
    }
    err[strcspn(err, "\n")] = '\0';
    rl_log_props(RL_LOG_ERROR, "database probe: unreachable",
                 RL_LOG_STR("error", err), NULL);
}

static void *
probe_main(void *arg)
{
    struct rl_db_probe *p = arg;
    PGconn *pg = NULL;
    char err[256];
    for (;;) {
        err[0] = '\0';
        set_reachable(p, probe_once(p, &pg, err, sizeof(err)), err);
        int r = sleep_or_wake(p, pg != NULL ? PQsocket(pg) : -1,
                              RL_DB_PROBE_INTERVAL_MS);
        if (r < 0) {
            break;
        }
        /* Something arrived between probes: on an idle connection that is
         * the server ending it (its FATAL message, then EOF). Drop it, so
         * the next probe, at once, reconnects. */
        if (r > 0 && (rl_pg_notifications(pg, NULL, NULL) < 0 ||
                      PQstatus(pg) != CONNECTION_OK)) {
            PQfinish(pg);
            pg = NULL;
        }
    }
    PQfinish(pg);
    return NULL;
}

enum rl_err
rl_db_probe_start(const char *dsn, struct rl_db_probe **out)
{
    struct rl_db_probe *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return RL_ERR_NOMEM;
    }
    atomic_init(&p->reachable, true);
    atomic_init(&p->stopping, false);
    rl_stop_none(&p->stop);
    p->dsn = strdup(dsn != NULL ? dsn : "");
    if (p->dsn == NULL) {
        free(p);
        return RL_ERR_NOMEM;
    }
    if (!rl_stop_init(&p->stop)) {
        rl_db_probe_stop(p);
        return RL_ERR_IO;
    }
    if (pthread_create(&p->tid, NULL, probe_main, p) != 0) {
        rl_db_probe_stop(p);
        return RL_ERR_NOMEM;
    }
    p->started = true;
    *out = p;
    return RL_OK;
}

bool
rl_db_probe_reachable(const struct rl_db_probe *p)
{
    return p == NULL ||
           atomic_load_explicit(&p->reachable, memory_order_relaxed);
}

void
rl_db_probe_stop(struct rl_db_probe *p)
{
    if (p == NULL) {
        return;
    }
    atomic_store(&p->stopping, true);
    rl_stop_fire(&p->stop);
    if (p->started) {
        pthread_join(p->tid, NULL);
    }
    rl_stop_close(&p->stop);
    free(p->dsn);
    free(p);
}
