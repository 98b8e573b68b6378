/*
 * authcache_int.h — package-private: struct rl_authcache, shared by the
 * table (cache.c) and its listener thread (listener.c). Not for use
 * outside internal/authcache.
 */
#ifndef REDLIGHT_INTERNAL_AUTHCACHE_AUTHCACHE_INT_H
#define REDLIGHT_INTERNAL_AUTHCACHE_AUTHCACHE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/authcache/authcache.h"
#include "internal/base/stop.h"

struct entry;
struct stripe;

struct rl_authcache {
    struct entry *entries; /* nsets * WAYS */
    struct stripe *stripes;
    size_t nsets; /* a power of two */
    int64_t ttl_ms;
    atomic_uint_fast64_t gen;
    atomic_bool on;        /* caching: set only while LISTEN holds */
    atomic_bool listening; /* for the stats */
    atomic_uint_fast64_t hits, misses, bypassed, evictions, flushes,
        notifications, reconnects, nentries;
    /* The listener (listener.c); started is false without one. */
    bool started;
    pthread_t tid;
    char *dsn;
    struct rl_stop stop;
    atomic_bool stopping;
};

/* Stops and joins the listener thread, if one runs, and frees what it
 * owns. Called by rl_authcache_free. */
void rl_authcache_listener_stop(struct rl_authcache *c);

#endif
