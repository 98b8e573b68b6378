/*
 * statements.c — the statement table. Immutable, shared by all threads.
 */
#include "internal/data/statements.h"

const struct rl_stmt_def rl_stmts[RL_STMT_COUNT_] = {
    [RL_STMT_PING] = {"ping", "SELECT 1", 0, true, RL_STMT_PING},
    [RL_STMT_MOVIE_INSERT] =
        {"movie_insert",
         "INSERT INTO movies (title, year, runtime, genres) "
         "VALUES ($1, $2, $3, $4) RETURNING id, version",
         4, false, RL_STMT_MOVIE_INSERT},
    [RL_STMT_MOVIE_GET] = {"movie_get",
                           "SELECT id, title, year, runtime, genres, version "
                           "FROM movies WHERE id = $1",
                           1, true, RL_STMT_MOVIE_GET},
    [RL_STMT_MOVIE_UPDATE] =
        {"movie_update",
         "UPDATE movies SET title = $3, year = $4, runtime = $5, genres = $6, "
         "version = version + 1 WHERE id = $1 AND version = $2 "
         "RETURNING version",
         6, false, RL_STMT_MOVIE_UPDATE},
    [RL_STMT_MOVIE_DELETE] = {"movie_delete",
                              "DELETE FROM movies WHERE id = $1", 1, false,
                              RL_STMT_MOVIE_DELETE},
    [RL_STMT_MOVIE_DELETE_VERSION] =
        {"movie_delete_version",
         "DELETE FROM movies WHERE id = $1 AND version = $2", 2, false,
         RL_STMT_MOVIE_DELETE_VERSION},
    /* The mail outbox (outbox.c enqueues; internal/mailer runs the rest on
     * its own connection). The CTE makes insert + notify one round trip;
     * the notification is delivered at commit. */
    [RL_STMT_OUTBOX_ENQUEUE] =
        {"outbox_enqueue",
         "WITH job AS (INSERT INTO mail_outbox (template, recipient, data) "
         "VALUES ($1, $2, $3::jsonb) RETURNING id) "
         "SELECT job.id, pg_notify('mail_outbox', '') FROM job",
         3, false, RL_STMT_OUTBOX_ENQUEUE},
    [RL_STMT_OUTBOX_CLAIM] =
        {"outbox_claim",
         "SELECT id, template, recipient, data::text, attempts "
         "FROM mail_outbox WHERE status = 'pending' "
         "AND next_attempt_at <= now() ORDER BY id LIMIT 1 "
         "FOR UPDATE SKIP LOCKED",
         0, false, RL_STMT_OUTBOX_CLAIM},
    [RL_STMT_OUTBOX_SENT] =
        {"outbox_sent",
         "UPDATE mail_outbox SET status = 'sent', sent_at = now(), "
         "data = NULL, attempts = attempts + 1 WHERE id = $1",
         1, false, RL_STMT_OUTBOX_SENT},
    /* clock_timestamp, not now(): the send may have taken a while since
     * the transaction began. */
    [RL_STMT_OUTBOX_RETRY] =
        {"outbox_retry",
         "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, "
         "next_attempt_at = clock_timestamp() + "
         "make_interval(secs => $3::bigint / 1000.0) WHERE id = $1",
         3, false, RL_STMT_OUTBOX_RETRY},
    [RL_STMT_OUTBOX_DEAD] =
        {"outbox_dead",
         "UPDATE mail_outbox SET status = 'dead', data = NULL, "
         "attempts = attempts + 1, last_error = $2 WHERE id = $1",
         2, false, RL_STMT_OUTBOX_DEAD},
    /* Milliseconds until the earliest pending job is due (NULL: none). */
    [RL_STMT_OUTBOX_NEXT_DUE] =
        {"outbox_next_due",
         "SELECT ceil(extract(epoch FROM min(next_attempt_at) - "
         "clock_timestamp()) * 1000)::bigint "
         "FROM mail_outbox WHERE status = 'pending'",
         0, true, RL_STMT_OUTBOX_NEXT_DUE},
};
