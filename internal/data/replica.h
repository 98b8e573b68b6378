/*
 * replica.h — a read replica (-db-replica-dsn) and whether to use it.
 *
 * A background thread checks the replica every `interval` (a quarter of
 * max_lag_ms, within 100 ms .. 1 s), each check bounded by deadlines, and
 * publishes one flag: the request path only reads it (rl_replica_db).
 *
 * Lag is measured in WAL, not with pg_last_xact_replay_timestamp() (which
 * on an idle primary is old even when the replica is caught up): each check
 * first reads the primary's flushed WAL position (pg_current_wal_flush_lsn)
 * and keeps it with the time it was read, then reads the replica's replayed
 * position (pg_last_wal_replay_lsn). The replica has then replayed all the
 * primary had flushed at the newest kept time t whose position it has
 * reached, so it is at most now - t behind; having reached this check's own
 * reading it is caught up (lag 0). A primary that writes nothing keeps the
 * same position, so an idle pair reads as caught up; a replica whose
 * stream broke falls behind as soon as the primary writes.
 *
 * The replica is used while it answers, is in recovery (a promoted or
 * misconfigured "replica" is not one) and lags at most max_lag_ms;
 * otherwise it is skipped (lists go to the primary) until a check finds it
 * good again. Each change is logged once. The replica's pool is opened by
 * the thread the first time the replica is good, so an unreachable replica
 * never stops the server from starting.
 */
#ifndef REDLIGHT_INTERNAL_DATA_REPLICA_H
#define REDLIGHT_INTERNAL_DATA_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "internal/base/err.h"
#include "internal/data/pool.h"

struct rl_replica_config {
    const char *primary_dsn;  /* where lag is measured from */
    struct rl_db_config pool; /* the replica's pool (pool.dsn) */
    int64_t max_lag_ms;       /* > 0 */
};

struct rl_replica_stats {
    bool usable;      /* lists read there now */
    int64_t lag_ms;   /* at the last check; -1: unknown (down) */
    int64_t checks;   /* checks made */
    int64_t failures; /* checks that could not reach the replica/primary */
    int64_t changes;  /* times usable flipped */
    char reason[192]; /* why it is skipped ("" while usable) */
};

struct rl_replica;

/* Starts the checker thread (nothing is connected before it runs); the
 * replica is skipped until the first good check. RL_ERR_INVALID for a bad
 * config; *out is for rl_replica_stop. */
enum rl_err rl_replica_start(const struct rl_replica_config *cfg,
                             struct rl_replica **out) RL_MUST_CHECK;

/* The replica's pool while the replica is usable, else NULL (read the
 * primary). One atomic load: for the request path. r may be NULL. */
struct rl_db *rl_replica_db(struct rl_replica *r);

/* A copy of the state, for /metrics and /debug/vars. r may be NULL (all
 * zero, lag -1). */
void rl_replica_stats(struct rl_replica *r, struct rl_replica_stats *out);

/* Stops and joins the thread, closes the pool (no connection of it may be
 * held), frees r. r may be NULL. */
void rl_replica_stop(struct rl_replica *r);

#endif
