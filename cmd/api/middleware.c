/*
 * middleware.c — the chain in front of the router, in the contract's order:
 * metrics → CORS → rate limit → authenticate → route (readiness skips the
 * limiter and authentication: api_route_unguarded). Each layer either
 * answers (and returns its status) or returns API_CONTINUE to pass the
 * request on (helpers.h). The metrics
 * layer lives in server.c, which alone sees a request arrive and its
 * response leave (metrics.h).
 *
 * Headers the chain adds (Vary, Access-Control-*, RateLimit-*) are marked
 * as the request's base headers (req->nbase_headers), so they stay on
 * every response, a 500 included.
 *
 * State: app->limiter, app->redis_limiter (with -limiter-redis) and
 * app->trusted_proxies, built by api_middleware_init before the server
 * starts; the limiters lock their own shards and connection slots, the
 * proxy set is immutable.
 */
#include "cmd/api/middleware.h"

#include <string.h>
#include <strings.h>

#include "cmd/api/auth.h"
#include "cmd/api/errors.h"
#include "cmd/api/helpers.h"
#include "cmd/api/routes.h"
#include "internal/base/clock.h"
#include "internal/base/list.h"
#include "internal/password/password.h"
#include "internal/ratelimit/ratelimit.h"
#include "internal/ratelimit/redis.h"

enum rl_err
api_middleware_init(struct api_app *app)
{
    enum rl_err e = rl_ipset_parse(app->cfg.trusted_proxies,
                                   &app->trusted_proxies, NULL, NULL);
    if (e != RL_OK || !app->cfg.limiter.enabled) {
        return e;
    }
    struct rl_limiter_config lc = {.rps = app->cfg.limiter.rps,
                                   .burst = app->cfg.limiter.burst};
    e = rl_limiter_new(&lc, &app->limiter);
    if (e == RL_OK && app->cfg.limiter.redis[0] != '\0') {
        /* config.c has checked the URL; the same parse cannot fail. */
        struct rl_redis_url url;
        e = rl_redis_url_parse(app->cfg.limiter.redis, &url, NULL);
        /* One connection per thread that runs the chain (server.c): the
         * I/O threads, the database workers and the hashing workers, so
         * each keeps to its own slot (a make bench run with one slot per
         * I/O thread found every slot busy on 7 % of calls). */
        int db_workers = app->cfg.db.concurrency < app->cfg.db.max_open
                             ? app->cfg.db.concurrency
                             : app->cfg.db.max_open;
        int conns =
            app->cfg.http_threads + db_workers + rl_password_max_concurrent();
        conns = conns < RL_REDIS_MAX_CONNS ? conns : RL_REDIS_MAX_CONNS;
        struct rl_redis_limiter_config rc = {.url = &url,
                                             .rps = app->cfg.limiter.rps,
                                             .burst = app->cfg.limiter.burst,
                                             .conns = conns};
        if (e == RL_OK) {
            e = rl_redis_limiter_new(&rc, &app->redis_limiter);
        }
        explicit_bzero(url.password, sizeof(url.password));
    }
    if (e != RL_OK) {
        api_middleware_free(app);
    }
    return e;
}

void
api_middleware_free(struct api_app *app)
{
    rl_redis_limiter_free(app->redis_limiter);
    app->redis_limiter = NULL;
    rl_limiter_free(app->limiter);
    app->limiter = NULL;
    rl_ipset_free(app->trusted_proxies);
    app->trusted_proxies = NULL;
}

/* One hop of X-Forwarded-For: an address, also as "a.b.c.d:port",
 * "[v6]" or "[v6]:port" (some proxies add the port). */
static bool
parse_hop(const char *s, size_t len, struct rl_ip *out)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL || (close + 1 < s + len && close[1] != ':')) {
            return false;
        }
        return rl_ip_parse(s + 1, (size_t)(close - s - 1), out);
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL &&
        memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL) {
        len = (size_t)(colon - s); /* IPv4 with a port */
    }
    return rl_ip_parse(s, len, out);
}

