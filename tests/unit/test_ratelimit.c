/*
 * test_ratelimit.c — unit tests for internal/ratelimit with an injected
 * clock: burst then refill, the header numbers (remaining, reset,
 * retry-after), separate clients, idle eviction (lazy and by sweep), the
 * capacity bound under a flood of distinct clients, and many threads at
 * once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>

#include "internal/ratelimit/ratelimit.h"

#define SEC INT64_C(1000000000)
#define MS INT64_C(1000000)
/* Any fixed start: the limiter only looks at differences. */
#define T0 (INT64_C(1000) * SEC)

static struct rl_limiter *
make(double rps, int burst, size_t capacity)
{
    struct rl_limiter_config cfg = {
        .rps = rps, .burst = burst, .capacity = capacity};
    struct rl_limiter *l = NULL;
    assert_int_equal(rl_limiter_new(&cfg, &l), RL_OK);
    assert_non_null(l);
    return l;
}

static void
key_of(unsigned n, unsigned char key[16])
{
    memset(key, 0, 16);
    key[10] = 0xff;
    key[11] = 0xff;
    key[12] = (unsigned char)(n >> 24);
    key[13] = (unsigned char)(n >> 16);
    key[14] = (unsigned char)(n >> 8);
    key[15] = (unsigned char)n;
}

static void
burst_then_refused(void **state)
{
    (void)state;
    struct rl_limiter *l = make(2, 4, 0);
    unsigned char k[16];
    key_of(1, k);
    struct rl_limiter_result r;
    /* A new client starts with a full bucket of 4. */
    for (int i = 0; i < 4; i++) {
        rl_limiter_allow(l, k, T0, &r);
        assert_true(r.allowed);
        assert_int_equal(r.remaining, 3 - i);
        assert_int_equal(r.retry_after_s, 0);
        /* One token comes back every 0.5 s: rounded up, 1 s. */
        assert_int_equal(r.reset_s, 1);
    }
    rl_limiter_allow(l, k, T0, &r);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.retry_after_s, 1);
    assert_int_equal(r.reset_s, 1);
    /* Refused requests take nothing: still refused 0.4 s later... */
    rl_limiter_allow(l, k, T0 + 400 * MS, &r);
    assert_false(r.allowed);
    /* ...and one token is back at 0.5 s. */
    rl_limiter_allow(l, k, T0 + 500 * MS, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
    rl_limiter_allow(l, k, T0 + 500 * MS, &r);
    assert_false(r.allowed);

    struct rl_limiter_stats st;
    rl_limiter_stats(l, &st);
    assert_int_equal(st.rejected, 3);
    assert_int_equal(st.clients, 1);
    rl_limiter_free(l);
}

static void
refill_is_capped_at_burst(void **state)
{
    (void)state;
    struct rl_limiter *l = make(2, 4, 0);
    unsigned char k[16];
    key_of(2, k);
    struct rl_limiter_result r;
    for (int i = 0; i < 4; i++) {
        rl_limiter_allow(l, k, T0, &r);
    }
    /* Ten seconds refill 20 tokens, but the bucket holds 4. */
    for (int i = 0; i < 4; i++) {
        rl_limiter_allow(l, k, T0 + 10 * SEC, &r);
        assert_true(r.allowed);
        assert_int_equal(r.remaining, 3 - i);
    }
    rl_limiter_allow(l, k, T0 + 10 * SEC, &r);
    assert_false(r.allowed);
    /* Half a bucket refilled: 1.25 s at 2/s = 2.5 tokens. */
    rl_limiter_allow(l, k, T0 + 10 * SEC + 1250 * MS, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 1);
    /* 0.5 token in hand: the next whole one is 0.25 s away → 1 s. */
    assert_int_equal(r.reset_s, 1);
    rl_limiter_free(l);
}

static void
slow_rate_retry_after(void **state)
{
    (void)state;
    /* One token every 10 s, burst 1. */
    struct rl_limiter *l = make(0.1, 1, 0);
    unsigned char k[16];
    key_of(3, k);
    struct rl_limiter_result r;
    rl_limiter_allow(l, k, T0, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.reset_s, 10);
    rl_limiter_allow(l, k, T0 + 2500 * MS, &r);
    assert_false(r.allowed);
    assert_int_equal(r.retry_after_s, 8); /* 7.5 s, rounded up */
    assert_int_equal(r.reset_s, 8);
    rl_limiter_allow(l, k, T0 + 10 * SEC, &r);
    assert_true(r.allowed);
    rl_limiter_free(l);
}

static void
clients_are_separate(void **state)
{
    (void)state;
    struct rl_limiter *l = make(1, 2, 0);
    unsigned char a[16];
    unsigned char b[16];
    key_of(10, a);
    key_of(11, b);
    struct rl_limiter_result r;
    rl_limiter_allow(l, a, T0, &r);
    rl_limiter_allow(l, a, T0, &r);
    rl_limiter_allow(l, a, T0, &r);
    assert_false(r.allowed);
    rl_limiter_allow(l, b, T0, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 1);
    struct rl_limiter_stats st;
    rl_limiter_stats(l, &st);
    assert_int_equal(st.clients, 2);
    rl_limiter_free(l);
}

