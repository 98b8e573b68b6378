/*
 * lock.c — golang-migrate's session advisory lock: `SELECT
 * pg_advisory_lock($1)` on the key rl_migrate_lock_id gives, bounded by a
 * transaction-local lock_timeout, and `SELECT pg_advisory_unlock($1)`. The
 * lock belongs to the migrator's session: held from rl_migrate_connect to
 * rl_migrate_free, and dropped by the server if the connection goes.
 */
#include <stdio.h>
#include <string.h>

#include "internal/migrate/migrate_int.h"

enum rl_err
rl_migrate_take_lock(struct rl_migrator *m)
{
    char timeout[32];
    const char *p1[1] = {timeout};
    const char *p2[1] = {m->lock_key_str};
    enum rl_err err;

    /* SET LOCAL bounds only this wait; the session lock outlives COMMIT. */
    snprintf(timeout, sizeof(timeout), "%dms",
             m->opts.lock_timeout_ms > 0 ? m->opts.lock_timeout_ms : 0);
    if ((err = rl_migrate_exec(m, "begin", "BEGIN", 0, NULL)) != RL_OK) {
        return err;
    }
    err = rl_migrate_exec(m, "cannot set lock_timeout",
                          "SELECT set_config('lock_timeout', $1, true)", 1, p1);
    if (err == RL_OK) {
        PGresult *res = PQexecParams(m->conn, "SELECT pg_advisory_lock($1)", 1,
                                     NULL, p2, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            const char *state =
                res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
            if (state != NULL && strcmp(state, "55P03") == 0) {
                rl_migrate_msg_add(
                    m,
                    "timeout: can't acquire database lock (advisory lock "
                    "%s is still held after %d ms)",
                    m->lock_key_str, m->opts.lock_timeout_ms);
                err = RL_ERR_LOCKED;
            } else {
                rl_migrate_describe_error(m, res, "try lock failed");
                err = rl_migrate_conn_err(m);
            }
        }
        PQclear(res);
    }
    if (err == RL_OK) {
        m->locked = true; /* held even if COMMIT fails */
        err = rl_migrate_exec(m, "commit", "COMMIT", 0, NULL);
    }
    if (err != RL_OK) {
        rl_migrate_rollback(m);
    }
    return err;
}

void
rl_migrate_release_lock(struct rl_migrator *m)
{
    if (m->locked && PQstatus(m->conn) == CONNECTION_OK) {
        rl_migrate_rollback(m);
        const char *p[1] = {m->lock_key_str};
        PQclear(PQexecParams(m->conn, "SELECT pg_advisory_unlock($1)", 1, NULL,
                             p, NULL, NULL, 0));
    }
}