/* The client named by X-Forwarded-For (all its lines, joined), read from
 * the right, where each proxy appended the address it saw: the first
 * address that is not a trusted proxy is the client. A direct client can
 * write anything into the header, but only to the left of what our proxies
 * append, so it cannot choose the address it is counted under. An
 * unparsable hop stops the walk at the last good one (the peer when it is
 * the right-most); when every hop is trusted, the left-most is the
 * client. */
static struct rl_ip
forwarded_for(const struct rl_ipset *trusted, const char *xff,
              struct rl_ip peer)
{
    struct rl_ip hop = peer;
    size_t end = strlen(xff);
    for (;;) {
        const char *comma = memrchr(xff, ',', end);
        size_t start = comma ? (size_t)(comma - xff) + 1 : 0;
        struct rl_ip ip;
        if (!parse_hop(xff + start, end - start, &ip)) {
            return hop;
        }
        hop = ip;
        if (!rl_ipset_contains(trusted, &ip) || comma == NULL) {
            return hop;
        }
        end = (size_t)(comma - xff);
    }
}

/* Who the client is (CONTRACT §12 #8, §13.2 real client address): the TCP
 * peer, unless the peer is a trusted proxy. Then exactly one header is
 * believed, the one -real-ip-header names; the other is ignored, since a
 * proxy that sets only one of them passes the client's own copy of the
 * other through. X-Forwarded-For as forwarded_for() reads it; X-Real-IP
 * must hold a single address (every line joined, so two lines or a list
 * are malformed). A malformed value falls back to the peer: never an
 * error. */
static void
resolve_client(struct api_app *app, struct api_req *req)
{
    struct rl_ip peer;
    if (!api_req_peer_ip(req, &peer)) {
        memset(&req->client, 0, sizeof(req->client));
        return;
    }
    req->client = peer;
    if (!rl_ipset_contains(app->trusted_proxies, &peer)) {
        return;
    }
    bool real_ip = strcasecmp(app->cfg.real_ip_header, "X-Real-IP") == 0;
    const char *value =
        api_req_header_all(req, real_ip ? "X-Real-IP" : "X-Forwarded-For");
    if (value == NULL) {
        return;
    }
    if (!real_ip) {
        req->client = forwarded_for(app->trusted_proxies, value, peer);
        return;
    }
    struct rl_ip ip;
    if (strchr(value, ',') == NULL && parse_hop(value, strlen(value), &ip)) {
        req->client = ip;
    }
}

/* What a browser app may send and read (CONTRACT §12 #21): the request
 * headers of the API's own features (bearer tokens, JSON bodies,
 * conditional requests, optimistic locking) and the response headers that
 * carry their answers. A preflight is cached for CORS_MAX_AGE seconds. */
#define CORS_ALLOW_HEADERS                                                     \
    "Authorization, Content-Type, If-Match, If-None-Match, X-Expected-Version"
#define CORS_EXPOSE_HEADERS                                                    \
    "ETag, Location, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "  \
    "Retry-After"
#define CORS_MAX_AGE "600"

/* CORS (CONTRACT §6, §12 #21). The origin must be one of the trusted
 * list's items, exactly (config.c has checked each is an origin). Answers
 * a preflight from a trusted origin itself (before the limiter and
 * authentication); otherwise only adds headers. */
static int
cors(struct api_app *app, struct api_req *req)
{
    if (!api_add_header(req, "Vary", "Origin") ||
        !api_add_header(req, "Vary", "Access-Control-Request-Method")) {
        return api_reply_headers_full(req);
    }
    req->nbase_headers = req->nresp_headers;
    const char *origin = api_req_header(req, "Origin");
    if (origin == NULL || !rl_list_contains(app->cfg.cors_trusted_origins,
                                            origin, strlen(origin))) {
        return API_CONTINUE;
    }
    if (!api_add_header(req, "Access-Control-Allow-Origin", origin) ||
        !api_add_header(req, "Access-Control-Expose-Headers",
                        CORS_EXPOSE_HEADERS)) {
        return api_reply_headers_full(req);
    }
    req->nbase_headers = req->nresp_headers;
    const char *acrm = api_req_header(req, "Access-Control-Request-Method");
    if (strcmp(req->method, "OPTIONS") != 0 || acrm == NULL ||
        acrm[0] == '\0') {
        return API_CONTINUE;
    }
    if (!api_add_header(req, "Access-Control-Allow-Methods",
                        "OPTIONS, PUT, PATCH, DELETE") ||
        !api_add_header(req, "Access-Control-Allow-Headers",
                        CORS_ALLOW_HEADERS) ||
        !api_add_header(req, "Access-Control-Max-Age", CORS_MAX_AGE)) {
        return api_reply_headers_full(req);
    }
    req->route =
        api_route_pattern(req->path, req->path_len); /* for the metrics */
    return api_reply_empty(req, 200);
}

