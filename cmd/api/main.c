/*
 * main.c — flags → config, app wiring, signals and the shutdown order:
 *   SIGINT/SIGTERM: /readyz answers 503 "shutting down" at once, and the
 *   server goes on serving for -drain-delay (0 by default) so that load
 *   balancers stop sending first → stop accepting → let requests in flight
 *   finish (up to -shutdown-timeout) → stop the HTTP server → stop the mail
 *   worker (after its job in flight) → stop the authentication cache's
 *   listener and the database probe → close the pool → "stopped server",
 *   exit 0. A second SIGINT/SIGTERM during the drain delay ends the delay
 *   (the shutdown goes on as above); one during the wait for requests
 *   forces exit (status 1).
 */
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/api/app.h"
#include "cmd/api/cli_migrate.h"
#include "cmd/api/cli_users.h"
#include "cmd/api/config.h"
#include "cmd/api/metrics.h"
#include "cmd/api/middleware.h"
#include "cmd/api/routes.h"
#include "cmd/api/server.h"
#include "internal/authcache/authcache.h"
#include "internal/base/clock.h"
#include "internal/data/movies.h"
#include "internal/data/pool.h"
#include "internal/data/probe.h"
#include "internal/data/replica.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/mailer/worker.h"
#include "internal/password/password.h"
#include "internal/sdnotify/sdnotify.h"

/* The build sets RL_MIGRATIONS_DIR: "migrations" (relative to the working
 * directory) for a source build, /usr/share/redlight/migrations for the
 * Debian package. REDLIGHT_MIGRATIONS_DIR overrides it. */
#ifndef RL_MIGRATIONS_DIR
#define RL_MIGRATIONS_DIR "migrations"
#endif

static const char *
migrations_dir(void)
{
    const char *d = getenv("REDLIGHT_MIGRATIONS_DIR");
    return d != NULL && *d != '\0' ? d : RL_MIGRATIONS_DIR;
}

/* How long the drain waits for connections that were accepted but have not
 * sent their request yet (Go's Shutdown gives new connections 5 s too). */
#define FRESH_WAIT_MS 5000

/* Waits for in-flight requests to finish, and for accepted connections to
 * send theirs (up to FRESH_WAIT_MS), or the deadline to pass. Returns
 * false when a second signal asked for an immediate exit. */
