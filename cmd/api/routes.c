/*
 * routes.c — a visible table {method, pattern, handler, permission} and a
 * small segment matcher. No state besides the immutable table.
 */
#include "cmd/api/routes.h"

#include <stdbool.h>
#include <string.h>

#include "cmd/api/auth.h"
#include "cmd/api/errors.h"
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"
#include "cmd/api/metrics.h"

const struct api_route api_routes[] = {
    {"GET", "/v1/healthcheck", api_healthcheck, NULL, API_WORK_INLINE},
    /* Neither rate-limited nor authenticated: api_route_unguarded. */
    {"GET", "/readyz", api_readyz, NULL, API_WORK_INLINE},
    {"GET", "/v1/movies", api_movie_list, "movies:read", API_WORK_DB_LIST},
    {"POST", "/v1/movies", api_movie_create, "movies:write", API_WORK_DB},
    {"GET", "/v1/movies/:id", api_movie_show, "movies:read", API_WORK_DB},
    {"PATCH", "/v1/movies/:id", api_movie_update, "movies:write", API_WORK_DB},
    {"DELETE", "/v1/movies/:id", api_movie_delete, "movies:write", API_WORK_DB},
    {"POST", "/v1/users", api_user_register, NULL, API_WORK_HASH},
    {"PUT", "/v1/users/activated", api_user_activate, NULL, API_WORK_DB},
    {"PUT", "/v1/users/password", api_user_reset_password, NULL, API_WORK_HASH},
    {"POST", "/v1/tokens/activation", api_token_activation, NULL, API_WORK_DB},
    {"POST", "/v1/tokens/password-reset", api_token_password_reset, NULL,
     API_WORK_DB},
    {"POST", "/v1/tokens/authentication", api_token_authentication, NULL,
     API_WORK_HASH},
    {"DELETE", "/v1/tokens/authentication", api_token_revoke, NULL,
     API_WORK_DB},
    {"POST", "/v1/tokens/jwt", api_token_jwt, NULL, API_WORK_HASH},
    {"GET", "/v1/openapi.json", api_openapi, NULL, API_WORK_INLINE},
    /* Only for -metrics-allow addresses (api_metrics_hidden below). */
    {"GET", "/debug/vars", api_debug_vars, NULL, API_WORK_INLINE},
    {"GET", "/metrics", api_metrics_prometheus, NULL, API_WORK_DB},
    {NULL, NULL, NULL, NULL, API_WORK_INLINE},
};

/* A byte no route may contain once decoded (CONTRACT §12 #22): the C0
 * controls, NUL among them, and DEL. */
static bool
is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Matches the len bytes of path against pattern, as a whole: a decoded NUL
 * or any other control byte matches nothing, neither a literal segment nor
 * a capture. On success records captures in req when req is not NULL. */
static bool
match(const char *pattern, const char *path, size_t len, struct api_req *req)
{
    const char *p = pattern;
    const char *s = path;
    const char *end = path + len;
    int n = 0;
    while (*p != '\0' && s < end) {
        if (*p == ':') {
            const char *name = p + 1;
            const char *pend = strchr(p, '/');
            size_t nlen = pend ? (size_t)(pend - name) : strlen(name);
            const char *send = memchr(s, '/', (size_t)(end - s));
            size_t vlen = send ? (size_t)(send - s) : (size_t)(end - s);
            if (vlen == 0) {
                return false;
            }
            for (size_t i = 0; i < vlen; i++) {
                if (is_ctl((unsigned char)s[i])) {
                    return false;
                }
            }
            if (req != NULL && n < API_MAX_PARAMS) {
                req->param_names[n] = rl_arena_strndup(req->arena, name, nlen);
                req->param_values[n] = rl_arena_strndup(req->arena, s, vlen);
                if (req->param_names[n] == NULL ||
                    req->param_values[n] == NULL) {
                    return false;
                }
                n++;
            }
            p = name + nlen;
            s += vlen;
            continue;
        }
        if (*p != *s) {
            return false;
        }
        p++;
        s++;
    }
    if (*p != '\0' || s != end) {
        return false;
    }
    if (req != NULL) {
        req->nparams = n;
    }
    return true;
}

static const char *const method_order[] = {"DELETE", "GET",  "HEAD", "OPTIONS",
                                           "PATCH",  "POST", "PUT"};
#define NMETHODS (sizeof(method_order) / sizeof(method_order[0]))

