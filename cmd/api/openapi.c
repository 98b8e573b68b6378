/*
 * openapi.c — GET /v1/openapi.json: the OpenAPI 3.1 document of the API
 * (cmd/api/openapi.json), embedded at build time by cmd/api/embed.sh. No
 * state besides the immutable bytes, which every response borrows; no
 * envelope.
 */
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"

/* build/gen/openapi_json.c */
extern const unsigned char api_openapi_json[];
extern const size_t api_openapi_json_len;

int
api_openapi(struct api_app *app, struct api_req *req)
{
    (void)app;
    return api_reply_static(req, 200, NULL, (const char *)api_openapi_json,
                            api_openapi_json_len);
}
