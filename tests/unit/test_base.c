/*
 * test_base.c — unit tests for internal/base: Go-compatible durations,
 * UTF-8 decoding, hex digits, error descriptions, list-valued settings and
 * the stop pipe.
 *
 * Expected duration values are what Go's time.ParseDuration returns,
 * converted with Duration.Milliseconds() (truncation), and what
 * Duration.String() prints.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal/base/duration.h"
#include "internal/base/err.h"
#include "internal/base/hex.h"
#include "internal/base/list.h"
#include "internal/base/stop.h"
#include "internal/base/utf8.h"

struct parse_case {
    const char *in;
    int64_t ms;
};

static void
check_parse_ok(const char *in, int64_t want)
{
    int64_t ms = -12345;
    enum rl_err e = rl_duration_parse(in, &ms);
    if (e != RL_OK || ms != want) {
        print_error("rl_duration_parse(\"%s\") = %d, %lld; want 0, %lld\n", in,
                    (int)e, (long long)ms, (long long)want);
        fail();
    }
}

static void
check_parse_invalid(const char *in)
{
    int64_t ms = -12345;
    enum rl_err e = rl_duration_parse(in, &ms);
    if (e != RL_ERR_INVALID) {
        print_error("rl_duration_parse(\"%s\") = %d, %lld; want invalid\n", in,
                    (int)e, (long long)ms);
        fail();
    }
}

static void
check_format(int64_t ms, const char *want)
{
    char buf[64];
    memset(buf, 'X', sizeof(buf));
    rl_duration_format(ms, buf, sizeof(buf));
    if (strcmp(buf, want) != 0) {
        print_error("rl_duration_format(%lld) = \"%s\"; want \"%s\"\n",
                    (long long)ms, buf, want);
        fail();
    }
}

static void
duration_parse_valid(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"0", 0},
        {"+0", 0},
        {"15m", 15 * 60000},
        {"1h30m", 90 * 60000},
        {"1.5h", 90 * 60000},
        {"500ms", 500},
        {"30s", 30000},
        {"+30s", 30000},
        {"2h45m30.5s", 9930500},
        {"1h1h", 2 * 3600000}, /* Go accepts a repeated unit */
        {"1m30s", 90000},
        {"1h0m0s", 3600000},
        {"0s", 0},
        {"0h", 0},
        {"000s", 0},
        {"5000ms", 5000},
        {".5s", 500},  /* fraction without integer part */
        {"1.s", 1000}, /* integer part with empty fraction */
        {"1.001s", 1001},
        {"0.001s", 1},
        {"4.35s", 4350},
        {"59.999s", 59999},
        {"0.0087h", 31320},
        {"1.0000000000000000000000001s", 1000}, /* long fractions */
        /* Sub-millisecond units; fractions of a millisecond are cut. */
        {"1ns", 0},
        {"999999ns", 0},
        {"1000000ns", 1},
        {"1us", 0},
        {"999us", 0},
        {"1000us", 1},
        {"1500us", 1},
        {"2500\xC2\xB5s", 2}, /* U+00B5 MICRO SIGN */
        {"2500\xCE\xBCs", 2}, /* U+03BC GREEK SMALL LETTER MU */
        {"1ms500us", 1},
        {"1.9ms", 1},
        /* Go's largest duration is 2562047h47m16.854775807s. */
        {"2562047h", INT64_C(2562047) * 3600000},
        {"2562047h47m16.854s", INT64_C(9223372036854)},
        {"2562047h47m16.854775807s", INT64_C(9223372036854)},
        {"9223372036854775807ns", INT64_C(9223372036854)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_parse_ok(cases[i].in, cases[i].ms);
    }
}

