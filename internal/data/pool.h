/*
 * pool.h — a bounded libpq connection pool.
 *
 * One struct rl_db per process, shared by every thread: its lock is
 * rl_db.mu (internal). A struct rl_conn belongs to exactly one thread between
 * rl_db_acquire and rl_db_release.
 *
 * Every connection runs with statement_timeout = query_timeout_ms, UTC time
 * zone and ISO dates. Statements come from the table in statements.h and are
 * prepared on a connection the first time it runs them (unless
 * cfg.prepared is false, for PgBouncer in transaction mode).
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

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal/base/err.h"
#include "internal/data/statements.h"

struct rl_db_config {
    const char *dsn;
    int max_open;             /* > 0 */
    int max_idle;             /* >= 0, clamped to max_open */
    int64_t max_idle_time_ms; /* 0: idle connections are never closed */
    bool prepared;            /* server-side prepared statements */
    int query_timeout_ms;     /* > 0: statement_timeout on every connection */
    int acquire_timeout_ms;   /* how long rl_db_acquire waits */
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

/* Hands out a healthy connection: an idle one (checked for a dead peer
 * without a round trip), or a new one while fewer than max_open are open
 * (opened within connect_timeout_ms, else RL_ERR_CONN), or waits up to
 * acquire_timeout_ms for a release (else RL_ERR_POOL_TIMEOUT).
 * Thread-safe. */
enum rl_err rl_db_acquire(struct rl_db *db, struct rl_conn **out) RL_MUST_CHECK;

/* Returns a connection: rolls back a transaction left open (within the
 * round-trip deadline), and drops the connection instead when it is broken
 * (lost, or a round trip passed its deadline) or beyond max_idle.
 * Thread-safe. NULL is a no-op. */
void rl_db_release(struct rl_db *db, struct rl_conn *c);

/* A lock-free hint: true when an idle connection existed a moment ago, so
 * rl_db_acquire will very likely not wait or connect. Thread-safe. */
bool rl_db_has_idle(struct rl_db *db);

/* Copies the pool statistics. Thread-safe. */
void rl_db_stats(struct rl_db *db, struct rl_db_stats *out);

/* Runs statement `id` with text parameters (values[i] NULL = SQL NULL;
 * lengths may be NULL for NUL-terminated strings) and returns its result in
 * *res (caller PQclear()s it) — only on RL_OK. Errors map SQLSTATE:
 * 57014 → RL_ERR_TIMEOUT, a lost connection → RL_ERR_CONN, others →
 * RL_ERR_DB (logged with the statement name, never the parameters). No
 * answer within query_timeout_ms + deadline_slack_ms is RL_ERR_TIMEOUT too,
 * and leaves c broken (never retried: the server may still run it).
 * A read-only statement that finds its connection dead is retried once on a
 * fresh connection. For internal/data only: no PGresult leaves that package.*/
enum rl_err rl_db_exec(struct rl_conn *c, enum rl_stmt id,
                       const char *const *values, const int *lengths,
                       PGresult **res) RL_MUST_CHECK;

/* rl_db_exec for a statement outside the fixed table (generated variants);
 * def must outlive the pool and have a unique slot. */
enum rl_err rl_db_exec_def(struct rl_conn *c, const struct rl_stmt_def *def,
                           const char *const *values, const int *lengths,
                           PGresult **res) RL_MUST_CHECK;

/* One statement on a pooled connection, outside any transaction:
 * rl_db_acquire + rl_db_exec(_def) + rl_db_release. *res as rl_db_exec. */
enum rl_err rl_db_run(struct rl_db *db, enum rl_stmt id,
                      const char *const *values, PGresult **res) RL_MUST_CHECK;
enum rl_err rl_db_run_def(struct rl_db *db, const struct rl_stmt_def *def,
                          const char *const *values,
                          PGresult **res) RL_MUST_CHECK;

/* The SQLSTATE of the last failed rl_db_exec on this connection ("" if
 * none), and the constraint name it named (or ""). */
const char *rl_db_last_sqlstate(const struct rl_conn *c);
const char *rl_db_last_constraint(const struct rl_conn *c);

/* BEGIN / COMMIT / ROLLBACK on c, each within the round-trip deadline
 * (errors as rl_db_exec). */
enum rl_err rl_db_begin(struct rl_conn *c) RL_MUST_CHECK;
enum rl_err rl_db_commit(struct rl_conn *c) RL_MUST_CHECK;
void rl_db_rollback(struct rl_conn *c);

#endif
