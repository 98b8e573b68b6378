/*
 * authcache.h — a process-local cache of authenticated users, so that an
 * authenticated request costs no round trip for its user and permissions.
 *
 * Keys: the SHA-256 of a stateful token (never the plaintext), or a user
 * id (a JWT's subject). Value: struct rl_auth_user (permissions as a
 * bitmask, nothing arena-backed), with the token's expiry, checked on
 * every hit, and the fill time: an entry older than the TTL is a miss.
 *
 * Invalidation (README "Authentication cache"): database triggers
 * (migration 000010) notify channel redlight_auth with the user id at the
 * commit of every change that can end or narrow a user's authentication;
 * the listener thread (listener.c) evicts that user's entries. A handler
 * that makes such a change evicts locally too, before it replies
 * (rl_authcache_evict_user). While the listener's connection is down the
 * cache is off: every lookup goes to the database and nothing is stored;
 * the whole cache is emptied when the connection is lost and again when
 * LISTEN is back.
 *
 * Fill race: a lookup reads the generation before its query and stores
 * its row only if the generation is unchanged; every eviction, flush and
 * switch on or off bumps the generation first. So a row read before a
 * revocation's eviction is never stored after it.
 *
 * Thread-safe: a fixed table of sets of a few entries each, under striped
 * mutexes; counters are atomic.
 */
#ifndef REDLIGHT_INTERNAL_AUTHCACHE_AUTHCACHE_H
#define REDLIGHT_INTERNAL_AUTHCACHE_AUTHCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/arena/arena.h"
#include "internal/base/err.h"
#include "internal/bearertoken/bearertoken.h"
#include "internal/data/auth.h"
#include "internal/data/pool.h"

/* Defaults of the server's cache. */
#define RL_AUTHCACHE_CAPACITY 4096
#define RL_AUTHCACHE_TTL_MS 60000

struct rl_authcache;

struct rl_authcache_stats {
    bool listening;         /* on: the listener holds LISTEN redlight_auth */
    uint64_t hits;          /* lookups answered from the cache */
    uint64_t misses;        /* lookups that went to the database while on */
    uint64_t bypassed;      /* lookups while off (no listener) */
    uint64_t evictions;     /* entries dropped by an eviction or flush */
    uint64_t flushes;       /* whole-cache flushes */
    uint64_t notifications; /* NOTIFYs received */
    uint64_t reconnects;    /* times LISTEN was (re-)established */
    uint64_t entries;       /* entries held now */
};

/* A cache of at least capacity entries (rounded up to a power of two, at
 * least 64) whose entries expire ttl_ms after their fill. It starts off
 * (see rl_authcache_set_on) and without a listener. RL_ERR_NOMEM. */
enum rl_err rl_authcache_new(size_t capacity, int64_t ttl_ms,
                             struct rl_authcache **out) RL_MUST_CHECK;

/* Stops the listener if it runs (joins its thread), then frees c. NULL is
 * a no-op. */
void rl_authcache_free(struct rl_authcache *c);

/* Starts the listener thread on its own connection to dsn: the cache
 * switches on once LISTEN holds, off whenever the connection is lost.
 * RL_ERR_NOMEM or RL_ERR_IO when the thread cannot start. Once. */
enum rl_err rl_authcache_listen(struct rl_authcache *c,
                                const char *dsn) RL_MUST_CHECK;

/* ---- lookups: the cache in front of internal/data/auth.h -------------- */

/* rl_auth_by_token through the cache: a hit costs no round trip; a miss
 * queries and stores the row (if no eviction came in between). c NULL:
 * straight to the database. */
enum rl_err rl_authcache_by_token(struct rl_authcache *c, struct rl_db *db,
                                  const char *token, size_t len,
                                  struct rl_arena *arena,
                                  struct rl_auth_user *out) RL_MUST_CHECK;

/* rl_auth_by_id through the cache, as rl_authcache_by_token. */
enum rl_err rl_authcache_by_id(struct rl_authcache *c, struct rl_db *db,
                               int64_t id, struct rl_arena *arena,
                               struct rl_auth_user *out) RL_MUST_CHECK;

/* ---- invalidation ------------------------------------------------------ */

/* Drops every entry of user id (tokens and JWT subject) and bumps the
 * generation. c NULL: no-op. */
void rl_authcache_evict_user(struct rl_authcache *c, int64_t id);

/* Drops every entry and bumps the generation. */
void rl_authcache_flush(struct rl_authcache *c);

/* Switches caching on or off (the listener does; tests too). Either way
 * the cache is flushed and the generation bumped first. */
void rl_authcache_set_on(struct rl_authcache *c, bool on);

/* A snapshot of the counters; c NULL gives zeros. */
void rl_authcache_stats(struct rl_authcache *c, struct rl_authcache_stats *out);

/* ---- the table itself, with explicit clocks (lookups and unit tests) --- */

/* The current generation: read it before a lookup's query. */
uint64_t rl_authcache_generation(struct rl_authcache *c);

/* A hit copies the entry into *out and returns true. A miss (none, off,
 * older than the TTL at now_ms on the monotonic clock, or a token whose
 * expiry is not after now_s, epoch seconds) returns false. */
bool rl_authcache_get_token(struct rl_authcache *c,
                            const unsigned char hash[RL_TOKEN_HASH_BYTES],
                            int64_t now_ms, int64_t now_s,
                            struct rl_auth_user *out);
bool rl_authcache_get_user(struct rl_authcache *c, int64_t id, int64_t now_ms,
                           struct rl_auth_user *out);

/* Stores u, filled at now_ms, unless the cache is off or the generation is
 * no longer gen; returns whether it stored. A full set gives up its least
 * recently used entry. */
bool rl_authcache_put_token(struct rl_authcache *c,
                            const unsigned char hash[RL_TOKEN_HASH_BYTES],
                            uint64_t gen, const struct rl_auth_user *u,
                            int64_t now_ms);
bool rl_authcache_put_user(struct rl_authcache *c, uint64_t gen,
                           const struct rl_auth_user *u, int64_t now_ms);

#endif
