/*
 * server.c — the HTTP server over libmicrohttpd: the daemon and a
 * request's life. With mhdreq.c (the request and response as MHD sees
 * them) and server_shutdown.c (quiesce, stop), the only code that talks to
 * libmicrohttpd; struct api_server is in server_private.h.
 *
 * One daemon with an internal thread pool (epoll). A request's life:
 *   uri_log callback   create struct api_req and its arena (becomes con_cls)
 *   1st access call    nothing else (answering here would make MHD 0.9.75
 *                      close the connection after the response)
 *   upload calls       append to the body, capped at API_MAX_BODY; beyond
 *                      DISCARD_MAX bytes, answer at once (and MHD closes)
 *   last call          middleware → router → handler; queue the response
 *   completed callback request log line, arena destroyed
 * Everything a request allocates dies with its arena. The metrics layer of
 * the chain lives here, at the two moments only this file sees: a request
 * arriving (on_uri) and its response sent (on_completed).
 *
 * Nothing that waits runs on an I/O thread. A request that waits on the
 * database (its route's work, or any request with an Authorization header:
 * authentication reads the database; routes.c api_route_work) or hashes a
 * password is handed to a work queue (workq.h): its connection is
 * suspended, a worker runs the chain and resumes it, and MHD's next
 * access-handler call queues the response. So waiting never stalls the
 * other connections of an I/O thread (the healthcheck keeps answering
 * during a database outage). Two queues:
 *   dbq    -db-concurrency workers (at most the pool's connections, so a
 *          worker never waits for one), in two classes, each its own
 *          FIFO with its own bound on waiting requests: point reads and
 *          writes bounded by an index (by id, tokens, users, auth) served
 *          first, and lists and searches (GET /v1/movies), which may be slow
 *          and may hold at most list_workers() of the workers (and so of
 *          the connections) at once. However many searches arrive, a GET by
 *          id finds a free worker and a free connection at once, and the
 *          database runs no more searches at a time than it has CPUs for
 *          (on 2 CPUs, 16 concurrent searches took the CPU from everything
 *          else: tests/bench/mixed.sh);
 *   hashq  as many workers as password hashes may run at once, niced.
 * A request that finds its class full, or waits past its queue's bound, is
 * answered 503 (CONTRACT §13.2 Overload). Each queue has its own lock.
 */
#include "cmd/api/server_private.h"

#include <microhttpd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd/api/accesslog.h"
#include "cmd/api/conns.h"
#include "cmd/api/headcheck.h"
#include "cmd/api/metrics.h"
#include "cmd/api/mhdreq.h"
#include "cmd/api/middleware.h"
#include "cmd/api/reply.h"
#include "cmd/api/routes.h"
#include "cmd/api/workq.h"
#include "internal/base/clock.h"
#include "internal/base/percent.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/password/password.h"
#include "internal/sdnotify/sdnotify.h"

/* Bytes of an oversized body read and dropped before answering early. Go
 * reads to the end too; answering mid-upload resets clients that are still
 * sending, so only truly huge uploads are cut short. */
#define DISCARD_MAX ((size_t)16 * 1024 * 1024)

/* CONTRACT §12 #25: a request line and headers of up to API_MAX_HEAD bytes
 * in all, with up to API_MAX_QUERY_PARAMS query parameters, are served
 * (headcheck.h); beyond, 414 or 431. libmicrohttpd keeps the whole head, one
 * record per header and per parameter (7 words each) and the response head in
 * one pool per connection; POOL_SIZE holds the largest head we serve (64 KiB
 * with 1,000 parameters needs 128 KiB, measured) with room for ~250 more
 * headers. Heads too large even for the pool are answered by libmicrohttpd
 * itself (an HTML 414/431) or, past it by parameters, left unanswered until the
 * read deadline closes them (README). The pool is the price of every
 * keep-alive connection: libmicrohttpd zeroes all of it between requests,
 * so each one that has served a request keeps POOL_SIZE resident. */
#define POOL_SIZE ((size_t)144 * 1024)

/* The request bodies being received, all connections together, may hold
 * at most BODY_BUDGET bytes of buffers; a request whose body would take
 * more is answered 503 and its connection closed. */
#define BODY_BUDGET ((size_t)64 * 1024 * 1024)

/* The work queues (workq.h): how many requests may wait for a worker, and
 * how long, before they are answered 503 (CONTRACT §13.2 Overload). A
 * database request waits at most as long as the pool's acquire deadline
 * (main.c) would have let it wait for a connection. */
