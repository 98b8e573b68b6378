/*
 * cache.c — the table of the authentication cache (authcache.h): sets of
 * WAYS entries, a key's set chosen by its hash, least recently used way
 * replaced when the set is full. NSTRIPES mutexes guard the sets (set i
 * under stripe i % NSTRIPES), so the I/O threads rarely meet.
 *
 * Owns: the entries and the stripes (calloc'd; untouched pages stay
 * unmapped until used) and the listener (listener.c), which it stops
 * before freeing anything.
 *
 * Ordering: invalidation bumps the generation (seq_cst) before it takes
 * any stripe; a store checks the generation under its stripe. Either the
 * store came first and the scan finds its entry, or the bump is visible to
 * it through the stripe's mutex and it stores nothing.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/authcache/authcache.h"
#include "internal/authcache/authcache_int.h"
#include "internal/base/clock.h"

#define WAYS 4
#define NSTRIPES 64
#define MIN_CAPACITY (WAYS * NSTRIPES)

enum kind { EMPTY, TOKEN, USER };

struct entry {
    unsigned char key[RL_TOKEN_HASH_BYTES]; /* token hash; user: id */
    unsigned char kind;                     /* enum kind */
    uint64_t used;                          /* the stripe's tick at last use */
    int64_t filled_ms;
    struct rl_auth_user u;
};

struct stripe {
    _Alignas(64) pthread_mutex_t mu;
    uint64_t tick;
};

static uint64_t
mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* The key of a user id: its 8 bytes, the rest zero. */
static void
user_key(int64_t id, unsigned char key[RL_TOKEN_HASH_BYTES])
{
    memset(key, 0, RL_TOKEN_HASH_BYTES);
    memcpy(key, &id, sizeof(id));
}

static size_t
set_of(const struct rl_authcache *c, const unsigned char *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof(h)); /* a SHA-256 is uniform; an id is not */
    return (size_t)(mix64(h) & (c->nsets - 1));
}

static struct stripe *
stripe_of(struct rl_authcache *c, size_t set)
{
    return &c->stripes[set % NSTRIPES];
}

enum rl_err
rl_authcache_new(size_t capacity, int64_t ttl_ms, struct rl_authcache **out)
{
    size_t n = MIN_CAPACITY;
    while (n < capacity && n < (SIZE_MAX >> 2)) {
        n <<= 1;
    }
    struct rl_authcache *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return RL_ERR_NOMEM;
    }
    c->entries = calloc(n, sizeof(struct entry));
    c->stripes = calloc(NSTRIPES, sizeof(struct stripe));
    if (c->entries == NULL || c->stripes == NULL) {
        free(c->entries);
        free(c->stripes);
        free(c);
        return RL_ERR_NOMEM;
    }
    for (size_t i = 0; i < NSTRIPES; i++) {
        pthread_mutex_init(&c->stripes[i].mu, NULL);
    }
    c->nsets = n / WAYS;
    c->ttl_ms = ttl_ms;
    atomic_init(&c->gen, 1);
    atomic_init(&c->on, false);
    atomic_init(&c->listening, false);
    atomic_init(&c->stopping, false);
    rl_stop_none(&c->stop);
    *out = c;
    return RL_OK;
}

void
rl_authcache_free(struct rl_authcache *c)
{
    if (c == NULL) {
        return;
    }
    rl_authcache_listener_stop(c);
    for (size_t i = 0; i < NSTRIPES; i++) {
        pthread_mutex_destroy(&c->stripes[i].mu);
    }
    free(c->stripes);
    free(c->entries);
    free(c);
}

uint64_t
rl_authcache_generation(struct rl_authcache *c)
{
    return atomic_load(&c->gen);
}

/* A hit in set for (kind, key): the entry, its use recorded; NULL for a
 * miss. An entry past its TTL is dropped on the way. Under the stripe. */
static struct entry *
find(struct rl_authcache *c, struct stripe *st, size_t set, enum kind kind,
     const unsigned char *key, int64_t now_ms)
{
    struct entry *ways = &c->entries[set * WAYS];
    for (int i = 0; i < WAYS; i++) {
        struct entry *e = &ways[i];
        if (e->kind != kind || memcmp(e->key, key, RL_TOKEN_HASH_BYTES) != 0) {
            continue;
        }
        if (now_ms - e->filled_ms >= c->ttl_ms) {
            e->kind = EMPTY;
            atomic_fetch_sub(&c->nentries, 1);
            return NULL;
        }
        e->used = ++st->tick;
        return e;
    }
    return NULL;
}

static bool
get(struct rl_authcache *c, enum kind kind, const unsigned char *key,
    int64_t now_ms, int64_t now_s, struct rl_auth_user *out)
{
    if (!atomic_load(&c->on)) {
        atomic_fetch_add(&c->bypassed, 1);
        return false;
    }
    size_t set = set_of(c, key);
    struct stripe *st = stripe_of(c, set);
    pthread_mutex_lock(&st->mu);
    struct entry *e = find(c, st, set, kind, key, now_ms);
    bool hit = e != NULL && now_s < e->u.token_expiry;
    if (hit) {
        *out = e->u;
    }
    pthread_mutex_unlock(&st->mu);
    atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
    return hit;
}

