/*
 * healthcheck.c — GET /v1/healthcheck. No state.
 */
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"

int
api_healthcheck(struct api_app *app, struct api_req *req)
{
    json_t *body =
        json_pack("{s:s, s:{s:s, s:s}}", "status", "available", "system_info",
                  "environment", app->cfg.env, "version", RL_VERSION);
    return api_reply_json(req, 200, body);
}
