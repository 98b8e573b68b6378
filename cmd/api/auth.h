/*
 * auth.h — the authentication middleware and the route guards (auth.c).
 * Each returns API_CONTINUE to let the request go on, or the status of the
 * error response it set (helpers.h).
 */
#ifndef REDLIGHT_CMD_API_AUTH_H
#define REDLIGHT_CMD_API_AUTH_H

#include "cmd/api/app.h"
#include "cmd/api/helpers.h"
#include "cmd/api/request.h"

/* Resolves the Authorization header (absent: anonymous) into req->user:
 * a 26-character authentication token or, when -jwt-secret is set, a JWT.
 * A malformed header or an invalid, expired or unknown token → 401 with
 * WWW-Authenticate: Bearer. One database query for a valid token. */
int api_authenticate(struct api_app *app, struct api_req *req) RL_MUST_CHECK;

/* 401 "authentication required" for anonymous requests. */
int api_require_authenticated(struct api_req *req) RL_MUST_CHECK;

/* requireActivatedUser + requirePermission(code): 401 anonymous, 403
 * inactive, 403 without the permission. */
int api_require_permission(struct api_req *req, const char *code) RL_MUST_CHECK;

#endif
