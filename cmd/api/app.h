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

struct rl_db;

#ifndef RL_VERSION
#define RL_VERSION "1.0.0-nogit"
#endif

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
};

struct api_app {
    struct api_config cfg;
    struct rl_jwt_key jwt; /* from cfg.jwt; len 0 when JWTs are off */
    struct rl_db *db;
    atomic_long in_flight; /* requests between first call and completion */
    atomic_bool shutting_down; /* set by api_server_quiesce */
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
    const char *path; /* decoded path, without the query string */
    const char *raw_uri; /* the request target as sent */
    const char *route; /* matched route pattern, or NULL */
    const char *param_names[API_MAX_PARAMS];
    const char *param_values[API_MAX_PARAMS];
    int nparams;
    char *body; /* up to API_MAX_BODY bytes, NUL-terminated */
    size_t body_len;
    bool body_truncated; /* the client sent more than API_MAX_BODY */
    int64_t start_ns;
    /* Who is asking (auth.c): anonymous unless authenticated. */
    bool authenticated;
    bool via_jwt;
    struct rl_auth_user user;
    const char *token; /* the bearer token as sent, when authenticated */
    /* The response, set by api_reply_* (helpers.c, errors.c). */
    int status;
    char *resp_body;
    size_t resp_len;
    struct api_header resp_headers[API_MAX_RESP_HEADERS];
    int nresp_headers;
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
const char *api_req_query(struct api_req *req, const char *name,
                          size_t *len);

/* The client's address as text ("127.0.0.1", "::1"). */
const char *api_req_peer(struct api_req *req);

/* The raw query string after '?', as the client sent it (still
 * percent-encoded), or NULL when the URL had none. */
const char *api_req_query_string(struct api_req *req);

#endif
