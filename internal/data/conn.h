/*
 * conn.h — libpq with deadlines: the one connect-and-set-up shared by the
 * pool, the mail worker and the migrator, and round trips that never wait
 * past a deadline.
 *
 * Why: statement_timeout is enforced by the server. A server that stops
 * answering (frozen, overloaded, a network partition: TCP up, no replies)
 * never enforces it, and a blocking libpq call (PQexec, PQconnectdb) then
 * waits forever. Here every wait is a poll(2) on PQsocket bounded by a
 * deadline on the monotonic clock (rl_mono_ms), and connections run in
 * libpq's non-blocking mode, so even PQfinish's farewell cannot block.
 * The one exception is rl_pg_connectdb, for the migrator: a command-line
 * tool that waits as PQconnectdb and PQexec do (Ctrl-C stops it).
 *
 * A connection whose round trip passed its deadline is still busy with that
 * query: its owner must PQfinish it. No cancel request is sent: PQcancel is
 * a blocking connect and wait of its own (libpq 15 has no asynchronous
 * cancel), and the client deadline is the server's statement_timeout plus
 * slack, so a server that is alive has cancelled the statement itself by
 * then; one that is not cannot take a cancel request either. Closing the
 * socket ends the backend when it next reads or writes.
 *
 * Host names are resolved inside PQconnectPoll with a blocking
 * getaddrinfo(3): use an IP address or a unix socket where even that must
 * be bounded.
 *
 * Every function is thread-safe as long as one PGconn is used by one thread
 * at a time.
 */
#ifndef REDLIGHT_INTERNAL_DATA_CONN_H
#define REDLIGHT_INTERNAL_DATA_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/base/err.h"

/* Added to a statement_timeout for the client-side deadline: time for the
 * server's own "canceling statement due to statement timeout" to arrive. */
#define RL_PG_SLACK_MS 500
/* Default bound of connect + authentication + set-up: a local server
 * answers in milliseconds, a remote one over TLS in well under a second. */
#define RL_PG_CONNECT_TIMEOUT_MS 3000

/* Milliseconds that poll(2) may wait from now_ms to reach deadline_ms: 0
 * once it has passed, at most INT_MAX. Pure. */
int rl_pg_poll_ms(int64_t deadline_ms, int64_t now_ms);

/* now_ms + budget_ms, saturating at INT64_MAX; a budget <= 0 gives now_ms
 * (already expired). Pure. */
int64_t rl_pg_deadline(int64_t now_ms, int64_t budget_ms);

/* The client-side budget of one statement on a connection whose
 * statement_timeout is statement_timeout_ms (> 0): that plus slack_ms, or
 * plus RL_PG_SLACK_MS when slack_ms <= 0. Pure. */
int64_t rl_pg_budget_ms(int statement_timeout_ms, int slack_ms);

/* Connects to dsn (a URI or key=value string; it may override
 * application_name, keepalives_idle and tcp_user_timeout) with
 * PQconnectStartParams/PQconnectPoll, then runs setup_sql (NULL: none) as
 * one simple query, all before deadline_ms. On RL_OK *out is a
 * CONNECTION_OK connection in non-blocking mode with notices ignored;
 * PQfinish it. On failure (RL_ERR_CONN, RL_ERR_TIMEOUT, RL_ERR_NOMEM) err
 * gets one line saying why, and nothing is left open. */
enum rl_err rl_pg_connect(const char *dsn, const char *app_name,
                          const char *setup_sql, int64_t deadline_ms,
                          PGconn **out, char *err, size_t cap) RL_MUST_CHECK;

/* rl_pg_connect for a plain blocking libpq client (the migrator, which
 * uses PQexec): connects as PQconnectdb(dsn) would, with the same results
 * and messages, through the same poll loop:
 *   - dsn is parsed as PQconnectdb parses it: a URI or key=value string; a
 *     bare word is an error ('missing "=" after ...'), not a database name;
 *   - no keepalive or tcp_user_timeout defaults: libpq's (and the DSN's);
 *   - the deadline is libpq's connect_timeout, as the connection resolved
 *     it (the DSN, its service file, PGCONNECT_TIMEOUT; see
 *     rl_pg_connect_timeout_ms): unset or <= 0 waits as long as it takes,
 *     like PQconnectdb. Unlike PQconnectdb it bounds the whole connect, not
 *     each host: a DSN listing several hosts whose first one swallows
 *     packets fails after connect_timeout instead of trying the next (a
 *     host that refuses is passed over at once either way);
 *   - on RL_OK *out is CONNECTION_OK in blocking mode with libpq's default
 *     notice processing (the caller installs its own receiver);
 *   - on failure err gets libpq's whole message without its trailing
 *     newline ("timeout expired" after the deadline, as libpq says it):
 *     RL_ERR_CONN, RL_ERR_TIMEOUT or RL_ERR_NOMEM, and nothing left open.
 * app_name and setup_sql are as for rl_pg_connect (setup_sql bounded by the
 * same deadline). */
