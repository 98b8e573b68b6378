/*
 * healthcheck.c — GET /v1/healthcheck (liveness) and GET /readyz
 * (readiness).
 *
 * The healthcheck's body depends only on -env and the build's version, so
 * the first request builds it into app->health_body and every later one
 * borrows those bytes: no JSON is built or encoded per request (issue 13:
 * jansson was 5% of the server's CPU on this route). Requests that arrive
 * while it is being built build their own, as before.
 *
 * Readiness has three possible bodies, static text byte for byte as
 * api_reply_json encodes them (tests/unit/test_routes.c checks it), so a
 * load balancer polling every second from several proxies costs no
 * allocation and, through the per-thread shared response (mhdreq.c), no
 * response building either. It reads two atomics and never waits: the
 * database's state comes from the probe thread (internal/data/probe.h).
 */
#include <string.h>

#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"
#include "internal/data/probe.h"

int
api_healthcheck(struct api_app *app, struct api_req *req)
{
    if (atomic_load_explicit(&app->health_state, memory_order_acquire) == 2) {
        return api_reply_static(req, 200, NULL, app->health_body,
                                app->health_len);
    }
    json_t *body =
        json_pack("{s:s, s:{s:s, s:s}}", "status", "available", "system_info",
                  "environment", app->cfg.env, "version", RL_VERSION);
    int status = api_reply_json(req, 200, body);
    int empty = 0;
    if (status == 200 && req->resp_len <= sizeof(app->health_body) &&
        atomic_compare_exchange_strong(&app->health_state, &empty, 1)) {
        memcpy(app->health_body, req->resp_body, req->resp_len);
        app->health_len = req->resp_len;
        atomic_store_explicit(&app->health_state, 2, memory_order_release);
    }
    return status;
}

static const char ready_body[] = "{\n    \"status\": \"ready\"\n}\n";
static const char stopping_body[] =
    "{\n    \"status\": \"not ready\",\n    \"reason\": \"shutting down\"\n}\n";
static const char db_down_body[] =
    "{\n    \"status\": \"not ready\",\n    \"reason\": \"database "
    "unreachable\"\n}\n";

int
api_readyz(struct api_app *app, struct api_req *req)
{
    if (atomic_load_explicit(&app->draining, memory_order_relaxed) ||
        atomic_load_explicit(&app->shutting_down, memory_order_relaxed)) {
        return api_reply_static(req, 503, NULL, stopping_body,
                                sizeof(stopping_body) - 1);
    }
    if (!rl_db_probe_reachable(app->probe)) {
        return api_reply_static(req, 503, NULL, db_down_body,
                                sizeof(db_down_body) - 1);
    }
    return api_reply_static(req, 200, NULL, ready_body, sizeof(ready_body) - 1);
}