static bool
drain(struct api_app *app, const sigset_t *sigs)
{
    int64_t start = rl_mono_ms();
    int64_t deadline = start + app->cfg.shutdown_timeout_ms;
    while (atomic_load(&app->in_flight) > 0 ||
           (atomic_load(&app->fresh_conns) > 0 &&
            rl_mono_ms() - start < FRESH_WAIT_MS)) {
        int64_t left = deadline - rl_mono_ms();
        if (left <= 0) {
            rl_log_props(RL_LOG_ERROR, "shutdown timeout: abandoning requests",
                         RL_LOG_INT("in_flight", atomic_load(&app->in_flight)),
                         NULL);
            return true;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (sigtimedwait(sigs, NULL, &ts) > 0) {
            return false;
        }
    }
    return true;
}

/* The drain delay: readiness already says 503; serve on for delay_ms, so
 * load balancers that poll /readyz stop sending before the listener
 * closes. A second signal ends it early. */
static void
drain_delay(int64_t delay_ms, const sigset_t *sigs)
{
    if (delay_ms <= 0) {
        return;
    }
    rl_log_props(RL_LOG_INFO, "draining: /readyz answers 503, still serving",
                 RL_LOG_INT("drain_delay_ms", delay_ms), NULL);
    int64_t deadline = rl_mono_ms() + delay_ms;
    for (int64_t left = delay_ms; left > 0; left = deadline - rl_mono_ms()) {
        struct timespec ts = {(time_t)(left / 1000),
                              (long)(left % 1000) * 1000 * 1000};
        if (sigtimedwait(sigs, NULL, &ts) > 0) {
            rl_log_props(RL_LOG_INFO, "second signal: drain delay cut short",
                         NULL);
            return;
        }
    }
}

static int
serve(struct api_app *app)
{
    if (app->cfg.db.dsn == NULL || app->cfg.db.dsn[0] == '\0') {
        rl_log_props(RL_LOG_FATAL,
                     "no database DSN: set -db-dsn or REDLIGHT_DB_DSN", NULL);
        return 1;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    /* Block before any thread starts, so only sigwait sees them. */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (rl_password_init() != RL_OK) {
        rl_log_props(RL_LOG_FATAL, "cannot prepare password hashing", NULL);
        return 1;
    }
    /* config.c has checked the list (api_config_parse). */
    if (rl_jwt_keys_parse(app->cfg.jwt.secret, app->cfg.jwt.issuer,
                          app->cfg.jwt.audience, &app->jwt) != RL_OK) {
        rl_log_props(RL_LOG_FATAL, "invalid -jwt-secret", NULL);
        return 1;
    }
    /* Cursors must open on every node and after a restart, so their key
     * comes from configuration: -cursor-secret, else a key derived (one
     * way) from -jwt-secret, which nodes share already. Only with neither
     * is it random, and cursors then die with the process. */
    const char *csecret = app->cfg.cursor_secret;
    const char *context = "redlight cursor key v1";
    size_t clen = strlen(csecret);
    if (clen == 0 && app->jwt.n > 0) {
        /* The signing key: adding a verify-only key (a rotation's first
         * step) leaves cursors valid. */
        csecret = (const char *)app->jwt.keys[0].bytes;
        clen = app->jwt.keys[0].len;
        context = "redlight cursor key from jwt-secret v1";
    }
    if (clen != 0) {
        rl_cursor_key_derive(&app->cursor_key, context, csecret, clen);
    } else {
        rl_cursor_key_random(&app->cursor_key);
        rl_log_props(RL_LOG_INFO,
                     "no -cursor-secret or -jwt-secret: list cursors are "
                     "signed with a random key and work only on this "
                     "process until it stops",
                     NULL);
    }
    if (rl_movie_statements_init() != RL_OK) {
        rl_log_props(RL_LOG_FATAL, "cannot build statements", NULL);
        return 1;
    }
    struct rl_db_config dbc = {
        .dsn = app->cfg.db.dsn,
        .max_open = app->cfg.db.max_open,
        .max_idle = app->cfg.db.max_idle,
        .max_idle_time_ms = app->cfg.db.max_idle_time_ms,
        .prepared = app->cfg.db.prepared,
        .query_timeout_ms = 3000,
        .parallel_workers = app->cfg.db.parallel_workers,
        .acquire_timeout_ms = 3000,
    };
    const char *why = NULL;
    enum rl_err e = rl_db_open(&dbc, &app->db, &why);
    if (e != RL_OK) {
        rl_log_props(RL_LOG_FATAL, "cannot open database connection pool",
                     RL_LOG_STR("error", why ? why : rl_err_str(e)), NULL);
        return 1;
    }
    rl_log_props(RL_LOG_INFO, "database connection pool established", NULL);
    e = rl_db_probe_start(app->cfg.db.dsn, &app->probe);
    if (e != RL_OK) {
        rl_log_props(RL_LOG_FATAL, "cannot start the database probe",
                     RL_LOG_STR("error", rl_err_str(e)), NULL);
        rl_db_close(app->db);
        return 1;
    }
    if (app->cfg.db.replica_dsn[0] != '\0') {
        struct rl_replica_config rc = {
            .primary_dsn = app->cfg.db.dsn,
            .pool = dbc,
            .max_lag_ms = app->cfg.db.replica_max_lag_ms,
        };
        rc.pool.dsn = app->cfg.db.replica_dsn;
        if ((e = rl_replica_start(&rc, &app->replica)) != RL_OK) {
            rl_log_props(RL_LOG_FATAL, "cannot start the replica checker",
                         RL_LOG_STR("error", rl_err_str(e)), NULL);
            rl_db_probe_stop(app->probe);
            rl_db_close(app->db);
            return 1;
        }
    }
    /* LISTEN needs a session of its own: -db-listen-dsn, else -db-dsn when
     * it is one (not through a pooler); "none", or a pooler and no
     * -db-listen-dsn: the mail worker polls and the auth cache stays off
     * (it may not cache without a listener). */
    const char *listen_dsn = app->cfg.db.listen_dsn;
    if (strcmp(listen_dsn, "none") == 0) {
        listen_dsn = NULL;
    } else if (listen_dsn[0] == '\0') {
        listen_dsn = rl_db_pooled(app->db) ? NULL : app->cfg.db.dsn;
    }
    if (listen_dsn == NULL) {
        rl_log_props(RL_LOG_INFO,
                     "no LISTEN connection: the mail worker polls every "
                     "second, the authentication cache is off",
                     NULL);
    }
    if (app->cfg.auth_cache && listen_dsn != NULL) {
        e = rl_authcache_new(RL_AUTHCACHE_CAPACITY, RL_AUTHCACHE_TTL_MS,
                             &app->authcache);
        if (e == RL_OK) {
            e = rl_authcache_listen(app->authcache, listen_dsn);
        }
        if (e != RL_OK) {
            rl_log_props(RL_LOG_FATAL, "cannot start the authentication cache",
                         RL_LOG_STR("error", rl_err_str(e)), NULL);
            rl_authcache_free(app->authcache);
            rl_db_probe_stop(app->probe);
            rl_replica_stop(app->replica);
            rl_db_close(app->db);
            return 1;
        }
    }

    struct rl_mailer_config mc = {
        /* A direct connection does the worker's whole job (its session
         * settings hold there); without one it polls through -db-dsn. */
        .dsn = listen_dsn != NULL ? listen_dsn : app->cfg.db.dsn,
        .listen = listen_dsn != NULL,
        .smtp_host = app->cfg.smtp.host,
        .smtp_port = app->cfg.smtp.port,
        .smtp_username = app->cfg.smtp.username,
        .smtp_password = app->cfg.smtp.password,
        .sender = app->cfg.smtp.sender,
        .mail_dir = app->cfg.smtp.mail_dir,
        /* 0 would mean the mailer's default: keep "no wait" at 1 ms */
        .stop_timeout_ms =
            app->cfg.shutdown_timeout_ms > 0 ? app->cfg.shutdown_timeout_ms : 1,
    };
    rl_mailer_config_env(&mc);
    struct rl_mailer *mailer;
    e = rl_mailer_start(&mc, &mailer);
    if (e != RL_OK) {
        rl_log_props(RL_LOG_FATAL, "cannot start the mail worker",
                     RL_LOG_STR("error", rl_err_str(e)), NULL);
        rl_authcache_free(app->authcache);
        rl_db_probe_stop(app->probe);
        rl_replica_stop(app->replica);
        rl_db_close(app->db);
        return 1;
    }

    if ((e = api_middleware_init(app)) != RL_OK ||
        (e = api_metrics_init(app, api_route_pattern_at)) != RL_OK) {
        rl_log_props(RL_LOG_FATAL, "cannot set up the rate limiter and metrics",
                     RL_LOG_STR("error", rl_err_str(e)), NULL);
        api_middleware_free(app);
        rl_mailer_stop(mailer);
        rl_authcache_free(app->authcache);
        rl_db_probe_stop(app->probe);
        rl_replica_stop(app->replica);
        rl_db_close(app->db);
        return 1;
    }
    if (rl_log_flusher_start() != 0) {
        rl_log_props(RL_LOG_ERROR, "request log buffering unavailable", NULL);
    }
    struct api_server *srv;
    e = api_server_start(app, &srv);
    if (e != RL_OK) {
        rl_log_props(RL_LOG_FATAL, "cannot start server",
                     RL_LOG_INT("port", app->cfg.port), NULL);
        rl_log_flusher_stop();
        api_metrics_free(app);
        api_middleware_free(app);
        rl_mailer_stop(mailer);
        rl_authcache_free(app->authcache);
        rl_db_probe_stop(app->probe);
        rl_replica_stop(app->replica);
        rl_db_close(app->db);
        return 1;
    }
    /* The address really listened on: the kernel's port for -port 0,
     * the socket systemd passed ("[::]:4000", "127.0.0.1:8080", a path). */
    char addr[RL_SOCKADDR_TEXT_MAX];
    if (!api_server_addr(srv, addr, sizeof(addr))) {
        snprintf(addr, sizeof(addr), ":%d", app->cfg.port);
    }
    rl_log_props(RL_LOG_INFO, "starting server", RL_LOG_STR("addr", addr),
                 RL_LOG_STR("env", app->cfg.env),
                 RL_LOG_STR("version", RL_VERSION), NULL);
    /* systemd (Type=notify): the pool and the listener are up. */
    if (rl_sd_notify("READY=1\nSTATUS=serving") != RL_OK) {
        rl_log_props(RL_LOG_ERROR, "cannot notify systemd (NOTIFY_SOCKET)",
                     NULL);
    }
    struct rl_sd_watchdog *watchdog = NULL;
    if (rl_sd_watchdog_start(rl_sd_watchdog_usec(), &watchdog) != RL_OK) {
        rl_log_props(RL_LOG_ERROR, "cannot start the systemd watchdog thread",
                     NULL);
    }

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    atomic_store(&app->draining, true); /* /readyz: 503 from now on */
    rl_log_props(RL_LOG_INFO, "shutting down server",
                 RL_LOG_STR("signal", strsignal(sig)), NULL);
    /* systemd: stopping from the signal on (its stop timeout runs from it
     * too), while the drain delay still serves. */
    if (rl_sd_notify(app->cfg.drain_delay_ms > 0 ? "STOPPING=1\nSTATUS=draining"
                                                 : "STOPPING=1") != RL_OK) {
        rl_log_props(RL_LOG_ERROR, "cannot notify systemd (NOTIFY_SOCKET)",
                     NULL);
    }
    drain_delay(app->cfg.drain_delay_ms, &sigs);
    api_server_quiesce(srv);
    if (!drain(app, &sigs)) {
        rl_log_flusher_stop();
        rl_log_props(RL_LOG_ERROR, "second signal: forcing exit", NULL);
        fflush(stdout);
        _exit(1);
    }
    api_server_stop(srv);
    api_metrics_free(app);
    api_middleware_free(app);
    rl_sd_watchdog_stop(watchdog); /* pings until the requests are done */
    rl_mailer_stop(mailer); /* the job in flight finishes; the rest waits */
    rl_log_flusher_stop();
    rl_authcache_free(app->authcache); /* joins the listener */
    rl_db_probe_stop(app->probe);
    rl_replica_stop(app->replica); /* joins its checker, closes its pool */
    rl_db_close(app->db);
    rl_log_props(RL_LOG_INFO, "stopped server", RL_LOG_STR("addr", addr), NULL);
    return 0;
}

int
main(int argc, char **argv)
{
    struct api_app app;
    memset(&app, 0, sizeof(app));
    atomic_init(&app.in_flight, 0);
    atomic_init(&app.fresh_conns, 0);
    atomic_init(&app.draining, false);
    int next = 0;
    switch (api_config_parse(&app.cfg, argc, argv, &next)) {
    case API_CONFIG_OK:
        break;
    case API_CONFIG_EXIT_0:
        return 0;
    case API_CONFIG_EXIT_2:
        return 2;
    }
    rl_log_init(1, RL_LOG_INFO);
    if (sodium_init() < 0) {
        rl_log_props(RL_LOG_FATAL, "libsodium failed to initialise", NULL);
        return 1;
    }
    if (next < argc) {
        if (strcmp(argv[next], "migrate") == 0) {
            return api_cli_migrate(argc - next, argv + next, app.cfg.db.dsn,
                                   migrations_dir());
        }
        if (strcmp(argv[next], "users") == 0) {
            return api_cli_users(argc - next, argv + next, app.cfg.db.dsn);
        }
        fprintf(stderr, "unknown command \"%s\" (try -help)\n", argv[next]);
        return 2;
    }
    return serve(&app);
}
