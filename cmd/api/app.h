/*
 * app.h — the application: configuration, shared state, and the request
 * structure every handler works on.
 *
 * struct api_app is created once in main.c and outlives every request; its
 * fields are read-only after start-up except where a field names its lock or
 * is atomic. struct api_req lives in its own arena from the first
 * access-handler call to the completion callback (server.c).
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
#include "internal/data/auth.h"
#include "internal/jwt/jwt.h"
#include "internal/netaddr/netaddr.h"

struct rl_db;
struct rl_limiter;
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
        int64_t max_idle_time_ms;
        bool prepared;
    } db;
    int http_threads;
    int64_t shutdown_timeout_ms;
    struct {
        const char *secret; /* "" = no JWTs (POST /v1/tokens/jwt is 404) */
        const char *issuer;
        const char *audience;
    } jwt;
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
     * pointers into argv of the values given to secret flags (config.c),
     * so metrics.c can print argv with them REDACTED. */
    int argc;
    char **argv;
    struct {
        const char *value;
        bool dsn; /* only the password inside the DSN is secret */
    } secret_args[API_MAX_SECRET_ARGS];
    int nsecret_args;
    bool secret_args_overflow; /* more than API_MAX_SECRET_ARGS: hide all */
};

struct api_app {
    struct api_config cfg;
    struct rl_jwt_key jwt; /* from cfg.jwt; len 0 when JWTs are off */
    struct rl_db *db;
    atomic_long in_flight;     /* requests between first call and completion */
    atomic_long fresh_conns;   /* connections that have not sent a request */
    atomic_bool shutting_down; /* set by api_server_quiesce */
    /* Built from cfg at start-up (middleware.c, metrics.c), immutable
     * afterwards except through their own locks and atomics. */
    struct rl_limiter *limiter; /* NULL when -limiter-enabled=false */
    struct rl_ipset *trusted_proxies;
    struct rl_ipset *metrics_allow;
    struct api_metrics *metrics;
    /* Set by api_server_start for /metrics, valid until api_server_stop:
     * the connection tracker and the two work queues (server.c). */
    struct api_conns *conns;
    struct api_workq *dbq;
    struct api_workq *hashq;
};

struct api_header {
    const char *name;
    const char *value;
};

#define API_MAX_PARAMS 2
#define API_MAX_RESP_HEADERS 24

struct api_req {
    struct api_app *app;
    struct rl_arena *arena;
    void *conn; /* server.c's connection handle; opaque elsewhere */
    const char *method;
    const char *path;    /* decoded path, without the query string; may
                            hold NUL bytes a client sent as %00 */
    size_t path_len;     /* its length: match it with this, never strlen */
    const char *raw_uri; /* the request target as sent */
    const char *route;   /* matched route pattern, or NULL */
    struct rl_ip client; /* the client's address (middleware.c: the peer,
                            or from X-Forwarded-For behind a trusted
                            proxy) */
    const char *param_names[API_MAX_PARAMS];
    const char *param_values[API_MAX_PARAMS];
    int nparams;
    char *body; /* up to API_MAX_BODY bytes, NUL-terminated */
    size_t body_len;
    bool body_truncated; /* the client sent more than API_MAX_BODY */
    int64_t start_ns;
    /* Set by server.c when no worker can take the request within its
     * bound: the chain answers 503 before anything waits. */
    bool overloaded;
    /* Who is asking (auth.c): anonymous unless authenticated. */
    bool authenticated;
    bool via_jwt;
    struct rl_auth_user user;
    const char *token; /* the bearer token as sent, when authenticated */
    /* The response, set only by api_reply_* (helpers.c, errors.c). The
     * body is borrowed (static or arena memory), never copied again. */
    int status;
    const char *resp_body;
    size_t resp_len;
    const char *content_type; /* NULL: application/json */
    struct api_header resp_headers[API_MAX_RESP_HEADERS];
    int nresp_headers;
    /* Headers [0, nbase_headers) were set by the middleware (CORS, Vary,
     * rate limit) and stay on every response, 500s included; the rest are
     * the handler's and a server error drops them. */
    int nbase_headers;
    bool close_conn;
};

#define API_MAX_BODY 1048576

/* A handler reads req, sets the response with an api_reply_* call and
 * returns that call's value (the status). */
typedef int (*api_handler)(struct api_app *app, struct api_req *req);

/* server.c: request accessors (the only code that knows libmicrohttpd).
 * Returned strings live as long as the request. */

/* The value of request header `name` (case-insensitive), or NULL. */
const char *api_req_header(struct api_req *req, const char *name);

/* The first value of query parameter `name` and its length (which may
 * include NUL bytes a client sent as %00), or NULL when absent. */
const char *api_req_query(struct api_req *req, const char *name, size_t *len);

/* The client's address as text ("127.0.0.1", "::1"). */
const char *api_req_peer(struct api_req *req);

/* The TCP peer's address; false when unknown (not IP). */
bool api_req_peer_ip(struct api_req *req, struct rl_ip *out);

/* Every value of request header `name` (case-insensitive), in order,
 * joined with ", " as RFC 9110 allows for list headers (X-Forwarded-For may
 * arrive as several lines). NULL when absent or out of memory. */
const char *api_req_header_all(struct api_req *req, const char *name);

/* The raw query string after '?', as the client sent it (still
 * percent-encoded), or NULL when the URL had none. */
const char *api_req_query_string(struct api_req *req);

#endif