#define DB_QUEUE_PER_WORKER 8
#define HASH_QUEUE_PER_WORKER 4
#define DB_QUEUE_MAX_WAIT_NS ((int64_t)3 * 1000 * 1000 * 1000)
#define HASH_QUEUE_MAX_WAIT_NS ((int64_t)2 * 1000 * 1000 * 1000)
/* Of the database workers, lists and searches may hold at most this many
 * at once: the CPUs (on one machine with the database, a search is bound
 * by its CPU), at most half the workers, at least one. */
static int
list_workers(int workers, int cpus)
{
    int n = cpus < workers / 2 ? cpus : workers / 2;
    return n > 0 ? n : 1;
}
/* Hashing workers run at this niceness: Argon2id takes whole CPUs for
 * 200 ms at a time, and the I/O threads must still win them at once. */
#define HASH_NICE 10

/* Per-request server state, kept in front of struct api_req. */
struct conn_state {
    struct api_req req;
    struct MHD_Connection *mhd;
    struct api_server *server;
    struct api_conn *conn; /* deadlines (conns.h); NULL when untracked */
    struct api_work_item work;
    struct api_body body; /* charged to server->bodies */
    bool answered;
    bool handled; /* a worker ran the chain; the response is ready */
    bool first_call_done;
};

/* The end of a request: its log line and metrics, its memory. Runs from
 * MHD's completion callback, or, for a request MHD drops without one
 * (some of its own error paths after the URI callback), when the
 * connection closes. */
static void finish_request(struct api_server *s, struct conn_state *cs,
                           enum MHD_RequestTerminationCode toe);

/* MHD_OPTION_URI_LOG_CALLBACK: runs once per request, when its request
 * line has arrived and before the access handler; its return value
 * becomes *con_cls. From here the whole request has -read-timeout. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct api_server *s = cls;
    struct api_app *app = s->app;
    api_metrics_received(app->metrics);
    int64_t now = rl_mono_ns();
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct api_conn *conn = ci != NULL ? ci->socket_context : NULL;
    if (conn != NULL) {
        if (conn->fresh) {
            /* The first request keeps the deadline counted from accept,
             * as Go's ReadTimeout does; in_flight takes over below. */
            conn->fresh = false;
            atomic_fetch_sub(&app->fresh_conns, 1);
        } else {
            api_conn_deadline(conn, now + s->read_ns);
        }
    }
    struct rl_arena *arena = rl_arena_create(8192);
    if (arena == NULL) {
        return NULL;
    }
    struct conn_state *cs = rl_arena_calloc(arena, 1, sizeof(*cs));
    if (cs == NULL) {
        rl_arena_destroy(arena);
        return NULL;
    }
    cs->req.app = app;
    cs->req.arena = arena;
    cs->req.start_ns = now;
    cs->req.raw_uri = rl_arena_strdup(arena, uri ? uri : "");
    cs->req.src = &api_mhd_source;
    cs->req.src_ctx = con;
    cs->mhd = con;
    cs->server = s;
    cs->conn = conn;
    api_body_init(&cs->body);
    if (conn != NULL) {
        conn->req = cs;
    }
    atomic_fetch_add(&app->in_flight, 1);
    return cs;
}

/* MHD_OPTION_ACCEPT_POLICY: refuses a connection from an address that
 * holds -max-conns-per-ip already (MHD closes it at once). */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct api_server *s = cls;
    (void)addrlen;
    return api_conns_admit(s->conns, addr) ? MHD_YES : MHD_NO;
}

/* MHD_OPTION_NOTIFY_CONNECTION: socket_context is the connection's entry
 * in s->conns (its deadline, its address's count, and whether it has sent
 * a request yet, so shutdown can wait for connections that were accepted
 * but whose request has not been read: they are in neither in_flight nor
 * idle). MHD calls CLOSED before it closes the socket. Without memory the
 * connection is simply not tracked. */
