/*
 * sql.c — what every step of the migrator uses: the error message in
 * m->errmsg (appended to, capped with a visible mark) and the libpq round
 * trips that describe their failures there. Owns nothing: every PGresult is
 * cleared here or handed to the caller.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal/migrate/migrate_int.h"

#define TRUNC_MARK " [...]"

void
rl_migrate_msg_clear(struct rl_migrator *m)
{
    m->errmsg[0] = '\0';
    m->errlen = 0;
}

/* Appends to the error message; past RL_MIGRATE_ERRMSG_MAX the message ends in
 * a visible truncation mark rather than being cut silently. */
void
rl_migrate_msg_add(struct rl_migrator *m, const char *fmt, ...)
{
    size_t room = sizeof(m->errmsg) - m->errlen;
    if (room <= 1) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->errmsg + m->errlen, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        m->errmsg[m->errlen] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        size_t mark = sizeof(TRUNC_MARK);
        memcpy(m->errmsg + sizeof(m->errmsg) - mark, TRUNC_MARK, mark);
        m->errlen = sizeof(m->errmsg) - 1;
        return;
    }
    m->errlen += (size_t)n;
}

/* Adds `text` without trailing newlines and blanks (libpq messages end in
 * a newline), capped so one field cannot take the whole buffer. */
void
rl_migrate_msg_add_trimmed(struct rl_migrator *m, const char *text)
{
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) {
        len--;
    }
    rl_migrate_msg_add(m, "%.*s", (int)(len > 4096 ? 4096 : len), text);
}

enum rl_err
rl_migrate_conn_err(const struct rl_migrator *m)
{
    return PQstatus(m->conn) == CONNECTION_BAD ? RL_ERR_CONN : RL_ERR_DB;
}

/* Describes a failed result (or a NULL one) after the prefix `what`. */
void
rl_migrate_describe_error(struct rl_migrator *m, const PGresult *res,
                          const char *what)
{
    const char *primary =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    rl_migrate_msg_add(m, "%s: ", what);
    if (primary == NULL) {
        rl_migrate_msg_add_trimmed(m, PQerrorMessage(m->conn));
        return;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    rl_migrate_msg_add_trimmed(m, primary);
    if (state != NULL) {
        rl_migrate_msg_add(m, " (SQLSTATE %s)", state);
    }
}

/* Adds detail, hint and context lines of a failed result. */
void
rl_migrate_describe_extra(struct rl_migrator *m, const PGresult *res)
{
    static const struct {
        int field;
        const char *label;
    } extra[] = {
        {PG_DIAG_MESSAGE_DETAIL, "detail"},
        {PG_DIAG_MESSAGE_HINT, "hint"},
        {PG_DIAG_CONTEXT, "context"},
    };
    if (res == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        const char *v = PQresultErrorField(res, extra[i].field);
        if (v != NULL && v[0] != '\0') {
            rl_migrate_msg_add(m, "\n  %s: ", extra[i].label);
            rl_migrate_msg_add_trimmed(m, v);
        }
    }
}

/* Runs one statement with text parameters. Returns the result when it
 * succeeded (the caller clears it), otherwise NULL with the error in m. */
PGresult *
rl_migrate_query(struct rl_migrator *m, const char *what, const char *sql,
                 int nparams, const char *const *params)
{
    PGresult *res =
        PQexecParams(m->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        return res;
    }
    rl_migrate_describe_error(m, res, what);
    rl_migrate_describe_extra(m, res);
    PQclear(res);
    return NULL;
}

enum rl_err
rl_migrate_exec(struct rl_migrator *m, const char *what, const char *sql,
                int nparams, const char *const *params)
{
    PGresult *res = rl_migrate_query(m, what, sql, nparams, params);
    if (res == NULL) {
        return rl_migrate_conn_err(m);
    }
    PQclear(res);
    return RL_OK;
}

/* Leaves the connection outside any transaction; used on error paths, so
 * its own failure only matters through the error already reported. */
void
rl_migrate_rollback(struct rl_migrator *m)
{
    PGTransactionStatusType ts = PQtransactionStatus(m->conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        PQclear(PQexec(m->conn, "ROLLBACK"));
    }
}
