/*
 * test_authcache.c — unit tests for the table of internal/authcache with
 * explicit clocks: hit and miss, off (no listener) stores nothing, a
 * token's expiry and the TTL, the generation that keeps a row read before
 * an eviction out, eviction of one user's entries, flush, the capacity
 * bound with least-recently-used replacement, and many threads at once.
 * The listener and the lookups against PostgreSQL are tested end to end
 * by tests/test_authcache.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "internal/authcache/authcache.h"

#define T0 INT64_C(1000000)       /* monotonic ms: any start */
#define NOW_S INT64_C(1800000000) /* epoch seconds */

static struct rl_authcache *
make(size_t capacity, int64_t ttl_ms)
{
    struct rl_authcache *c = NULL;
    assert_int_equal(rl_authcache_new(capacity, ttl_ms, &c), RL_OK);
    assert_non_null(c);
    rl_authcache_set_on(c, true);
    return c;
}

static void
hash_of(unsigned n, unsigned char h[RL_TOKEN_HASH_BYTES])
{
    /* Distinct, well spread: the token hashes are SHA-256 in practice. */
    rl_token_hash((const char *)&n, sizeof(n), h);
}

static struct rl_auth_user
user(int64_t id, unsigned perms, int64_t expiry)
{
    struct rl_auth_user u = {.id = id,
                             .activated = true,
                             .perms = perms,
                             .sessions_since = INT64_MIN,
                             .token_expiry = expiry};
    return u;
}

static void
put_token(struct rl_authcache *c, unsigned n, int64_t id, int64_t now_ms)
{
    unsigned char h[RL_TOKEN_HASH_BYTES];
    hash_of(n, h);
    struct rl_auth_user u = user(id, RL_PERM_MOVIES_READ, NOW_S + 3600);
    assert_true(
        rl_authcache_put_token(c, h, rl_authcache_generation(c), &u, now_ms));
}

static bool
has_token(struct rl_authcache *c, unsigned n, int64_t now_ms)
{
    unsigned char h[RL_TOKEN_HASH_BYTES];
    hash_of(n, h);
    struct rl_auth_user out;
    return rl_authcache_get_token(c, h, now_ms, NOW_S, &out);
}

static void
hit_and_miss(void **state)
{
    (void)state;
    struct rl_authcache *c = make(4096, 60000);
    unsigned char h[RL_TOKEN_HASH_BYTES];
    hash_of(1, h);
    struct rl_auth_user out = {0};
    assert_false(rl_authcache_get_token(c, h, T0, NOW_S, &out));

    struct rl_auth_user u =
        user(42, RL_PERM_MOVIES_READ | RL_PERM_MOVIES_WRITE, NOW_S + 60);
    u.activated = false;
    u.sessions_since = NOW_S - 5;
    assert_true(
        rl_authcache_put_token(c, h, rl_authcache_generation(c), &u, T0));
    assert_true(rl_authcache_get_token(c, h, T0 + 1, NOW_S, &out));
    assert_int_equal(out.id, 42);
    assert_false(out.activated);
    assert_int_equal(out.perms, RL_PERM_MOVIES_READ | RL_PERM_MOVIES_WRITE);
    assert_int_equal(out.sessions_since, NOW_S - 5);
    assert_int_equal(out.token_expiry, NOW_S + 60);
    assert_false(has_token(c, 2, T0 + 1)); /* another token */

    /* A user id (JWT subject) is a key of its own kind: id 42 is not the
     * token above, and a stored user has no token expiry. */
    assert_false(rl_authcache_get_user(c, 42, T0, &out));
    struct rl_auth_user v = user(42, RL_PERM_MOVIES_READ, 0);
    assert_true(rl_authcache_put_user(c, rl_authcache_generation(c), &v, T0));
    assert_true(rl_authcache_get_user(c, 42, T0, &out));
    assert_int_equal(out.id, 42);
    assert_int_equal(out.perms, RL_PERM_MOVIES_READ);
    assert_int_equal(out.token_expiry, INT64_MAX);
    assert_false(rl_authcache_get_user(c, 43, T0, &out));

    struct rl_authcache_stats st;
    rl_authcache_stats(c, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 4);
    assert_int_equal(st.entries, 2);
    rl_authcache_free(c);
}

