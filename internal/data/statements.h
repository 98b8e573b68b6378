/*
 * statements.h — every SQL statement the application runs, by id.
 *
 * The table lives in statements.c: {name, sql, number of parameters,
 * read-only?}. Read-only statements may be retried on a fresh connection
 * when the old one turns out to be dead. ORDER BY variants are separate
 * entries, chosen from a compile-time safelist, never pasted from input.
 */
#ifndef REDLIGHT_INTERNAL_DATA_STATEMENTS_H
#define REDLIGHT_INTERNAL_DATA_STATEMENTS_H

#include <stdbool.h>

enum rl_stmt {
    RL_STMT_PING,
    RL_STMT_MOVIE_INSERT,
    RL_STMT_MOVIE_GET,
    RL_STMT_MOVIE_UPDATE,
    RL_STMT_MOVIE_DELETE,
    RL_STMT_MOVIE_DELETE_VERSION,
    RL_STMT_OUTBOX_ENQUEUE,
    RL_STMT_OUTBOX_CLAIM,
    RL_STMT_OUTBOX_SENT,
    RL_STMT_OUTBOX_RETRY,
    RL_STMT_OUTBOX_DEAD,
    RL_STMT_OUTBOX_NEXT_DUE,
    RL_STMT_USER_INSERT,
    RL_STMT_USER_GET_BY_EMAIL,
    RL_STMT_USER_GET_FOR_TOKEN,
    RL_STMT_USER_UPDATE,
    RL_STMT_USER_END_SESSIONS,
    RL_STMT_PERMISSION_GRANT,
    RL_STMT_TOKEN_INSERT,
    RL_STMT_TOKEN_DELETE_ALL,
    RL_STMT_AUTH_BY_TOKEN,
    RL_STMT_AUTH_BY_ID,
    RL_STMT_AUTH_REVOKE,
    RL_STMT_PERMISSION_LOOKUP,
    RL_STMT_PERMISSION_ADD,
    RL_STMT_PERMISSION_REMOVE,
    RL_STMT_OUTBOX_COUNTS,
    RL_STMT_USER_LIST,
    RL_STMT_COUNT_
};

/* Room for prepared-statement bookkeeping on each connection: the fixed
 * table plus the generated movie-list variants. */
#define RL_STMT_SLOTS 320

struct rl_stmt_def {
    const char *name;
    const char *sql;
    int nparams;
    bool read_only;
    unsigned slot; /* unique, < RL_STMT_SLOTS; the fixed table uses its id */
};

/* The statement table, indexed by enum rl_stmt. Immutable. */
extern const struct rl_stmt_def rl_stmts[RL_STMT_COUNT_];

#endif
