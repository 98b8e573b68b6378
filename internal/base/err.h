/*
 * err.h — the one error enum shared by every internal package.
 *
 * Fallible functions return enum rl_err (RL_OK == 0) and put results in
 * out-parameters, so callers can write `if ((e = step()) != RL_OK) goto fail;`.
 */
#ifndef REDLIGHT_INTERNAL_BASE_ERR_H
#define REDLIGHT_INTERNAL_BASE_ERR_H

#define RL_MUST_CHECK __attribute__((warn_unused_result))

enum rl_err {
    RL_OK = 0,
    RL_ERR_NOMEM,
    RL_ERR_INVALID,       /* bad argument or input */
    RL_ERR_NOT_FOUND,     /* no such record */
    RL_ERR_EDIT_CONFLICT, /* optimistic concurrency check lost */
    RL_ERR_DUPLICATE_EMAIL,
    RL_ERR_TIMEOUT,      /* statement timeout (SQLSTATE 57014) */
    RL_ERR_POOL_TIMEOUT, /* no connection became free before the deadline */
    RL_ERR_DB,           /* any other database error */
    RL_ERR_CONN,         /* connection lost or could not be made */
    RL_ERR_IO,           /* file or socket error */
    RL_ERR_DIRTY,        /* migrations: database marked dirty */
    RL_ERR_LOCKED,       /* migrations: another migrator holds the lock */
    RL_ERR_TOO_LARGE,    /* past a size cap (internal/base/buf.h) */
};

/* Returns a static, lower-case description of err. Thread-safe. */
const char *rl_err_str(enum rl_err err);

#endif
