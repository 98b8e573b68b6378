/*
 * test_password.c — unit tests for internal/password: Argon2id strings,
 * verification, rehash detection, the dummy verification and the
 * concurrency cap. Most hashes use libsodium's cheapest parameters so the
 * file runs in about a second; two use the real ones.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "internal/password/password.h"

#define CHEAP_OPS 1ULL
#define CHEAP_MEM ((size_t)64 * 1024)

static void
cheap_hash(const char *pw, char out[RL_PASSWORD_HASH_MAX])
{
    assert_int_equal(
        rl_password_hash_params(pw, strlen(pw), CHEAP_OPS, CHEAP_MEM, out),
        RL_OK);
}

static void
real_hash_has_the_configured_parameters(void **state)
{
    (void)state;
    char h[RL_PASSWORD_HASH_MAX];
    assert_int_equal(rl_password_hash("pa55word", 8, h), RL_OK);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "$argon2id$v=19$m=%zu,t=%llu,p=1$",
             RL_PASSWORD_MEMLIMIT / 1024, RL_PASSWORD_OPSLIMIT);
    assert_memory_equal(h, prefix, strlen(prefix));
    assert_true(rl_password_verify(h, "pa55word", 8));
    assert_false(rl_password_needs_rehash(h));
}

static void
verify_matches_only_the_password(void **state)
{
    (void)state;
    char h[RL_PASSWORD_HASH_MAX];
    cheap_hash("correct horse battery", h);
    assert_true(rl_password_verify(h, "correct horse battery", 21));
    assert_false(rl_password_verify(h, "correct horse batterY", 21));
    assert_false(rl_password_verify(h, "correct horse battery", 20));
    assert_false(rl_password_verify(h, "correct horse battery!", 22));
    assert_false(rl_password_verify(h, "", 0));

    /* Two hashes of one password differ (random salt) and both verify. */
    char h2[RL_PASSWORD_HASH_MAX];
    cheap_hash("correct horse battery", h2);
    assert_string_not_equal(h, h2);
    assert_true(rl_password_verify(h2, "correct horse battery", 21));
}

static void
verify_uses_len_not_nul(void **state)
{
    (void)state;
    /* 72 bytes, the contract's maximum: every byte counts (bcrypt would
     * have ignored nothing here either, but Argon2id has no 72-byte cut). */
    char pw[73];
    memset(pw, 'p', 72);
    pw[72] = '\0';
    char h[RL_PASSWORD_HASH_MAX];
    cheap_hash(pw, h);
    assert_true(rl_password_verify(h, pw, 72));
    pw[71] = 'q';
    assert_false(rl_password_verify(h, pw, 72));
    assert_false(rl_password_verify(h, pw, 71));
}

static void
malformed_hashes_never_match(void **state)
{
    (void)state;
    char h[RL_PASSWORD_HASH_MAX];
    cheap_hash("pa55word", h);
    char broken[RL_PASSWORD_HASH_MAX];
    memcpy(broken, h, sizeof(broken));
    broken[strlen(broken) - 3] ^= 1; /* flip a bit of the digest */
    assert_false(rl_password_verify(broken, "pa55word", 8));

    static const char *const bad[] = {
        "",
        "pa55word",
        "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$aGFzaA", /* not id */
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=65536,t=2,p=1$",
        "$argon2id$",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(rl_password_verify(bad[i], "pa55word", 8));
        assert_true(rl_password_needs_rehash(bad[i]));
    }
    assert_false(rl_password_verify(NULL, "pa55word", 8));
    assert_true(rl_password_needs_rehash(NULL));

    /* Longer than any libsodium string: refused without being read. */
    char *huge = test_malloc(4096);
    memset(huge, 'a', 4095);
    memcpy(huge, "$argon2id$", 10);
    huge[4095] = '\0';
    assert_false(rl_password_verify(huge, "pa55word", 8));
    assert_true(rl_password_needs_rehash(huge));
    test_free(huge);
}

static void
needs_rehash_when_parameters_differ(void **state)
{
    (void)state;
    char h[RL_PASSWORD_HASH_MAX];
    cheap_hash("pa55word", h);
    assert_true(rl_password_needs_rehash(h));
    assert_int_equal(rl_password_hash_params(
                         "pa55word", 8, RL_PASSWORD_OPSLIMIT, CHEAP_MEM, h),
                     RL_OK);
    assert_true(rl_password_needs_rehash(h)); /* memory differs */
}

static void
bad_parameters_are_refused(void **state)
{
    (void)state;
    char h[RL_PASSWORD_HASH_MAX];
    assert_int_equal(rl_password_hash_params("pa55word", 8, 0, CHEAP_MEM, h),
                     RL_ERR_INVALID);
    assert_int_equal(rl_password_hash_params("pa55word", 8, CHEAP_OPS, 1024, h),
                     RL_ERR_INVALID);
}

static void
dummy_verification_is_always_false(void **state)
{
    (void)state;
    assert_int_equal(rl_password_init(), RL_OK);
    assert_int_equal(rl_password_init(), RL_OK); /* idempotent */
    assert_false(rl_password_verify_dummy("pa55word", 8));
    assert_false(rl_password_verify_dummy("", 0));
}

struct job {
    char pw[24];
    char hash[RL_PASSWORD_HASH_MAX];
    bool ok;
};

static void *
hash_job(void *arg)
{
    struct job *j = arg;
    j->ok = rl_password_hash_params(j->pw, strlen(j->pw), CHEAP_OPS, CHEAP_MEM,
                                    j->hash) == RL_OK &&
            rl_password_verify(j->hash, j->pw, strlen(j->pw));
    return NULL;
}

static void
concurrent_hashes_queue_behind_the_cap(void **state)
{
    (void)state;
    int cap = rl_password_max_concurrent();
    assert_true(cap >= 2);
    enum { N = 12 };
    struct job jobs[N];
    memset(jobs, 0, sizeof(jobs));
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        snprintf(jobs[i].pw, sizeof(jobs[i].pw), "password-%d", i);
        jobs[i].ok = false;
        assert_int_equal(pthread_create(&th[i], NULL, hash_job, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_true(jobs[i].ok);
    }
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_hash_has_the_configured_parameters),
        cmocka_unit_test(verify_matches_only_the_password),
        cmocka_unit_test(verify_uses_len_not_nul),
        cmocka_unit_test(malformed_hashes_never_match),
        cmocka_unit_test(needs_rehash_when_parameters_differ),
        cmocka_unit_test(bad_parameters_are_refused),
        cmocka_unit_test(dummy_verification_is_always_false),
        cmocka_unit_test(concurrent_hashes_queue_behind_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
