/*
 * worker.c — the mail worker threads (see worker.h for the protocol).
 *
 * Owns: struct rl_mailer (immutable config copies, the stop pipe, the stop
 * and abort flags) and, per thread, one PGconn that only that thread
 * touches. Lifetime: rl_mailer_start → rl_mailer_stop, which joins every
 * thread before freeing anything.
 *
 * Waking: each thread poll(2)s its connection's socket (LISTEN
 * mail_outbox: enqueuers notify on commit) and the read end of a pipe that
 * rl_mailer_stop writes one byte into and nobody reads, so it stays
 * readable for every thread. The poll timeout is the time until the
 * earliest pending job is due, at most poll_ms — the fallback for missed
 * notifications and for connection poolers that drop LISTEN.
 *
 * SQL comes from the statement table (internal/data/statements.h) but runs
 * with unnamed statements on the worker's connection: the request pool's
 * prepared-statement bookkeeping does not apply here.
 *
 * Deadlines: connecting (with its SET/LISTEN line) and every round trip go
 * through internal/data/conn.h, bounded by CONNECT_TIMEOUT_MS and by
 * STATEMENT_TIMEOUT_MS + slack. A database that stops answering turns
 * into a failed cycle: the connection is dropped and the loop reconnects
 * with backoff, so the worker recovers by itself once the database is back.
 */
#include "internal/mailer/worker.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal/base/clock.h"
#include "internal/base/parse.h"
#include "internal/data/conn.h"
#include "internal/data/statements.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/mailer/render.h"
#include "internal/mailer/smtp.h"

#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 30000
#define LOCKED_RECHECK_MS 200
#define WHY_CAP 512
/* statement_timeout of the worker's connections; the client-side deadline
 * of a round trip is this plus RL_PG_SLACK_MS. */
#define STATEMENT_TIMEOUT_MS 10000
/* Bound of connect + set-up. Longer than the request pool's: nobody waits
 * on this thread, and under load a patient attempt beats a new one. */
#define CONNECT_TIMEOUT_MS 10000

struct worker {
    struct rl_mailer *m;
    pthread_t tid;
    bool started;
    PGconn *pg;
    int64_t reconnect_ms;
};

struct rl_mailer {
    struct rl_mailer_config cfg; /* strings point at the copies below */
    char *dsn, *smtp_host, *smtp_username, *smtp_password, *sender, *mail_dir;
    int stop_pipe[2];
    atomic_bool stopping;
    atomic_bool abort_sends; /* stop's grace is over: abort transfers */
    pthread_mutex_t mu;
    pthread_cond_t exited; /* a thread is about to return */
    int running;           /* threads not yet returned; under mu */
    struct worker *workers;
    int nworkers;
    bool curl_ready;
};

static void
fmt_i64(char *buf, size_t cap, int64_t v)
{
    snprintf(buf, cap, "%" PRId64, v);
}

/* ---- configuration ------------------------------------------------------ */

static bool
env_positive(const char *name, int64_t max, int64_t *out)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0') {
        return false;
    }
    int64_t v;
    if (rl_parse_i64(s, RL_PARSE_STRTOL, 1, max, NULL, &v) != RL_OK) {
        rl_log_props(RL_LOG_ERROR, "ignoring invalid environment variable",
                     RL_LOG_STR("name", name), NULL);
        return false;
    }
    *out = v;
    return true;
}

void
rl_mailer_config_env(struct rl_mailer_config *cfg)
{
    int64_t v;
    if (env_positive("REDLIGHT_MAIL_BACKOFF_MS", 86400000, &v)) {
        cfg->backoff_base_ms = v;
    }
    if (env_positive("REDLIGHT_MAIL_BACKOFF_MAX_MS", 86400000, &v)) {
        cfg->backoff_max_ms = v;
    }
    if (env_positive("REDLIGHT_MAIL_MAX_ATTEMPTS", 1000, &v)) {
        cfg->max_attempts = (int)v;
    }
    if (env_positive("REDLIGHT_MAIL_THREADS", 64, &v)) {
        cfg->threads = (int)v;
    }
}

/* The delay before retry number `failures` (1 after the first failure):
 * base * 2^(failures-1), capped, minus up to a fifth at random so that
 * jobs that failed together do not retry together. */
