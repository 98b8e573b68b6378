/*
 * worker.h — the background mail worker: delivers the jobs of the
 * mail_outbox table (internal/data/outbox.h enqueues them).
 *
 * A few threads, each with its own libpq connection (not the request
 * pool), LISTEN on channel "mail_outbox" and also poll every second. Each
 * claims one due job at a time with SELECT ... FOR UPDATE SKIP LOCKED,
 * renders it, sends it (SMTP, or an .eml file without an SMTP host) and
 * marks it sent in the same transaction, so the row lock held during the
 * send keeps every other thread and process off that job. Failures are
 * retried with exponential backoff and jitter; after max_attempts the job
 * is marked dead. The token-bearing data is scrubbed once a job is sent
 * or dead.
 *
 * Delivery is at least once: a crash between the server's "250 OK" and
 * the COMMIT sends that one mail again after restart.
 */
#ifndef REDLIGHT_INTERNAL_MAILER_WORKER_H
#define REDLIGHT_INTERNAL_MAILER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "internal/base/err.h"

struct rl_mailer_config {
    const char *dsn; /* the worker's own connections */
    /* false: do not LISTEN, only poll every poll_ms (-db-listen-dsn=none).
     * A dsn that goes through a pooler is never LISTENed on either (see
     * rl_mailer_connect). */
    bool listen;
    const char *smtp_host; /* "" or NULL: .eml files into mail_dir */
    int smtp_port;
    const char *smtp_username; /* "" or NULL: no AUTH */
    const char *smtp_password;
    const char *sender; /* From: and MAIL FROM */
    const char *mail_dir;
    /* Tuning; 0 picks the default in brackets. */
    int threads;             /* [2] */
    int max_attempts;        /* [20]: then the job is dead */
    int64_t backoff_base_ms; /* [1000]: first retry delay, doubled after */
    int64_t backoff_max_ms;  /* [300000]: cap of the delay */
    int64_t poll_ms;         /* [1000]: longest sleep between checks */
    int64_t stop_timeout_ms; /* [30000]: rl_mailer_stop's wait for the
                                jobs in flight before it aborts them */
};

struct rl_mailer;

/* Overrides cfg's tuning from the environment, for tests and operators:
 * REDLIGHT_MAIL_BACKOFF_MS, REDLIGHT_MAIL_BACKOFF_MAX_MS,
 * REDLIGHT_MAIL_MAX_ATTEMPTS, REDLIGHT_MAIL_THREADS (positive integers;
 * anything else is ignored). Not thread-safe (getenv). */
void rl_mailer_config_env(struct rl_mailer_config *cfg);

/* Starts the worker threads (a worker that cannot reach the database
 * keeps retrying with backoff, so a database outage is not an error here).
 * Calls curl_global_init. cfg's strings are copied. On RL_OK *out is the
 * mailer, to be freed by rl_mailer_stop. Returns RL_ERR_INVALID (no DSN,
 * a sender without an address, a control character in sender or host),
 * RL_ERR_NOMEM. Call from one thread. */
enum rl_err rl_mailer_start(const struct rl_mailer_config *cfg,
                            struct rl_mailer **out) RL_MUST_CHECK;

/* Stops the worker: no new job is claimed; a job in flight is finished
 * (up to stop_timeout_ms, then its transfer is aborted and it is scheduled
 * for a retry); jobs not started stay in the outbox for the next process.
 * Joins the threads, closes their connections, frees everything and calls
 * curl_global_cleanup. NULL is a no-op. Call from one thread. */
void rl_mailer_stop(struct rl_mailer *m);

#endif
