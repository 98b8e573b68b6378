/*
 * handlers.h — every route handler. Each takes the app and the request,
 * sets the response and returns its status (see app.h).
 */
#ifndef REDLIGHT_CMD_API_HANDLERS_H
#define REDLIGHT_CMD_API_HANDLERS_H

#include "cmd/api/app.h"
#include "cmd/api/request.h"

/* healthcheck.c */
int api_healthcheck(struct api_app *app, struct api_req *req);
/* GET /readyz: 200 ready, or 503 with the reason (CONTRACT §13.2). */
int api_readyz(struct api_app *app, struct api_req *req);

/* movies.c */
int api_movie_create(struct api_app *app, struct api_req *req);
int api_movie_show(struct api_app *app, struct api_req *req);
int api_movie_update(struct api_app *app, struct api_req *req);
int api_movie_delete(struct api_app *app, struct api_req *req);
int api_movie_list(struct api_app *app, struct api_req *req);

/* users.c */
int api_user_register(struct api_app *app, struct api_req *req);
int api_user_activate(struct api_app *app, struct api_req *req);
int api_user_reset_password(struct api_app *app, struct api_req *req);

/* token_mail.c */
int api_token_activation(struct api_app *app, struct api_req *req);
int api_token_password_reset(struct api_app *app, struct api_req *req);

/* auth.c */
int api_token_authentication(struct api_app *app, struct api_req *req);
int api_token_jwt(struct api_app *app, struct api_req *req);
int api_token_revoke(struct api_app *app, struct api_req *req);

/* metrics_expo.c (both only for -metrics-allow clients) */
int api_debug_vars(struct api_app *app, struct api_req *req);
int api_metrics_prometheus(struct api_app *app, struct api_req *req);

/* openapi.c: GET /v1/openapi.json, the embedded OpenAPI document. */
int api_openapi(struct api_app *app, struct api_req *req);

#endif