static int64_t
backoff_ms(const struct rl_mailer_config *cfg, int failures)
{
    int64_t d = cfg->backoff_base_ms;
    for (int i = 1; i < failures && d < cfg->backoff_max_ms; i++) {
        d *= 2;
    }
    if (d > cfg->backoff_max_ms) {
        d = cfg->backoff_max_ms;
    }
    int64_t jitter = d / 5;
    if (jitter > 0 && jitter < UINT32_MAX) {
        d -= randombytes_uniform((uint32_t)jitter + 1);
    }
    return d;
}

/* ---- the worker's connection ------------------------------------------- */

static void
drop_conn(struct worker *w)
{
    if (w->pg != NULL) {
        PQfinish(w->pg);
        w->pg = NULL;
    }
}

/* One line of libpq's error text (first line, no newline). */
static void
pg_error(PGconn *pg, const PGresult *r, char *buf, size_t cap)
{
    const char *e = r != NULL ? PQresultErrorMessage(r) : "";
    if (e == NULL || *e == '\0') {
        e = pg != NULL ? PQerrorMessage(pg) : "out of memory";
    }
    snprintf(buf, cap, "%s", e);
    buf[strcspn(buf, "\n")] = '\0';
}

/* Logs why a round trip on statement `what` failed. A timeout leaves the
 * query in flight: the caller's failure path drops the connection. */
static void
log_failure(PGconn *pg, const char *what, enum rl_err e, const PGresult *r)
{
    char err[256];
    if (e == RL_ERR_TIMEOUT) {
        snprintf(err, sizeof(err), "no answer within %d ms",
                 STATEMENT_TIMEOUT_MS + RL_PG_SLACK_MS);
    } else {
        pg_error(pg, r, err, sizeof(err));
    }
    rl_log_props(RL_LOG_ERROR, "mailer: query failed",
                 RL_LOG_STR("statement", what), RL_LOG_STR("error", err), NULL);
}

static int64_t
stmt_deadline(void)
{
    return rl_pg_deadline(rl_mono_ms(),
                          rl_pg_budget_ms(STATEMENT_TIMEOUT_MS, 0));
}

/* Runs a statement without parameters or rows; logs a failure. */
static bool
run_simple(PGconn *pg, const char *sql)
{
    PGresult *r;
    enum rl_err e = rl_pg_exec(pg, sql, stmt_deadline(), &r);
    bool ok = e == RL_OK && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        log_failure(pg, sql, e, r);
    }
    PQclear(r);
    return ok;
}

static bool
connect_db(struct worker *w)
{
    char err[256];
    char setup[256];
    /* The transaction stays open during a send (up to the 30 s SMTP
     * timeout); a process that hangs longer must not hold its job's lock
     * forever. */
    snprintf(setup, sizeof(setup),
             "SET statement_timeout = %d; "
             "SET idle_in_transaction_session_timeout = 120000; "
             "SET TimeZone = 'UTC'; "
             "SET client_encoding = 'UTF8'; "
             "LISTEN mail_outbox",
             STATEMENT_TIMEOUT_MS);
    enum rl_err e =
        rl_pg_connect(w->m->dsn, "redlight-mailer", setup,
                      rl_pg_deadline(rl_mono_ms(), CONNECT_TIMEOUT_MS), &w->pg,
                      err, sizeof(err));
    if (e != RL_OK) {
        rl_log_props(RL_LOG_ERROR, "mailer: database connection failed",
                     RL_LOG_STR("error", err), NULL);
        return false;
    }
    return true;
}

/* Runs statement id with params; *res on success (caller PQclear()s). */
static bool
exec_stmt(struct worker *w, enum rl_stmt id, const char *const *values,
          PGresult **res)
{
    const struct rl_stmt_def *def = &rl_stmts[id];
    PGresult *r;
    enum rl_err e = rl_pg_exec_params(w->pg, def->sql, def->nparams, values,
                                      NULL, stmt_deadline(), &r);
    if (e == RL_OK) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            *res = r;
            return true;
        }
    }
    log_failure(w->pg, def->name, e, r);
    PQclear(r);
    return false;
}