static void
duration_parse_every_millisecond_fraction(void **state)
{
    (void)state;
    /* "S.mmms" must give exactly S*1000+mmm, as Go's integer arithmetic
     * does; floating-point accumulation loses a millisecond on some. */
    char in[32];
    for (int64_t ms = 0; ms < 20000; ms++) {
        snprintf(in, sizeof(in), "%lld.%03llds", (long long)(ms / 1000),
                 (long long)(ms % 1000));
        check_parse_ok(in, ms);
    }
    for (int64_t tenth = 0; tenth < 2000; tenth++) {
        snprintf(in, sizeof(in), "%lld.%04lldh", (long long)(tenth / 10000),
                 (long long)(tenth % 10000));
        check_parse_ok(in, tenth * 360);
    }
}

static void
duration_parse_invalid(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",
        "+",
        "-",
        "15",  /* missing unit */
        "0.5", /* missing unit */
        "m",   /* missing number */
        "1x",  /* unknown unit */
        "1sx",
        "1hs",
        "1 s", /* no spaces */
        " 1s",
        "1s ",
        ".s",
        ".",
        "1..5s",
        "s1",
        "1h-5m",
        "-1s", /* negative durations are refused */
        "-0s",
        "++1s",
        "1S", /* units are case-sensitive */
        "1H",
        "1\xC2s", /* broken micro sign */
        "1mss",
        /* Overflow: past 2^63-1 nanoseconds. */
        "9223372036854775808ns",
        "2562048h",
        "2562047h47m16.854775808s",
        "9999999999h",
        "99999999999999999999ns",
        "100000000000000000000000000000000000s",
        "2562047h2562047h",
        /* 2^63 ns twice would wrap a 64-bit sum to 0. */
        "9223372036854775808ns9223372036854775808ns",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_parse_invalid(cases[i]);
    }
    int64_t ms = 77;
    assert_int_equal(rl_duration_parse(NULL, &ms), RL_ERR_INVALID);
}

static void
duration_format_like_go(void **state)
{
    (void)state;
    check_format(0, "0s");
    check_format(1, "1ms");
    check_format(500, "500ms");
    check_format(999, "999ms");
    check_format(1000, "1s");
    check_format(1001, "1.001s");
    check_format(1010, "1.01s");
    check_format(1500, "1.5s");
    check_format(30000, "30s");
    check_format(59999, "59.999s");
    check_format(60000, "1m0s");
    check_format(90500, "1m30.5s");
    check_format(15 * 60000, "15m0s");
    check_format(3600000, "1h0m0s");
    check_format(3600500, "1h0m0.5s");
    check_format(5400000, "1h30m0s");
    check_format(9930500, "2h45m30.5s");
    check_format(86400000, "24h0m0s");
    check_format(INT64_C(9223372036854), "2562047h47m16.854s");
    check_format(-500, "-500ms");
    check_format(-1500, "-1.5s");
    check_format(-90500, "-1m30.5s");
    /* INT64_MIN has no positive counterpart; it must still print a
     * negative value without undefined behaviour. */
    check_format(INT64_MIN, "-2562047788015h12m55.808s");
}

static void
duration_format_fits_small_buffers(void **state)
{
    (void)state;
    char buf[4];
    memset(buf, 'X', sizeof(buf));
    rl_duration_format(9930500, buf, sizeof(buf));
    assert_string_equal(buf, "2h4"); /* cut but terminated */
    char one[1] = {'X'};
    rl_duration_format(1500, one, sizeof(one));
    assert_int_equal(one[0], '\0');
}

static void
duration_format_parse_round_trip(void **state)
{
    (void)state;
    char buf[64];
    for (int64_t ms = 0; ms < 200000; ms += 7) {
        rl_duration_format(ms, buf, sizeof(buf));
        check_parse_ok(buf, ms);
    }
    for (int64_t ms = 1; ms < INT64_C(9000000000000); ms = ms * 3 + 11) {
        rl_duration_format(ms, buf, sizeof(buf));
        check_parse_ok(buf, ms);
    }
}

