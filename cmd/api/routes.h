/*
 * routes.h — the route table and the router.
 */
#ifndef REDLIGHT_CMD_API_ROUTES_H
#define REDLIGHT_CMD_API_ROUTES_H

#include <stdbool.h>

#include "cmd/api/app.h"

struct api_route {
    const char *method;
    const char *pattern; /* segments; ":name" captures one segment */
    api_handler handler;
    const char *permission; /* required permission code, or NULL */
    bool blocking;          /* waits on the database: run on a worker thread */
};

/* The table, terminated by an entry with a NULL method. Immutable. */
extern const struct api_route api_routes[];

/* Finds the route for req (HEAD runs the GET route; OPTIONS on a known path
 * answers 200 with Allow; wrong method → 405 with Allow; a trailing slash on
 * a known path redirects; otherwise 404), runs it and returns the status.
 * Sets req->route to the matched pattern. */
int api_route(struct api_app *app, struct api_req *req);

/* True when the route that will answer req may block (database work), so
 * the server runs it on a worker thread instead of an I/O thread. */
bool api_route_blocking(struct api_req *req);

/* The pattern of the first route whose path matches `path` (any method),
 * or NULL. For labelling requests the middleware answers itself. */
const char *api_route_pattern(const char *path);

/* The Allow header value for `path`, or NULL when no route has that path.
 * Allocated in req's arena. */
const char *api_route_allow(struct api_req *req, const char *path);

#endif
