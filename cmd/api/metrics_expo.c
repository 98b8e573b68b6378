/*
 * metrics_expo.c — the two pages that show the counters (metrics.c) along
 * with the pool, the rate limiter, the work queues, the mail outbox and the
 * process: GET /debug/vars (Go's expvar JSON) and GET /metrics (Prometheus
 * text format 0.0.4). Each scrape builds its page in the request's arena
 * and keeps no state; metrics_access.c has already turned away clients
 * outside -metrics-allow.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/api/config.h"
#include "cmd/api/conns.h"
#include "cmd/api/errors.h"
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"
#include "cmd/api/metrics_private.h"
#include "cmd/api/workq.h"
#include "internal/authcache/authcache.h"
#include "internal/base/buf.h"
#include "internal/base/utf8.h"
#include "internal/data/outbox_stats.h"
#include "internal/data/pool.h"
#include "internal/data/replica.h"
#include "internal/procstat/procstat.h"
#include "internal/ratelimit/ratelimit.h"
#include "internal/ratelimit/redis.h"

/* Answers 200 with b's text, or 500 when building it ran out of memory. */
static int
reply_buf(struct api_req *req, const struct rl_buf *b, const char *content_type)
{
    if (rl_buf_err(b) != RL_OK) {
        return api_reply_server_error(req, "out of memory");
    }
    return api_reply_body(req, 200, content_type, b->data, b->len);
}

/* ---- GET /debug/vars ---------------------------------------------------- */

/* Copies s replacing malformed UTF-8 with U+FFFD, so JSON can carry it. */
static const char *
utf8_clean(struct rl_arena *a, const char *s)
{
    struct rl_buf b;
    rl_buf_init(&b, SIZE_MAX, a);
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = rl_utf8_seq_len((const unsigned char *)s + i, n - i);
        if (k == 0) {
            rl_buf_addstr(&b, "\xef\xbf\xbd");
            i++;
        } else {
            rl_buf_add(&b, s + i, k);
            i += k;
        }
    }
    rl_buf_add(&b, "", 0);
    return rl_buf_err(&b) != RL_OK ? NULL : b.data;
}

static int
buf_dump_cb(const char *buf, size_t size, void *data)
{
    struct rl_buf *b = data;
    return rl_buf_add(b, buf, size) == RL_OK ? 0 : -1;
}

/* total_responses_sent_by_status as Go's expvar.Map writes itself: keys
 * sorted, `{"200": 12, "404": 1}` with a space after ':' and ','. */
static void
put_by_status(struct rl_buf *b, struct api_metrics *m)
{
    const char *sep = "";
    rl_buf_addstr(b, "{");
    for (int st = API_METRICS_STATUS_MIN; st <= API_METRICS_STATUS_MAX; st++) {
        uint64_t n =
            api_metrics_load(&m->by_status[st - API_METRICS_STATUS_MIN]);
        if (n != 0) {
            rl_buf_printf(b, "%s\"%d\": %" PRIu64, sep, st, n);
            sep = ", ";
        }
    }
    rl_buf_addstr(b, "}");
}

/* "rate_limiter" for /debug/vars, put where Go's sorted keys would have
 * it (after "memstats"): the keys that sort after it are moved behind. */
