/* err.c — descriptions for enum rl_err. No state. */
#include "internal/base/err.h"

const char *
rl_err_str(enum rl_err err)
{
    switch (err) {
    case RL_OK:
        return "ok";
    case RL_ERR_NOMEM:
        return "out of memory";
    case RL_ERR_INVALID:
        return "invalid input";
    case RL_ERR_NOT_FOUND:
        return "record not found";
    case RL_ERR_EDIT_CONFLICT:
        return "edit conflict";
    case RL_ERR_DUPLICATE_EMAIL:
        return "duplicate email";
    case RL_ERR_TIMEOUT:
        return "statement timeout";
    case RL_ERR_POOL_TIMEOUT:
        return "timed out waiting for a database connection";
    case RL_ERR_DB:
        return "database error";
    case RL_ERR_CONN:
        return "database connection failed";
    case RL_ERR_IO:
        return "i/o error";
    case RL_ERR_DIRTY:
        return "database is dirty";
    case RL_ERR_LOCKED:
        return "migration lock is held";
    case RL_ERR_TOO_LARGE:
        return "too large";
    }
    return "unknown error";
}
