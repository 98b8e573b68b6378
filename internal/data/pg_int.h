/*
 * pg_int.h — package-private to internal/data: connections from the pool,
 * statement execution and PGresult access. Only the .c files of internal/data
 * include it; public headers (pool.h and the model headers) never do, so libpq
 * stays inside the package. Rows are copied out of a PGresult into the
 * caller's structs (strings in the caller's arena, see pool.h) and the
 * result is PQclear()ed before the function that got it returns.
 */
#ifndef REDLIGHT_INTERNAL_DATA_PG_INT_H
#define REDLIGHT_INTERNAL_DATA_PG_INT_H

#include <libpq-fe.h>

#include "internal/base/err.h"
#include "internal/data/conn.h"
#include "internal/data/pool.h"
#include "internal/data/statements.h"

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
