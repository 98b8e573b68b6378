/*
 * app.h — the application: configuration and shared state (the request
 * every handler works on is in request.h).
 *
 * struct api_app is created once in main.c and outlives every request; its
 * fields are read-only after start-up except where a field names its lock or
 * is atomic.
 */
#ifndef REDLIGHT_CMD_API_APP_H
#define REDLIGHT_CMD_API_APP_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/arena/arena.h"
#include "internal/base/err.h"
#include "internal/cursor/cursor.h"
#include "internal/jwt/jwt.h"
#include "internal/netaddr/netaddr.h"

struct rl_db;
struct rl_authcache;
struct rl_db_probe;
struct rl_replica;
struct rl_limiter;
struct rl_redis_limiter;
struct api_metrics;
struct api_conns;
struct api_workq;

#ifndef RL_VERSION
#define RL_VERSION "1.0.0-nogit"
#endif

/* Most secret flag values config.c remembers (each secret flag given more
 * than once counts again); beyond, /debug/vars hides every argument. */
#define API_MAX_SECRET_ARGS 16

struct api_config {
    int port;
    const char *env;
    struct {
        const char *dsn;
        int max_open;
        int max_idle;
        int concurrency; /* database workers, capped at max_open */
        int64_t max_idle_time_ms;
        bool prepared;
        /* LISTEN's direct connection: "" = -db-dsn's unless that goes
         * through a pooler; "none" = no LISTEN (poll, no auth cache). */
        const char *listen_dsn;
        const char *replica_dsn;    /* "" = lists read from the primary */
        int64_t replica_max_lag_ms; /* a replica further behind is skipped */
        /* max_parallel_workers_per_gather of the pools' direct sessions;
         * -1: PostgreSQL's own setting */
        int parallel_workers;
    } db;
    bool auth_cache; /* cache authenticated users (internal/authcache) */
    int http_threads;
    int64_t shutdown_timeout_ms;
    int64_t drain_delay_ms; /* after SIGTERM, serve on while not ready */
    struct {
        const char *secret; /* "" = no JWTs (POST /v1/tokens/jwt is 404) */
        const char *issuer;
        const char *audience;
    } jwt;
    /* Key of the list cursors (movie_cursor.h): "" = derived from
     * jwt.secret, or random for this process when that is empty too. */
    const char *cursor_secret;
    struct {
        const char *host; /* "" = write .eml files into mail_dir */
        int port;
        const char *username;
        const char *password;
        const char *sender;
        const char *mail_dir;
    } smtp;
    struct {
        double rps;
        int burst;
        bool enabled;
        const char *redis;      /* "" = local buckets only */
        const char *redis_fail; /* "open" or "closed" */
    } limiter;
    struct {
        int64_t read_timeout_ms;  /* whole request, from its first byte */
        int64_t idle_timeout_ms;  /* keep-alive connection with no request */
        int64_t write_timeout_ms; /* a response, from when it is queued */
        int max_conns;            /* all connections */
        int max_conns_per_ip;     /* per client address (proxies exempt) */
    } http;
    const char *real_ip_header;       /* X-Forwarded-For or X-Real-IP */
    const char *trusted_proxies;      /* addresses/CIDRs, spaces or commas */
    const char *cors_trusted_origins; /* origins, spaces or commas (list.h) */
    const char *metrics_allow;        /* addresses/CIDRs, spaces or commas */
    /* The command line, for /debug/vars, and where secrets sit in it:
     * pointers into argv of the values given to secret flags (config.c's
     * flag table marks them), so api_config_redacted_arg (config_redact.c,
     * called by metrics_expo.c) can show argv with them REDACTED. */
    int argc;
    char **argv;
    struct {
        const char *value;
        bool dsn; /* only the password inside the DSN is secret */
    } secret_args[API_MAX_SECRET_ARGS];
    int nsecret_args;
    bool secret_args_overflow; /* more than API_MAX_SECRET_ARGS: hide all */
};

/* The classes of the database work queue (server.c), served in this order:
 * point reads and writes bounded by an index, then lists and searches. */
enum api_db_class { API_DB_POINT, API_DB_LIST, API_DB_NCLASSES };

struct api_app {
    struct api_config cfg;
    struct rl_jwt_keys jwt;          /* from cfg.jwt; n 0 when JWTs are off */
    struct rl_cursor_key cursor_key; /* from cfg.cursor_secret (main.c) */
    struct rl_db *db;
    /* NULL without -db-replica-dsn; lists read its pool while
     * rl_replica_db says it is usable (api_list_db). */
    struct rl_replica *replica;
    /* NULL with -auth-cache=false; caching is on only while its listener
     * holds LISTEN (authcache.h). */
    struct rl_authcache *authcache;
    atomic_long in_flight;     /* requests between first call and completion */
    atomic_long fresh_conns;   /* connections that have not sent a request */
    atomic_bool shutting_down; /* set by api_server_quiesce */
    /* Readiness (GET /readyz, healthcheck.c): draining is set by main.c
     * when SIGTERM arrives, before -drain-delay; probe says whether the
     * database answers (internal/data/probe.h; NULL: not started). */
    atomic_bool draining;
    struct rl_db_probe *probe;
    /* Built from cfg at start-up (middleware.c, metrics.c), immutable
     * afterwards except through their own locks and atomics. */
    struct rl_limiter *limiter; /* NULL when -limiter-enabled=false */
    /* NULL unless -limiter-redis is set (and the limiter enabled); then
     * limiter is the fallback while Redis is unreachable. */
    struct rl_redis_limiter *redis_limiter;
    struct rl_ipset *trusted_proxies;
    struct rl_ipset *metrics_allow;
    struct api_metrics *metrics;
    /* Set by api_server_start for /metrics, valid until api_server_stop:
     * the connection tracker and the two work queues (server.c). */
    struct api_conns *conns;
    struct api_workq *dbq; /* classes: enum api_db_class */
    struct api_workq *hashq;
    /* GET /v1/healthcheck's body, the same bytes for the whole process
     * (healthcheck.c): built by the first request, then served as is.
     * health_state: 0 empty, 1 being built, 2 ready (release/acquire). */
    atomic_int health_state;
    size_t health_len;
    char health_body[256];
};

#endif