static void
on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    struct api_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        struct api_conn *conn = NULL;
        if (fd != NULL) {
            conn = api_conns_open(s->conns, fd->connect_fd,
                                  addr != NULL ? addr->client_addr : NULL,
                                  rl_mono_ns() + s->read_ns);
        }
        *socket_context = conn;
        if (conn == NULL) {
            return;
        }
        /* A connection adopted during shutdown was counted in advance. */
        if (!api_server_take_adopt_credit(s)) {
            atomic_fetch_add(&s->app->fresh_conns, 1);
        }
        return;
    }
    struct api_conn *conn = *socket_context;
    if (conn != NULL) {
        if (conn->req != NULL) {
            /* MHD closed it without completing its request. */
            finish_request(s, conn->req, MHD_REQUEST_TERMINATED_WITH_ERROR);
        }
        if (conn->fresh) {
            atomic_fetch_sub(&s->app->fresh_conns, 1);
        }
        api_conns_close(s->conns, conn);
        *socket_context = NULL;
    }
}

/* One upload chunk into the body (body.h), the request pointed at what it
 * holds. True when it has answered (500, 503, or the chain's answer to a
 * body too large even to read to its end); false while the upload goes
 * on. */
static bool
take_upload(struct conn_state *cs, const char *data, size_t n,
            const char *method, const char *url)
{
    struct api_req *req = &cs->req;
    enum api_body_result b =
        api_body_append(&cs->body, &cs->server->bodies, data, n);
    req->body = cs->body.buf.data;
    req->body_len = cs->body.buf.len;
    req->body_truncated = cs->body.truncated;
    if (b == API_BODY_NOMEM) {
        (void)api_reply_server_error(req, "reading body: out of memory");
        return true;
    }
    if (b == API_BODY_BUSY) {
        rl_log_props(RL_LOG_ERROR, "request bodies over their memory budget",
                     RL_LOG_STR("request_method", method),
                     RL_LOG_STR("request_url", url), NULL);
        req->close_conn = true;
        req->overloaded = true;
    } else if (cs->body.received > DISCARD_MAX) {
        req->close_conn = true;
    } else {
        return false;
    }
    (void)api_handle(req->app, req);
    return true;
}

static enum MHD_Result
queue(struct conn_state *cs)
{
    bool made = false;
    enum MHD_Result r = api_mhd_queue(cs->mhd, &cs->req, &made);
    if (made) {
        cs->answered = true;
        api_conn_deadline(cs->conn, rl_mono_ns() + cs->server->write_ns);
    }
    return r;
}

static struct conn_state *
work_owner(struct api_work_item *it)
{
    return (struct conn_state *)(void *)((char *)it -
                                         offsetof(struct conn_state, work));
}

/* Runs under the queue's lock, before a worker can see the item. */
static void
suspend_item(struct api_work_item *it)
{
    MHD_suspend_connection(work_owner(it)->mhd);
}

/* A worker's turn (workq.h): the chain runs here; MHD's next
 * access-handler call on the resumed connection queues the response. */
static void
run_item(struct api_work_item *it, bool late, void *cls)
{
    (void)cls;
    struct conn_state *cs = work_owner(it);
    cs->req.overloaded = late;
    api_handle(cs->req.app, &cs->req);
    cs->handled = true;
    MHD_resume_connection(cs->mhd);
}

/* The first call: the method, and the path decoded again from the raw
 * target keeping its length (MHD's url is decoded in place and read as a
 * C string, so a %00 would cut it short: CONTRACT §12 #22); then the
 * head's checks (headcheck.h), with what only libmicrohttpd knows. True
 * when it has answered: an answer now makes MHD close the connection
 * after the response, which these errors want. */
