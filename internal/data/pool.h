/*
 * pool.h — a bounded libpq connection pool.
 *
 * One struct rl_db per process, shared by every thread: its lock is
 * rl_db.mu (internal). A struct rl_conn belongs to exactly one thread between
 * rl_db_acquire and rl_db_release.
 *
 * Every statement runs with statement_timeout = query_timeout_ms, UTC time
 * zone and ISO dates, also through PgBouncer in transaction mode (see
 * rl_db_pooled). Statements come from the table in statements.h and are
 * prepared on a connection the first time it runs them (unless
 * cfg.prepared is false, for PgBouncer in transaction mode).
 *
 * This header is the pool's public face (open, close, stats), libpq-free:
 * outside internal/data a struct rl_db is a handle to pass to the model
 * functions (movies.h, users.h, auth.h, tokens.h, outbox.h, ...) and
 * struct rl_conn is only ever named. Acquiring a connection, running a
 * statement and reading its PGresult are package-private (pg_int.h), so
 * no PGresult, and no libpq header, leaves internal/data.
 *
 * Memory (one rule for the whole data layer): whatever a data function
 * allocates — the rows it returns and any scratch it needs for parameters
 * (e.g. an encoded text[]) — comes from the struct rl_arena the caller
 * passes in, and lives as long as that arena. The data layer never creates
 * an arena of its own; a function that allocates nothing takes none.
 * Library-owned temporaries (every PGresult, jansson's text of a mail job)
 * are freed before the function that made them returns, on every path.
 *
 * No call waits on the server without a client-side deadline, so a server
 * that stops answering (TCP up, no replies) cannot hang a thread: opening a
 * connection is bounded by connect_timeout_ms, every other round trip by
 * query_timeout_ms + deadline_slack_ms. Past it the call returns
 * RL_ERR_TIMEOUT (as for the server's own statement timeout, SQLSTATE
 * 57014) and its connection is closed on release and replaced on demand.
 */
#ifndef REDLIGHT_INTERNAL_DATA_POOL_H
#define REDLIGHT_INTERNAL_DATA_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "internal/base/err.h"

struct rl_db_config {
    const char *dsn;
    int max_open;             /* > 0 */
    int max_idle;             /* >= 0, clamped to max_open */
    int64_t max_idle_time_ms; /* 0: idle connections are never closed */
    bool prepared;            /* server-side prepared statements */
    int query_timeout_ms;     /* > 0: statement_timeout on every connection */
    /* >= 0: max_parallel_workers_per_gather on every direct connection
     * (a pooler's server connections keep their own); < 0: PostgreSQL's. */
    int parallel_workers;
    int acquire_timeout_ms; /* how long rl_db_acquire waits */
    /* Client-side deadlines; 0 picks the default in brackets. */
    int connect_timeout_ms; /* [RL_PG_CONNECT_TIMEOUT_MS] connect + set-up */
    int deadline_slack_ms;  /* [RL_PG_SLACK_MS] added to query_timeout_ms */
};

/* Go's sql.DBStats, for /debug/vars. Durations in nanoseconds. */
struct rl_db_stats {
    int max_open;
    int open;
    int in_use;
    int idle;
    int64_t wait_count;
    int64_t wait_duration_ns;
    int64_t max_idle_closed;
    int64_t max_idle_time_closed;
    int64_t max_lifetime_closed;
};

struct rl_db;
struct rl_conn;

/* Creates the pool and opens one connection to prove the DSN works (it stays
 * in the pool). On failure *errmsg (may be NULL) points to a static or
 * thread-local description. Free with rl_db_close. */
enum rl_err rl_db_open(const struct rl_db_config *cfg, struct rl_db **out,
                       const char **errmsg) RL_MUST_CHECK;

/* Closes every idle connection, waits for none, and frees the pool. All
 * connections must have been released. */
void rl_db_close(struct rl_db *db);

/* A lock-free hint: true when an idle connection existed a moment ago, so
 * rl_db_acquire will very likely not wait or connect. Thread-safe. */
bool rl_db_has_idle(struct rl_db *db);

/* True when the pool's DSN goes through a connection pooler such as
 * PgBouncer (found by rl_db_open: conn.h's rl_pg_direct): session state
 * does not hold there, so LISTEN cannot work on that DSN, and the pool
 * sends statement_timeout with every statement and every BEGIN (SET
 * LOCAL) instead of once per connection. Thread-safe (fixed at open). */
bool rl_db_pooled(const struct rl_db *db);

/* Copies the pool statistics. Thread-safe. */
void rl_db_stats(struct rl_db *db, struct rl_db_stats *out);

#endif
