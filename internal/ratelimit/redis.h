/*
 * redis.h — the rate limiter's buckets in Redis, shared by every node that
 * uses the same Redis (CONTRACT §13.2 "Shared rate limit").
 *
 * The same GCRA as ratelimit.c, run by one Lua script inside Redis (loaded
 * with SCRIPT LOAD on each new connection, called with EVALSHA: one round
 * trip a request, atomic across nodes), on Redis's own clock (TIME), so
 * the nodes' clocks do not matter. A bucket is one key,
 * RL_REDIS_KEY_PREFIX + the client's address as text ("redlight:rl:
 * 192.0.2.1", "redlight:rl:2001:db8:1:2::" for an IPv6 /64), holding its
 * tat in integer microseconds (Redis's TIME resolution, exact in Lua's
 * doubles), and expiring when its bucket is full again.
 *
 * Every call is bounded: connect and command timeouts of
 * RL_REDIS_TIMEOUT_MS. When Redis cannot answer (connect refused or timed
 * out, a command timed out, an error reply), rl_redis_limiter_allow says
 * so and the caller decides (fall back to the local limiter, or refuse);
 * the limiter then stops trying for a while — 100 ms doubling to 5 s —
 * so a Redis that is down costs nothing a request, and one caller probes
 * it when the wait is over. Each change of state is logged once.
 *
 * Connections: a small set (one per I/O thread is enough), each slot with
 * its own mutex; a caller takes the first free slot from its own starting
 * point, so threads rarely wait on each other. Knows nothing of HTTP.
 */
#ifndef REDLIGHT_INTERNAL_RATELIMIT_REDIS_H
#define REDLIGHT_INTERNAL_RATELIMIT_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/base/err.h"
#include "internal/ratelimit/ratelimit.h"

#define RL_REDIS_TIMEOUT_MS 50
#define RL_REDIS_BACKOFF_MIN_MS 100
#define RL_REDIS_BACKOFF_MAX_MS 5000
#define RL_REDIS_KEY_PREFIX "redlight:rl:"
#define RL_REDIS_MAX_CONNS 64

/* Longest host name, Unix socket path and password kept (with the NUL). */
#define RL_REDIS_HOST_MAX 256
#define RL_REDIS_PATH_MAX 108 /* sizeof(sun_path) */
#define RL_REDIS_SECRET_MAX 256

/* A parsed -limiter-redis URL. */
struct rl_redis_url {
    bool unix_socket;
    char host[RL_REDIS_HOST_MAX];       /* tcp: name or address, no brackets */
    int port;                           /* tcp: 1..65535, 6379 when not given */
    char path[RL_REDIS_PATH_MAX];       /* unix: absolute path */
    char username[RL_REDIS_SECRET_MAX]; /* "" = none (AUTH password) */
    char password[RL_REDIS_SECRET_MAX]; /* "" = no AUTH */
    int db;                             /* SELECT db when > 0 */
};

/* Parses `redis://[[user]:password@]host[:port][/db]` (host a name, an
 * IPv4 address or a bracketed IPv6 address; user and password
 * percent-decoded) or `unix:///absolute/path`. Anything else — another
 * scheme (rediss:// included: no TLS), a query, an empty host, a port or
 * db that is not a plain number in range, a bad %-escape, a path too long
 * — is RL_ERR_INVALID with *why (static text, never the password) saying
 * what. Thread-safe. */
enum rl_err rl_redis_url_parse(const char *s, struct rl_redis_url *out,
                               const char **why) RL_MUST_CHECK;

struct rl_redis_limiter_config {
    const struct rl_redis_url *url;
    double rps; /* as struct rl_limiter_config */
    int burst;
    int conns;          /* connection slots, 1..RL_REDIS_MAX_CONNS */
    int64_t timeout_ms; /* connect and command; 0 = RL_REDIS_TIMEOUT_MS */
};

struct rl_redis_limiter_stats {
    bool up;              /* the last call reached Redis */
    uint64_t decided;     /* calls Redis answered */
    uint64_t rejected;    /* of which refused (429) */
    uint64_t unavailable; /* calls it could not answer (caller decided) */
    uint64_t errors;      /* failed connects, timeouts, error replies */
    uint64_t connects;    /* connections made (script loaded) */
    uint64_t downs;       /* changes from up to down */
    uint64_t waits;       /* calls that found every slot busy */
};

struct rl_redis_limiter;

/* Creates the limiter and its host lookup (a name is resolved once, here,
 * so no request waits on DNS), then tries one connection, bounded by the
 * timeout, to report Redis's state at start-up; Redis being unreachable is
 * not an error (the limiter starts down and retries). Returns RL_OK,
 * RL_ERR_INVALID (a value out of range, a host that does not resolve) or
 * RL_ERR_NOMEM. Free with rl_redis_limiter_free. */
enum rl_err rl_redis_limiter_new(const struct rl_redis_limiter_config *cfg,
                                 struct rl_redis_limiter **out) RL_MUST_CHECK;

/* NULL is a no-op. No other thread may be using l. */
void rl_redis_limiter_free(struct rl_redis_limiter *l);

/* Takes one token from key's bucket (the 16-byte struct rl_ip) and fills
 * *out as rl_limiter_allow does. Returns RL_OK, or RL_ERR_CONN when Redis
 * could not answer within the timeout, or is in its backoff after a
 * failure (*out untouched). Thread-safe. Every socket operation is bounded
 * by the timeout: one round trip normally; when a connection has to be
 * made, the connect and its set-up (AUTH, SELECT, SCRIPT LOAD) too, and a
 * second EVALSHA after NOSCRIPT. A caller that finds every slot busy waits
 * for one, which is bounded the same way. */
enum rl_err rl_redis_limiter_allow(struct rl_redis_limiter *l,
                                   const unsigned char key[16],
                                   struct rl_limiter_result *out) RL_MUST_CHECK;

/* Copies the counters. Thread-safe. */
void rl_redis_limiter_stats(struct rl_redis_limiter *l,
                            struct rl_redis_limiter_stats *out);

#endif