static bool
read_head(struct conn_state *cs, const char *url, const char *method,
          const char *version)
{
    struct api_req *req = &cs->req;
    cs->first_call_done = true;
    req->method = method;
    size_t plen = strcspn(req->raw_uri, "?");
    char *path = rl_arena_alloc(req->arena, plen + 1);
    if (path == NULL) {
        req->path = url;
        req->path_len = strlen(url);
        (void)api_reply_server_error(req, "decoding the path: out of memory");
        return true;
    }
    req->path_len = rl_percent_decode(req->raw_uri, plen, path);
    path[req->path_len] = '\0';
    req->path = path;
    const union MHD_ConnectionInfo *hs = MHD_get_connection_info(
        cs->mhd, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    int nparams =
        MHD_get_connection_values(cs->mhd, MHD_GET_ARGUMENT_KIND, NULL, NULL);
    return api_check_head(req, version, hs != NULL ? hs->header_size : 0,
                          nparams) != 0;
}

/* Routes that wait on the database or hash a password go to a worker (see
 * the top of the file). True when the connection is now suspended until
 * the worker has run the chain; a full queue leaves the request to be
 * answered 503 here, waiting on nothing. */
static bool
hand_off(struct api_server *s, struct conn_state *cs)
{
    enum api_work w = api_route_work(&cs->req);
    if (w == API_WORK_INLINE) {
        return false;
    }
    /* The worker's own deadlines (hashing slot, database) bound it. */
    api_conn_deadline(cs->conn, 0);
    struct api_workq *q = w == API_WORK_HASH ? s->hashq : s->dbq;
    int cls = w == API_WORK_DB_LIST ? API_DB_LIST : API_DB_POINT;
    if (api_workq_push(q, w == API_WORK_HASH ? 0 : cls, &cs->work,
                       suspend_item)) {
        return true;
    }
    cs->req.overloaded = true;
    return false;
}

/* on_uri ran out of memory: no request state, not even an arena. Answers
 * the static 500 and closes (answering on the first call makes MHD close
 * the connection after the response). */
static enum MHD_Result
answer_without_state(struct MHD_Connection *con, const char *method,
                     const char *url)
{
    rl_log_props(RL_LOG_ERROR, "out of memory creating request state",
                 RL_LOG_STR("request_method", method),
                 RL_LOG_STR("request_url", url), NULL);
    return api_mhd_queue_500(con);
}

/* MHD's access handler: the head, each upload chunk, then the end of the
 * upload (the top of the file). Every answer leaves through `answer`;
 * MHD_YES without one lets the request go on. */
static enum MHD_Result
on_access(void *cls, struct MHD_Connection *con, const char *url,
          const char *method, const char *version, const char *upload_data,
          size_t *upload_size, void **con_cls)
{
    struct api_server *s = cls;
    struct conn_state *cs = *con_cls;
    if (cs == NULL) {
        return answer_without_state(con, method, url);
    }
    if (!cs->first_call_done) {
        if (read_head(cs, url, method, version)) {
            goto answer;
        }
        return MHD_YES;
    }
    if (*upload_size != 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (!cs->answered && take_upload(cs, upload_data, n, method, url)) {
            goto answer;
        }
        return MHD_YES;
    }
    if (cs->answered) {
        return MHD_YES;
    }
    if (!cs->handled) { /* else resumed by a worker that has run it */
        if (hand_off(s, cs)) {
            return MHD_YES;
        }
        (void)api_handle(cs->req.app, &cs->req);
    }
answer:
    return queue(cs);
}

static void
on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)con;
    struct conn_state *cs = *con_cls;
    if (cs == NULL) {
        return;
    }
    *con_cls = NULL;
    finish_request(cls, cs, toe);
}

static void
finish_request(struct api_server *s, struct conn_state *cs,
               enum MHD_RequestTerminationCode toe)
{
    struct api_app *app = s->app;
    if (cs->conn != NULL) {
        cs->conn->req = NULL;
        /* A keep-alive connection now waits for its next request. */
        api_conn_deadline(cs->conn, rl_mono_ns() + s->idle_ns);
    }
    if (cs->first_call_done) {
        api_log_request(&cs->req, cs->answered,
                        toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    }
    if (cs->answered) {
        api_metrics_sent(app->metrics, &cs->req,
                         rl_mono_ns() - cs->req.start_ns);
    }
    api_body_free(&cs->body, &s->bodies);
    rl_arena_destroy(cs->req.arena);
    atomic_fetch_sub(&app->in_flight, 1);
}

static void
on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    rl_log_props(RL_LOG_ERROR, "http server", RL_LOG_STR("error", msg), NULL);
}

