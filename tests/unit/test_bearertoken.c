/*
 * test_bearertoken.c — unit tests for internal/bearertoken: RFC 4648 base32
 * without padding, token shape (26 characters of A–Z2–7), SHA-256 of the
 * plaintext, the bytea literal of a hash, and the scopes/lifetimes of CONTRACT
 * §4.4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "internal/bearertoken/bearertoken.h"

static void
base32_rfc4648_vectors(void **state)
{
    (void)state;
    /* RFC 4648 §10, with the '=' padding removed. */
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"", ""},
        {"f", "MY"},
        {"fo", "MZXQ"},
        {"foo", "MZXW6"},
        {"foob", "MZXW6YQ"},
        {"fooba", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].in);
        char out[32];
        memset(out, 'x', sizeof(out));
        size_t got =
            rl_base32_encode((const unsigned char *)cases[i].in, n, out);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(got, strlen(cases[i].want));
        assert_int_equal(rl_base32_len(n), strlen(cases[i].want));
    }
}

static void
base32_bit_patterns(void **state)
{
    (void)state;
    char out[33];
    static const unsigned char zeros[16] = {0};
    assert_int_equal(rl_base32_encode(zeros, 16, out), 26);
    assert_string_equal(out, "AAAAAAAAAAAAAAAAAAAAAAAAAA");

    unsigned char ones[16];
    memset(ones, 0xFF, sizeof(ones));
    assert_int_equal(rl_base32_encode(ones, 16, out), 26);
    /* 128 one-bits: 25 full groups of 11111, then 111 padded to 11100. */
    assert_string_equal(out, "77777777777777777777777774");

    /* The alphabet in order: 5-bit values 0..31 packed into 20 bytes. */
    unsigned char seq[20] = {0};
    for (unsigned v = 0; v < 32; v++) {
        for (unsigned b = 0; b < 5; b++) {
            unsigned bit = v * 5 + b;
            if (v & (16u >> b)) {
                seq[bit / 8] |= (unsigned char)(0x80u >> (bit % 8));
            }
        }
    }
    assert_int_equal(rl_base32_encode(seq, 20, out), 32);
    assert_string_equal(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
}

static void
base32_lengths(void **state)
{
    (void)state;
    static const size_t want[] = {0, 2, 4, 5, 7, 8, 10, 12, 13, 15, 16};
    for (size_t n = 0; n < sizeof(want) / sizeof(want[0]); n++) {
        assert_int_equal(rl_base32_len(n), want[n]);
    }
    assert_int_equal(rl_base32_len(RL_TOKEN_RANDOM_BYTES), RL_TOKEN_LEN);
}

static bool
in_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}

static void
new_tokens_have_the_contract_shape(void **state)
{
    (void)state;
    char seen[64][RL_TOKEN_LEN + 1];
    for (int i = 0; i < 64; i++) {
        char plain[RL_TOKEN_LEN + 1];
        unsigned char hash[RL_TOKEN_HASH_BYTES];
        memset(plain, '!', sizeof(plain));
        rl_token_new(plain, hash);
        assert_int_equal(strlen(plain), RL_TOKEN_LEN);
        for (size_t k = 0; k < RL_TOKEN_LEN; k++) {
            assert_true(in_alphabet(plain[k]));
        }
        /* The last character carries 3 bits and 2 zero pad bits. */
        assert_true(strchr("AEIMQUY4", plain[RL_TOKEN_LEN - 1]) != NULL);

        unsigned char again[RL_TOKEN_HASH_BYTES];
        rl_token_hash(plain, RL_TOKEN_LEN, again);
        assert_memory_equal(hash, again, sizeof(hash));

        for (int j = 0; j < i; j++) {
            assert_string_not_equal(seen[j], plain);
        }
        memcpy(seen[i], plain, sizeof(plain));
    }
}

static void
hash_is_sha256(void **state)
{
    (void)state;
    static const unsigned char abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    unsigned char h[RL_TOKEN_HASH_BYTES];
    rl_token_hash("abc", 3, h);
    assert_memory_equal(h, abc, sizeof(abc));
    /* Only len bytes count. */
    rl_token_hash("abcdef", 3, h);
    assert_memory_equal(h, abc, sizeof(abc));

    char sql[RL_TOKEN_HASH_SQL_LEN + 1];
    rl_token_hash_sql(abc, sql);
    assert_string_equal(
        sql,
        "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* SHA-256 of a token text, as Python's hashlib computes it. */
    rl_token_hash("Y3QMGX3PJ3WLRL2YRTQGQ6KRHU", RL_TOKEN_LEN, h);
    rl_token_hash_sql(h, sql);
    assert_string_equal(
        sql,
        "\\xb62762d88aec7a8ff1aec0f275ac0f1472730afc5917e8698d31c5333ad0c5eb");
}

static void
scopes_and_lifetimes(void **state)
{
    (void)state;
    assert_string_equal(RL_SCOPE_ACTIVATION, "activation");
    assert_string_equal(RL_SCOPE_AUTHENTICATION, "authentication");
    assert_string_equal(RL_SCOPE_PASSWORD_RESET, "password-reset");
    assert_int_equal(RL_TTL_ACTIVATION, 3 * 24 * 3600);
    assert_int_equal(RL_TTL_AUTHENTICATION, 24 * 3600);
    assert_int_equal(RL_TTL_PASSWORD_RESET, 45 * 60);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base32_rfc4648_vectors),
        cmocka_unit_test(base32_bit_patterns),
        cmocka_unit_test(base32_lengths),
        cmocka_unit_test(new_tokens_have_the_contract_shape),
        cmocka_unit_test(hash_is_sha256),
        cmocka_unit_test(scopes_and_lifetimes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