/* Sleeps up to ms, or until the stop pipe is written to. */
static void
stop_aware_sleep(struct rl_mailer *m, int64_t ms)
{
    struct pollfd p = {.fd = m->stop_pipe[0], .events = POLLIN};
    (void)poll(&p, 1, (int)ms);
}

/* ---- one job --------------------------------------------------------------
 */

struct job {
    const char *id;
    long long id_num; /* id as a number, for logs and .eml names */
    const char *tmpl;
    const char *recipient;
    const char *data; /* NULL: scrubbed (a requeued dead job) */
    int attempts;
};

/* Delivers job; on failure why says what went wrong and *permanent tells
 * whether retrying could help. */
static bool
deliver(struct worker *w, const struct job *job, char *why, size_t why_cap,
        bool *permanent)
{
    const struct rl_mailer_config *cfg = &w->m->cfg;
    char *msg = NULL;
    size_t len = 0;
    *permanent = false;
    if (job->data == NULL) {
        snprintf(why, why_cap,
                 "no data: it was scrubbed, so the mail "
                 "cannot be rendered again");
        *permanent = true;
        return false;
    }
    time_t now = time(NULL);
    char rwhy[256];
    enum rl_err e =
        rl_mail_render(job->tmpl, job->data, cfg->sender, job->recipient, now,
                       &msg, &len, rwhy, sizeof(rwhy));
    if (e != RL_OK) {
        snprintf(why, why_cap, "render: %s", rwhy);
        *permanent = e == RL_ERR_INVALID;
        return false;
    }
    bool ok;
    if (cfg->smtp_host[0] != '\0') {
        struct rl_smtp_config sc = {
            .host = cfg->smtp_host,
            .port = cfg->smtp_port,
            .username = cfg->smtp_username,
            .password = cfg->smtp_password,
            .sender = cfg->sender,
            .connect_timeout_ms = 10000,
            .timeout_ms = 30000,
            .abort = &w->m->abort_sends,
        };
        e = rl_smtp_send(&sc, job->recipient, msg, len, why, why_cap);
        ok = e == RL_OK;
    } else {
        char path[4096];
        e = rl_mail_write_eml(cfg->mail_dir, job->id_num, job->tmpl, msg, len,
                              now, path, sizeof(path), why, why_cap);
        ok = e == RL_OK;
        if (ok) {
            rl_log_props(RL_LOG_INFO, "mail written",
                         RL_LOG_INT("id", job->id_num),
                         RL_LOG_STR("template", job->tmpl),
                         RL_LOG_STR("path", path), NULL);
        }
    }
    free(msg);
    return ok;
}

/* Claims and handles one due job. Returns 1 when it handled one, 0 when
 * none is due, -1 when the connection must be dropped. */
