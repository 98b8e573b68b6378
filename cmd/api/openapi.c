/*
 * openapi.c — GET /v1/openapi.json: the OpenAPI 3.1 document of the API
 * (cmd/api/openapi.json), embedded at build time by cmd/api/embed.sh. No
 * state besides the immutable bytes; no envelope.
 */
#include <string.h>

#include "cmd/api/errors.h"
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"

/* build/gen/openapi_json.c */
extern const unsigned char api_openapi_json[];
extern const size_t api_openapi_json_len;

int
api_openapi(struct api_app *app, struct api_req *req)
{
    (void)app;
    /* A copy in the arena: the response body is not const. */
    char *body = rl_arena_alloc(req->arena, api_openapi_json_len);
    if (body == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    memcpy(body, api_openapi_json, api_openapi_json_len);
    req->status = 200;
    req->resp_body = body;
    req->resp_len = api_openapi_json_len;
    req->content_type = NULL; /* application/json */
    return 200;
}