static bool
put_rate_limiter(struct api_app *app, json_t *doc)
{
    struct rl_limiter_stats st = {0};
    if (app->limiter != NULL) {
        rl_limiter_stats(app->limiter, &st);
    }
    json_t *rl =
        json_pack("{s:b, s:s, s:I}", "enabled", app->limiter != NULL, "buckets",
                  app->redis_limiter != NULL ? "redis" : "local",
                  "local_rejected", (json_int_t)st.rejected);
    if (rl == NULL) {
        return false;
    }
    if (app->redis_limiter != NULL) {
        struct rl_redis_limiter_stats rs;
        rl_redis_limiter_stats(app->redis_limiter, &rs);
        if (json_object_set_new(
                rl, "redis",
                json_pack(
                    "{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "up",
                    rs.up, "fail", app->cfg.limiter.redis_fail, "decisions",
                    (json_int_t)rs.decided, "rejected", (json_int_t)rs.rejected,
                    "fallbacks", (json_int_t)rs.unavailable, "errors",
                    (json_int_t)rs.errors, "connects", (json_int_t)rs.connects,
                    "downs", (json_int_t)rs.downs, "slot_waits",
                    (json_int_t)rs.waits)) != 0) {
            json_decref(rl);
            return false;
        }
    }
    if (json_object_set_new(doc, "rate_limiter", rl) != 0) {
        return false;
    }
    /* Re-append, in order, every key that sorts after "rate_limiter". */
    const char *k;
    json_t *v;
    void *tmp;
    json_t *later = json_object();
    if (later == NULL) {
        return false;
    }
    json_object_foreach_safe(doc, tmp, k, v)
    {
        if (strcmp(k, "rate_limiter") > 0) {
            if (json_object_set(later, k, v) != 0) {
                json_decref(later);
                return false;
            }
            json_object_del(doc, k);
        }
    }
    int e = json_object_update(doc, later);
    json_decref(later);
    return e == 0;
}

/* The read replica's state (replica.h) for /debug/vars: a new reference,
 * or NULL (json_pack then fails: a 500 like no memory). */
static json_t *
replica_json(const struct api_app *app)
{
    struct rl_replica_stats rs;
    rl_replica_stats(app->replica, &rs);
    return json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:s}", "configured",
                     app->replica != NULL, "usable", rs.usable, "lag_ms",
                     (json_int_t)rs.lag_ms, "checks", (json_int_t)rs.checks,
                     "failures", (json_int_t)rs.failures, "changes",
                     (json_int_t)rs.changes, "reason", rs.reason);
}