static void
off_stores_nothing(void **state)
{
    (void)state;
    struct rl_authcache *c = NULL;
    assert_int_equal(rl_authcache_new(64, 60000, &c), RL_OK);
    /* A new cache is off until its listener holds LISTEN. */
    unsigned char h[RL_TOKEN_HASH_BYTES];
    hash_of(1, h);
    struct rl_auth_user u = user(1, RL_PERM_MOVIES_READ, NOW_S + 60);
    assert_false(
        rl_authcache_put_token(c, h, rl_authcache_generation(c), &u, T0));
    rl_authcache_set_on(c, true);
    put_token(c, 1, 1, T0);
    assert_true(has_token(c, 1, T0));
    /* Switching off empties it; while off every lookup is bypassed. */
    rl_authcache_set_on(c, false);
    assert_false(has_token(c, 1, T0));
    rl_authcache_set_on(c, true);
    assert_false(has_token(c, 1, T0)); /* gone, not merely hidden */
    struct rl_authcache_stats st;
    rl_authcache_stats(c, &st);
    assert_int_equal(st.bypassed, 1);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.flushes, 3);
    rl_authcache_free(c);
}

static void
token_expiry_is_checked_on_every_hit(void **state)
{
    (void)state;
    struct rl_authcache *c = make(64, 60000);
    unsigned char h[RL_TOKEN_HASH_BYTES];
    hash_of(7, h);
    struct rl_auth_user u = user(7, RL_PERM_MOVIES_READ, NOW_S + 10);
    assert_true(
        rl_authcache_put_token(c, h, rl_authcache_generation(c), &u, T0));
    struct rl_auth_user out;
    assert_true(rl_authcache_get_token(c, h, T0, NOW_S + 9, &out));
    /* Valid while the clock is before the expiry (tokens.expiry > now()). */
    assert_false(rl_authcache_get_token(c, h, T0, NOW_S + 10, &out));
    assert_false(rl_authcache_get_token(c, h, T0, NOW_S + 11, &out));
    rl_authcache_free(c);
}

static void
entries_expire_after_the_ttl(void **state)
{
    (void)state;
    struct rl_authcache *c = make(64, 1000);
    put_token(c, 1, 1, T0);
    struct rl_auth_user v = user(2, 0, 0);
    assert_true(rl_authcache_put_user(c, rl_authcache_generation(c), &v, T0));
    struct rl_auth_user out;
    assert_true(has_token(c, 1, T0 + 999));
    assert_true(rl_authcache_get_user(c, 2, T0 + 999, &out));
    assert_false(has_token(c, 1, T0 + 1000));
    assert_false(rl_authcache_get_user(c, 2, T0 + 1000, &out));
    struct rl_authcache_stats st;
    rl_authcache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    /* A refill starts a new TTL. */
    put_token(c, 1, 1, T0 + 2000);
    assert_true(has_token(c, 1, T0 + 2999));
    rl_authcache_free(c);
}

static void
generation_keeps_out_a_row_read_before_an_eviction(void **state)
{
    (void)state;
    struct rl_authcache *c = make(64, 60000);
    unsigned char h[RL_TOKEN_HASH_BYTES];
    hash_of(5, h);
    struct rl_auth_user u = user(5, RL_PERM_MOVIES_READ, NOW_S + 60);

    /* A lookup reads the generation, then its query races with a
     * revocation whose eviction lands before the store: nothing stored. */
    uint64_t gen = rl_authcache_generation(c);
    rl_authcache_evict_user(c, 5);
    assert_false(rl_authcache_put_token(c, h, gen, &u, T0));
    assert_false(has_token(c, 5, T0));

    /* Any eviction counts, even of another user: the check is global. */
    gen = rl_authcache_generation(c);
    rl_authcache_evict_user(c, 999);
    assert_false(rl_authcache_put_token(c, h, gen, &u, T0));
    gen = rl_authcache_generation(c);
    rl_authcache_flush(c);
    assert_false(rl_authcache_put_token(c, h, gen, &u, T0));
    gen = rl_authcache_generation(c);
    rl_authcache_set_on(c, true); /* a reconnect */
    assert_false(rl_authcache_put_token(c, h, gen, &u, T0));

    /* A lookup that started after them stores. */
    gen = rl_authcache_generation(c);
    assert_true(rl_authcache_put_token(c, h, gen, &u, T0));
    struct rl_auth_user out;
    assert_true(rl_authcache_get_token(c, h, T0, NOW_S, &out));
    rl_authcache_free(c);
}

