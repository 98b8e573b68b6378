/*
 * ratelimit.h — a per-client token bucket with bounded memory.
 *
 * Clients are 16-byte keys (an IP address as struct rl_ip keeps it). Each has
 * a bucket of `burst` tokens refilled at `rps` tokens a second; a request
 * takes one token or is refused. Memory is a fixed table allocated once
 * (RL_LIMITER_DEFAULT_CAPACITY entries of 16 bytes unless configured), so a
 * flood of distinct clients never grows it: clients idle for 3 minutes are
 * forgotten, and when a new client finds no free slot the stalest client of
 * its two candidate groups is replaced (it will start again with a full
 * bucket).
 *
 * Thread-safe: the table is split into shards, each with its own mutex, so
 * threads rarely wait on each other. Knows nothing of HTTP.
 */
#ifndef REDLIGHT_INTERNAL_RATELIMIT_RATELIMIT_H
#define REDLIGHT_INTERNAL_RATELIMIT_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/base/err.h"

#define RL_LIMITER_DEFAULT_CAPACITY ((size_t)1 << 20)
#define RL_LIMITER_DEFAULT_SHARDS 64
#define RL_LIMITER_DEFAULT_IDLE_NS ((int64_t)3 * 60 * 1000000000)

/* Accepted ranges, so every time computation fits in 64 bits. */
#define RL_LIMITER_RPS_MIN 0.001
#define RL_LIMITER_RPS_MAX 1000000.0
#define RL_LIMITER_BURST_MAX 1000000

struct rl_limiter_config {
    double rps;      /* tokens per second, RL_LIMITER_RPS_MIN..MAX */
    int burst;       /* bucket size, 1..RL_LIMITER_BURST_MAX */
    size_t capacity; /* most clients kept; 0 = RL_LIMITER_DEFAULT_CAPACITY,
                        at most 2^28. Rounded up to a power of two, at
                        least 8 a shard. */
    unsigned shards; /* 0 = RL_LIMITER_DEFAULT_SHARDS; a power of two */
    int64_t idle_ns; /* forget a client whose bucket has been full this
                        long; 0 = RL_LIMITER_DEFAULT_IDLE_NS */
};

struct rl_limiter_result {
    bool allowed;
    int64_t remaining;     /* whole tokens left after this request */
    int64_t reset_s;       /* seconds until one more token is back (rounded
                              up); 0 when the bucket is full */
    int64_t retry_after_s; /* refused: seconds until a request would pass
                              (rounded up, >= 1); allowed: 0 */
};

struct rl_limiter_stats {
    size_t capacity;
    size_t clients;        /* entries held (idle ones not yet swept count) */
    uint64_t rejected;     /* refused requests */
    uint64_t evicted_idle; /* forgotten after being idle */
    uint64_t evicted_full; /* replaced because their group was full */
};

struct rl_limiter;

/* Creates a limiter. The table is allocated up front but its pages become
 * resident only when used. Returns RL_OK, RL_ERR_INVALID (a value out of
 * range) or RL_ERR_NOMEM. Free with rl_limiter_free. Call sodium_init()
 * first (the table's hash key comes from randombytes_buf). */
enum rl_err rl_limiter_new(const struct rl_limiter_config *cfg,
                           struct rl_limiter **out) RL_MUST_CHECK;

/* NULL is a no-op. No other thread may be using l. */
void rl_limiter_free(struct rl_limiter *l);

/* Takes one token from key's bucket at time now_ns (any monotonic clock in
 * nanoseconds, > 0; injected so tests control time) and fills *out.
 * Thread-safe. */
void rl_limiter_allow(struct rl_limiter *l, const unsigned char key[16],
                      int64_t now_ns, struct rl_limiter_result *out);

/* The result of one GCRA decision, in any time unit (per_s of them a
 * second): allowed or not, slack = now + tau - tat after the decision
 * (how far the bucket's tat is from running over), t the emission
 * interval and tau = burst * t. Shared by this limiter and the Redis one
 * (redis.h), so both answer the same headers. */
void rl_gcra_result(bool allowed, int64_t slack, int64_t t, int64_t tau,
                    int64_t per_s, struct rl_limiter_result *out);

/* Forgets every client idle at now_ns, in all shards (one lock at a time).
 * Returns how many were forgotten. Thread-safe. rl_limiter_allow already
 * sweeps each shard once a minute, so calling this is optional. */
size_t rl_limiter_sweep(struct rl_limiter *l, int64_t now_ns);

/* Copies the counters (one shard lock at a time). Thread-safe. */
void rl_limiter_stats(struct rl_limiter *l, struct rl_limiter_stats *out);

#endif
