/*
 * probe.h — is the database reachable? A background thread answers, so
 * that readiness (GET /readyz) reads one atomic and never waits on the
 * database itself.
 *
 * The probe holds one connection of its own (application_name
 * redlight-probe, outside the pool, so a busy pool neither delays it nor is
 * taken from) and, every RL_DB_PROBE_INTERVAL_MS, runs SELECT 1 on it
 * within RL_DB_PROBE_TIMEOUT_MS. Between probes it watches the
 * connection's socket, so a server that closes it (shut down, restarted,
 * crashed: a FIN or an admin-shutdown message) is noticed at once. How
 * quickly the answer changes:
 *   - a server that stops or refuses: within milliseconds (the socket
 *     closes; the reconnect that follows is refused);
 *   - a server that stops answering (frozen, partitioned: TCP up, no
 *     replies): within RL_DB_PROBE_INTERVAL_MS + RL_DB_PROBE_TIMEOUT_MS;
 *   - back again: within RL_DB_PROBE_INTERVAL_MS of accepting connections
 *     (+ RL_DB_PROBE_TIMEOUT_MS after a freeze, the pending connect).
 * A probe connection lost on its own (pg_terminate_backend, a pooler
 * restart) is replaced at once without reporting the database down, unless
 * the reconnect fails too. Each change of state is logged once.
 *
 * Thread-safety: rl_db_probe_reachable from any thread; start and stop
 * from one (main.c).
 */
#ifndef REDLIGHT_INTERNAL_DATA_PROBE_H
#define REDLIGHT_INTERNAL_DATA_PROBE_H

#include <stdbool.h>

#include "internal/base/err.h"

#define RL_DB_PROBE_INTERVAL_MS 1000
#define RL_DB_PROBE_TIMEOUT_MS 2000

struct rl_db_probe;

/* Starts the probe thread on dsn (copied). It starts out reachable: call
 * it once the pool has proved the DSN (rl_db_open). RL_ERR_NOMEM or
 * RL_ERR_IO when the thread cannot start. Stop with rl_db_probe_stop. */
enum rl_err rl_db_probe_start(const char *dsn,
                              struct rl_db_probe **out) RL_MUST_CHECK;

/* Whether the last probe reached the database (one atomic load).
 * Thread-safe; p NULL (no probe) is reachable. */
bool rl_db_probe_reachable(const struct rl_db_probe *p);

/* Stops the thread (it notices within a poll), closes its connection,
 * frees p. NULL is a no-op. */
void rl_db_probe_stop(struct rl_db_probe *p);

#endif
