/*
 * outbox.h — the durable mail outbox (table mail_outbox, migration 000008).
 *
 * A request that promises a mail inserts a job here inside the same
 * transaction as the rows the mail announces (user, token), so the job and
 * the rows commit or vanish together. The mail worker (internal/mailer)
 * claims due jobs on its own connection; this header is only the enqueue
 * side, used by the request path.
 */
#ifndef REDLIGHT_INTERNAL_DATA_OUTBOX_H
#define REDLIGHT_INTERNAL_DATA_OUTBOX_H

#include "internal/base/err.h"
#include "internal/data/pool.h"

/* Template names accepted by rl_outbox_enqueue. */
#define RL_MAIL_USER_WELCOME "user_welcome"
#define RL_MAIL_PASSWORD_RESET "password_reset"
#define RL_MAIL_TOKEN_ACTIVATION "token_activation"

/* Inserts a pending mail job on connection c and notifies channel
 * "mail_outbox" (PostgreSQL delivers the notification on commit, so the
 * worker wakes only once the job is visible).
 *
 * Meant to run between rl_db_begin and rl_db_commit on c, with the rows
 * the mail announces; without a transaction the job commits at once.
 *
 * tmpl: one of the RL_MAIL_* names (anything else → RL_ERR_INVALID).
 * recipient: the address, no CR/LF (else RL_ERR_INVALID).
 * data_json: a JSON object as text, the template's data:
 *   user_welcome     {"user_id": N, "name": "...", "activation_token": "..."}
 *   password_reset   {"name": "...", "password_reset_token": "..."}
 *   token_activation {"name": "...", "activation_token": "..."}
 * The strings are copied by libpq; the caller keeps ownership.
 *
 * Returns RL_OK, RL_ERR_INVALID, or an rl_db_exec error. Thread-safe in the
 * sense that c belongs to the calling thread. */
enum rl_err rl_outbox_enqueue(struct rl_conn *c, const char *tmpl,
                              const char *recipient,
                              const char *data_json) RL_MUST_CHECK;

#endif
