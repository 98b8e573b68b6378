/*
 * ratelimit.c — token buckets as GCRA ("generic cell rate algorithm"): a
 * bucket of `burst` tokens refilled every T = 1/rps seconds is exactly one
 * number per client, its theoretical arrival time `tat`. A request at `now`
 * passes when max(tat, now) + T - now <= burst * T, and then moves tat to
 * max(tat, now) + T. Whole tokens left = (now + burst*T - tat) / T. So an
 * entry is 16 bytes: a 64-bit keyed fingerprint of the client and its tat,
 * in integer nanoseconds (no floating-point drift).
 *
 * Layout: one anonymous mapping of `capacity` entries (pages become resident
 * only when written; transparent huge pages are refused so one client does
 * not make 2 MiB resident), split into `shards` shards, each with its own
 * mutex and counters on its own cache line. A key's SipHash (libsodium
 * crypto_shorthash, random key per process, so nobody can aim many clients
 * at one group) picks the shard, a group of GROUP entries (two cache lines)
 * within it, and is the fingerprint. A lookup scans the group only: no
 * chains, no tombstones, so deleting is clearing an entry.
 *
 * An entry is idle once its bucket has been full for idle_ns (tat + idle_ns
 * <= now): forgetting it then changes no decision, since a new client starts
 * full too. Idle entries are cleared when a lookup meets them, and each
 * shard is swept whole once a minute by the call that finds the sweep due
 * (16,384 entries by default, tens of microseconds; a per-call incremental
 * sweep was measured to cost a cache miss on every call). A new client
 * takes a free or idle slot of its groups, or else replaces the entry with the
 * smallest tat (the fullest bucket) of its two groups — the table never
 * grows.
 *
 * Fingerprints: two clients in the same group collide with probability
 * about 2^-47 per comparison (at most 17 of the 64 bits can be equal by
 * construction, those that chose the shard and group) and would then share
 * a bucket; with a secret hash key
 * this cannot be provoked.
 */
#include "internal/ratelimit/ratelimit.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define GROUP 8
#define NS_PER_S INT64_C(1000000000)
#define SWEEP_EVERY_NS (60 * NS_PER_S)

struct entry {
    uint64_t fp;
    int64_t tat; /* 0: free slot */
};

struct shard {
    _Alignas(64) pthread_mutex_t mu;
    struct entry *slots;
    size_t group_mask; /* groups in this shard - 1 */
    int64_t swept_ns;  /* when the last whole-shard sweep ran */
    size_t used;
    uint64_t rejected;
    uint64_t evicted_idle;
    uint64_t evicted_full;
};

struct rl_limiter {
    int64_t t_ns;   /* emission interval: one token every t_ns */
    int64_t tau_ns; /* burst * t_ns: how far tat may run ahead of now */
    int64_t idle_ns;
    unsigned shard_mask;
    unsigned shard_bits;
    unsigned nshards;
    size_t capacity;
    void *map;
    size_t map_len;
    struct shard *shards;
    unsigned char hashkey[crypto_shorthash_KEYBYTES];
};

