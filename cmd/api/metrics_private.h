/*
 * metrics_private.h — what the three files of the metrics package share and
 * nothing else includes: the counters' layout (metrics.c owns and updates
 * them), read by the exposition (metrics_expo.c), and the allow-list set up
 * by the access policy (metrics_access.c).
 */
#ifndef REDLIGHT_CMD_API_METRICS_PRIVATE_H
#define REDLIGHT_CMD_API_METRICS_PRIVATE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/api/app.h"

#define API_METRICS_STATUS_MIN 100
#define API_METRICS_STATUS_MAX 599
#define API_METRICS_NCLASSES 5 /* 1xx .. 5xx */

/* The method label values: the seven the API answers, then "other". */
#define API_METRICS_NMETHODS 8
extern const char *const api_metrics_methods[API_METRICS_NMETHODS];

/* Upper bounds of the latency buckets in microseconds (metrics.c). */
#define API_METRICS_NBUCKETS 14
extern const int64_t api_metrics_bucket_us[API_METRICS_NBUCKETS];

/* Per series: NBUCKETS counts, the +Inf count, then the sum in µs. */
#define API_METRICS_SERIES_SLOTS (API_METRICS_NBUCKETS + 2)

struct api_metrics {
    atomic_uint_fast64_t received;
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t processing_us;
    atomic_uint_fast64_t
        by_status[API_METRICS_STATUS_MAX - API_METRICS_STATUS_MIN + 1];
    size_t npatterns; /* distinct route patterns, then "unmatched" */
    const char **patterns;
    atomic_uint_fast64_t *series; /* [pattern][method][class][slot] */
    int64_t start_ns;             /* process start, ns since the Unix epoch */
};

/* The slots of the series (pattern p, method meth, status class cls). */
static inline atomic_uint_fast64_t *
api_metrics_series(const struct api_metrics *m, size_t p, size_t meth,
                   size_t cls)
{
    return m->series +
           ((p * API_METRICS_NMETHODS + meth) * API_METRICS_NCLASSES + cls) *
               API_METRICS_SERIES_SLOTS;
}

/* One counter's value now (relaxed: see metrics.c). */
static inline uint64_t
api_metrics_load(atomic_uint_fast64_t *c)
{
    return (uint64_t)atomic_load_explicit(c, memory_order_relaxed);
}

/* metrics_access.c: builds app->metrics_allow from cfg.metrics_allow;
 * RL_OK, RL_ERR_INVALID or RL_ERR_NOMEM. The free is a no-op when it was
 * never built. */
enum rl_err api_metrics_access_init(struct api_app *app) RL_MUST_CHECK;
void api_metrics_access_free(struct api_app *app);

#endif
