/*
 * worker.c — the mail worker threads (see worker.h for the protocol): their
 * loop, start and stop. worker_int.h lists the files that do the rest.
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
 * A failed round trip (db.c bounds each one) drops the connection and the
 * loop reconnects with backoff, so the worker recovers by itself once the
 * database is back.
 */
#include "internal/mailer/worker.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/base/clock.h"
#include "internal/data/conn.h"
#include "internal/data/statements.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/mailer/render.h"
#include "internal/mailer/worker_int.h"

#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 30000
#define LOCKED_RECHECK_MS 200

/* ---- the loop ----------------------------------------------------------- */

/* Sleeps up to ms, or until the stop pipe is written to. */
static void
stop_aware_sleep(struct rl_mailer *m, int64_t ms)
{
    struct pollfd p = {.fd = rl_stop_fd(&m->stop), .events = POLLIN};
    (void)poll(&p, 1, (int)ms);
}

/* How long to sleep before looking again: until the earliest pending job
 * is due, at most poll_ms. -1 when the connection must be dropped. */
static int64_t
next_wait_ms(struct rl_mailer_worker *w)
{
    int64_t poll_ms = w->m->cfg.poll_ms;
    PGresult *r;
    if (!rl_mailer_exec_stmt(w, RL_STMT_OUTBOX_NEXT_DUE, NULL, &r)) {
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
drain_notifications(struct rl_mailer_worker *w, bool *dead)
{
    int n = rl_pg_notifications(w->pg, NULL, NULL);
    *dead = n < 0;
    return n > 0;
}

/* After a failed statement: a lost connection is logged and dropped (the
 * loop reconnects); a live one is dropped too, since its state after the
 * error is unknown and a fresh connection is cheap at this rate. */
static void
reset_conn(struct rl_mailer_worker *w)
{
    if (PQstatus(w->pg) != CONNECTION_OK) {
        char err[256];
        rl_mailer_pg_error(w->pg, NULL, err, sizeof(err));
        rl_log_props(RL_LOG_ERROR, "mailer: database connection lost",
                     RL_LOG_STR("error", err), NULL);
    }
    rl_mailer_drop_conn(w);
}

/* Waits before the next connection attempt, longer each time until a
 * cycle succeeds: a database that is down, or one that answers every
 * query with an error (no mail_outbox table yet), is not hammered. */
static void
backoff_sleep(struct rl_mailer_worker *w)
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
    struct rl_mailer_worker *w = arg;
    struct rl_mailer *m = w->m;
    w->reconnect_ms = RECONNECT_MIN_MS;
    while (!atomic_load(&m->stopping)) {
        if (w->pg == NULL && !rl_mailer_connect(w)) {
            backoff_sleep(w);
            continue;
        }
        int got;
        while ((got = rl_mailer_process_one(w)) == 1 &&
               !atomic_load(&m->stopping)) {
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
            {.fd = rl_stop_fd(&m->stop), .events = POLLIN},
            {.fd = PQsocket(w->pg), .events = POLLIN},
        };
        if (poll(p, 2, (int)wait) > 0 && (p[1].revents != 0)) {
            (void)drain_notifications(w, &dead);
            if (dead) {
                reset_conn(w);
            }
        }
    }
    rl_mailer_drop_conn(w);
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
    rl_stop_close(&m->stop);
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
    rl_stop_none(&m->stop);
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
    if (!rl_stop_init(&m->stop)) {
        mailer_free(m);
        return RL_ERR_IO;
    }
    m->workers = calloc((size_t)c->threads, sizeof(*m->workers));
    if (m->workers == NULL) {
        mailer_free(m);
        return RL_ERR_NOMEM;
    }
    for (int i = 0; i < c->threads; i++) {
        struct rl_mailer_worker *w = &m->workers[i];
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
    rl_stop_fire(&m->stop);
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
