/*
 * middleware.h — the middleware chain (server.c runs it for every request)
 * and the set-up of its state.
 */
#ifndef REDLIGHT_CMD_API_MIDDLEWARE_H
#define REDLIGHT_CMD_API_MIDDLEWARE_H

#include "cmd/api/app.h"
#include "cmd/api/request.h"

/* The chain every request goes through before the router: sets req's
 * response and returns its status. */
int api_handle(struct api_app *app, struct api_req *req);

/* Builds app->trusted_proxies from cfg.trusted_proxies and, when
 * cfg.limiter.enabled, app->limiter (1,048,576 clients at most, 16 MiB).
 * Returns RL_OK, RL_ERR_INVALID (a bad value, normally caught by config.c)
 * or RL_ERR_NOMEM. Call once before the server starts. */
enum rl_err api_middleware_init(struct api_app *app) RL_MUST_CHECK;

/* Frees what api_middleware_init built. Call after the server stopped. */
void api_middleware_free(struct api_app *app);

#endif
