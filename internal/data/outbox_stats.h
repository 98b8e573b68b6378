/*
 * outbox_stats.h — how many mail jobs wait and how many are dead, for the
 * /metrics gauges. Read-only; the outbox itself is outbox.h and
 * internal/mailer.
 */
#ifndef REDLIGHT_INTERNAL_DATA_OUTBOX_STATS_H
#define REDLIGHT_INTERNAL_DATA_OUTBOX_STATS_H

#include <stdint.h>

#include "internal/base/err.h"
#include "internal/data/pool.h"

struct rl_outbox_counts {
    int64_t pending; /* status 'pending': not sent yet (due or backing off) */
    int64_t dead;    /* status 'dead': given up, waiting for an operator */
};

/* Counts the jobs by status with one query on a pooled connection.
 * Returns RL_OK or an rl_db_acquire / rl_db_exec error. Thread-safe.
 * (Pending jobs have a partial index; dead ones are counted by scanning
 * mail_outbox, which grows with sent jobs — fine at a scrape every 15 s
 * for a table of up to a few hundred thousand rows.) */
enum rl_err rl_outbox_counts(struct rl_db *db,
                             struct rl_outbox_counts *out) RL_MUST_CHECK;

#endif