int
api_debug_vars(struct api_app *app, struct api_req *req)
{
    struct api_metrics *m = app->metrics;
    json_t *cmdline = api_keep(req, json_array());
    if (cmdline == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    for (int i = 0; i < app->cfg.argc; i++) {
        const char *arg = api_config_redacted_arg(&app->cfg, i, req->arena);
        if (arg != NULL) {
            arg = utf8_clean(req->arena, arg);
        }
        if (arg == NULL || json_array_append_new(cmdline, json_string(arg))) {
            return api_reply_server_error(req, "out of memory");
        }
    }
    struct rl_db_stats ds;
    rl_db_stats(app->db, &ds);
    struct rl_procstat ps;
    if (rl_procstat_read(&ps) != RL_OK) {
        /* Not worth a 500: report what was read, 0 for what was not. */
        ps.rss_bytes = ps.rss_bytes < 0 ? 0 : ps.rss_bytes;
        ps.threads = ps.threads < 0 ? 0 : ps.threads;
    }
    /* Keys in Go's expvar order (sorted); every value is built here.
     * memstats keeps the order of Go's runtime.MemStats fields. */
    json_t *body = api_keep(
        req, json_pack(
                 "{s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:I,"
                 " s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:I, s:I, s:I, s:I,"
                 " s:n, s:s}",
                 "cmdline", cmdline, "database", "MaxOpenConnections",
                 (json_int_t)ds.max_open, "OpenConnections",
                 (json_int_t)ds.open, "InUse", (json_int_t)ds.in_use, "Idle",
                 (json_int_t)ds.idle, "WaitCount", (json_int_t)ds.wait_count,
                 "WaitDuration", (json_int_t)ds.wait_duration_ns,
                 "MaxIdleClosed", (json_int_t)ds.max_idle_closed,
                 "MaxIdleTimeClosed", (json_int_t)ds.max_idle_time_closed,
                 "MaxLifetimeClosed", (json_int_t)ds.max_lifetime_closed,
                 "goroutines", (json_int_t)ps.threads, "memstats", "Alloc",
                 (json_int_t)ps.heap.alloc, "Sys", (json_int_t)ps.rss_bytes,
                 "HeapAlloc", (json_int_t)ps.heap.alloc, "HeapSys",
                 (json_int_t)ps.heap.sys, "HeapIdle",
                 (json_int_t)(ps.heap.sys - ps.heap.inuse), "HeapInuse",
                 (json_int_t)ps.heap.inuse, "replica", replica_json(app),
                 "timestamp", (json_int_t)time(NULL),
                 "total_processing_time_\xce\xbcs",
                 (json_int_t)api_metrics_load(&m->processing_us),
                 "total_requests_received",
                 (json_int_t)api_metrics_load(&m->received),
                 "total_responses_sent", (json_int_t)api_metrics_load(&m->sent),
                 "total_responses_sent_by_status", "version", RL_VERSION));
    /* auth_cache sorts first: put it before body's keys. */
    struct rl_authcache_stats as;
    rl_authcache_stats(app->authcache, &as);
    json_t *doc = api_keep(
        req,
        json_pack("{s:{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
                  "auth_cache", "enabled", app->authcache != NULL, "listening",
                  as.listening, "entries", (json_int_t)as.entries, "hits",
                  (json_int_t)as.hits, "misses", (json_int_t)as.misses,
                  "bypassed", (json_int_t)as.bypassed, "evictions",
                  (json_int_t)as.evictions, "flushes", (json_int_t)as.flushes,
                  "notifications", (json_int_t)as.notifications, "reconnects",
                  (json_int_t)as.reconnects));
    if (body == NULL || doc == NULL || json_object_update(doc, body) != 0 ||
        !put_rate_limiter(app, doc)) {
        return api_reply_server_error(req, "out of memory");
    }
    /* Go's expvar page: one `"key": value` a line, each value as
     * json.Marshal writes it (compact), the map as expvar.Map does. */
    struct rl_buf b;
    rl_buf_init(&b, SIZE_MAX, req->arena);
    const char *key;
    json_t *value;
    const char *sep = "{\n";
    json_object_foreach(doc, key, value)
    {
        rl_buf_addstr(&b, sep);
        sep = ",\n";
        rl_buf_printf(&b, "\"%s\": ", key);
        if (json_is_null(value)) {
            put_by_status(&b, m);
        } else if (json_dump_callback(value, buf_dump_cb, &b,
                                      JSON_COMPACT | JSON_PRESERVE_ORDER |
                                          JSON_ENCODE_ANY) != 0 &&
                   rl_buf_err(&b) == RL_OK) {
            b.err = RL_ERR_INVALID; /* jansson failed: a 500 like no memory */
        }
    }
    rl_buf_addstr(&b, "\n}\n");
    return reply_buf(req, &b, "application/json; charset=utf-8");
}

/* ---- GET /metrics ---------------------------------------------------------
 */

static void
family(struct rl_buf *b, const char *name, const char *type, const char *help)
{
    rl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample(struct rl_buf *b, const char *name, uint64_t v)
{
    rl_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* ns as seconds with nine decimals ("12.340000000"). */
static void
sample_seconds(struct rl_buf *b, const char *name, int64_t ns)
{
    rl_buf_printf(b, "%s %" PRId64 ".%09" PRId64 "\n", name, ns / 1000000000,
                  ns % 1000000000);
}

/* A label value with \, " and newline escaped, as the format requires. */
static void
put_label_value(struct rl_buf *b, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"') {
            rl_buf_add(b, "\\", 1);
            rl_buf_add(b, v, 1);
        } else if (*v == '\n') {
            rl_buf_addstr(b, "\\n");
        } else {
            rl_buf_add(b, v, 1);
        }
    }
}

static void
write_histogram(struct rl_buf *b, struct api_metrics *m)
{
    const char *name = "redlight_http_request_duration_seconds";
    family(b, name, "histogram",
           "Time from a request's arrival to its response being sent, by "
           "route pattern, method and status class.");
    for (size_t p = 0; p < m->npatterns; p++) {
        for (size_t meth = 0; meth < API_METRICS_NMETHODS; meth++) {
            for (size_t cls = 0; cls < API_METRICS_NCLASSES; cls++) {
                atomic_uint_fast64_t *s = api_metrics_series(m, p, meth, cls);
                uint64_t counts[API_METRICS_NBUCKETS + 1];
                uint64_t total = 0;
                for (size_t i = 0; i <= API_METRICS_NBUCKETS; i++) {
                    counts[i] = api_metrics_load(&s[i]);
                    total += counts[i];
                }
                if (total == 0) {
                    continue; /* only series that have seen a request */
                }
                uint64_t sum_us =
                    api_metrics_load(&s[API_METRICS_NBUCKETS + 1]);
                uint64_t cum = 0;
                for (size_t i = 0; i <= API_METRICS_NBUCKETS; i++) {
                    cum += counts[i];
                    rl_buf_printf(b, "%s_bucket{route=\"", name);
                    put_label_value(b, m->patterns[p]);
                    if (i < API_METRICS_NBUCKETS) {
                        rl_buf_printf(b,
                                      "\",method=\"%s\",status=\"%zuxx\","
                                      "le=\"%g\"} %" PRIu64 "\n",
                                      api_metrics_methods[meth], cls + 1,
                                      (double)api_metrics_bucket_us[i] / 1e6,
                                      cum);
                    } else {
                        rl_buf_printf(b,
                                      "\",method=\"%s\",status=\"%zuxx\","
                                      "le=\"+Inf\"} %" PRIu64 "\n",
                                      api_metrics_methods[meth], cls + 1, cum);
                    }
                }
                rl_buf_printf(b, "%s_sum{route=\"", name);
                put_label_value(b, m->patterns[p]);
                rl_buf_printf(b,
                              "\",method=\"%s\",status=\"%zuxx\"} %" PRIu64
                              ".%06" PRIu64 "\n",
                              api_metrics_methods[meth], cls + 1,
                              sum_us / 1000000, sum_us % 1000000);
                rl_buf_printf(b, "%s_count{route=\"", name);
                put_label_value(b, m->patterns[p]);
                rl_buf_printf(
                    b, "\",method=\"%s\",status=\"%zuxx\"} %" PRIu64 "\n",
                    api_metrics_methods[meth], cls + 1, cum);
            }
        }
    }
}

/* The connection tracker and the work queues (server.c), when serving. */
static void
write_edge(struct rl_buf *b, struct api_app *app)
{
    if (app->conns == NULL) {
        return;
    }
    family(b, "redlight_http_connections_open", "gauge",
           "Client connections open now.");
    sample(b, "redlight_http_connections_open",
           (uint64_t)api_conns_open_count(app->conns));
    family(b, "redlight_http_connections_deadline_closed_total", "counter",
           "Connections closed at a -read-timeout, -idle-timeout or "
           "-write-timeout deadline.");
    sample(b, "redlight_http_connections_deadline_closed_total",
           (uint64_t)api_conns_reaped(app->conns));
    family(b, "redlight_work_queue_waiting", "gauge",
           "Requests waiting for a database or hashing worker (db: by id, "
           "tokens, users; db_list: lists and searches).");
    rl_buf_printf(b, "redlight_work_queue_waiting{queue=\"db\"} %d\n",
                  api_workq_depth(app->dbq, API_DB_POINT));
    rl_buf_printf(b, "redlight_work_queue_waiting{queue=\"db_list\"} %d\n",
                  api_workq_depth(app->dbq, API_DB_LIST));
    rl_buf_printf(b, "redlight_work_queue_waiting{queue=\"hash\"} %d\n",
                  api_workq_depth(app->hashq, 0));
    family(b, "redlight_work_queue_running", "gauge",
           "Requests a database or hashing worker is running now.");
    rl_buf_printf(b, "redlight_work_queue_running{queue=\"db\"} %d\n",
                  api_workq_running(app->dbq, API_DB_POINT));
    rl_buf_printf(b, "redlight_work_queue_running{queue=\"db_list\"} %d\n",
                  api_workq_running(app->dbq, API_DB_LIST));
    rl_buf_printf(b, "redlight_work_queue_running{queue=\"hash\"} %d\n",
                  api_workq_running(app->hashq, 0));
}

/* The read replica's gauges and counters, when there is one. */
static void
write_replica(struct rl_buf *b, const struct api_app *app)
{
    if (app->replica == NULL) {
        return;
    }
    struct rl_replica_stats rs;
    rl_replica_stats(app->replica, &rs);
    family(b, "redlight_db_replica_usable", "gauge",
           "1 while lists read the replica (-db-replica-dsn), 0 while it is "
           "skipped.");
    sample(b, "redlight_db_replica_usable", rs.usable ? 1 : 0);
    family(b, "redlight_db_replica_lag_seconds", "gauge",
           "The replica's lag at the last check; -1 when it was not "
           "reached.");
    rl_buf_printf(b, "redlight_db_replica_lag_seconds %.3f\n",
                  rs.lag_ms < 0 ? -1.0 : (double)rs.lag_ms / 1000.0);
    family(b, "redlight_db_replica_checks_total", "counter",
           "Checks of the replica made.");
    sample(b, "redlight_db_replica_checks_total", (uint64_t)rs.checks);
    family(b, "redlight_db_replica_check_failures_total", "counter",
           "Checks that could not reach the replica or the primary.");
    sample(b, "redlight_db_replica_check_failures_total",
           (uint64_t)rs.failures);
    family(b, "redlight_db_replica_changes_total", "counter",
           "Times the replica went from used to skipped or back.");
    sample(b, "redlight_db_replica_changes_total", (uint64_t)rs.changes);
}

static void
write_pool(struct rl_buf *b, struct rl_db *db)
{
    struct rl_db_stats ds;
    rl_db_stats(db, &ds);
    const struct {
        const char *name;
        const char *type;
        const char *help;
        uint64_t value;
    } rows[] = {
        {"redlight_db_pool_max_open_connections", "gauge",
         "Most connections the pool may open (-db-max-open-conns).",
         (uint64_t)ds.max_open},
        {"redlight_db_pool_open_connections", "gauge",
         "Connections open now, in use or idle.", (uint64_t)ds.open},
        {"redlight_db_pool_in_use_connections", "gauge",
         "Connections handed out to requests now.", (uint64_t)ds.in_use},
        {"redlight_db_pool_idle_connections", "gauge",
         "Connections open and idle now.", (uint64_t)ds.idle},
        {"redlight_db_pool_wait_count_total", "counter",
         "Acquisitions that had to wait for a connection.",
         (uint64_t)ds.wait_count},
        {"redlight_db_pool_max_idle_closed_total", "counter",
         "Connections closed because of -db-max-idle-conns.",
         (uint64_t)ds.max_idle_closed},
        {"redlight_db_pool_max_idle_time_closed_total", "counter",
         "Connections closed because of -db-max-idle-time.",
         (uint64_t)ds.max_idle_time_closed},
        {"redlight_db_pool_max_lifetime_closed_total", "counter",
         "Connections closed because of their maximum lifetime.",
         (uint64_t)ds.max_lifetime_closed},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        family(b, rows[i].name, rows[i].type, rows[i].help);
        sample(b, rows[i].name, rows[i].value);
    }
    /* Seconds with nanosecond digits: not a whole number like the rest. */
    family(b, "redlight_db_pool_wait_duration_seconds_total", "counter",
           "Total time spent waiting for a connection.");
    sample_seconds(b, "redlight_db_pool_wait_duration_seconds_total",
                   ds.wait_duration_ns);
}

/* The shared limiter (-limiter-redis): whether Redis answers, and what
 * was decided where. */
static void
write_limiter_redis(struct rl_buf *b, const struct rl_redis_limiter_stats *rs)
{
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"redlight_ratelimit_redis_up", "gauge",
         "1 while the shared buckets in Redis (-limiter-redis) answer, 0 "
         "while the node falls back (-limiter-redis-fail)."},
        {"redlight_ratelimit_redis_decisions_total", "counter",
         "Requests whose bucket Redis decided."},
        {"redlight_ratelimit_redis_fallback_total", "counter",
         "Requests Redis could not decide: the node's own bucket decided "
         "(open) or 503 was answered (closed)."},
        {"redlight_ratelimit_redis_errors_total", "counter",
         "Failed connects, timeouts and error replies from Redis."},
        {"redlight_ratelimit_redis_connects_total", "counter",
         "Connections made to Redis (script loaded)."},
        {"redlight_ratelimit_redis_down_total", "counter",
         "Changes from reachable to unreachable."},
    };
    uint64_t v[] = {rs->up ? 1 : 0, rs->decided,  rs->unavailable,
                    rs->errors,     rs->connects, rs->downs};
    for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
        family(b, fam[i].name, fam[i].type, fam[i].help);
        sample(b, fam[i].name, v[i]);
    }
}