static void
utf8_ascii(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 0x80; c++) {
        unsigned char s[1] = {(unsigned char)c};
        assert_int_equal(rl_utf8_seq_len(s, 1), 1);
    }
    /* Only the first byte matters for ASCII. */
    assert_int_equal(rl_utf8_seq_len((const unsigned char *)"ab\xFF", 3), 1);
}

static void
utf8_multibyte_well_formed(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {"\xC2\x80", 2},         /* U+0080, smallest 2-byte */
        {"\xC3\xA9", 2},         /* é */
        {"\xDF\xBF", 2},         /* U+07FF */
        {"\xE0\xA0\x80", 3},     /* U+0800, smallest 3-byte */
        {"\xE2\x82\xAC", 3},     /* € */
        {"\xED\x9F\xBF", 3},     /* U+D7FF, just below surrogates */
        {"\xEE\x80\x80", 3},     /* U+E000, just above */
        {"\xEF\xBF\xBD", 3},     /* U+FFFD */
        {"\xEF\xBF\xBF", 3},     /* U+FFFF */
        {"\xF0\x90\x80\x80", 4}, /* U+10000, smallest 4-byte */
        {"\xF0\x9F\x98\x80", 4}, /* 😀 */
        {"\xF4\x8F\xBF\xBF", 4}, /* U+10FFFF, the last code point */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const unsigned char *s = (const unsigned char *)cases[i].s;
        assert_int_equal(rl_utf8_seq_len(s, cases[i].len), cases[i].len);
        /* Bytes after the sequence do not change the answer. */
        unsigned char longer[8] = {0};
        memcpy(longer, s, cases[i].len);
        longer[cases[i].len] = 'x';
        assert_int_equal(rl_utf8_seq_len(longer, cases[i].len + 1),
                         cases[i].len);
    }
}

static void
utf8_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {
        {"\x80", 1}, /* lone continuation */
        {"\xBF", 1},
        {"\xC0\x80", 2},         /* overlong NUL */
        {"\xC1\xBF", 2},         /* overlong U+007F */
        {"\xE0\x80\x80", 3},     /* overlong */
        {"\xE0\x9F\xBF", 3},     /* overlong U+07FF */
        {"\xF0\x80\x80\x80", 4}, /* overlong */
        {"\xF0\x8F\xBF\xBF", 4}, /* overlong U+FFFF */
        {"\xED\xA0\x80", 3},     /* U+D800, a surrogate */
        {"\xED\xBF\xBF", 3},     /* U+DFFF */
        {"\xF4\x90\x80\x80", 4}, /* U+110000, beyond the last */
        {"\xF5\x80\x80\x80", 4},
        {"\xF7\xBF\xBF\xBF", 4},
        {"\xF8\x88\x80\x80\x80", 5},     /* old 5-byte form */
        {"\xFC\x84\x80\x80\x80\x80", 6}, /* old 6-byte form */
        {"\xFE", 1},
        {"\xFF", 1},
        {"\xC3(", 2}, /* bad continuation */
        {"\xE2\x28\xA1", 3},
        {"\xE2\x82\x28", 3},
        {"\xF0\x28\x8C\xBC", 4},
        {"\xF0\x9F\x98\x28", 4},
        /* Cut short: n says fewer bytes are available than needed, even
         * though the buffer goes on. */
        {"\xC3\xA9", 1},
        {"\xE2\x82\xAC", 2},
        {"\xE2\x82\xAC", 1},
        {"\xF0\x9F\x98\x80", 3},
        {"\xF0\x9F\x98\x80", 2},
        {"\xF0\x9F\x98\x80", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got =
            rl_utf8_seq_len((const unsigned char *)cases[i].s, cases[i].n);
        if (got != 0) {
            print_error("case %zu: rl_utf8_seq_len = %zu, want 0\n", i, got);
            fail();
        }
    }
}