static void
evict_user_drops_only_that_users_entries(void **state)
{
    (void)state;
    struct rl_authcache *c = make(4096, 60000);
    for (unsigned n = 0; n < 3; n++) {
        put_token(c, n, 7, T0);
    }
    put_token(c, 10, 8, T0);
    put_token(c, 11, 8, T0);
    struct rl_auth_user u7 = user(7, 0, 0);
    struct rl_auth_user u8 = user(8, 0, 0);
    assert_true(rl_authcache_put_user(c, rl_authcache_generation(c), &u7, T0));
    assert_true(rl_authcache_put_user(c, rl_authcache_generation(c), &u8, T0));

    rl_authcache_evict_user(c, 7);
    struct rl_auth_user out;
    for (unsigned n = 0; n < 3; n++) {
        assert_false(has_token(c, n, T0));
    }
    assert_false(rl_authcache_get_user(c, 7, T0, &out));
    assert_true(has_token(c, 10, T0));
    assert_true(has_token(c, 11, T0));
    assert_true(rl_authcache_get_user(c, 8, T0, &out));
    struct rl_authcache_stats st;
    rl_authcache_stats(c, &st);
    assert_int_equal(st.evictions, 4);
    assert_int_equal(st.entries, 3);

    rl_authcache_evict_user(NULL, 8); /* no cache: a no-op */
    rl_authcache_flush(c);
    assert_false(has_token(c, 10, T0));
    assert_false(rl_authcache_get_user(c, 8, T0, &out));
    rl_authcache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.evictions, 7);
    rl_authcache_free(c);
}

static void
capacity_is_bounded_and_recent_entries_stay(void **state)
{
    (void)state;
    struct rl_authcache *c = make(256, 60000);
    put_token(c, 0, 1, T0);
    for (unsigned n = 1; n < 5000; n++) {
        put_token(c, n, (int64_t)n, T0);
        /* Used after every store: always the most recent in its set. */
        assert_true(has_token(c, 0, T0));
    }
    struct rl_authcache_stats st;
    rl_authcache_stats(c, &st);
    assert_int_equal(st.entries, 256);
    assert_true(has_token(c, 4999, T0)); /* the newest */
    unsigned held = 0;
    for (unsigned n = 0; n < 5000; n++) {
        held += has_token(c, n, T0);
    }
    assert_int_equal(held, 256);
    rl_authcache_free(c);
}

#define NTHREADS 8
#define ROUNDS 20000

static void *
hammer(void *arg)
{
    struct rl_authcache *c = arg;
    for (unsigned i = 0; i < ROUNDS; i++) {
        unsigned n = i % 300;
        if (!has_token(c, n, T0)) {
            unsigned char h[RL_TOKEN_HASH_BYTES];
            hash_of(n, h);
            struct rl_auth_user u = user(n % 30, 0, NOW_S + 60);
            (void)rl_authcache_put_token(c, h, rl_authcache_generation(c), &u,
                                         T0);
        }
        if (i % 97 == 0) {
            rl_authcache_evict_user(c, (int64_t)(i % 30));
        }
    }
    return NULL;
}

static void
many_threads(void **state)
{
    (void)state;
    struct rl_authcache *c = make(256, 60000);
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, hammer, c), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
    }
    struct rl_authcache_stats st;
    rl_authcache_stats(c, &st);
    assert_true(st.entries <= 256);
    assert_int_equal(st.hits + st.misses, (uint64_t)NTHREADS * ROUNDS);
    unsigned held = 0;
    for (unsigned n = 0; n < 300; n++) {
        held += has_token(c, n, T0);
    }
    assert_int_equal(held, st.entries);
    rl_authcache_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_and_miss),
        cmocka_unit_test(off_stores_nothing),
        cmocka_unit_test(token_expiry_is_checked_on_every_hit),
        cmocka_unit_test(entries_expire_after_the_ttl),
        cmocka_unit_test(generation_keeps_out_a_row_read_before_an_eviction),
        cmocka_unit_test(evict_user_drops_only_that_users_entries),
        cmocka_unit_test(capacity_is_bounded_and_recent_entries_stay),
        cmocka_unit_test(many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