static void
write_limiter(struct rl_buf *b, struct api_app *app)
{
    struct rl_limiter *l = app->limiter;
    struct rl_limiter_stats st = {0};
    if (l != NULL) {
        rl_limiter_stats(l, &st);
    }
    struct rl_redis_limiter_stats rs = {0};
    if (app->redis_limiter != NULL) {
        rl_redis_limiter_stats(app->redis_limiter, &rs);
    }
    family(b, "redlight_ratelimit_rejected_total", "counter",
           "Requests refused with 429 by the rate limiter.");
    sample(b, "redlight_ratelimit_rejected_total", st.rejected + rs.rejected);
    if (l == NULL) {
        return; /* -limiter-enabled=false: nothing else to say */
    }
    if (app->redis_limiter != NULL) {
        write_limiter_redis(b, &rs);
    }
    family(b, "redlight_ratelimit_clients", "gauge",
           "Clients the rate limiter remembers (idle ones until swept).");
    sample(b, "redlight_ratelimit_clients", st.clients);
    family(b, "redlight_ratelimit_capacity", "gauge",
           "Most clients the rate limiter can remember.");
    sample(b, "redlight_ratelimit_capacity", st.capacity);
    family(b, "redlight_ratelimit_evicted_total", "counter",
           "Clients forgotten: idle for 3 minutes, or replaced when the "
           "table was full.");
    rl_buf_printf(
        b, "redlight_ratelimit_evicted_total{reason=\"idle\"} %" PRIu64 "\n",
        st.evicted_idle);
    rl_buf_printf(
        b, "redlight_ratelimit_evicted_total{reason=\"full\"} %" PRIu64 "\n",
        st.evicted_full);
}

