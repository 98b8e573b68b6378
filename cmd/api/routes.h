/*
 * routes.h — the route table and the router.
 */
#ifndef REDLIGHT_CMD_API_ROUTES_H
#define REDLIGHT_CMD_API_ROUTES_H

#include <stdbool.h>

#include "cmd/api/app.h"
#include "cmd/api/request.h"

/* Where a route's handler runs (server.c). Ordered: a request needs the
 * largest of its route's and its authentication's. */
enum api_work {
    API_WORK_INLINE,  /* never waits: on the I/O thread */
    API_WORK_DB,      /* waits on the database, bounded by an index */
    API_WORK_DB_LIST, /* a list or search: a capped share of the workers */
    API_WORK_HASH,    /* hashes a password: a hashing worker */
};

struct api_route {
    const char *method;
    const char *pattern; /* segments; ":name" captures one segment */
    api_handler handler;
    const char *permission; /* required permission code, or NULL */
    enum api_work work;
};

/* The table, terminated by an entry with a NULL method. Immutable. */
extern const struct api_route api_routes[];

/* Finds the route for req (HEAD runs the GET route; OPTIONS on a known path
 * answers 200 with Allow; wrong method → 405 with Allow; a trailing slash on
 * a known path redirects; otherwise 404), runs it and returns the status.
 * Sets req->route to the matched pattern. */
int api_route(struct api_app *app, struct api_req *req);

/* True for a path the middleware lets through without the rate limiter
 * and authentication (any method: a POST gets the router's usual 405):
 * /readyz, polled every second by load balancers, from a few addresses,
 * without credentials (CONTRACT §13.2 Readiness). Pure. */
bool api_route_unguarded(const struct api_req *req);

/* Where req must run: nothing that waits on the database or hashes a
 * password runs on an I/O thread. */
enum api_work api_route_work(struct api_req *req);

/* The pattern of the first route whose path matches the len bytes of
 * `path` (any method), or NULL. For labelling requests the middleware
 * answers itself. */
const char *api_route_pattern(const char *path, size_t len);

/* The pattern of the i-th route of the table, or NULL past its end: the
 * labels of the metrics (main.c hands it to api_metrics_init). */
const char *api_route_pattern_at(size_t i);

/* The Allow header value for the len bytes of `path`, or NULL when no
 * route has that path. Allocated in req's arena. */
const char *api_route_allow(struct api_req *req, const char *path, size_t len);

#endif