static size_t
round_pow2(size_t n)
{
    size_t p = 1;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

enum rl_err
rl_limiter_new(const struct rl_limiter_config *cfg, struct rl_limiter **out)
{
    if (!(cfg->rps >= RL_LIMITER_RPS_MIN && cfg->rps <= RL_LIMITER_RPS_MAX) ||
        cfg->burst < 1 || cfg->burst > RL_LIMITER_BURST_MAX ||
        cfg->idle_ns < 0) {
        return RL_ERR_INVALID;
    }
    unsigned nshards = cfg->shards ? cfg->shards : RL_LIMITER_DEFAULT_SHARDS;
    if ((nshards & (nshards - 1)) != 0 || nshards > 4096) {
        return RL_ERR_INVALID;
    }
    size_t cap = cfg->capacity ? cfg->capacity : RL_LIMITER_DEFAULT_CAPACITY;
    if (cap > ((size_t)1 << 28)) {
        return RL_ERR_INVALID;
    }
    size_t per_shard = round_pow2((cap + nshards - 1) / nshards);
    if (per_shard < GROUP) {
        per_shard = GROUP;
    }

    struct rl_limiter *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return RL_ERR_NOMEM;
    }
    double t = (double)NS_PER_S / cfg->rps;
    l->t_ns = t < 1.0 ? 1 : (int64_t)llround(t);
    l->tau_ns = l->t_ns * (int64_t)cfg->burst;
    l->idle_ns = cfg->idle_ns ? cfg->idle_ns : RL_LIMITER_DEFAULT_IDLE_NS;
    l->nshards = nshards;
    l->shard_mask = nshards - 1;
    while ((1u << l->shard_bits) < nshards) {
        l->shard_bits++;
    }
    l->capacity = per_shard * nshards;
    randombytes_buf(l->hashkey, sizeof(l->hashkey));

    l->map_len = l->capacity * sizeof(struct entry);
    l->map = mmap(NULL, l->map_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (l->map == MAP_FAILED) {
        free(l);
        return RL_ERR_NOMEM;
    }
#ifdef MADV_NOHUGEPAGE
    (void)madvise(l->map, l->map_len, MADV_NOHUGEPAGE); /* advice only */
#endif
    l->shards =
        aligned_alloc(_Alignof(struct shard), nshards * sizeof(struct shard));
    if (l->shards == NULL) {
        munmap(l->map, l->map_len);
        free(l);
        return RL_ERR_NOMEM;
    }
    memset(l->shards, 0, nshards * sizeof(struct shard));
    struct entry *slots = l->map;
    for (unsigned i = 0; i < nshards; i++) {
        struct shard *sh = &l->shards[i];
        pthread_mutex_init(&sh->mu, NULL);
        sh->slots = slots + (size_t)i * per_shard;
        sh->group_mask = per_shard / GROUP - 1;
    }
    *out = l;
    return RL_OK;
}

void
rl_limiter_free(struct rl_limiter *l)
{
    if (l == NULL) {
        return;
    }
    for (unsigned i = 0; i < l->nshards; i++) {
        pthread_mutex_destroy(&l->shards[i].mu);
    }
    free(l->shards);
    munmap(l->map, l->map_len);
    sodium_memzero(l->hashkey, sizeof(l->hashkey));
    free(l);
}

static bool
idle(const struct rl_limiter *l, const struct entry *e, int64_t now)
{
    return e->tat != 0 && e->tat <= now - l->idle_ns;
}

/* Clears the idle entries of group g. Caller holds sh->mu. */
static size_t
sweep_group(const struct rl_limiter *l, struct shard *sh, size_t g, int64_t now)
{
    struct entry *grp = sh->slots + g * GROUP;
    size_t n = 0;
    for (int i = 0; i < GROUP; i++) {
        if (idle(l, &grp[i], now)) {
            grp[i].tat = 0;
            grp[i].fp = 0;
            n++;
        }
    }
    sh->used -= n;
    sh->evicted_idle += n;
    return n;
}

/* Counts the used entries of a group and looks for fp among them. */
static struct entry *
scan(struct entry *grp, uint64_t fp, int *used, struct entry **avail,
     struct entry **stalest)
{
    int n = 0;
    for (int i = 0; i < GROUP; i++) {
        struct entry *e = &grp[i];
        if (e->tat == 0) {
            if (*avail == NULL) {
                *avail = e;
            }
            continue;
        }
        if (e->fp == fp) {
            return e;
        }
        n++;
        if (*stalest == NULL || e->tat < (*stalest)->tat) {
            *stalest = e;
        }
    }
    *used = n;
    return NULL;
}

void
rl_limiter_allow(struct rl_limiter *l, const unsigned char key[16], int64_t now,
                 struct rl_limiter_result *out)
{
    if (now <= 0) {
        now = 1; /* 0 marks a free slot */
    }
    unsigned char hbytes[crypto_shorthash_BYTES];
    crypto_shorthash(hbytes, key, 16, l->hashkey);
    uint64_t h;
    memcpy(&h, hbytes, sizeof(h));
    struct shard *sh = &l->shards[h & l->shard_mask];
    /* Two candidate groups ("power of two choices"): a new client goes to
     * the emptier one, which keeps groups evenly filled up to ~95% load. */
    size_t ga = (size_t)(h >> l->shard_bits) & sh->group_mask;
    size_t gb = (size_t)(h >> 40) & sh->group_mask;
    struct entry *a = sh->slots + ga * GROUP;
    struct entry *b = sh->slots + gb * GROUP;
    /* Start the memory loads before taking the lock, so it is held for
     * compares, not for cache misses. */
    __builtin_prefetch(a);
    __builtin_prefetch((const char *)a + 64);
    __builtin_prefetch(b);
    __builtin_prefetch((const char *)b + 64);

    pthread_mutex_lock(&sh->mu);
    if (now - sh->swept_ns >= SWEEP_EVERY_NS) {
        for (size_t g = 0; g <= sh->group_mask; g++) {
            (void)sweep_group(l, sh, g, now);
        }
        sh->swept_ns = now;
    }
    (void)sweep_group(l, sh, ga, now); /* lazily, the groups we probe */
    if (gb != ga) {
        (void)sweep_group(l, sh, gb, now);
    }
    struct entry *avail_a = NULL;
    struct entry *avail_b = NULL;
    struct entry *stalest = NULL;
    int used_a = 0;
    int used_b = GROUP;
    struct entry *found = scan(a, h, &used_a, &avail_a, &stalest);
    if (found == NULL && gb != ga) {
        found = scan(b, h, &used_b, &avail_b, &stalest);
    }
    if (found == NULL) {
        if (avail_a != NULL || avail_b != NULL) {
            found = avail_b == NULL || (avail_a != NULL && used_a <= used_b)
                        ? avail_a
                        : avail_b;
            sh->used++;
        } else {
            found = stalest;
            sh->evicted_full++;
        }
        found->fp = h;
        found->tat = now; /* a full bucket */
    }

    int64_t tat0 = found->tat > now ? found->tat : now;
    int64_t next = tat0 + l->t_ns;
    bool allowed = next - now <= l->tau_ns;
    if (allowed) {
        found->tat = next;
    } else {
        sh->rejected++;
    }
    rl_gcra_result(allowed, now + l->tau_ns - found->tat, l->t_ns, l->tau_ns,
                   NS_PER_S, out);
    pthread_mutex_unlock(&sh->mu);
}

static int64_t
ceil_div(int64_t v, int64_t per_s)
{
    return v <= 0 ? 0 : (v + per_s - 1) / per_s;
}

void
rl_gcra_result(bool allowed, int64_t slack, int64_t t, int64_t tau,
               int64_t per_s, struct rl_limiter_result *out)
{
    out->allowed = allowed;
    /* Refused: a request passes once slack has grown to t. */
    out->retry_after_s = allowed ? 0 : ceil_div(t - slack, per_s);
    if (!allowed && out->retry_after_s < 1) {
        out->retry_after_s = 1;
    }
    out->remaining = slack / t;
    out->reset_s =
        slack >= tau ? 0 : ceil_div((out->remaining + 1) * t - slack, per_s);
}

size_t
rl_limiter_sweep(struct rl_limiter *l, int64_t now)
{
    size_t n = 0;
    for (unsigned i = 0; i < l->nshards; i++) {
        struct shard *sh = &l->shards[i];
        pthread_mutex_lock(&sh->mu);
        for (size_t g = 0; g <= sh->group_mask; g++) {
            n += sweep_group(l, sh, g, now);
        }
        pthread_mutex_unlock(&sh->mu);
    }
    return n;
}

void
rl_limiter_stats(struct rl_limiter *l, struct rl_limiter_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->capacity = l->capacity;
    for (unsigned i = 0; i < l->nshards; i++) {
        struct shard *sh = &l->shards[i];
        pthread_mutex_lock(&sh->mu);
        out->clients += sh->used;
        out->rejected += sh->rejected;
        out->evicted_idle += sh->evicted_idle;
        out->evicted_full += sh->evicted_full;
        pthread_mutex_unlock(&sh->mu);
    }
}