static void
utf8_truncated_reads_only_n_bytes(void **state)
{
    (void)state;
    /* Exactly n bytes on the heap: ASan catches a read past them. */
    static const char *const heads[] = {"\xC3", "\xE2\x82", "\xF0\x9F\x98"};
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        size_t n = strlen(heads[i]);
        unsigned char *p = test_malloc(n);
        memcpy(p, heads[i], n);
        assert_int_equal(rl_utf8_seq_len(p, n), 0);
        test_free(p);
    }
}

/* rl_utf8_decode: code points at every boundary of Unicode §3.9's table. */
static void
utf8_decode_code_points(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } cases[] = {
        {"\x00", 1, 0x00},
        {"\x7F", 1, 0x7F},
        {"\xC2\x80", 2, 0x80},
        {"\xDF\xBF", 2, 0x7FF},
        {"\xE0\xA0\x80", 3, 0x800},
        {"\xED\x9F\xBF", 3, 0xD7FF}, /* just below the surrogates */
        {"\xEE\x80\x80", 3, 0xE000}, /* just above them */
        {"\xEF\xBF\xBF", 3, 0xFFFF},
        {"\xF0\x90\x80\x80", 4, 0x10000},
        {"\xF4\x8F\xBF\xBF", 4, 0x10FFFF}, /* the last code point */
        {"\xE2\x82\xAC", 3, 0x20AC},
        {"\xF0\x9F\x98\x80", 4, 0x1F600},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = cases[i].len;
        uint32_t cp = 0xFFFFFFFF;
        assert_int_equal(
            rl_utf8_decode((const unsigned char *)cases[i].s, n, &cp), n);
        assert_int_equal(cp, cases[i].cp);
        assert_int_equal(
            rl_utf8_decode((const unsigned char *)cases[i].s, n, NULL), n);
        assert_int_equal(rl_utf8_seq_len((const unsigned char *)cases[i].s, n),
                         n);
    }
}

/* Malformed (0) against cut short (RL_UTF8_SHORT): a wrong byte within the
 * n available counts first, so an overlong, surrogate or out-of-range start
 * is malformed even when cut short. */
static void
utf8_decode_malformed_or_short(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        size_t want;
    } cases[] = {
        {"\xC3", 1, RL_UTF8_SHORT},
        {"\xE2", 1, RL_UTF8_SHORT},
        {"\xE2\x82", 2, RL_UTF8_SHORT},
        {"\xF0\x9F\x98", 3, RL_UTF8_SHORT},
        {"\xF4\x8F", 2, RL_UTF8_SHORT},
        {"\xE2\x28", 2, 0},         /* bad continuation before the end */
        {"\xE0\x80", 2, 0},         /* overlong, seen at its second byte */
        {"\xED\xA0", 2, 0},         /* a surrogate, seen at its second byte */
        {"\xF0\x8F", 2, 0},         /* overlong 4-byte form */
        {"\xF4\x90", 2, 0},         /* past U+10FFFF */
        {"\xF5", 1, 0},             /* lead byte past U+10FFFF */
        {"\xC0", 1, 0},             /* overlong lead */
        {"\xC1", 1, 0},             /* overlong lead */
        {"\x80", 1, 0},             /* lone continuation */
        {"\xF0\x9F\x98\x28", 4, 0}, /* bad last byte */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = cases[i].n;
        unsigned char *p = test_malloc(n); /* ASan: nothing read past n */
        memcpy(p, cases[i].s, n);
        uint32_t cp = 7;
        size_t got = rl_utf8_decode(p, n, &cp);
        if (got != cases[i].want) {
            print_error("case %zu: got %zu, want %zu\n", i, got, cases[i].want);
            fail();
        }
        assert_int_equal(cp, 7); /* untouched on failure */
        assert_int_equal(rl_utf8_seq_len(p, n), 0);
        test_free(p);
    }
}

/* rl_utf8_seq_len agrees with the decoder on every 1- to 3-byte input and
 * every 4-byte one from F0..F4 with the same continuation pattern. */
