/*
 * test_parse.c — unit tests for internal/base/parse: rl_parse_i64 and
 * rl_parse_u64, including a comparison with strtoll/strtoull (the calls
 * they replaced) over inputs at every edge.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal/base/parse.h"

static void
digits_only(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(rl_parse_i64("0", 0, INT64_MIN, INT64_MAX, NULL, &v),
                     RL_OK);
    assert_int_equal(v, 0);
    assert_int_equal(rl_parse_i64("0042", 0, INT64_MIN, INT64_MAX, NULL, &v),
                     RL_OK);
    assert_int_equal(v, 42);
    const char *bad[] = {"",     " 1",  "+1",  "-1",  "1 ", "1x", "x",
                         "0x10", "1.0", "1e3", "\t1", "١",  NULL};
    for (int i = 0; bad[i] != NULL; i++) {
        v = 7;
        assert_int_equal(
            rl_parse_i64(bad[i], 0, INT64_MIN, INT64_MAX, NULL, &v),
            RL_ERR_INVALID);
        assert_int_equal(v, 7); /* untouched on failure */
    }
}

static void
sign_and_space(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(
        rl_parse_i64("-5", RL_PARSE_SIGN, INT64_MIN, INT64_MAX, NULL, &v),
        RL_OK);
    assert_int_equal(v, -5);
    assert_int_equal(
        rl_parse_i64("+5", RL_PARSE_SIGN, INT64_MIN, INT64_MAX, NULL, &v),
        RL_OK);
    assert_int_equal(v, 5);
    assert_int_equal(
        rl_parse_i64(" 5", RL_PARSE_SIGN, INT64_MIN, INT64_MAX, NULL, &v),
        RL_ERR_INVALID);
    assert_int_equal(
        rl_parse_i64("+-5", RL_PARSE_SIGN, INT64_MIN, INT64_MAX, NULL, &v),
        RL_ERR_INVALID);
    assert_int_equal(rl_parse_i64(" \t\n\v\f\r5", RL_PARSE_SPACE, INT64_MIN,
                                  INT64_MAX, NULL, &v),
                     RL_OK);
    assert_int_equal(v, 5);
    assert_int_equal(
        rl_parse_i64(" -5", RL_PARSE_SPACE, INT64_MIN, INT64_MAX, NULL, &v),
        RL_ERR_INVALID);
    assert_int_equal(
        rl_parse_i64("- 5", RL_PARSE_STRTOL, INT64_MIN, INT64_MAX, NULL, &v),
        RL_ERR_INVALID);
}