/* The rate limiter (CONTRACT §7, §13): one bucket per client address;
 * IPv6 clients per /64, the block one subscriber gets, since one host can
 * use any of its 2^64 addresses. Adds the RateLimit-* headers to every
 * response it lets through, and answers 429 with Retry-After itself.
 * With -limiter-redis the bucket is Redis's (§13.2); when Redis cannot
 * answer, the node's own bucket decides (-limiter-redis-fail open) or the
 * request gets the overload 503 (closed), without RateLimit-* headers
 * since no bucket was consulted. */
static int
rate_limit(struct api_app *app, struct api_req *req)
{
    if (app->limiter == NULL) {
        return API_CONTINUE;
    }
    struct rl_ip key = req->client;
    if (!rl_ip_is_v4(&key)) {
        rl_ip_mask(&key, 64);
    }
    struct rl_limiter_result r;
    if (app->redis_limiter == NULL ||
        rl_redis_limiter_allow(app->redis_limiter, key.b, &r) != RL_OK) {
        if (app->redis_limiter != NULL &&
            strcmp(app->cfg.limiter.redis_fail, "closed") == 0) {
            req->route = api_route_pattern(req->path, req->path_len);
            return api_reply_busy(req, 1);
        }
        rl_limiter_allow(app->limiter, key.b, rl_mono_ns(), &r);
    }
    char *limit = rl_arena_printf(req->arena, "%d", app->cfg.limiter.burst);
    char *remaining =
        rl_arena_printf(req->arena, "%lld", (long long)r.remaining);
    char *reset = rl_arena_printf(req->arena, "%lld", (long long)r.reset_s);
    if (limit == NULL || remaining == NULL || reset == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    if (!api_add_header(req, "RateLimit-Limit", limit) ||
        !api_add_header(req, "RateLimit-Remaining", remaining) ||
        !api_add_header(req, "RateLimit-Reset", reset)) {
        return api_reply_headers_full(req);
    }
    req->nbase_headers = req->nresp_headers;
    if (!r.allowed) {
        req->route =
            api_route_pattern(req->path, req->path_len); /* for the metrics */
        return api_reply_rate_limited(req, r.retry_after_s);
    }
    return API_CONTINUE;
}

int
api_handle(struct api_app *app, struct api_req *req)
{
    resolve_client(app, req);
    int status = cors(app, req);
    if (status != API_CONTINUE) {
        return status;
    }
    if (api_route_unguarded(req)) {
        /* Readiness: no limiter, no authentication (CONTRACT §13.2). */
        return api_route(app, req);
    }
    status = rate_limit(app, req);
    if (status != API_CONTINUE) {
        return status;
    }
    /* Every response that passed the limiter depends on who is asking
     * (CONTRACT §1): say so before authentication answers anything. */
    if (!api_add_header(req, "Vary", "Authorization")) {
        return api_reply_headers_full(req);
    }
    req->nbase_headers = req->nresp_headers;
    /* No worker could take it in time (server.c): answer before
     * authentication, which would wait on the database. */
    if (req->overloaded) {
        req->route = api_route_pattern(req->path, req->path_len);
        return api_reply_busy(req, 1);
    }
    status = api_authenticate(app, req);
    if (status != API_CONTINUE) {
        return status;
    }
    return api_route(app, req);
}