static void
utf8_seq_len_matches_decode_exhaustively(void **state)
{
    (void)state;
    unsigned char s[4];
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            for (unsigned c = 0x70; c < 0xD0; c += 0x0F) {
                s[0] = (unsigned char)a;
                s[1] = (unsigned char)b;
                s[2] = (unsigned char)c;
                s[3] = 0x80;
                size_t d = rl_utf8_decode(s, 4, NULL);
                assert_true(d <= 4);
                assert_int_equal(rl_utf8_seq_len(s, 4), d);
            }
        }
    }
}

static void
hex_both_ways(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 16; v++) {
        char lo = rl_hex_digit(v), up = rl_hex_digit_upper(v);
        assert_int_equal(rl_hex_value(lo), v);
        assert_int_equal(rl_hex_value(up), v);
        assert_true(v < 10 ? lo == up
                           : (lo >= 'a' && lo <= 'f' && up == lo - 'a' + 'A'));
        assert_int_equal(rl_hex_digit(v + 0x30), lo); /* low bits only */
    }
    assert_int_equal(rl_hex_value('g'), -1);
    assert_int_equal(rl_hex_value('G'), -1);
    assert_int_equal(rl_hex_value('/'), -1);
    assert_int_equal(rl_hex_value(':'), -1);
    assert_int_equal(rl_hex_value('@'), -1);
    assert_int_equal(rl_hex_value('`'), -1);
    assert_int_equal(rl_hex_value('\0'), -1);
    assert_int_equal(rl_hex_value((char)0xC1), -1);
    static const unsigned char in[] = {0x00, 0x0F, 0xA5, 0xFF, 0x10};
    char out[11];
    memset(out, '#', sizeof(out));
    rl_hex_encode(in, sizeof(in), out);
    assert_memory_equal(out, "000fa5ff10", 10);
    assert_int_equal(out[10], '#'); /* no NUL written */
    rl_hex_encode(in, 0, out);
    assert_int_equal(out[0], '0');
}

static void
err_str_every_value(void **state)
{
    (void)state;
    const char *seen[RL_ERR_TOO_LARGE + 1];
    for (int e = RL_OK; e <= RL_ERR_TOO_LARGE; e++) {
        const char *s = rl_err_str((enum rl_err)e);
        assert_non_null(s);
        assert_true(s[0] != '\0');
        /* Message style: lower-case, no trailing full stop. */
        for (const char *c = s; *c; c++) {
            assert_false(*c >= 'A' && *c <= 'Z');
        }
        assert_int_not_equal(s[strlen(s) - 1], '.');
        assert_string_not_equal(s, "unknown error");
        for (int f = RL_OK; f < e; f++) {
            assert_string_not_equal(s, seen[f]);
        }
        seen[e] = s;
    }
    assert_string_equal(rl_err_str(RL_OK), "ok");
    /* Values outside the enum still get a description. */
    const char *unknown = rl_err_str((enum rl_err)(RL_ERR_TOO_LARGE + 1));
    assert_non_null(unknown);
    assert_true(unknown[0] != '\0');
}