static void
idle_clients_are_forgotten(void **state)
{
    (void)state;
    struct rl_limiter *l = make(2, 4, 0);
    unsigned char k[16];
    struct rl_limiter_result r;
    for (unsigned i = 0; i < 100; i++) {
        key_of(1000 + i, k);
        rl_limiter_allow(l, k, T0, &r);
    }
    struct rl_limiter_stats st;
    rl_limiter_stats(l, &st);
    assert_int_equal(st.clients, 100);
    /* The buckets are full again 0.5 s later, but a client is forgotten
     * only after 3 minutes of that. */
    assert_int_equal(rl_limiter_sweep(l, T0 + 179 * SEC), 0);
    assert_int_equal(rl_limiter_sweep(l, T0 + 181 * SEC), 100);
    rl_limiter_stats(l, &st);
    assert_int_equal(st.clients, 0);
    assert_int_equal(st.evicted_idle, 100);

    /* Lazily: a client seen again after 3 idle minutes is a new one, with a
     * full bucket, in the same slot. */
    key_of(7, k);
    for (int i = 0; i < 5; i++) {
        rl_limiter_allow(l, k, T0, &r);
    }
    assert_false(r.allowed);
    rl_limiter_allow(l, k, T0 + 200 * SEC, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 3);
    rl_limiter_stats(l, &st);
    assert_int_equal(st.clients, 1);
    assert_int_equal(st.evicted_idle, 101);
    rl_limiter_free(l);
}

static void
busy_clients_are_kept(void **state)
{
    (void)state;
    /* A client that keeps its bucket from filling is never idle, however
     * long it stays. */
    struct rl_limiter *l = make(1, 2, 0);
    unsigned char k[16];
    key_of(5, k);
    struct rl_limiter_result r;
    for (int64_t t = 0; t < 600; t++) {
        rl_limiter_allow(l, k, T0 + t * SEC, &r);
        rl_limiter_allow(l, k, T0 + t * SEC, &r);
    }
    assert_int_equal(rl_limiter_sweep(l, T0 + 600 * SEC), 0);
    rl_limiter_allow(l, k, T0 + 600 * SEC, &r);
    rl_limiter_allow(l, k, T0 + 600 * SEC, &r);
    assert_false(r.allowed);
    rl_limiter_free(l);
}

static void
capacity_is_a_bound(void **state)
{
    (void)state;
    /* 4 shards x 64 entries: a flood of 100,000 distinct clients never
     * holds more than 256 entries, and every new client is admitted (with
     * a full bucket) by replacing the stalest of its group. */
    struct rl_limiter_config cfg = {
        .rps = 1, .burst = 3, .capacity = 256, .shards = 4};
    struct rl_limiter *l = NULL;
    assert_int_equal(rl_limiter_new(&cfg, &l), RL_OK);
    unsigned char k[16];
    struct rl_limiter_result r;
    for (unsigned i = 0; i < 100000; i++) {
        key_of(i, k);
        rl_limiter_allow(l, k, T0 + (int64_t)i * MS, &r);
        assert_true(r.allowed);
        assert_int_equal(r.remaining, 2);
    }
    struct rl_limiter_stats st;
    rl_limiter_stats(l, &st);
    assert_int_equal(st.capacity, 256);
    assert_true(st.clients <= 256);
    assert_true(st.clients >= 200); /* nearly every slot is in use */
    assert_int_equal(st.clients + st.evicted_full + st.evicted_idle, 100000);
    assert_true(st.evicted_full > 90000);
    rl_limiter_free(l);
}

static void
rejects_bad_config(void **state)
{
    (void)state;
    struct rl_limiter *l = NULL;
    struct rl_limiter_config bad[] = {
        {.rps = 0, .burst = 4},
        {.rps = -1, .burst = 4},
        {.rps = 2, .burst = 0},
        {.rps = 2, .burst = RL_LIMITER_BURST_MAX + 1},
        {.rps = RL_LIMITER_RPS_MAX * 2, .burst = 4},
        {.rps = 2, .burst = 4, .shards = 3},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(rl_limiter_new(&bad[i], &l), RL_ERR_INVALID);
    }
    /* The extremes of the accepted ranges fit in 64-bit arithmetic. */
    struct rl_limiter_config edge = {.rps = RL_LIMITER_RPS_MIN,
                                     .burst = RL_LIMITER_BURST_MAX,
                                     .capacity = 64};
    assert_int_equal(rl_limiter_new(&edge, &l), RL_OK);
    unsigned char k[16];
    key_of(9, k);
    struct rl_limiter_result r;
    rl_limiter_allow(l, k, T0, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, RL_LIMITER_BURST_MAX - 1);
    assert_int_equal(r.reset_s, 1000);
    rl_limiter_free(l);
}

struct worker {
    struct rl_limiter *l;
    unsigned base;
    unsigned allowed;
};

static void *
hammer(void *arg)
{
    struct worker *w = arg;
    unsigned char k[16];
    struct rl_limiter_result r;
    /* 1000 clients, 10 requests each at one instant: 4 pass per client. */
    for (unsigned i = 0; i < 1000; i++) {
        key_of(w->base + i, k);
        for (int j = 0; j < 10; j++) {
            rl_limiter_allow(w->l, k, T0, &r);
            w->allowed += r.allowed;
        }
    }
    return NULL;
}

static void
threads_share_one_limiter(void **state)
{
    (void)state;
    struct rl_limiter *l = make(2, 4, 0);
    pthread_t t[4];
    struct worker w[4];
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (struct worker){.l = l, .base = i * 1000};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].allowed, 4000);
    }
    struct rl_limiter_stats st;
    rl_limiter_stats(l, &st);
    assert_int_equal(st.clients, 4000);
    assert_int_equal(st.rejected, 4 * 1000 * 6);
    rl_limiter_free(l);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refused),
        cmocka_unit_test(refill_is_capped_at_burst),
        cmocka_unit_test(slow_rate_retry_after),
        cmocka_unit_test(clients_are_separate),
        cmocka_unit_test(idle_clients_are_forgotten),
        cmocka_unit_test(busy_clients_are_kept),
        cmocka_unit_test(capacity_is_a_bound),
        cmocka_unit_test(rejects_bad_config),
        cmocka_unit_test(threads_share_one_limiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