static int
process_one(struct worker *w)
{
    const struct rl_mailer_config *cfg = &w->m->cfg;
    PGresult *claim = NULL, *r = NULL;
    if (!run_simple(w->pg, "BEGIN")) {
        return -1;
    }
    if (!exec_stmt(w, RL_STMT_OUTBOX_CLAIM, NULL, &claim)) {
        return -1;
    }
    if (PQntuples(claim) == 0) {
        PQclear(claim);
        return run_simple(w->pg, "COMMIT") ? 0 : -1;
    }
    struct job job = {
        .id = PQgetvalue(claim, 0, 0),
        .id_num = rl_pg_int(claim, 0, 0),
        .tmpl = PQgetvalue(claim, 0, 1),
        .recipient = PQgetvalue(claim, 0, 2),
        .data = PQgetisnull(claim, 0, 3) ? NULL : PQgetvalue(claim, 0, 3),
        .attempts = (int)rl_pg_int(claim, 0, 4),
    };
    char why[WHY_CAP] = "";
    bool permanent;
    bool sent = deliver(w, &job, why, sizeof(why), &permanent);
    /* last_error must be valid text whatever a server or the C library
     * said (snprintf may also have cut a UTF-8 sequence). */
    for (char *p = why; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
            *p = '?';
        }
    }
    int failures = job.attempts + 1;
    char delay[24] = "";
    int64_t delay_ms = 0;
    bool ok;
    const char *outcome;
    if (sent) {
        const char *v[] = {job.id};
        ok = exec_stmt(w, RL_STMT_OUTBOX_SENT, v, &r);
        outcome = "sent";
    } else if (permanent || failures >= cfg->max_attempts) {
        const char *v[] = {job.id, why};
        ok = exec_stmt(w, RL_STMT_OUTBOX_DEAD, v, &r);
        outcome = "dead";
    } else {
        delay_ms = backoff_ms(cfg, failures);
        fmt_i64(delay, sizeof(delay), delay_ms);
        const char *v[] = {job.id, why, delay};
        ok = exec_stmt(w, RL_STMT_OUTBOX_RETRY, v, &r);
        outcome = "retry";
    }
    PQclear(r);
    ok = ok && run_simple(w->pg, "COMMIT");
    if (!ok) {
        /* The row lock goes with the transaction; the job stays pending
         * and is tried again (a sent mail may then go out twice). */
        rl_log_props(RL_LOG_ERROR, "mailer: could not record the outcome",
                     RL_LOG_INT("id", job.id_num),
                     RL_LOG_STR("outcome", outcome), NULL);
        PQclear(claim);
        return -1;
    }
    if (sent) {
        rl_log_props(RL_LOG_INFO, "mail sent", RL_LOG_INT("id", job.id_num),
                     RL_LOG_STR("template", job.tmpl),
                     RL_LOG_INT("attempt", failures), NULL);
    } else if (strcmp(outcome, "dead") == 0) {
        rl_log_props(
            RL_LOG_ERROR, "mail dead: giving up", RL_LOG_INT("id", job.id_num),
            RL_LOG_STR("template", job.tmpl), RL_LOG_INT("attempt", failures),
            RL_LOG_STR("error", why), NULL);
    } else {
        rl_log_props(RL_LOG_ERROR, "mail failed: will retry",
                     RL_LOG_INT("id", job.id_num),
                     RL_LOG_STR("template", job.tmpl),
                     RL_LOG_INT("attempt", failures),
                     RL_LOG_INT("retry_in_ms", delay_ms),
                     RL_LOG_STR("error", why), NULL);
    }
    PQclear(claim);
    return 1;
}

/* How long to sleep before looking again: until the earliest pending job
 * is due, at most poll_ms. -1 when the connection must be dropped. */
static int64_t
next_wait_ms(struct worker *w)
{
    int64_t poll_ms = w->m->cfg.poll_ms;
    PGresult *r;
    if (!exec_stmt(w, RL_STMT_OUTBOX_NEXT_DUE, NULL, &r)) {
        return -1;
    }
    int64_t wait = poll_ms;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        int64_t due = rl_pg_int(r, 0, 0);
        /* Due but not claimable: another worker holds it (sending). */
        wait = due <= 0 ? LOCKED_RECHECK_MS : due;
    }
    PQclear(r);
    return wait < poll_ms ? wait : poll_ms;
}

/* Reads what arrived on the connection; true if it held a notification.
 * Sets *dead when the connection is gone. */
