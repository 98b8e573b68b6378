/*
 * ratelimit_bench.c — `make bench/ratelimit`: what internal/ratelimit costs
 * at a million clients.
 *
 *   1. VmRSS of the process before and after creating the default limiter
 *      (1,048,576 entries), after one million distinct clients arrive (one
 *      request each), and after a full sweep once they are idle;
 *   2. ns per call, one thread: new clients (insert), then known clients
 *      (random lookups among the million);
 *   3. ns per call and total calls/s with 1, 2, 4 and 8 threads on known
 *      clients, with the default 64 shards and with 1 shard (one mutex: the
 *      contention the shards avoid).
 *
 * Prints a table; exits 1 if the limiter cannot be created or a number is
 * absurd (RSS growth above the table size). No database, no network.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal/ratelimit/ratelimit.h"

#define CLIENTS 1000000u
#define LOOKUPS 4000000u

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* VmRSS of this process in KiB, from /proc/self/status. */
static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static void
key_of(uint32_t n, unsigned char key[16])
{
    memset(key, 0, 16);
    key[10] = 0xff;
    key[11] = 0xff;
    memcpy(key + 12, &n, 4);
}

/* xorshift32: a cheap deterministic stream of client numbers. */
static uint32_t
next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

struct job {
    struct rl_limiter *l;
    uint32_t seed;
    uint32_t clients; /* keys are drawn from 0..clients-1 */
    unsigned calls;
    int64_t t0;
    unsigned allowed;
};

static void *
lookups(void *arg)
{
    struct job *j = arg;
    unsigned char k[16];
    struct rl_limiter_result r;
    for (unsigned i = 0; i < j->calls; i++) {
        key_of(next_rand(&j->seed) % j->clients, k);
        /* 1 ms of simulated time per call keeps buckets refilling, so the
         * mix is mostly allowed, as in real traffic. */
        rl_limiter_allow(j->l, k, j->t0 + (int64_t)i * 1000000, &r);
        j->allowed += r.allowed;
    }
    return NULL;
}

/* Runs `threads` threads of LOOKUPS/threads calls each on clients drawn
 * from 0..clients-1; returns ns/call as each thread sees it (wall time x
 * threads / calls) and the total calls/s. */
static double
run_once(struct rl_limiter *l, int threads, uint32_t clients, double *cps)
{
    pthread_t t[8];
    struct job jobs[8];
    unsigned per = LOOKUPS / (unsigned)threads;
    int64_t start = now_ns();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){.l = l,
                               .seed = 2463534242u + (uint32_t)i * 7919u,
                               .clients = clients,
                               .calls = per,
                               .t0 = INT64_C(1000000000000)};
        if (pthread_create(&t[i], NULL, lookups, &jobs[i]) != 0) {
            return -1;
        }
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
    }
    int64_t wall = now_ns() - start;
    *cps = (double)per * threads / ((double)wall / 1e9);
    return (double)wall * threads / ((double)per * threads);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of ROUNDS runs: the machine is shared, single runs are
 * noisy. */
#define ROUNDS 5
static double
run_threads(struct rl_limiter *l, int threads, uint32_t clients, double *cps)
{
    double ns[ROUNDS];
    double c[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        ns[i] = run_once(l, threads, clients, &c[i]);
    }
    qsort(ns, ROUNDS, sizeof(ns[0]), cmp_double);
    qsort(c, ROUNDS, sizeof(c[0]), cmp_double);
    *cps = c[ROUNDS / 2];
    return ns[ROUNDS / 2];
}

