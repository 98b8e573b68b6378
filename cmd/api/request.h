/*
 * request.h — the request every handler works on, and its accessors.
 *
 * struct api_req lives in its own arena from the first access-handler call
 * to the completion callback (server.c). What the client sent beyond the
 * method, path and body (its headers, query parameters, address) is read
 * through a small source of callbacks that the transport fills in: server.c
 * points it at libmicrohttpd, the unit tests at plain arrays
 * (tests/unit/fakereq.h). Handlers, middleware and routes include this
 * header, never server.h, and know nothing of libmicrohttpd.
 *
 * One request is used by one thread at a time; nothing here locks.
 */
#ifndef REDLIGHT_CMD_API_REQUEST_H
#define REDLIGHT_CMD_API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/arena/arena.h"
#include "internal/data/auth.h"
#include "internal/netaddr/netaddr.h"

struct api_app;
struct sockaddr;

struct api_header {
    const char *name;
    const char *value;
};

#define API_MAX_PARAMS 2
#define API_MAX_RESP_HEADERS 24
#define API_MAX_BODY 1048576

/* Called for each request header in the order received, with the lengths
 * the transport knows (value may be NULL); returns false to stop. */
typedef bool (*api_req_field_fn)(void *cls, const char *name, size_t nlen,
                                 const char *value, size_t vlen);

/* Where the accessors read what the client sent. Each callback gets the
 * source's ctx; returned strings live as long as the request. */
struct api_req_source {
    /* The first value of header `name` (case-insensitive), as received
     * (leading whitespace stripped), or NULL. */
    const char *(*header)(void *ctx, const char *name);
    /* Every header, in order (see api_req_field_fn). */
    void (*each_header)(void *ctx, api_req_field_fn fn, void *cls);
    /* The first query parameter `name`: true when present, with *value its
     * decoded bytes (NULL for "?name" without '=') and *len their count. */
    bool (*query)(void *ctx, const char *name, const char **value, size_t *len);
    /* The TCP peer's address, or NULL when unknown. */
    const struct sockaddr *(*peer)(void *ctx);
};

struct api_req {
    struct api_app *app;
    struct rl_arena *arena;
    const struct api_req_source *src; /* NULL: nothing was sent */
    void *src_ctx;
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
    /* resp_body and content_type live as long as the process (static
     * data): the transport may keep the whole response and send it again
     * to a later request with the same headers (mhdreq.c). */
    bool resp_shared;
    struct api_header resp_headers[API_MAX_RESP_HEADERS];
    int nresp_headers;
    /* Headers [0, nbase_headers) were set by the middleware (CORS, Vary,
     * rate limit) and stay on every response, 500s included; the rest are
     * the handler's and a server error drops them. */
    int nbase_headers;
    bool close_conn;
    char peer[RL_IP_TEXT_MAX]; /* api_req_peer's text, once asked */
};

/* A handler reads req, sets the response with an api_reply_* call and
 * returns that call's value (the status). */
typedef int (*api_handler)(struct api_app *app, struct api_req *req);

/* The accessors (request.c). Returned strings live as long as the
 * request. */

/* The value of request header `name` (case-insensitive), without
 * surrounding spaces and tabs, or NULL. */
const char *api_req_header(struct api_req *req, const char *name);

/* The first value of query parameter `name` and its length (which may
 * include NUL bytes a client sent as %00), or NULL when absent. */
const char *api_req_query(struct api_req *req, const char *name, size_t *len);

/* The client's address as text ("127.0.0.1", "::1"; an IPv4-mapped IPv6
 * address as IPv4), or "unknown". */
const char *api_req_peer(struct api_req *req);

/* The TCP peer's address; false when unknown (not IP). */
bool api_req_peer_ip(struct api_req *req, struct rl_ip *out);

/* Every value of request header `name` (case-insensitive), in order,
 * joined with ", " as RFC 9110 allows for list headers (X-Forwarded-For may
 * arrive as several lines). NULL when absent or out of memory. */
const char *api_req_header_all(struct api_req *req, const char *name);

/* Calls fn for each request header in order until it returns false. */
void api_req_each_header(struct api_req *req, api_req_field_fn fn, void *cls);

/* The raw query string after '?', as the client sent it (still
 * percent-encoded), or NULL when the URL had none. */
const char *api_req_query_string(struct api_req *req);

#endif