/* Collects list's items joined by '|' into out. */
static void
list_join(const char *list, char *out, size_t cap)
{
    const char *p = list;
    const char *item;
    size_t len;
    size_t used = 0;
    out[0] = '\0';
    while (rl_list_next(&p, &item, &len)) {
        int n = snprintf(out + used, cap - used, "%s%.*s", used ? "|" : "",
                         (int)len, item);
        assert_true(n > 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
    assert_int_equal(*p, '\0'); /* the end stays the end */
    assert_false(rl_list_next(&p, &item, &len));
}

static void
list_separators(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *items;
        size_t n;
    } cases[] = {
        {"", "", 0},
        {" ,\t\r\n, ", "", 0},
        {"a", "a", 1},
        {"a b", "a|b", 2},
        {"a,b", "a|b", 2},
        {"a, b", "a|b", 2},
        {" a ,, b ", "a|b", 2},
        {"http://a.example,https://b.example:8443",
         "http://a.example|https://b.example:8443", 2},
        {"10.0.0.0/8\n::1/128\r\n\t192.0.2.7", "10.0.0.0/8|::1/128|192.0.2.7",
         3},
        {"x;y", "x;y", 1}, /* only space, tab, comma, CR, LF separate */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[128];
        list_join(cases[i].in, got, sizeof(got));
        assert_string_equal(got, cases[i].items);
        assert_int_equal(rl_list_count(cases[i].in), cases[i].n);
    }
    assert_true(rl_list_is_sep(','));
    assert_false(rl_list_is_sep(';'));
    assert_false(rl_list_is_sep('\0'));
}

static void
list_contains_is_exact(void **state)
{
    (void)state;
    const char *list = "http://a.example, https://b.example:8443";
    assert_true(rl_list_contains(list, "http://a.example", 16));
    assert_true(rl_list_contains(list, "https://b.example:8443", 22));
    assert_false(rl_list_contains(list, "http://a.exampl", 15));
    assert_false(rl_list_contains(list, "HTTP://A.EXAMPLE", 16));
    assert_false(rl_list_contains(list, "http://a.example,", 17));
    assert_false(rl_list_contains(list, "", 0));
    assert_false(rl_list_contains("", "a", 1));
    assert_false(rl_list_contains(" , ", "", 0));
    /* Only len bytes count: the rest of s may be anything. */
    assert_true(rl_list_contains(list, "http://a.example/x", 16));
}

static bool
stop_readable(const struct rl_stop *s)
{
    struct pollfd p = {.fd = rl_stop_fd(s), .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

static void
stop_fires_once_and_stays(void **state)
{
    (void)state;
    struct rl_stop s;
    assert_true(rl_stop_init(&s));
    assert_true(rl_stop_fd(&s) >= 0);
    assert_true((fcntl(rl_stop_fd(&s), F_GETFD) & FD_CLOEXEC) != 0);
    assert_false(stop_readable(&s));
    rl_stop_fire(&s);
    assert_true(stop_readable(&s));
    /* Every later poll sees it too, and firing again is harmless even
     * once the pipe is full. */
    for (int i = 0; i < 70000; i++) {
        rl_stop_fire(&s);
    }
    assert_true(stop_readable(&s));
    int fd = rl_stop_fd(&s);
    rl_stop_close(&s);
    assert_int_equal(rl_stop_fd(&s), -1);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    rl_stop_close(&s); /* twice: nothing */
}

static void
stop_none_is_inert(void **state)
{
    (void)state;
    struct rl_stop s;
    rl_stop_none(&s);
    assert_int_equal(rl_stop_fd(&s), -1);
    rl_stop_fire(&s);
    rl_stop_close(&s);
    assert_int_equal(rl_stop_fd(&s), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duration_parse_valid),
        cmocka_unit_test(duration_parse_every_millisecond_fraction),
        cmocka_unit_test(duration_parse_invalid),
        cmocka_unit_test(duration_format_like_go),
        cmocka_unit_test(duration_format_fits_small_buffers),
        cmocka_unit_test(duration_format_parse_round_trip),
        cmocka_unit_test(utf8_ascii),
        cmocka_unit_test(utf8_multibyte_well_formed),
        cmocka_unit_test(utf8_malformed),
        cmocka_unit_test(utf8_truncated_reads_only_n_bytes),
        cmocka_unit_test(utf8_decode_code_points),
        cmocka_unit_test(utf8_decode_malformed_or_short),
        cmocka_unit_test(utf8_seq_len_matches_decode_exhaustively),
        cmocka_unit_test(hex_both_ways),
        cmocka_unit_test(err_str_every_value),
        cmocka_unit_test(list_separators),
        cmocka_unit_test(list_contains_is_exact),
        cmocka_unit_test(stop_fires_once_and_stays),
        cmocka_unit_test(stop_none_is_inert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