enum rl_err
api_server_start(struct api_app *app, struct api_server **out)
{
    const struct api_config *cfg = &app->cfg;
    struct api_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return RL_ERR_NOMEM;
    }
    s->app = app;
    s->listen_fd = MHD_INVALID_SOCKET;
    s->read_ns = cfg->http.read_timeout_ms * 1000000;
    s->idle_ns = cfg->http.idle_timeout_ms * 1000000;
    s->write_ns = cfg->http.write_timeout_ms * 1000000;
    atomic_init(&s->adopt_credit, 0);
    atomic_init(&s->bodies.used, 0);
    s->bodies.max = BODY_BUDGET;
    api_conns_raise_fd_limit(cfg->http.max_conns);
    struct api_conns_config cc = {.max_per_ip = cfg->http.max_conns_per_ip,
                                  .exempt = app->trusted_proxies,
                                  .max_conns = cfg->http.max_conns};
    int nhash = rl_password_max_concurrent();
    /* -db-concurrency workers, never more than the pool has connections,
     * so a worker never waits for one (config.c says why so few). */
    int db_workers = cfg->db.concurrency < cfg->db.max_open
                         ? cfg->db.concurrency
                         : cfg->db.max_open;
    enum rl_err e = api_conns_new(&cc, &s->conns);
    int nlist = list_workers(db_workers, cfg->http_threads);
    const struct api_workq_class db_classes[API_DB_NCLASSES] = {
        [API_DB_POINT] = {.max_queued = cfg->db.max_open * DB_QUEUE_PER_WORKER},
        [API_DB_LIST] = {.max_queued = cfg->db.max_open * DB_QUEUE_PER_WORKER,
                         .max_running = nlist},
    };
    const struct api_workq_class hash_class = {
        .max_queued = nhash * HASH_QUEUE_PER_WORKER};
    if (e == RL_OK) {
        e = api_workq_new(db_workers, db_classes, API_DB_NCLASSES,
                          DB_QUEUE_MAX_WAIT_NS, 0, run_item, s, &s->dbq);
    }
    if (e == RL_OK) {
        e = api_workq_new(nhash, &hash_class, 1, HASH_QUEUE_MAX_WAIT_NS,
                          HASH_NICE, run_item, s, &s->hashq);
    }
    if (e != RL_OK) {
        api_server_free(s);
        return e;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    unsigned threads = cfg->http_threads > 0 ? (unsigned)cfg->http_threads : 1;
    /* MHD's own inactivity timeout only backs up conns.c's deadlines. */
    int64_t longest = cfg->http.idle_timeout_ms;
    if (cfg->http.read_timeout_ms > longest) {
        longest = cfg->http.read_timeout_ms;
    }
    if (cfg->http.write_timeout_ms > longest) {
        longest = cfg->http.write_timeout_ms;
    }
    unsigned backstop_s = (unsigned)(longest / 1000) + 5;
    /* conns.c enforces -max-conns at accept (refused at once). MHD splits
     * its own limit between its threads and stops accepting, leaving
     * clients in the listen backlog, when a thread is full: keep it well
     * above ours so it never comes into play. */
    unsigned mhd_limit = (unsigned)cfg->http.max_conns * 2 + threads * 16;
    /* Socket activation (redlight.socket): serve on the socket systemd
     * passed as fd 3 instead of binding -port; it outlives this process, so
     * a restart refuses no connection. */
    s->inherited = rl_sd_listen_fds() >= 1;
    if (s->inherited) {
        rl_log_props(RL_LOG_INFO, "listening on the socket passed by systemd",
                     RL_LOG_INT("fd", RL_SD_LISTEN_FDS_START), NULL);
    }
    /* Only when inherited: otherwise the daemon binds -port as before. */
    struct MHD_OptionItem listen_opt[] = {
        {s->inherited ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_END,
         RL_SD_LISTEN_FDS_START, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    for (int attempt = 0; attempt < 2 && s->daemon == NULL; attempt++) {
        unsigned f =
            flags | (attempt == 0 && !s->inherited ? MHD_USE_DUAL_STACK : 0);
        s->daemon = MHD_start_daemon(
            f, (uint16_t)cfg->port, on_accept, s, on_access, s,
            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL, MHD_OPTION_ARRAY,
            listen_opt, MHD_OPTION_THREAD_POOL_SIZE, threads,
            MHD_OPTION_CONNECTION_TIMEOUT, backstop_s,
            MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, POOL_SIZE,
            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
            MHD_OPTION_END);
    }
    if (s->daemon == NULL) {
        api_server_free(s);
        return RL_ERR_IO;
    }
    app->conns = s->conns;
    app->dbq = s->dbq;
    app->hashq = s->hashq;
    *out = s;
    return RL_OK;
}

bool
api_server_addr(const struct api_server *s, char *buf, size_t cap)
{
    if (cap > 0) {
        buf[0] = '\0';
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    if (info == NULL || info->listen_fd == MHD_INVALID_SOCKET) {
        return false;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(info->listen_fd, (struct sockaddr *)&ss, &len) != 0) {
        return false;
    }
    return rl_sockaddr_format((const struct sockaddr *)&ss, len, buf, cap);
}