/* Prometheus' standard process metrics, with the HELP texts the client
 * libraries write, in their (sorted) order; a value /proc did not give is
 * left out rather than written as a lie. */
static void
write_process(struct rl_buf *b, struct api_metrics *m)
{
    struct rl_procstat ps;
    if (rl_procstat_read(&ps) != RL_OK) {
        /* Each field it could not read is -1 and left out below. */
    }
    if (ps.cpu_ns >= 0) {
        family(b, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        sample_seconds(b, "process_cpu_seconds_total", ps.cpu_ns);
    }
    family(b, "process_heap_bytes", "gauge",
           "Bytes allocated with malloc and not freed (glibc mallinfo2).");
    sample(b, "process_heap_bytes", (uint64_t)ps.heap.alloc);
    const struct {
        const char *name;
        const char *help;
        int64_t value;
    } gauges[] = {
        {"process_max_fds", "Maximum number of open file descriptors.",
         ps.max_fds},
        {"process_open_fds", "Number of open file descriptors.", ps.open_fds},
        {"process_resident_memory_bytes", "Resident memory size in bytes.",
         ps.rss_bytes},
    };
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
        if (gauges[i].value >= 0) {
            family(b, gauges[i].name, "gauge", gauges[i].help);
            sample(b, gauges[i].name, (uint64_t)gauges[i].value);
        }
    }
    family(b, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
    sample_seconds(b, "process_start_time_seconds", m->start_ns);
    if (ps.threads >= 0) {
        family(b, "process_threads", "gauge",
               "Number of OS threads in the process.");
        sample(b, "process_threads", (uint64_t)ps.threads);
    }
    if (ps.vm_bytes >= 0) {
        family(b, "process_virtual_memory_bytes", "gauge",
               "Virtual memory size in bytes.");
        sample(b, "process_virtual_memory_bytes", (uint64_t)ps.vm_bytes);
    }
}

int
api_metrics_prometheus(struct api_app *app, struct api_req *req)
{
    struct api_metrics *m = app->metrics;
    struct rl_buf b;
    rl_buf_init(&b, SIZE_MAX, req->arena);

    family(&b, "redlight_build_info", "gauge",
           "Always 1; the version label is the running build.");
    rl_buf_addstr(&b, "redlight_build_info{version=\"");
    put_label_value(&b, RL_VERSION);
    rl_buf_addstr(&b, "\"} 1\n");

    family(&b, "redlight_http_requests_received_total", "counter",
           "Requests received.");
    sample(&b, "redlight_http_requests_received_total",
           api_metrics_load(&m->received));
    family(&b, "redlight_http_responses_sent_total", "counter",
           "Responses sent.");
    sample(&b, "redlight_http_responses_sent_total",
           api_metrics_load(&m->sent));
    family(&b, "redlight_http_requests_in_flight", "gauge",
           "Requests received and not yet answered.");
    long inflight = atomic_load(&app->in_flight);
    sample(&b, "redlight_http_requests_in_flight",
           (uint64_t)(inflight > 0 ? inflight : 0));
    family(&b, "redlight_http_responses_total", "counter",
           "Responses sent, by status code.");
    for (int st = API_METRICS_STATUS_MIN; st <= API_METRICS_STATUS_MAX; st++) {
        uint64_t n =
            api_metrics_load(&m->by_status[st - API_METRICS_STATUS_MIN]);
        if (n != 0) {
            rl_buf_printf(
                &b, "redlight_http_responses_total{code=\"%d\"} %" PRIu64 "\n",
                st, n);
        }
    }
    write_histogram(&b, m);
    write_edge(&b, app);
    write_pool(&b, app->db);
    write_replica(&b, app);
    write_limiter(&b, app);

    /* The outbox needs the database; when it is unreachable the rest of
     * the page is still worth having, so say so instead of failing. */
    struct rl_outbox_counts oc;
    bool outbox_ok = rl_outbox_counts(app->db, &oc) == RL_OK;
    family(&b, "redlight_mail_outbox_up", "gauge",
           "1 when the outbox gauges below could be read from the "
           "database, 0 when not.");
    sample(&b, "redlight_mail_outbox_up", outbox_ok ? 1 : 0);
    if (outbox_ok) {
        family(&b, "redlight_mail_outbox_jobs", "gauge",
               "Mail jobs in the outbox, by status: pending (to be sent or "
               "retried) and dead (given up).");
        rl_buf_printf(
            &b, "redlight_mail_outbox_jobs{status=\"pending\"} %" PRId64 "\n",
            oc.pending);
        rl_buf_printf(
            &b, "redlight_mail_outbox_jobs{status=\"dead\"} %" PRId64 "\n",
            oc.dead);
    }

    write_process(&b, m);

    return reply_buf(req, &b, "text/plain; version=0.0.4; charset=utf-8");
}
