/*
 * worker_int.h — package-private: what the files of the mail worker share.
 * Not for use outside internal/mailer and its unit tests (worker.h is the
 * public API; mailer_int.h is the message builder's, a separate concern).
 *
 *   config.c  tuning from the environment and the retry backoff policy;
 *   db.c      a worker thread's own libpq connection and its round trips;
 *   job.c     one job: claim, render, deliver, record the outcome;
 *   worker.c  the threads' loop, start and stop (the design comment).
 *
 * struct rl_mailer is shared by every thread (its config and strings are
 * immutable once rl_mailer_start returns); a struct rl_mailer_worker and
 * its PGconn belong to the one thread that runs it.
 */
#ifndef REDLIGHT_INTERNAL_MAILER_WORKER_INT_H
#define REDLIGHT_INTERNAL_MAILER_WORKER_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/base/stop.h"
#include "internal/data/statements.h"
#include "internal/mailer/worker.h"

struct rl_mailer_worker {
    struct rl_mailer *m;
    pthread_t tid;
    bool started;
    PGconn *pg;
    bool pooled; /* pg goes through a pooler: timeouts per transaction */
    int64_t reconnect_ms;
};

struct rl_mailer {
    struct rl_mailer_config cfg; /* strings point at the copies below */
    char *dsn, *smtp_host, *smtp_username, *smtp_password, *sender, *mail_dir;
    struct rl_stop stop;
    atomic_bool stopping;
    atomic_bool abort_sends; /* stop's grace is over: abort transfers */
    pthread_mutex_t mu;
    pthread_cond_t exited; /* a thread is about to return */
    int running;           /* threads not yet returned; under mu */
    struct rl_mailer_worker *workers;
    int nworkers;
    bool curl_ready;
};

/* ---- config.c ----------------------------------------------------------- */

/* The delay in ms before retry number failures (1 after the first
 * failure), from cfg's base and cap, with random jitter. Thread-safe. */
int64_t rl_mailer_backoff_ms(const struct rl_mailer_config *cfg, int failures);

/* ---- db.c: called only by the thread that owns w ------------------------ */

/* Opens w->pg (session settings, LISTEN mail_outbox) within a deadline;
 * false after logging why. */
bool rl_mailer_connect(struct rl_mailer_worker *w) RL_MUST_CHECK;
/* Closes w->pg, if open, and sets it to NULL. */
void rl_mailer_drop_conn(struct rl_mailer_worker *w);
/* One line of libpq's error text about r (or NULL: about pg) into buf. */
void rl_mailer_pg_error(PGconn *pg, const PGresult *r, char *buf, size_t cap);
/* BEGIN on w->pg, with the session's timeouts as SET LOCAL when it goes
 * through a pooler; false after logging why. */
bool rl_mailer_begin(struct rl_mailer_worker *w) RL_MUST_CHECK;
/* Runs a statement without parameters or rows; false after logging why. */
bool rl_mailer_run_simple(PGconn *pg, const char *sql) RL_MUST_CHECK;
/* Runs statement id with values on w->pg; on true *res is its result
 * (caller PQclear()s); false after logging why (then *res is untouched). */
bool rl_mailer_exec_stmt(struct rl_mailer_worker *w, enum rl_stmt id,
                         const char *const *values,
                         PGresult **res) RL_MUST_CHECK;

/* ---- job.c -------------------------------------------------------------- */

/* Claims and handles one due job on w->pg. Returns 1 when it handled one,
 * 0 when none is due, -1 when the connection must be dropped. */
int rl_mailer_process_one(struct rl_mailer_worker *w) RL_MUST_CHECK;

#endif
