/*
 * pool_int.h — package-private to internal/data, for pool.c (the pool:
 * opening, handing out, checking and closing connections) and exec.c
 * (statements on a connection): the layout of the pool and of a pooled
 * connection. db->mu guards struct rl_db; a struct rl_conn is touched only
 * by the thread holding it.
 */
#ifndef REDLIGHT_INTERNAL_DATA_POOL_INT_H
#define REDLIGHT_INTERNAL_DATA_POOL_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal/base/err.h"
#include "internal/data/pool.h"
#include "internal/data/statements.h"

struct rl_conn {
    PGconn *pg;
    struct rl_conn *next; /* idle list */
    int64_t idle_since_ms;
    bool broken;
    bool prepared_on; /* copy of db->cfg.prepared */
    char sqlstate[6];
    char constraint[64];
    unsigned char prepared[RL_STMT_SLOTS];
    struct rl_db *db;
};

struct rl_db {
    struct rl_db_config cfg;
    char *dsn;
    int64_t connect_ms; /* bound of opening a connection */
    int64_t budget_ms;  /* bound of every other round trip */
    /* Set by rl_db_open's first connection, read-only after: the DSN goes
     * through a pooler (rl_pg_direct said no), so statement_timeout is
     * sent with each statement (conn.h) and with each BEGIN (begin_sql),
     * never as a session SET. */
    bool pooled;
    char begin_sql[64];
    pthread_mutex_t mu;
    pthread_cond_t freed; /* a connection was released or a slot freed */
    pthread_cond_t wake;  /* janitor: close/stop */
    pthread_t janitor;
    bool janitor_started;
    bool closing;
    struct rl_conn *idle; /* newest first */
    int open;
    int in_use;
    int idle_count;
    atomic_int idle_hint; /* copy of idle_count readable without mu */
    int64_t wait_count;
    int64_t wait_ns;
    int64_t max_idle_closed;
    int64_t max_idle_time_closed;
};

/* Reopens c in place after its server went away (prepared statements
 * forgotten). On failure c stays broken. */
enum rl_err rl_db_conn_reopen(struct rl_conn *c);

/* True when an idle connection is still usable: nothing arrived on its
 * socket, or what arrived left it CONNECTION_OK. No round trip. */
bool rl_db_conn_alive(struct rl_conn *c);

/* BEGIN, COMMIT or ROLLBACK within the round-trip deadline. */
enum rl_err rl_db_simple(struct rl_conn *c, const char *sql);

#endif
