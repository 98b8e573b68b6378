/*
 * metrics.h — the metrics layer of the chain (counted by server.c when a
 * request arrives and when its response has been sent) and the two
 * endpoints that read it: GET /debug/vars (expvar JSON, CONTRACT §8, §12
 * #15, #20) and GET /metrics (Prometheus text format 0.0.4, §13), declared
 * with the other handlers in handlers.h. Both answer only clients in
 * -metrics-allow; everyone else gets the 404 of an unknown path, for every
 * method, so the endpoints cannot be discovered.
 *
 * Three files: metrics.c (the counters), metrics_expo.c (the two pages),
 * metrics_access.c (-metrics-allow). They know nothing of the route table:
 * main.c passes its patterns in.
 *
 * Counters are atomics (relaxed): the request path never takes a lock.
 */
#ifndef REDLIGHT_CMD_API_METRICS_H
#define REDLIGHT_CMD_API_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/api/app.h"
#include "cmd/api/request.h"

struct api_metrics;

/* Builds app->metrics (one histogram per distinct route pattern, in the
 * order route_pattern(0), route_pattern(1), … gives them up to its first
 * NULL, plus "unmatched") and app->metrics_allow from cfg.metrics_allow.
 * The patterns are kept, not copied: they must outlive app->metrics.
 * Returns RL_OK, RL_ERR_INVALID (a bad -metrics-allow, normally caught by
 * config.c) or RL_ERR_NOMEM. Call once before the server starts. */
enum rl_err
api_metrics_init(struct api_app *app,
                 const char *(*route_pattern)(size_t i)) RL_MUST_CHECK;

/* Frees what api_metrics_init built. Call after the server stopped. */
void api_metrics_free(struct api_app *app);

/* A request arrived. NULL m is a no-op. Thread-safe, lock-free. */
void api_metrics_received(struct api_metrics *m);

/* req's response has been sent, duration_ns after it arrived: counts it by
 * status and into the histogram of (req->route or "unmatched", method,
 * status class). NULL m is a no-op. Thread-safe, lock-free. */
void api_metrics_sent(struct api_metrics *m, const struct api_req *req,
                      int64_t duration_ns);

/* True when req asks for a metrics endpoint (with or without a trailing
 * slash, any method) and its client is not in -metrics-allow: the router
 * answers 404 as for an unknown path. */
bool api_metrics_hidden(struct api_app *app, struct api_req *req);

#endif