static struct rl_limiter *
filled(unsigned shards)
{
    struct rl_limiter_config cfg = {.rps = 2, .burst = 4, .shards = shards};
    struct rl_limiter *l = NULL;
    if (rl_limiter_new(&cfg, &l) != RL_OK) {
        return NULL;
    }
    unsigned char k[16];
    struct rl_limiter_result r;
    for (uint32_t i = 0; i < CLIENTS; i++) {
        key_of(i, k);
        rl_limiter_allow(l, k, INT64_C(1000000000000), &r);
    }
    return l;
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf("internal/ratelimit at %u distinct clients (%ld CPUs; medians "
           "of %d runs)\n\n",
           CLIENTS, cpus, ROUNDS);

    printf("memory (VmRSS growth of this process)\n");
    /* Reading pages that were never written maps the shared zero page,
     * which is not resident memory: a sweep over an empty table (what the
     * incremental sweep does over time on a quiet server) must not grow
     * VmRSS. */
    long rss_a = rss_kib();
    struct rl_limiter_config cfg = {.rps = 2, .burst = 4};
    struct rl_limiter *l = NULL;
    if (rl_limiter_new(&cfg, &l) != RL_OK) {
        fprintf(stderr, "cannot create the limiter\n");
        return 1;
    }
    long rss_b = rss_kib();
    (void)rl_limiter_sweep(l, INT64_C(1000000000000));
    long rss_c = rss_kib();
    printf("  limiter created (empty)                 %+8ld KiB\n",
           rss_b - rss_a);
    printf("  ... and swept once over every slot      %+8ld KiB\n",
           rss_c - rss_a);

    unsigned char k[16];
    struct rl_limiter_result r;
    int64_t t0 = INT64_C(1000000000000);
    int64_t start = now_ns();
    for (uint32_t i = 0; i < CLIENTS; i++) {
        key_of(i, k);
        rl_limiter_allow(l, k, t0, &r);
    }
    double insert_ns = (double)(now_ns() - start) / CLIENTS;
    long rss_d = rss_kib();
    struct rl_limiter_stats st;
    rl_limiter_stats(l, &st);
    printf("  after %u new clients              %+8ld KiB  (%.1f bytes "
           "a client)\n",
           CLIENTS, rss_d - rss_a, (double)(rss_d - rss_a) * 1024 / CLIENTS);
    printf("  bound: %zu slots x 16 bytes            = %8zu KiB\n", st.capacity,
           st.capacity * 16 / 1024);
    printf("  clients held %zu; %llu (%.2f%%) replaced the stalest client "
           "of a full pair of groups\n",
           st.clients, (unsigned long long)st.evicted_full,
           100.0 * (double)st.evicted_full / CLIENTS);
    size_t swept = rl_limiter_sweep(l, t0 + INT64_C(200) * 1000000000);
    long rss_e = rss_kib();
    printf("  200 s later all are idle: the sweep forgot %zu, VmRSS %+ld "
           "KiB (pages stay mapped)\n\n",
           swept, rss_e - rss_a);

    printf("one thread, ns per call\n");
    printf("  new client (insert into the table)      %8.1f\n", insert_ns);
    rl_limiter_free(l);
    l = filled(0);
    if (l == NULL) {
        return 1;
    }
    double cps;
    double ns = run_threads(l, 1, CLIENTS, &cps);
    printf("  known client, random among 1,000,000     %8.1f  (table "
           "larger than the caches)\n",
           ns);
    ns = run_threads(l, 1, 1000, &cps);
    printf("  known client, random among 1,000         %8.1f  (a busy "
           "server's working set)\n\n",
           ns);

    printf("threads on known clients (random among 1,000,000)\n");
    printf("             64 shards (default)        1 shard (one mutex)\n");
    struct rl_limiter *one = filled(1);
    if (one == NULL) {
        return 1;
    }
    for (int th = 1; th <= 8; th *= 2) {
        double cps64;
        double cps1;
        double ns64 = run_threads(l, th, CLIENTS, &cps64);
        double ns1 = run_threads(one, th, CLIENTS, &cps1);
        printf("  %d thread%s  %7.1f ns/call %5.2f M/s    %7.1f ns/call "
               "%5.2f M/s\n",
               th, th == 1 ? " " : "s", ns64, cps64 / 1e6, ns1, cps1 / 1e6);
    }
    rl_limiter_free(one);
    rl_limiter_free(l);

    if (rss_d - rss_a > (long)(st.capacity * 16 / 1024) + 4096) {
        fprintf(stderr, "RSS grew past the table size\n");
        return 1;
    }
    return 0;
}