enum rl_err rl_pg_connectdb(const char *dsn, const char *app_name,
                            const char *setup_sql, PGconn **out, char *err,
                            size_t cap) RL_MUST_CHECK;

/* libpq's connect_timeout value (NULL: unset) as milliseconds, with
 * libpq's rules: an int in base 10, blanks allowed around it; <= 0 is no
 * limit (*ms = 0); 1 counts as 2 s (libpq's clock has whole seconds).
 * RL_ERR_INVALID for anything else (*ms untouched). Pure. */
enum rl_err rl_pg_connect_timeout_ms(const char *value,
                                     int64_t *ms) RL_MUST_CHECK;

/* After a successful PQsend* on pg: flushes the query and collects every
 * result until the connection is idle again, waiting at most until
 * deadline_ms. Returns
 *   RL_OK          the server answered; *out is its answer (the first
 *                  failed result if any failed, else the last), to be
 *                  PQclear()ed; check PQresultStatus.
 *   RL_ERR_TIMEOUT the deadline passed; the query is still in flight, so
 *                  the connection is unusable: PQfinish it.
 *   RL_ERR_CONN    the connection failed (PQerrorMessage says why).
 * *out is NULL unless RL_OK. */
enum rl_err rl_pg_await(PGconn *pg, int64_t deadline_ms,
                        PGresult **out) RL_MUST_CHECK;

/* A statement through a transaction pooler (PgBouncer, pool_mode =
 * transaction) may run on any server connection, so a session SET made at
 * connect holds for one of them only. Instead the statement goes out in a
 * pipeline behind set_config('statement_timeout', timeout_ms, true): both
 * run in the pipeline's one implicit transaction, on one server connection,
 * the setting ends with it, and it costs no round trip. Use:
 *   rl_pg_send_local_timeout(pg, ms)   enters pipeline mode and sends the
 *                                      set_config (false: connection error);
 *   PQsendQueryParams / PQsendQueryPrepared   the statement itself;
 *   rl_pg_await_pipeline(pg, deadline, &r)    syncs, collects, leaves
 *                                      pipeline mode; *out as rl_pg_await
 *                                      (the first failed result, else the
 *                                      statement's).
 * Only outside an explicit transaction: inside one, BEGIN's SET LOCAL holds
 * (and the pipeline would not end the transaction anyway). */
bool rl_pg_send_local_timeout(PGconn *pg, int timeout_ms) RL_MUST_CHECK;
enum rl_err rl_pg_await_pipeline(PGconn *pg, int64_t deadline_ms,
                                 PGresult **out) RL_MUST_CHECK;

/* Whether pg is a session on a PostgreSQL backend of its own (*direct =
 * true) or goes through a pooler or proxy that multiplexes backends: such
 * a pooler cannot hand the client a backend's key, so the backend PID of
 * the startup reply (PQbackendPID) is not the pg_backend_pid() the server
 * answers. One round trip before deadline_ms. LISTEN and session SETs only
 * work on a direct session. */
enum rl_err rl_pg_direct(PGconn *pg, int64_t deadline_ms,
                         bool *direct) RL_MUST_CHECK;

/* The integer in row, col of r (an int, bigint or epoch column: its text
 * is always one); 0 if the field is NULL or not an integer. */
int64_t rl_pg_int(const PGresult *r, int row, int col);

/* PQsendQuery (one or more statements, no parameters) + rl_pg_await. A
 * failed send is RL_ERR_CONN. */
enum rl_err rl_pg_exec(PGconn *pg, const char *sql, int64_t deadline_ms,
                       PGresult **out) RL_MUST_CHECK;

/* PQsendQueryParams with text parameters and text results +
 * rl_pg_await. lengths may be NULL (NUL-terminated values). */
enum rl_err rl_pg_exec_params(PGconn *pg, const char *sql, int nparams,
                              const char *const *values, const int *lengths,
                              int64_t deadline_ms,
                              PGresult **out) RL_MUST_CHECK;

/* The notifications (LISTEN) that have arrived on pg, without waiting:
 * reads what the socket holds (PQconsumeInput) and passes each pending
 * notification's channel and payload to fn (NULL: discard them). Returns
 * how many there were, or -1 when the connection is gone. */
int rl_pg_notifications(PGconn *pg,
                        void (*fn)(void *ctx, const char *channel,
                                   const char *payload),
                        void *ctx) RL_MUST_CHECK;

#endif
