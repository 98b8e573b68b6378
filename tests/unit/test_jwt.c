/* test_jwt.c — HS256 JWT signing and verification (internal/jwt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* after setjmp.h, stdarg.h and stddef.h, which it needs */
#include <cmocka.h>
#include <sodium.h>

#include "internal/jwt/jwt.h"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef!";
static struct rl_jwt_keys key; /* secret alone (main) */
#define NOW 1800000000LL

static void
sign(char *out, size_t cap, int64_t sub, int64_t now, int64_t ttl)
{
    assert_int_equal(rl_jwt_sign(&key, sub, now, ttl, out, cap), RL_OK);
}

/* Builds header.payload.signature from raw JSON texts, signed with k. */
static void
forge(const char *header, const char *payload, const unsigned char *k,
      size_t klen, char *out, size_t cap)
{
    const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    char h[512], p[512], s[128];
    sodium_bin2base64(h, sizeof(h), (const unsigned char *)header,
                      strlen(header), v);
    sodium_bin2base64(p, sizeof(p), (const unsigned char *)payload,
                      strlen(payload), v);
    char signing[1100];
    snprintf(signing, sizeof(signing), "%s.%s", h, p);
    unsigned char mac[32];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, k, klen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing,
                                  strlen(signing));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(s, sizeof(s), mac, sizeof(mac), v);
    snprintf(out, cap, "%s.%s", signing, s);
}

static enum rl_jwt_result
verify(const char *t, int64_t now, struct rl_jwt_claims *c)
{
    return rl_jwt_verify(&key, t, strlen(t), now, 30, c);
}

static void
test_round_trip(void **state)
{
    (void)state;
    char t[RL_JWT_MAX_LEN];
    struct rl_jwt_claims c = {0, 0};
    sign(t, sizeof(t), 42, NOW, 86400);
    assert_true(rl_jwt_looks_like(t, strlen(t)));
    assert_int_equal(verify(t, NOW, &c), RL_JWT_OK);
    assert_int_equal(c.sub, 42);
    assert_int_equal(c.iat, NOW);
    assert_int_equal(verify(t, NOW + 86399, &c), RL_JWT_OK);
}

static void
test_expired_and_not_yet_valid(void **state)
{
    (void)state;
    char t[RL_JWT_MAX_LEN];
    struct rl_jwt_claims c;
    sign(t, sizeof(t), 7, NOW, 3600);
    assert_int_equal(verify(t, NOW + 3600 + 31, &c), RL_JWT_EXPIRED);
    assert_int_equal(verify(t, NOW + 3600 + 29, &c), RL_JWT_OK); /* skew */
    assert_int_equal(verify(t, NOW - 31, &c), RL_JWT_NOT_YET);
    assert_int_equal(verify(t, NOW - 29, &c), RL_JWT_OK);
}

static void
test_bad_signature(void **state)
{
    (void)state;
    char t[RL_JWT_MAX_LEN];
    struct rl_jwt_claims c;
    sign(t, sizeof(t), 7, NOW, 3600);
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(t, NOW, &c), RL_JWT_BAD_SIG);
    /* Signed with another key. */
    static const unsigned char other[] = "another secret of at least 32 bytes";
    char f[RL_JWT_MAX_LEN];
    forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
          "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":\"redlight\","
          "\"iat\":1800000000,\"nbf\":1800000000,\"exp\":1800003600}",
          other, sizeof(other) - 1, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_SIG);
}

static void
test_alg_none_and_others_refused(void **state)
{
    (void)state;
    struct rl_jwt_claims c;
    char f[RL_JWT_MAX_LEN];
    const char *claims = "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":"
                         "\"redlight\",\"exp\":1800003600}";
    forge("{\"alg\":\"none\"}", claims, secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_ALG);
    /* alg none with an empty signature part */
    char *last = strrchr(f, '.');
    last[1] = '\0';
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_ALG);
    forge("{\"alg\":\"HS512\"}", claims, secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_ALG);
    forge("{\"alg\":\"hs256\"}", claims, secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_ALG);
    forge("{\"typ\":\"JWT\"}", claims, secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_ALG);
    forge("{\"alg\":\"HS256\"}", claims, secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_OK);
}

