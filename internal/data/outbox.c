/*
 * outbox.c — enqueueing mail jobs (the request side of the outbox).
 *
 * Owns nothing: the statement runs on the caller's connection, inside the
 * caller's transaction. The worker side (claim, mark sent/retry/dead) lives
 * in internal/mailer/worker.c on the worker's own connection.
 */
#include "internal/data/outbox.h"

#include <string.h>

#include "internal/data/pg_int.h"

static bool
known_template(const char *tmpl)
{
    return strcmp(tmpl, RL_MAIL_USER_WELCOME) == 0 ||
           strcmp(tmpl, RL_MAIL_PASSWORD_RESET) == 0 ||
           strcmp(tmpl, RL_MAIL_TOKEN_ACTIVATION) == 0;
}

enum rl_err
rl_outbox_enqueue(struct rl_conn *c, const char *tmpl, const char *recipient,
                  const char *data_json)
{
    if (c == NULL || tmpl == NULL || recipient == NULL || data_json == NULL ||
        !known_template(tmpl) || recipient[0] == '\0' ||
        recipient[strcspn(recipient, "\r\n")] != '\0') {
        return RL_ERR_INVALID;
    }
    const char *values[3] = {tmpl, recipient, data_json};
    PGresult *r;
    enum rl_err e = rl_db_exec(c, RL_STMT_OUTBOX_ENQUEUE, values, NULL, &r);
    if (e != RL_OK) {
        return e;
    }
    PQclear(r);
    return RL_OK;
}
