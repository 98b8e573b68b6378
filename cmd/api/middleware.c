/*
 * middleware.c — the chain in front of the router, in the contract's order:
 * metrics → CORS → rate limit → authenticate → route. Each layer either
 * answers (and returns its status) or passes the request on.
 */
#include "cmd/api/auth.h"
#include "cmd/api/handlers.h"
#include "cmd/api/routes.h"

int
api_handle(struct api_app *app, struct api_req *req)
{
    int status = api_authenticate(app, req);
    if (status != 0) {
        return status;
    }
    return api_route(app, req);
}