static void
test_claims(void **state)
{
    (void)state;
    struct rl_jwt_claims c;
    char f[RL_JWT_MAX_LEN];
    const char *h = "{\"alg\":\"HS256\"}";
    forge(h,
          "{\"sub\":\"7\",\"iss\":\"other\",\"aud\":\"redlight\","
          "\"exp\":1800003600}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_CLAIMS);
    forge(h,
          "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":\"other\","
          "\"exp\":1800003600}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_CLAIMS);
    forge(h,
          "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":[\"x\",\"redlight\"],"
          "\"exp\":1800003600}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_OK);
    forge(h,
          "{\"sub\":7,\"iss\":\"redlight\",\"aud\":\"redlight\","
          "\"exp\":1800003600}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_CLAIMS);
    forge(h,
          "{\"sub\":\"0\",\"iss\":\"redlight\",\"aud\":\"redlight\","
          "\"exp\":1800003600}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_CLAIMS);
    forge(h, "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":\"redlight\"}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_BAD_CLAIMS);
}

/* iat is handed out for the password-reset check: absent means "before any
 * reset", a fraction counts as its whole second, huge reals clamp. */
static void
test_iat(void **state)
{
    (void)state;
    struct rl_jwt_claims c;
    char f[RL_JWT_MAX_LEN];
    const char *h = "{\"alg\":\"HS256\"}";
    forge(h,
          "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":\"redlight\","
          "\"exp\":1800003600}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_OK);
    assert_true(c.iat == RL_JWT_NO_IAT);
    assert_true(c.iat == INT64_MIN);
    forge(h,
          "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":\"redlight\","
          "\"iat\":1799999999.9,\"exp\":1800003600}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_OK);
    assert_int_equal(c.iat, NOW - 1);
    forge(h,
          "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":\"redlight\","
          "\"iat\":-0.5,\"exp\":1800003600}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_OK);
    assert_int_equal(c.iat, -1);
    forge(h,
          "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":\"redlight\","
          "\"iat\":-1e300,\"exp\":1e300}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_OK);
    assert_true(c.iat == INT64_MIN);
    forge(h,
          "{\"sub\":\"7\",\"iss\":\"redlight\",\"aud\":\"redlight\","
          "\"iat\":1e300,\"exp\":1e300}",
          secret, 33, f, sizeof(f));
    assert_int_equal(verify(f, NOW, &c), RL_JWT_NOT_YET);
}

static void
test_malformed(void **state)
{
    (void)state;
    struct rl_jwt_claims c;
    const char *bad[] = {"",
                         "a",
                         "a.b",
                         "a.b.c.d",
                         "!!.??.**",
                         "..",
                         "eyJhbGciOiJIUzI1NiJ9..",
                         "eyJ.eyJ.abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum rl_jwt_result r = verify(bad[i], NOW, &c);
        assert_true(r == RL_JWT_MALFORMED || r == RL_JWT_BAD_ALG ||
                    r == RL_JWT_BAD_SIG);
        assert_int_not_equal(r, RL_JWT_OK);
    }
    assert_false(rl_jwt_looks_like("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26));
}

static void
test_short_key_refused(void **state)
{
    (void)state;
    struct rl_jwt_keys k = key;
    k.keys[0].len = 31;
    char t[RL_JWT_MAX_LEN];
    assert_int_equal(rl_jwt_sign(&k, 1, NOW, 60, t, sizeof(t)), RL_ERR_INVALID);
    k.n = 0;
    assert_int_equal(rl_jwt_sign(&k, 1, NOW, 60, t, sizeof(t)), RL_ERR_INVALID);
}

/* -jwt-secret's list: commas or spaces, each key >= 32 bytes, at most 8;
 * keys point into the list, each with its kid. */
static void
test_keys_parse(void **state)
{
    (void)state;
    static const char a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";         /* 32 */
    static const char b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"; /* 40 */
    static const char *const lists[] = {
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,"
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa , "
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n",
    };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        struct rl_jwt_keys k;
        assert_int_equal(rl_jwt_keys_parse(lists[i], "i", "a", &k), RL_OK);
        assert_int_equal(k.n, 2);
        assert_int_equal(k.keys[0].len, 32);
        assert_memory_equal(k.keys[0].bytes, a, 32);
        assert_int_equal(k.keys[1].len, 40);
        assert_memory_equal(k.keys[1].bytes, b, 40);
        assert_true(k.keys[0].bytes >= (const unsigned char *)lists[i] &&
                    k.keys[1].bytes <
                        (const unsigned char *)lists[i] + strlen(lists[i]));
        assert_string_equal(k.issuer, "i");
        assert_string_equal(k.audience, "a");
        assert_int_equal(strlen(k.keys[0].kid), RL_JWT_KID_LEN);
        assert_int_equal(strspn(k.keys[0].kid, "0123456789abcdef"),
                         RL_JWT_KID_LEN);
        assert_string_not_equal(k.keys[0].kid, k.keys[1].kid);
        char kid[RL_JWT_KID_LEN + 1];
        rl_jwt_kid((const unsigned char *)b, 40, kid);
        assert_string_equal(kid, k.keys[1].kid);
    }
    struct rl_jwt_keys k;
    assert_int_equal(rl_jwt_keys_parse("", "i", "a", &k), RL_OK);
    assert_int_equal(k.n, 0);
    assert_int_equal(rl_jwt_keys_parse(" , ", "i", "a", &k), RL_OK);
    assert_int_equal(k.n, 0);
    /* One short key spoils the list (31 bytes after a good one). */
    assert_int_equal(rl_jwt_keys_parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,"
                                       "ccccccccccccccccccccccccccccccc",
                                       "i", "a", &k),
                     RL_ERR_INVALID);
    char many[9 * 33 + 1];
    for (size_t i = 0; i < 9; i++) {
        memset(many + i * 33, (int)('a' + i), 32);
        many[i * 33 + 32] = ',';
    }
    many[9 * 33] = '\0';
    assert_int_equal(rl_jwt_keys_parse(many, "i", "a", &k), RL_ERR_TOO_LARGE);
    many[8 * 33] = '\0';
    assert_int_equal(rl_jwt_keys_parse(many, "i", "a", &k), RL_OK);
    assert_int_equal(k.n, RL_JWT_MAX_KEYS);
}

/* The header of token t, decoded (NUL-terminated into out). */
static void
header_of(const char *t, char *out, size_t cap)
{
    size_t n;
    assert_int_equal(
        sodium_base642bin((unsigned char *)out, cap - 1, t, strcspn(t, "."),
                          NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING),
        0);
    out[n] = '\0';
}

/* Rotation: the first key signs and names itself in "kid"; verification
 * takes the key the kid names, or, without a kid, any key. */
static void
test_kid_selection(void **state)
{
    (void)state;
    static const char ka[] = "key-A-key-A-key-A-key-A-key-A-key-A";
    static const char kb[] = "key-B-key-B-key-B-key-B-key-B-key-B";
    struct rl_jwt_keys a, b, ab, ba;
    assert_int_equal(rl_jwt_keys_parse(ka, "redlight", "redlight", &a), RL_OK);
    assert_int_equal(rl_jwt_keys_parse(kb, "redlight", "redlight", &b), RL_OK);
    char list[96], list2[96];
    snprintf(list, sizeof(list), "%s,%s", ka, kb);
    assert_int_equal(rl_jwt_keys_parse(list, "redlight", "redlight", &ab),
                     RL_OK);
    snprintf(list2, sizeof(list2), "%s %s", kb, ka);
    assert_int_equal(rl_jwt_keys_parse(list2, "redlight", "redlight", &ba),
                     RL_OK);
    struct rl_jwt_claims c;

    /* Signed by A (first of "A,B"): its kid in the header, not the key. */
    char t[RL_JWT_MAX_LEN];
    assert_int_equal(rl_jwt_sign(&ab, 5, NOW, 60, t, sizeof(t)), RL_OK);
    char h[256], want[256];
    header_of(t, h, sizeof(h));
    snprintf(want, sizeof(want),
             "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             a.keys[0].kid);
    assert_string_equal(h, want);
    assert_null(strstr(t, ka));
    assert_int_equal(rl_jwt_verify(&ab, t, strlen(t), NOW, 30, &c), RL_JWT_OK);
    assert_int_equal(c.sub, 5);
    assert_int_equal(rl_jwt_verify(&ba, t, strlen(t), NOW, 30, &c), RL_JWT_OK);
    assert_int_equal(rl_jwt_verify(&a, t, strlen(t), NOW, 30, &c), RL_JWT_OK);
    /* A removed: the kid names no key. */
    assert_int_equal(rl_jwt_verify(&b, t, strlen(t), NOW, 30, &c),
                     RL_JWT_BAD_SIG);

    /* The kid decides: signed by A but naming B is refused by "A,B". */
    static const char payload[] =
        "{\"sub\":\"9\",\"iss\":\"redlight\",\"aud\":\"redlight\","
        "\"exp\":1800000600}";
    char f[RL_JWT_MAX_LEN];
    snprintf(want, sizeof(want), "{\"alg\":\"HS256\",\"kid\":\"%s\"}",
             b.keys[0].kid);
    forge(want, payload, (const unsigned char *)ka, strlen(ka), f, sizeof(f));
    assert_int_equal(rl_jwt_verify(&ab, f, strlen(f), NOW, 30, &c),
                     RL_JWT_BAD_SIG);
    forge(want, payload, (const unsigned char *)kb, strlen(kb), f, sizeof(f));
    assert_int_equal(rl_jwt_verify(&ab, f, strlen(f), NOW, 30, &c), RL_JWT_OK);
    assert_int_equal(c.sub, 9);
    /* An unknown kid, even with a right signature. */
    forge("{\"alg\":\"HS256\",\"kid\":\"0000000000000000\"}", payload,
          (const unsigned char *)ka, strlen(ka), f, sizeof(f));
    assert_int_equal(rl_jwt_verify(&ab, f, strlen(f), NOW, 30, &c),
                     RL_JWT_BAD_SIG);
    /* A kid that is not a string. */
    forge("{\"alg\":\"HS256\",\"kid\":7}", payload, (const unsigned char *)ka,
          strlen(ka), f, sizeof(f));
    assert_int_equal(rl_jwt_verify(&ab, f, strlen(f), NOW, 30, &c),
                     RL_JWT_MALFORMED);

    /* No kid (issued before kids): any key of the list verifies it. */
    forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload,
          (const unsigned char *)kb, strlen(kb), f, sizeof(f));
    assert_int_equal(rl_jwt_verify(&ab, f, strlen(f), NOW, 30, &c), RL_JWT_OK);
    assert_int_equal(rl_jwt_verify(&b, f, strlen(f), NOW, 30, &c), RL_JWT_OK);
    assert_int_equal(rl_jwt_verify(&a, f, strlen(f), NOW, 30, &c),
                     RL_JWT_BAD_SIG);
}

int
main(void)
{
    if (sodium_init() < 0 ||
        rl_jwt_keys_parse((const char *)secret, "redlight", "redlight", &key) !=
            RL_OK ||
        key.n != 1) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_expired_and_not_yet_valid),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_alg_none_and_others_refused),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_iat),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_short_key_refused),
        cmocka_unit_test(test_keys_parse),
        cmocka_unit_test(test_kid_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