static bool
put(struct rl_authcache *c, enum kind kind, const unsigned char *key,
    uint64_t gen, const struct rl_auth_user *u, int64_t now_ms)
{
    size_t set = set_of(c, key);
    struct stripe *st = stripe_of(c, set);
    bool stored = false;
    pthread_mutex_lock(&st->mu);
    if (atomic_load(&c->on) && atomic_load(&c->gen) == gen) {
        struct entry *e = find(c, st, set, kind, key, now_ms);
        if (e == NULL) {
            struct entry *ways = &c->entries[set * WAYS];
            e = &ways[0];
            for (int i = 0; i < WAYS && e->kind != EMPTY; i++) {
                if (ways[i].kind == EMPTY || ways[i].used < e->used) {
                    e = &ways[i];
                }
            }
            if (e->kind == EMPTY) {
                atomic_fetch_add(&c->nentries, 1);
            }
            e->kind = (unsigned char)kind;
            memcpy(e->key, key, RL_TOKEN_HASH_BYTES);
            e->used = ++st->tick;
        }
        e->filled_ms = now_ms;
        e->u = *u;
        stored = true;
    }
    pthread_mutex_unlock(&st->mu);
    return stored;
}

bool
rl_authcache_get_token(struct rl_authcache *c,
                       const unsigned char hash[RL_TOKEN_HASH_BYTES],
                       int64_t now_ms, int64_t now_s, struct rl_auth_user *out)
{
    return get(c, TOKEN, hash, now_ms, now_s, out);
}

bool
rl_authcache_get_user(struct rl_authcache *c, int64_t id, int64_t now_ms,
                      struct rl_auth_user *out)
{
    unsigned char key[RL_TOKEN_HASH_BYTES];
    user_key(id, key);
    return get(c, USER, key, now_ms, INT64_MIN, out);
}

bool
rl_authcache_put_token(struct rl_authcache *c,
                       const unsigned char hash[RL_TOKEN_HASH_BYTES],
                       uint64_t gen, const struct rl_auth_user *u,
                       int64_t now_ms)
{
    return put(c, TOKEN, hash, gen, u, now_ms);
}

bool
rl_authcache_put_user(struct rl_authcache *c, uint64_t gen,
                      const struct rl_auth_user *u, int64_t now_ms)
{
    unsigned char key[RL_TOKEN_HASH_BYTES];
    user_key(u->id, key);
    struct rl_auth_user v = *u;
    v.token_expiry = INT64_MAX; /* a JWT's own exp is checked by jwt.c */
    return put(c, USER, key, gen, &v, now_ms);
}

/* Bumps the generation, then drops every entry (all: true) or user id's. */
static void
invalidate(struct rl_authcache *c, bool all, int64_t id)
{
    atomic_fetch_add(&c->gen, 1);
    uint64_t dropped = 0;
    for (size_t s = 0; s < NSTRIPES; s++) {
        struct stripe *st = &c->stripes[s];
        pthread_mutex_lock(&st->mu);
        for (size_t set = s; set < c->nsets; set += NSTRIPES) {
            struct entry *ways = &c->entries[set * WAYS];
            for (int i = 0; i < WAYS; i++) {
                if (ways[i].kind != EMPTY && (all || ways[i].u.id == id)) {
                    ways[i].kind = EMPTY;
                    dropped++;
                }
            }
        }
        pthread_mutex_unlock(&st->mu);
    }
    atomic_fetch_sub(&c->nentries, dropped);
    atomic_fetch_add(&c->evictions, dropped);
}

void
rl_authcache_evict_user(struct rl_authcache *c, int64_t id)
{
    if (c != NULL) {
        invalidate(c, false, id);
    }
}

void
rl_authcache_flush(struct rl_authcache *c)
{
    invalidate(c, true, 0);
    atomic_fetch_add(&c->flushes, 1);
}

void
rl_authcache_set_on(struct rl_authcache *c, bool on)
{
    if (!on) {
        atomic_store(&c->on, false);
    }
    rl_authcache_flush(c);
    if (on) {
        atomic_store(&c->on, true);
    }
}

void
rl_authcache_stats(struct rl_authcache *c, struct rl_authcache_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (c == NULL) {
        return;
    }
    out->listening = atomic_load(&c->listening);
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->bypassed = atomic_load(&c->bypassed);
    out->evictions = atomic_load(&c->evictions);
    out->flushes = atomic_load(&c->flushes);
    out->notifications = atomic_load(&c->notifications);
    out->reconnects = atomic_load(&c->reconnects);
    out->entries = atomic_load(&c->nentries);
}

/* ---- lookups ------------------------------------------------------------ */

enum rl_err
rl_authcache_by_token(struct rl_authcache *c, struct rl_db *db,
                      const char *token, size_t len, struct rl_arena *arena,
                      struct rl_auth_user *out)
{
    unsigned char hash[RL_TOKEN_HASH_BYTES];
    rl_token_hash(token, len, hash);
    if (c == NULL) {
        return rl_auth_by_token_hash(db, hash, arena, out);
    }
    int64_t now_ms = rl_mono_ms();
    int64_t now_s = (int64_t)time(NULL);
    if (get(c, TOKEN, hash, now_ms, now_s, out)) {
        return RL_OK;
    }
    uint64_t gen = rl_authcache_generation(c);
    enum rl_err e = rl_auth_by_token_hash(db, hash, arena, out);
    if (e == RL_OK && now_s < out->token_expiry) {
        (void)put(c, TOKEN, hash, gen, out, now_ms);
    }
    return e;
}

enum rl_err
rl_authcache_by_id(struct rl_authcache *c, struct rl_db *db, int64_t id,
                   struct rl_arena *arena, struct rl_auth_user *out)
{
    if (c == NULL) {
        return rl_auth_by_id(db, id, arena, out);
    }
    int64_t now_ms = rl_mono_ms();
    if (rl_authcache_get_user(c, id, now_ms, out)) {
        return RL_OK;
    }
    uint64_t gen = rl_authcache_generation(c);
    enum rl_err e = rl_auth_by_id(db, id, arena, out);
    if (e == RL_OK) {
        (void)rl_authcache_put_user(c, gen, out, now_ms);
    }
    return e;
}
