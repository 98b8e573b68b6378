/*
 * metrics.c — the counters: requests received and sent, responses by
 * status and the latency histogram (struct api_metrics, owned by struct
 * api_app, created once before the server starts and freed after it
 * stops), updated by server.c as a request arrives and its response
 * leaves. metrics_expo.c writes them out; metrics_access.c decides who may
 * read them.
 *
 * Every counter is an atomic updated with relaxed ordering: nothing on the
 * request path takes a lock. A scrape reads each counter once, so totals
 * seen together may be a few requests apart; each one is monotonic.
 * Histogram buckets are stored per bucket and summed into the cumulative
 * `le` form while writing, so the buckets of one scrape never decrease.
 */
#include "cmd/api/metrics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/api/metrics_private.h"
#include "internal/procstat/procstat.h"

const char *const api_metrics_methods[API_METRICS_NMETHODS] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};

/* The API answers in well under a millisecond when the database is warm,
 * so the low end is finer than Prometheus's default buckets. */
const int64_t api_metrics_bucket_us[API_METRICS_NBUCKETS] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

enum rl_err
api_metrics_init(struct api_app *app, const char *(*route_pattern)(size_t i))
{
    enum rl_err e = api_metrics_access_init(app);
    if (e != RL_OK) {
        return e;
    }
    struct api_metrics *m = calloc(1, sizeof(*m));
    size_t nroutes = 0;
    while (route_pattern(nroutes) != NULL) {
        nroutes++;
    }
    if (m != NULL) {
        m->patterns = calloc(nroutes + 1, sizeof(m->patterns[0]));
    }
    if (m == NULL || m->patterns == NULL) {
        free(m);
        api_metrics_access_free(app);
        return RL_ERR_NOMEM;
    }
    for (size_t i = 0; i < nroutes; i++) {
        const char *pattern = route_pattern(i);
        size_t j = 0;
        while (j < m->npatterns && strcmp(m->patterns[j], pattern) != 0) {
            j++;
        }
        if (j == m->npatterns) {
            m->patterns[m->npatterns++] = pattern;
        }
    }
    m->patterns[m->npatterns++] = "unmatched";
    size_t nslots = m->npatterns * API_METRICS_NMETHODS * API_METRICS_NCLASSES *
                    API_METRICS_SERIES_SLOTS;
    m->series = calloc(nslots, sizeof(m->series[0]));
    if (m->series == NULL) {
        free(m->patterns);
        free(m);
        api_metrics_access_free(app);
        return RL_ERR_NOMEM;
    }
    /* calloc's zero bytes are a valid zero for these lock-free atomics. */
    if (rl_procstat_start_time(&m->start_ns) != RL_OK) {
        m->start_ns = (int64_t)time(NULL) * 1000000000; /* no /proc */
    }
    app->metrics = m;
    return RL_OK;
}

void
api_metrics_free(struct api_app *app)
{
    if (app->metrics != NULL) {
        free(app->metrics->series);
        free(app->metrics->patterns);
        free(app->metrics);
        app->metrics = NULL;
    }
    api_metrics_access_free(app);
}

void
api_metrics_received(struct api_metrics *m)
{
    if (m != NULL) {
        atomic_fetch_add_explicit(&m->received, 1, memory_order_relaxed);
    }
}

static size_t
pattern_index(const struct api_metrics *m, const char *route)
{
    size_t last = m->npatterns - 1;
    if (route == NULL) {
        return last;
    }
    for (size_t i = 0; i < last; i++) {
        if (m->patterns[i] == route || strcmp(m->patterns[i], route) == 0) {
            return i;
        }
    }
    return last;
}

static size_t
method_index(const char *method)
{
    for (size_t i = 0; method != NULL && i < API_METRICS_NMETHODS - 1; i++) {
        if (strcmp(api_metrics_methods[i], method) == 0) {
            return i;
        }
    }
    return API_METRICS_NMETHODS - 1; /* "other": bounded label values */
}

void
api_metrics_sent(struct api_metrics *m, const struct api_req *req,
                 int64_t duration_ns)
{
    if (m == NULL) {
        return;
    }
    uint_fast64_t us = duration_ns > 0 ? (uint_fast64_t)duration_ns / 1000 : 0;
    atomic_fetch_add_explicit(&m->sent, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->processing_us, us, memory_order_relaxed);
    int st = req->status;
    if (st < API_METRICS_STATUS_MIN || st > API_METRICS_STATUS_MAX) {
        return; /* never sent by this server; nothing sensible to count */
    }
    atomic_fetch_add_explicit(&m->by_status[st - API_METRICS_STATUS_MIN], 1,
                              memory_order_relaxed);
    atomic_uint_fast64_t *s =
        api_metrics_series(m, pattern_index(m, req->route),
                           method_index(req->method), (size_t)(st / 100 - 1));
    size_t b = 0;
    while (b < API_METRICS_NBUCKETS && (int64_t)us > api_metrics_bucket_us[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&s[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s[API_METRICS_NBUCKETS + 1], us,
                              memory_order_relaxed);
}