static bool
drain_notifications(struct worker *w, bool *dead)
{
    bool any = false;
    *dead = false;
    if (!PQconsumeInput(w->pg)) {
        *dead = true;
        return false;
    }
    PGnotify *n;
    while ((n = PQnotifies(w->pg)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

/* After a failed statement: a lost connection is logged and dropped (the
 * loop reconnects); a live one is dropped too, since its state after the
 * error is unknown and a fresh connection is cheap at this rate. */
static void
reset_conn(struct worker *w)
{
    if (PQstatus(w->pg) != CONNECTION_OK) {
        char err[256];
        pg_error(w->pg, NULL, err, sizeof(err));
        rl_log_props(RL_LOG_ERROR, "mailer: database connection lost",
                     RL_LOG_STR("error", err), NULL);
    }
    drop_conn(w);
}

/* Waits before the next connection attempt, longer each time until a
 * cycle succeeds: a database that is down, or one that answers every
 * query with an error (no mail_outbox table yet), is not hammered. */
static void
backoff_sleep(struct worker *w)
{
    stop_aware_sleep(w->m, w->reconnect_ms);
    w->reconnect_ms *= 2;
    if (w->reconnect_ms > RECONNECT_MAX_MS) {
        w->reconnect_ms = RECONNECT_MAX_MS;
    }
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct rl_mailer *m = w->m;
    w->reconnect_ms = RECONNECT_MIN_MS;
    while (!atomic_load(&m->stopping)) {
        if (w->pg == NULL && !connect_db(w)) {
            backoff_sleep(w);
            continue;
        }
        int got;
        while ((got = process_one(w)) == 1 && !atomic_load(&m->stopping)) {
        }
        if (got < 0) {
            reset_conn(w);
            backoff_sleep(w);
            continue;
        }
        if (atomic_load(&m->stopping)) {
            break;
        }
        int64_t wait = next_wait_ms(w);
        bool dead;
        if (wait < 0) {
            reset_conn(w);
            backoff_sleep(w);
            continue;
        }
        w->reconnect_ms = RECONNECT_MIN_MS; /* a whole cycle worked */
        /* A notification that arrived with the last reply is already
         * buffered: its socket will not wake us, so look now. */
        if (drain_notifications(w, &dead) || dead) {
            if (dead) {
                reset_conn(w); /* reconnect at once: nothing failed yet */
            }
            continue;
        }
        struct pollfd p[2] = {
            {.fd = m->stop_pipe[0], .events = POLLIN},
            {.fd = PQsocket(w->pg), .events = POLLIN},
        };
        if (poll(p, 2, (int)wait) > 0 && (p[1].revents != 0)) {
            (void)drain_notifications(w, &dead);
            if (dead) {
                reset_conn(w);
            }
        }
    }
    drop_conn(w);
    pthread_mutex_lock(&m->mu);
    m->running--;
    pthread_cond_signal(&m->exited);
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- start / stop -----------------------------------------------------------
 */

static bool
copy_str(char **dst, const char *src)
{
    *dst = strdup(src != NULL ? src : "");
    return *dst != NULL;
}

static void
mailer_free(struct rl_mailer *m)
{
    free(m->dsn);
    free(m->smtp_host);
    free(m->smtp_username);
    if (m->smtp_password != NULL) {
        sodium_memzero(m->smtp_password, strlen(m->smtp_password));
    }
    free(m->smtp_password);
    free(m->sender);
    free(m->mail_dir);
    free(m->workers);
    if (m->stop_pipe[0] >= 0) {
        close(m->stop_pipe[0]);
        close(m->stop_pipe[1]);
    }
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->exited);
    if (m->curl_ready) {
        curl_global_cleanup();
    }
    free(m);
}

enum rl_err
rl_mailer_start(const struct rl_mailer_config *cfg, struct rl_mailer **out)
{
    if (cfg->dsn == NULL || cfg->dsn[0] == '\0') {
        return RL_ERR_INVALID;
    }
    struct rl_mailer *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return RL_ERR_NOMEM;
    }
    m->stop_pipe[0] = m->stop_pipe[1] = -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->exited, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&m->stopping, false);
    atomic_init(&m->abort_sends, false);

    m->cfg = *cfg;
    struct rl_mailer_config *c = &m->cfg;
    if (!copy_str(&m->dsn, cfg->dsn) ||
        !copy_str(&m->smtp_host, cfg->smtp_host) ||
        !copy_str(&m->smtp_username, cfg->smtp_username) ||
        !copy_str(&m->smtp_password, cfg->smtp_password) ||
        !copy_str(&m->sender, cfg->sender != NULL && cfg->sender[0] != '\0'
                                  ? cfg->sender
                                  : "Redlight <no-reply@redlight.local>") ||
        !copy_str(&m->mail_dir,
                  cfg->mail_dir != NULL && cfg->mail_dir[0] != '\0'
                      ? cfg->mail_dir
                      : "var/mail")) {
        mailer_free(m);
        return RL_ERR_NOMEM;
    }
    c->dsn = m->dsn;
    c->smtp_host = m->smtp_host;
    c->smtp_username = m->smtp_username;
    c->smtp_password = m->smtp_password;
    c->sender = m->sender;
    c->mail_dir = m->mail_dir;
    c->threads = c->threads > 0 ? c->threads : 2;
    c->max_attempts = c->max_attempts > 0 ? c->max_attempts : 20;
    c->backoff_base_ms = c->backoff_base_ms > 0 ? c->backoff_base_ms : 1000;
    c->backoff_max_ms = c->backoff_max_ms > 0 ? c->backoff_max_ms : 300000;
    if (c->backoff_max_ms < c->backoff_base_ms) {
        c->backoff_max_ms = c->backoff_base_ms;
    }
    c->poll_ms = c->poll_ms > 0 ? c->poll_ms : 1000;
    c->stop_timeout_ms = c->stop_timeout_ms > 0 ? c->stop_timeout_ms : 30000;

    /* A bad sender would make every job unrenderable, hence dead: refuse
     * to start instead. */
    char addr[320];
    if (rl_mail_address(c->sender, addr, sizeof(addr)) != RL_OK ||
        !rl_mail_header_ok(c->sender) || !rl_mail_header_ok(c->smtp_host)) {
        rl_log_props(RL_LOG_ERROR, "mailer: invalid -smtp-sender or -smtp-host",
                     NULL);
        mailer_free(m);
        return RL_ERR_INVALID;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        mailer_free(m);
        return RL_ERR_NOMEM;
    }
    m->curl_ready = true;
    if (pipe2(m->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        m->stop_pipe[0] = m->stop_pipe[1] = -1;
        mailer_free(m);
        return RL_ERR_IO;
    }
    m->workers = calloc((size_t)c->threads, sizeof(*m->workers));
    if (m->workers == NULL) {
        mailer_free(m);
        return RL_ERR_NOMEM;
    }
    for (int i = 0; i < c->threads; i++) {
        struct worker *w = &m->workers[i];
        w->m = m;
        pthread_mutex_lock(&m->mu);
        m->running++;
        pthread_mutex_unlock(&m->mu);
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
            pthread_mutex_lock(&m->mu);
            m->running--;
            pthread_mutex_unlock(&m->mu);
            m->nworkers = i;
            rl_mailer_stop(m);
            return RL_ERR_NOMEM;
        }
        w->started = true;
    }
    m->nworkers = c->threads;
    rl_log_props(
        RL_LOG_INFO, "mail worker started", RL_LOG_INT("threads", c->threads),
        RL_LOG_STR("delivery", c->smtp_host[0] != '\0' ? "smtp" : "eml files"),
        RL_LOG_STR("smtp_host", c->smtp_host[0] != '\0' ? c->smtp_host : NULL),
        RL_LOG_STR("mail_dir", c->smtp_host[0] != '\0' ? NULL : c->mail_dir),
        NULL);
    *out = m;
    return RL_OK;
}

/* Waits until no thread runs or deadline (monotonic ms) passes. */
static bool
wait_exited(struct rl_mailer *m, int64_t deadline)
{
    pthread_mutex_lock(&m->mu);
    while (m->running > 0) {
        int64_t left = deadline - rl_mono_ms();
        if (left <= 0) {
            break;
        }
        struct timespec ts = rl_mono_deadline(left);
        pthread_cond_timedwait(&m->exited, &m->mu, &ts);
    }
    bool done = m->running == 0;
    pthread_mutex_unlock(&m->mu);
    return done;
}

void
rl_mailer_stop(struct rl_mailer *m)
{
    if (m == NULL) {
        return;
    }
    atomic_store(&m->stopping, true);
    if (m->stop_pipe[1] >= 0) {
        ssize_t n;
        do {
            n = write(m->stop_pipe[1], "x", 1);
        } while (n < 0 && errno == EINTR);
    }
    if (!wait_exited(m, rl_mono_ms() + m->cfg.stop_timeout_ms)) {
        rl_log_props(RL_LOG_ERROR,
                     "mailer: stop timeout: aborting the sends in flight",
                     NULL);
        atomic_store(&m->abort_sends, true);
    }
    for (int i = 0; i < m->nworkers; i++) {
        if (m->workers[i].started) {
            pthread_join(m->workers[i].tid, NULL);
        }
    }
    rl_log_props(RL_LOG_INFO, "mail worker stopped", NULL);
    mailer_free(m);
}
