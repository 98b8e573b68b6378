/*
 * test_cursor.c — unit tests for internal/cursor: a sealed cursor opens
 * with the same key and binding only; any changed byte, a cut or extended
 * cursor, another key or another binding fails; the decoder reads exactly
 * the bytes it is given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "internal/arena/arena.h"
#include "internal/cursor/cursor.h"

static const char bind[] = "sort=year page_size=20 genres=drama";
static const unsigned char payload[] = {1, 2, 0, 0, 0, 2,  0, 0,
                                        0, 0, 0, 0, 0, 42, 7, 0xb9};

static struct rl_cursor_key
key_of(const char *secret)
{
    struct rl_cursor_key k;
    rl_cursor_key_derive(&k, "test", secret, strlen(secret));
    return k;
}

static bool
opens(const struct rl_cursor_key *k, const char *b, const char *s, size_t len)
{
    unsigned char out[RL_CURSOR_MAX_PAYLOAD];
    size_t n = 0;
    bool ok = rl_cursor_open(k, b, strlen(b), s, len, out, &n);
    if (ok) {
        assert_int_equal(n, sizeof(payload));
        assert_memory_equal(out, payload, n);
    }
    return ok;
}

static void
round_trip_and_tamper(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    struct rl_cursor_key k = key_of("0123456789abcdef0123456789abcdef");
    char *c =
        rl_cursor_seal(a, &k, bind, strlen(bind), payload, sizeof(payload));
    assert_non_null(c);
    size_t len = strlen(c);
    /* base64url without padding: letters, digits, '-' and '_' only. */
    assert_int_equal(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqr"
                               "stuvwxyz0123456789-_"),
                     len);
    assert_true(opens(&k, bind, c, len));

    /* Every byte changed to every other base64url character fails. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *t = rl_arena_strdup(a, c);
    assert_non_null(t);
    for (size_t i = 0; i < len; i++) {
        for (size_t j = 0; j < sizeof(alphabet) - 1; j++) {
            if (alphabet[j] == c[i]) {
                continue;
            }
            t[i] = alphabet[j];
            assert_false(opens(&k, bind, t, len));
        }
        t[i] = c[i];
    }
    /* Cut, extended, padded, with a NUL or junk inside the given length. */
    assert_false(opens(&k, bind, c, len - 1));
    assert_false(opens(&k, bind, c, 0));
    char *longer = rl_arena_printf(a, "%sA", c);
    assert_false(opens(&k, bind, longer, len + 1));
    char *padded = rl_arena_printf(a, "%s=", c);
    assert_false(opens(&k, bind, padded, len + 1));
    char nul[2048];
    memcpy(nul, c, len);
    nul[len] = '\0';
    nul[len + 1] = 'A';
    assert_false(opens(&k, bind, nul, len + 2));
    /* Only len bytes are read: what follows them does not matter. */
    memcpy(nul, c, len);
    memcpy(nul + len, "junk", 4);
    assert_true(opens(&k, bind, nul, len));

    /* Another binding, another key. */
    assert_false(opens(&k, "sort=year page_size=21 genres=drama", c, len));
    assert_false(opens(&k, "", c, len));
    struct rl_cursor_key k2 = key_of("0123456789abcdef0123456789abcdeF");
    assert_false(opens(&k2, bind, c, len));
    struct rl_cursor_key k3;
    rl_cursor_key_derive(&k3, "other purpose",
                         "0123456789abcdef0123456789abcdef", 32);
    assert_false(opens(&k3, bind, c, len));
    rl_arena_destroy(a);
}

static void
sizes(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    struct rl_cursor_key k;
    rl_cursor_key_random(&k);
    static unsigned char big[RL_CURSOR_MAX_PAYLOAD + 1];
    assert_null(rl_cursor_seal(a, &k, "", 0, big, sizeof(big)));
    char *c = rl_cursor_seal(a, &k, "", 0, big, RL_CURSOR_MAX_PAYLOAD);
    assert_non_null(c);
    unsigned char out[RL_CURSOR_MAX_PAYLOAD];
    size_t n;
    assert_true(rl_cursor_open(&k, "", 0, c, strlen(c), out, &n));
    assert_int_equal(n, RL_CURSOR_MAX_PAYLOAD);
    /* An empty payload is still a cursor (just the tag). */
    c = rl_cursor_seal(a, &k, "", 0, "", 0);
    assert_non_null(c);
    assert_true(rl_cursor_open(&k, "", 0, c, strlen(c), out, &n));
    assert_int_equal(n, 0);
    /* Far too long: refused before decoding. */
    static char huge[100000];
    memset(huge, 'A', sizeof(huge));
    assert_false(rl_cursor_open(&k, "", 0, huge, sizeof(huge), out, &n));
    rl_arena_destroy(a);
}

int
main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_and_tamper),
        cmocka_unit_test(sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