const char *
api_route_allow(struct api_req *req, const char *path, size_t len)
{
    bool has[NMETHODS] = {false};
    bool any = false;
    for (const struct api_route *r = api_routes; r->method != NULL; r++) {
        if (!match(r->pattern, path, len, NULL)) {
            continue;
        }
        any = true;
        for (size_t i = 0; i < NMETHODS; i++) {
            if (strcmp(method_order[i], r->method) == 0) {
                has[i] = true;
            }
        }
        if (strcmp(r->method, "GET") == 0) {
            has[2] = true; /* HEAD */
        }
    }
    if (!any) {
        return NULL;
    }
    has[3] = true; /* OPTIONS */
    char buf[96];
    size_t n = 0;
    for (size_t i = 0; i < NMETHODS; i++) {
        if (has[i]) {
            size_t m = strlen(method_order[i]);
            if (n) {
                memcpy(buf + n, ", ", 2);
                n += 2;
            }
            memcpy(buf + n, method_order[i], m);
            n += m;
        }
    }
    return rl_arena_strndup(req->arena, buf, n);
}

static int
redirect(struct api_req *req, const char *target)
{
    bool safe =
        strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    const char *query = api_req_query_string(req);
    const char *loc = query != NULL && *query != '\0'
                          ? rl_arena_printf(req->arena, "%s?%s", target, query)
                          : target;
    if (loc == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    if (!api_add_header(req, "Location", loc)) {
        return api_reply_headers_full(req);
    }
    json_t *body =
        json_pack("{s:s}", "message", "the resource has moved permanently");
    return api_reply_json(req, safe ? 301 : 308, body);
}

/* The readiness route's path, as in the table above (whose literals
 * tests/test_openapi.py reads). */
#define READYZ_PATH "/readyz"

bool
api_route_unguarded(const struct api_req *req)
{
    return req->path_len == sizeof(READYZ_PATH) - 1 &&
           memcmp(req->path, READYZ_PATH, req->path_len) == 0;
}

enum api_work
api_route_work(struct api_req *req)
{
    enum api_work work = API_WORK_INLINE;
    if (api_route_unguarded(req)) {
        return work; /* not authenticated: Authorization is ignored */
    }
    const char *auth = api_req_header(req, "Authorization");
    if (auth != NULL && auth[0] != '\0') {
        work = API_WORK_DB; /* authentication reads the database */
    }
    bool head = strcmp(req->method, "HEAD") == 0;
    for (const struct api_route *r = api_routes; r->method != NULL; r++) {
        if ((strcmp(r->method, req->method) == 0 ||
             (head && strcmp(r->method, "GET") == 0)) &&
            match(r->pattern, req->path, req->path_len, NULL)) {
            return r->work > work ? r->work : work;
        }
    }
    return work;
}

const char *
api_route_pattern(const char *path, size_t len)
{
    for (const struct api_route *r = api_routes; r->method != NULL; r++) {
        if (match(r->pattern, path, len, NULL)) {
            return r->pattern;
        }
    }
    return NULL;
}

const char *
api_route_pattern_at(size_t i)
{
    for (size_t k = 0; api_routes[k].method != NULL; k++) {
        if (k == i) {
            return api_routes[k].pattern;
        }
    }
    return NULL;
}

int
api_route(struct api_app *app, struct api_req *req)
{
    const char *m = req->method;
    bool head = strcmp(m, "HEAD") == 0;
    bool path_known = false;
    if (api_metrics_hidden(app, req)) {
        return api_reply_not_found(req); /* as if it did not exist */
    }
    for (const struct api_route *r = api_routes; r->method != NULL; r++) {
        if (!match(r->pattern, req->path, req->path_len, NULL)) {
            continue;
        }
        path_known = true;
        if (strcmp(r->method, m) == 0 ||
            (head && strcmp(r->method, "GET") == 0)) {
            if (!match(r->pattern, req->path, req->path_len, req)) {
                return api_reply_server_error(req, "out of memory");
            }
            req->route = r->pattern;
            if (r->permission != NULL) {
                int status = api_require_permission(req, r->permission);
                if (status != API_CONTINUE) {
                    return status;
                }
            }
            return r->handler(app, req);
        }
    }
    if (path_known) {
        const char *allow = api_route_allow(req, req->path, req->path_len);
        if (allow == NULL) {
            return api_reply_server_error(req, "out of memory");
        }
        for (const struct api_route *r = api_routes; r->method != NULL; r++) {
            if (match(r->pattern, req->path, req->path_len, NULL)) {
                req->route = r->pattern;
                break;
            }
        }
        if (strcmp(m, "OPTIONS") == 0) {
            if (!api_add_header(req, "Allow", allow)) {
                return api_reply_headers_full(req);
            }
            return api_reply_empty(req, 200);
        }
        return api_reply_method_not_allowed(req, allow);
    }
    size_t len = req->path_len;
    if (len > 1 && req->path[len - 1] == '/') {
        char *trimmed = rl_arena_strndup(req->arena, req->path, len - 1);
        if (trimmed == NULL) {
            return api_reply_server_error(req, "out of memory");
        }
        for (const struct api_route *r = api_routes; r->method != NULL; r++) {
            if (match(r->pattern, trimmed, len - 1, NULL)) {
                return redirect(req, trimmed);
            }
        }
    }
    return api_reply_not_found(req);
}