static void
range_and_overflow(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(
        rl_parse_i64("9223372036854775807", 0, INT64_MIN, INT64_MAX, NULL, &v),
        RL_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(rl_parse_i64("-9223372036854775808", RL_PARSE_SIGN,
                                  INT64_MIN, INT64_MAX, NULL, &v),
                     RL_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(rl_parse_i64("9223372036854775808", RL_PARSE_SIGN,
                                  INT64_MIN, INT64_MAX, NULL, &v),
                     RL_ERR_INVALID);
    assert_int_equal(rl_parse_i64("-9223372036854775809", RL_PARSE_SIGN,
                                  INT64_MIN, INT64_MAX, NULL, &v),
                     RL_ERR_INVALID);
    assert_int_equal(rl_parse_i64("99999999999999999999999", 0, INT64_MIN,
                                  INT64_MAX, NULL, &v),
                     RL_ERR_INVALID);
    assert_int_equal(rl_parse_i64("10", 0, 1, 10, NULL, &v), RL_OK);
    assert_int_equal(rl_parse_i64("11", 0, 1, 10, NULL, &v), RL_ERR_INVALID);
    assert_int_equal(rl_parse_i64("0", 0, 1, 10, NULL, &v), RL_ERR_INVALID);
    assert_int_equal(
        rl_parse_i64("-2147483648", RL_PARSE_SIGN, INT_MIN, INT_MAX, NULL, &v),
        RL_OK);
    assert_int_equal(
        rl_parse_i64("2147483648", RL_PARSE_SIGN, INT_MIN, INT_MAX, NULL, &v),
        RL_ERR_INVALID);
}

static void
prefix_sets_end(void **state)
{
    (void)state;
    int64_t v = 0;
    const char *s = "\t 1234 kB";
    const char *end = NULL;
    assert_int_equal(rl_parse_i64(s, RL_PARSE_STRTOL, 0, INT64_MAX, &end, &v),
                     RL_OK);
    assert_int_equal(v, 1234);
    assert_ptr_equal(end, s + 6);
    end = NULL;
    assert_int_equal(rl_parse_i64("kB", 0, 0, INT64_MAX, &end, &v),
                     RL_ERR_INVALID);
    assert_null(end);
    /* Overflow in a prefix fails too, rather than clamping as strtoll. */
    assert_int_equal(
        rl_parse_i64("99999999999999999999 x", 0, 0, INT64_MAX, &end, &v),
        RL_ERR_INVALID);
    assert_int_equal(
        rl_parse_i64("-1 x", RL_PARSE_SIGN, 0, INT64_MAX, &end, &v),
        RL_ERR_INVALID);
}

/* RL_PARSE_STRTOL over the full range accepts exactly what the replaced
 * "strtoll + errno + whole string + at least one digit" checks accepted,
 * with the same value. */
static void
same_as_strtoll(void **state)
{
    (void)state;
    const char *in[] = {"0",
                        "-0",
                        "+0",
                        "1",
                        "-1",
                        "+1",
                        " 1",
                        "\t-1",
                        "\n+7",
                        "\v\f\r8",
                        "007",
                        "1 ",
                        "1x",
                        "x1",
                        "",
                        " ",
                        "+",
                        "-",
                        "+-1",
                        "--1",
                        "- 1",
                        "0x1f",
                        "1e3",
                        "1.5",
                        "9223372036854775807",
                        "9223372036854775808",
                        "-9223372036854775808",
                        "-9223372036854775809",
                        "000000000000000000000000000000009223372036854775807",
                        "18446744073709551616",
                        "12345678901234567890123",
                        "\xc2\xa0"
                        "1",
                        NULL};
    for (int i = 0; in[i] != NULL; i++) {
        const char *s = in[i];
        char *end;
        errno = 0;
        long long want = strtoll(s, &end, 10);
        bool ok = errno == 0 && end != s && *end == '\0';
        int64_t got = 0;
        enum rl_err e =
            rl_parse_i64(s, RL_PARSE_STRTOL, INT64_MIN, INT64_MAX, NULL, &got);
        if ((e == RL_OK) != ok || (ok && got != want)) {
            print_error("\"%s\": strtoll ok=%d %lld, rl_parse_i64 %d %lld\n", s,
                        ok, want, (int)e, (long long)got);
            fail();
        }
    }
}

/* rl_parse_u64 accepts what "first char a digit, strtoull whole string,
 * errno 0, <= max" accepted (cli_migrate's old parse_uint). */
static void
u64_same_as_strtoull(void **state)
{
    (void)state;
    const char *in[] = {"0",
                        "1",
                        "007",
                        "18446744073709551615",
                        "18446744073709551616",
                        "-1",
                        "+1",
                        " 1",
                        "1 ",
                        "",
                        "x",
                        "9223372036854775807",
                        "9223372036854775808",
                        NULL};
    const uint64_t maxes[] = {UINT64_MAX, INT64_MAX, 1, 0};
    for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
        for (int i = 0; in[i] != NULL; i++) {
            const char *s = in[i];
            bool ok = false;
            unsigned long long want = 0;
            if (s[0] >= '0' && s[0] <= '9') {
                char *end;
                errno = 0;
                want = strtoull(s, &end, 10);
                ok = errno == 0 && *end == '\0' && want <= maxes[m];
            }
            uint64_t got = 0;
            enum rl_err e = rl_parse_u64(s, maxes[m], &got);
            if ((e == RL_OK) != ok || (ok && got != want)) {
                print_error("\"%s\" max %llu: want %d %llu, got %d %llu\n", s,
                            (unsigned long long)maxes[m], ok, want, (int)e,
                            (unsigned long long)got);
                fail();
            }
        }
    }
}

/* rl_fmt_i64 writes what snprintf("%lld") writes, and rl_parse_i64 reads
 * it back: the edges, powers of ten either side, and a spread of values. */
static void
fmt_same_as_snprintf(void **state)
{
    (void)state;
    int64_t vals[200];
    size_t n = 0;
    vals[n++] = 0;
    vals[n++] = INT64_MAX;
    vals[n++] = INT64_MIN;
    vals[n++] = INT64_MIN + 1;
    for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10) {
        vals[n++] = p;
        vals[n++] = p - 1;
        vals[n++] = -p;
        vals[n++] = -(p - 1);
    }
    uint64_t x = 0x9e3779b97f4a7c15u;
    while (n < sizeof(vals) / sizeof(vals[0])) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        vals[n++] = (int64_t)(x >> (x % 64));
    }
    for (size_t i = 0; i < n; i++) {
        char got[RL_FMT_I64_MAX];
        char want[32];
        size_t len = rl_fmt_i64(got, vals[i]);
        int wlen = snprintf(want, sizeof(want), "%lld", (long long)vals[i]);
        assert_int_equal(len, (size_t)wlen);
        assert_string_equal(got, want);
        int64_t back = 0;
        assert_int_equal(
            rl_parse_i64(got, RL_PARSE_SIGN, INT64_MIN, INT64_MAX, NULL, &back),
            RL_OK);
        assert_true(back == vals[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digits_only),
        cmocka_unit_test(sign_and_space),
        cmocka_unit_test(range_and_overflow),
        cmocka_unit_test(prefix_sets_end),
        cmocka_unit_test(same_as_strtoll),
        cmocka_unit_test(u64_same_as_strtoull),
        cmocka_unit_test(fmt_same_as_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
