/*
 * healthcheck.c — GET /v1/healthcheck.
 *
 * The body depends only on -env and the build's version, so the first
 * request builds it into app->health_body and every later one borrows
 * those bytes: no JSON is built or encoded per request (issue 13: jansson
 * was 5% of the server's CPU on this route). Requests that arrive while it
 * is being built build their own, as before.
 */
#include <string.h>

#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"

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
