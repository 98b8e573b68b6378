/*
 * test_jsonin.c — internal/jsonin: every message and offset of CONTRACT §1.2
 * and §12 #9–#11, checked against what Go's encoding/json + Greenlight's
 * readJSON answer.
 *
 * Every body is copied into a malloc'd buffer of exactly its length (no NUL
 * after it), so ASan catches any read past len.
 */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal/data/movies.h"
#include "internal/jsonin/jsonin.h"

#define EMPTY "body must not be empty"
#define TOO_LARGE "body must not be larger than 1048576 bytes"
#define BADLY "body contains badly-formed JSON"
#define SINGLE "body must only contain a single JSON value"
#define RUNTIME "invalid runtime format"

/* The server's own runtime rule: ^[+-]?[0-9]+ mins$ within int32. */
static bool
runtime_ok(const json_t *v)
{
    int32_t minutes;
    return json_is_string(v) &&
           rl_runtime_parse(json_string_value(v), json_string_length(v),
                            &minutes);
}

static bool
accept_all(const json_t *v)
{
    (void)v;
    return true;
}

static const struct rl_jin_field movie_fields[] = {
    {"title", RL_JIN_STRING, NULL, NULL, 0},
    {"year", RL_JIN_INT32, NULL, NULL, 0},
    {"runtime", RL_JIN_CUSTOM, runtime_ok, RUNTIME, 0},
    /* capped as the server caps it (cmd/api/movies.c) */
    {"genres", RL_JIN_STRING_ARRAY, NULL, NULL, RL_MOVIE_MAX_GENRES},
};
#define NMOVIE (sizeof movie_fields / sizeof movie_fields[0])

/* The same array field without a cap: every element is built. */
static const struct rl_jin_field uncapped_fields[] = {
    {"genres", RL_JIN_STRING_ARRAY, NULL, NULL, 0},
};

static const struct rl_jin_field any_fields[] = {
    {"any", RL_JIN_CUSTOM, accept_all, "bad any", 0},
};

struct bad_case {
    const char *body;
    const char *message;
};

/* Runs rl_jin_read on a private copy of body[0..len). */
static enum rl_jin_status
read_n(const char *body, size_t len, bool truncated,
       const struct rl_jin_field *fields, size_t nfields,
       struct rl_jin_result *r)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);
    enum rl_jin_status st =
        rl_jin_read(copy, len, truncated, fields, nfields, r);
    free(copy);
    return st;
}

static void
expect_bad_n(const char *body, size_t len, bool truncated, const char *msg)
{
    struct rl_jin_result r;
    enum rl_jin_status st =
        read_n(body, len, truncated, movie_fields, NMOVIE, &r);
    if (st != RL_JIN_BAD || r.status != RL_JIN_BAD || r.object != NULL ||
        strcmp(r.message, msg) != 0) {
        json_decref(r.object);
        fail_msg("body %.*s (truncated=%d): status %d, message \"%s\", "
                 "want \"%s\"",
                 (int)(len > 200 ? 200 : len), body, truncated, (int)st,
                 r.message, msg);
    }
}

static void
expect_bad(const char *body, const char *msg)
{
    expect_bad_n(body, strlen(body), false, msg);
}

static void
expect_table(const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        expect_bad(cases[i].body, cases[i].message);
    }
}

/* Returns the object; the caller json_decref()s it. */
static json_t *
expect_ok_with(const char *body, const struct rl_jin_field *fields,
               size_t nfields)
{
    struct rl_jin_result r;
    enum rl_jin_status st =
        read_n(body, strlen(body), false, fields, nfields, &r);
    if (st != RL_JIN_OK || !json_is_object(r.object) || r.message[0] != '\0') {
        fail_msg("body %s: status %d, message \"%s\", want OK", body, (int)st,
                 r.message);
    }
    return r.object;
}

static json_t *
expect_ok(const char *body)
{
    return expect_ok_with(body, movie_fields, NMOVIE);
}

/* The value of "any" after reading body against any_fields. */
static json_t *
read_any(const char *body)
{
    json_t *obj = expect_ok_with(body, any_fields, 1);
    json_t *v = json_incref(json_object_get(obj, "any"));
    json_decref(obj);
    assert_non_null(v);
    return v;
}

static char *
repeat(const char *head, const char *unit, size_t times, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * times + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < times; i++) {
        memcpy(s + hl + i * ul, unit, ul);
    }
    memcpy(s + hl + ul * times, tail, tl + 1);
    return s;
}

/* ---- phase 1: emptiness, syntax, truncation ------------------------------ */

static void
test_empty_body(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"", EMPTY},     {" ", EMPTY},        {"\t", EMPTY},
        {"\r\n", EMPTY}, {" \t\r\n ", EMPTY},
    };
    expect_table(cases, sizeof cases / sizeof cases[0]);

    struct rl_jin_result r;
    assert_int_equal(rl_jin_read(NULL, 0, false, movie_fields, NMOVIE, &r),
                     RL_JIN_BAD);
    assert_string_equal(r.message, EMPTY);
    assert_null(r.object);
}

static void
test_syntax_error_positions(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"{\"title\": \"Moana\", }", BADLY " (at character 20)"},
        {"<?xml version=\"1.0\"?>", BADLY " (at character 1)"},
        {"{\"title\":\"a\",}", BADLY " (at character 14)"},
        {"\xEF\xBB\xBF{}", BADLY " (at character 1)"},
        {"  @", BADLY " (at character 3)"},
        {"]", BADLY " (at character 1)"},
        {"}", BADLY " (at character 1)"},
        {"NaN", BADLY " (at character 1)"},
        {"nan", BADLY " (at character 2)"},
        {"Infinity", BADLY " (at character 1)"},
        {"+1", BADLY " (at character 1)"},
        {".5", BADLY " (at character 1)"},
        {"'a'", BADLY " (at character 1)"},
        /* numbers */
        {"[01]", BADLY " (at character 3)"},
        {"{\"year\":01}", BADLY " (at character 10)"},
        {"[-01]", BADLY " (at character 4)"},
        {"-x", BADLY " (at character 2)"},
        {"[-]", BADLY " (at character 3)"},
        {"[- 1]", BADLY " (at character 3)"},
        {"[1.]", BADLY " (at character 4)"},
        {"[1.e5]", BADLY " (at character 4)"},
        {"1. ", BADLY " (at character 3)"},
        {"[1e]", BADLY " (at character 4)"},
        {"[1e+]", BADLY " (at character 5)"},
        {"[1E-x]", BADLY " (at character 5)"},
        {"[1e5.0]", BADLY " (at character 5)"},
        {"[1.5.0]", BADLY " (at character 5)"},
        {"[1,+1]", BADLY " (at character 4)"},
        {"[0x10]", BADLY " (at character 3)"},
        /* literals, byte by byte */
        {"trux", BADLY " (at character 4)"},
        {"t ", BADLY " (at character 2)"},
        {"[nul]", BADLY " (at character 5)"},
        {"falsy", BADLY " (at character 5)"},
        {"True", BADLY " (at character 1)"},
        {"[true1]", BADLY " (at character 6)"},
        /* strings */
        {"\"a\001b\"", BADLY " (at character 3)"},
        {"\"a\tb\"", BADLY " (at character 3)"},
        {"{\"title\":\"a\nb\"}", BADLY " (at character 12)"},
        {"\"\\x\"", BADLY " (at character 3)"},
        {"\"\\'\"", BADLY " (at character 3)"},
        {"\"\\U0041\"", BADLY " (at character 3)"},
        {"\"\\u12G4\"", BADLY " (at character 6)"},
        {"\"\\u\"", BADLY " (at character 4)"},
        {"\"\\u000x\"", BADLY " (at character 7)"},
        /* structure */
        {"{\"a\" 1}", BADLY " (at character 6)"},
        {"{\"a\":1 \"b\":2}", BADLY " (at character 8)"},
        {"{\"a\":1,\"b\"}", BADLY " (at character 11)"},
        {"{\"a\":}", BADLY " (at character 6)"},
        {"{1:2}", BADLY " (at character 2)"},
        {"{'a':2}", BADLY " (at character 2)"},
        {"{,}", BADLY " (at character 2)"},
        {"{]", BADLY " (at character 2)"},
        {"[}", BADLY " (at character 2)"},
        {"[1 2]", BADLY " (at character 4)"},
        {"[,1]", BADLY " (at character 2)"},
        {"[1,]", BADLY " (at character 4)"},
        {"[1,,2]", BADLY " (at character 4)"},
        {"[1}", BADLY " (at character 3)"},
        {"{\"a\":1]", BADLY " (at character 7)"},
        {"{\"a\":1,}", BADLY " (at character 8)"},
    };
    expect_table(cases, sizeof cases / sizeof cases[0]);
}

/* The value ends before the data does: Go's io.ErrUnexpectedEOF. */
static const char *const incomplete[] = {
    "{\"title\": \"Moana\"",
    "{",
    "[1,2",
    "\"abc",
    "tru",
    "-",
    "1.",
    "1e",
    "1e+",
    "[1",
    "{\"a\"",
    "{\"a\":",
    "{\"a\" ",
    "{\"a\":1,",
    "[",
    "  [  ",
    "\"\\",
    "\"\\u12",
    "[1.5",
    "[-",
    "{\"title\":\"\xE2\x82",
    "\"\xF0\x9F",
    "[[[[[]]]]",
    "nul",
    "f",
};

static void
test_incomplete_value(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof incomplete / sizeof incomplete[0]; i++) {
        expect_bad(incomplete[i], BADLY);
    }
}

static void
test_incomplete_value_truncated(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof incomplete / sizeof incomplete[0]; i++) {
        expect_bad_n(incomplete[i], strlen(incomplete[i]), true, TOO_LARGE);
    }
}

static void
test_truncated_flag(void **state)
{
    (void)state;
    /* The value completed inside the limit: Go's second Decode sees the
     * MaxBytesError, which is not io.EOF. */
    expect_bad_n("{}", 2, true, SINGLE);
    expect_bad_n("{\"title\":\"x\"}   ", 16, true, SINGLE);
    expect_bad_n("null ", 5, true, SINGLE);
    /* A syntax error inside the limit still wins. */
    expect_bad_n("{\"title\":,", 10, true, BADLY " (at character 10)");
    /* All whitespace, cut off. */
    expect_bad_n("    ", 4, true, TOO_LARGE);
    expect_bad_n("", 0, true, TOO_LARGE);
    /* Go cannot tell a scalar has ended without the next byte. */
    expect_bad_n("123", 3, true, TOO_LARGE);
    expect_bad_n("\"abc\"", 5, true, TOO_LARGE);
    expect_bad_n("null", 4, true, TOO_LARGE);
    expect_bad_n("123 ", 4, true,
                 "body contains incorrect JSON type (at character 3)");
    /* Phase-2 errors come before the trailing-data check. */
    expect_bad_n("{\"rating\":1}", 12, true,
                 "body contains unknown key \"rating\"");
    expect_bad_n("[1]", 3, true,
                 "body contains incorrect JSON type (at character 1)");
}

static void
test_limit_sized_bodies(void **state)
{
    (void)state;
    size_t n = RL_JIN_MAX_BODY;
    char *b = malloc(n + 16);
    assert_non_null(b);

    /* Exactly 1048576 bytes, valid. */
    memcpy(b, "{\"title\":\"", 10);
    memset(b + 10, 'a', n - 12);
    memcpy(b + n - 2, "\"}", 2);
    struct rl_jin_result r;
    assert_int_equal(read_n(b, n, false, movie_fields, NMOVIE, &r), RL_JIN_OK);
    assert_int_equal(json_string_length(json_object_get(r.object, "title")),
                     n - 12);
    json_decref(r.object);

    /* The same bytes, but the client sent more. */
    expect_bad_n(b, n, true, SINGLE);

    /* The value itself runs past the limit. */
    expect_bad_n(b, n - 2, true, TOO_LARGE);
    b[n - 1] = 'a';
    b[n - 2] = 'a';
    expect_bad_n(b, n, true, TOO_LARGE);

    /* A small value followed by whitespace up to and past the limit. */
    memset(b, ' ', n);
    memcpy(b, "{\"title\":\"x\"}", 13);
    expect_bad_n(b, n, true, SINGLE);
    assert_int_equal(read_n(b, n, false, movie_fields, NMOVIE, &r), RL_JIN_OK);
    json_decref(r.object);

    /* 1 MiB of whitespace, cut off. */
    memset(b, ' ', n);
    expect_bad_n(b, n, true, TOO_LARGE);
    expect_bad_n(b, n, false, EMPTY);

    /* A len past the limit reads as its first 1 MiB, truncated. */
    memset(b, ' ', n + 16);
    memcpy(b, "{}", 2);
    expect_bad_n(b, n + 16, false, SINGLE);
    free(b);
}

/* ---- Redlight's additions to phase 1 ------------------------------------- */

static void
test_invalid_utf8(void **state)
{
    (void)state;
#define U8(n) "body contains invalid UTF-8 (at character " #n ")"
    static const struct bad_case cases[] = {
        {"{\"title\":\"\xC0\x80\"}", U8(11)},     /* overlong NUL */
        {"{\"title\":\"\xC1\xBF\"}", U8(11)},     /* overlong */
        {"{\"title\":\"\xE0\x80\x80\"}", U8(11)}, /* overlong */
        {"{\"title\":\"\xE0\x9F\xBF\"}", U8(11)}, /* overlong */
        {"{\"title\":\"\xF0\x80\x80\x80\"}", U8(11)},
        {"{\"title\":\"\xF0\x8F\xBF\xBF\"}", U8(11)},
        {"{\"title\":\"\xED\xA0\x80\"}", U8(11)},     /* U+D800 */
        {"{\"title\":\"\xED\xBF\xBF\"}", U8(11)},     /* U+DFFF */
        {"{\"title\":\"\xF4\x90\x80\x80\"}", U8(11)}, /* U+110000 */
        {"{\"title\":\"\xF5\x80\x80\x80\"}", U8(11)},
        {"{\"title\":\"\xFF\"}", U8(11)},
        {"{\"title\":\"\xFE\"}", U8(11)},
        {"{\"title\":\"\x80\"}", U8(11)}, /* lone continuation */
        {"{\"title\":\"\xBF\"}", U8(11)},
        {"{\"title\":\"\xE2\x82\"}", U8(11)},   /* cut short */
        {"{\"title\":\"a\xE2\202A\"}", U8(12)}, /* \202 == 0x82 */
        {"{\"title\":\"\xC3\"}", U8(11)},
        {"{\"title\":\"\xF0\x9F\x98\"}", U8(11)},
        {"{\"title\":\"\xC3\n\"}", U8(11)},
        {"{\"ti\xFFle\":1}", U8(5)}, /* in a key */
        {"\"\xC3\xA9\xFF\"", U8(4)}, /* after a valid é */
        {"[\"\xFF\", }", U8(3)},     /* before a syntax error */
        {"[} \"\xFF\"]", BADLY " (at character 2)"},
        {"{\"rating\":1,\"title\":\"\xFF\"}", U8(22)}, /* beats unknown key */
    };
#undef U8
    expect_table(cases, sizeof cases / sizeof cases[0]);
}

static void
test_valid_utf8(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{\"title\":\"\xC2\x80\"}",         "{\"title\":\"\xDF\xBF\"}",
        "{\"title\":\"\xE0\xA0\x80\"}",     "{\"title\":\"\xED\x9F\xBF\"}",
        "{\"title\":\"\xEE\x80\x80\"}",     "{\"title\":\"\xEF\xBF\xBF\"}",
        "{\"title\":\"\xF0\x90\x80\x80\"}", "{\"title\":\"\xF0\x9F\x98\x80\"}",
        "{\"title\":\"\xF4\x8F\xBF\xBF\"}", "{\"title\":\"caf\xC3\xA9\"}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_t *o = expect_ok(ok[i]);
        const char *body = ok[i];
        size_t len = strlen(body) - 12; /* {"title":" and "} */
        json_t *t = json_object_get(o, "title");
        assert_int_equal(json_string_length(t), len);
        assert_memory_equal(json_string_value(t), body + 10, len);
        json_decref(o);
    }
}

static void
test_nul_escape(void **state)
{
    (void)state;
#define NUL(n) "body contains a NUL character (at character " #n ")"
    static const struct bad_case cases[] = {
        {"{\"title\":\"a\\u0000\"}", NUL(12)},
        {"\"\\u0000\"", NUL(2)},
        {"{\"\\u0000\":1}", NUL(3)},
        {"{\"rating\":1,\"title\":\"\\u0000\"}", NUL(22)},
        {"[\"\\ud800\\u0000\"]", NUL(9)},
        {"[\"\\u0000\", }", NUL(3)},
        {"[} \"\\u0000\"]", BADLY " (at character 2)"},
    };
#undef NUL
    expect_table(cases, sizeof cases / sizeof cases[0]);
    expect_bad_n("\"\\u000", 6, true, TOO_LARGE);
    expect_bad_n("\"\\u000", 6, false, BADLY);
}

static void
test_nesting_depth(void **state)
{
    (void)state;
    char *ok = repeat("", "[", 1000, "");
    char *ok_full = repeat(ok, "]", 1000, "");
    expect_bad(ok_full, "body contains incorrect JSON type (at character 1)");

    char *deep = repeat("", "[", 1001, "");
    char *deep_full = repeat(deep, "]", 1001, "");
    expect_bad(deep_full, BADLY " (at character 1001)");
    expect_bad(deep, BADLY " (at character 1001)");

    char *objs = repeat("", "{\"a\":", 1000, "1");
    char *objs_full = repeat(objs, "}", 1000, "");
    expect_bad(objs_full, "body contains unknown key \"a\"");
    char *objs2 = repeat("", "{\"a\":", 1001, "1");
    expect_bad(objs2, BADLY " (at character 5001)");

    /* The builder handles the deepest value a custom field can hold. */
    char *any = repeat("{\"any\":", "[", 999, "\"x\"");
    char *any_full = repeat(any, "]", 999, "}");
    json_t *v = read_any(any_full);
    size_t depth = 0;
    for (json_t *p = v; json_is_array(p); p = json_array_get(p, 0)) {
        assert_int_equal(json_array_size(p), 1);
        depth++;
    }
    assert_int_equal(depth, 999);
    json_decref(v);

    free(ok);
    free(ok_full);
    free(deep);
    free(deep_full);
    free(objs);
    free(objs_full);
    free(objs2);
    free(any);
    free(any_full);
}

/* ---- phase 2 ------------------------------------------------------------- */

static void
test_top_level_wrong_type(void **state)
{
    (void)state;
#define AT(n) "body contains incorrect JSON type (at character " #n ")"
    static const struct bad_case cases[] = {
        {"[\"foo\",\"bar\"]", AT(1)},
        {"  [1]", AT(3)},
        {"[]", AT(1)},
        {"\"foo\"", AT(5)},
        {"123", AT(3)},
        {" 12", AT(3)},
        {"12 ", AT(2)},
        {"true", AT(4)},
        {"false", AT(5)},
        {"-1.5e3", AT(6)},
        {"0123", AT(1)},   /* Go's value is the 0 */
        {"123abc", AT(3)}, /* the type error comes before trailing data */
        {"\"a\"x", AT(3)},
        {"true1", AT(4)},
        {"1e5.0", AT(3)},
        {"[1] x", AT(1)},
    };
#undef AT
    expect_table(cases, sizeof cases / sizeof cases[0]);
}

static void
test_top_level_null_and_empty(void **state)
{
    (void)state;
    static const char *const ok[] = {"null", " null \n", "{}", " { } ",
                                     "{\"title\":null}"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_t *o = expect_ok(ok[i]);
        assert_int_equal(json_object_size(o), 0);
        json_decref(o);
    }
}

static void
test_trailing_data(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"{\"title\":\"a\"}{\"title\":\"b\"}", SINGLE},
        {"{} :~()", SINGLE},
        {"{} 1", SINGLE},
        {"{}}", SINGLE},
        {"{}x", SINGLE},
        {"{} {", SINGLE},
        {"{}{\"a\":", SINGLE},
        {"{} \"\xFF\"", SINGLE}, /* only the first value is scanned */
        {"nullx", SINGLE},
        {"null null", SINGLE},
        {"null,", SINGLE},
    };
    expect_table(cases, sizeof cases / sizeof cases[0]);
    json_t *o = expect_ok("{\"title\":\"a\"} \t\r\n ");
    json_decref(o);
}

static void
test_wrong_field_type(void **state)
{
    (void)state;
#define FT(f) "body contains incorrect JSON type for field \"" f "\""
    static const struct bad_case cases[] = {
        {"{\"title\": 123}", FT("title")},
        {"{\"title\": true}", FT("title")},
        {"{\"title\": {}}", FT("title")},
        {"{\"title\": [\"a\"]}", FT("title")},
        {"{\"year\": \"2000\"}", FT("year")},
        {"{\"year\": 2000.5}", FT("year")},
        {"{\"year\": 2000.0}", FT("year")},
        {"{\"year\": 1e3}", FT("year")},
        {"{\"year\": 99999999999}", FT("year")},
        {"{\"year\": 99999999999999999999999}", FT("year")},
        {"{\"year\": 2147483648}", FT("year")},
        {"{\"year\": -2147483649}", FT("year")},
        {"{\"year\": false}", FT("year")},
        {"{\"year\": [2000]}", FT("year")},
        {"{\"genres\": \"drama\"}", FT("genres")},
        {"{\"genres\": [1]}", FT("genres")},
        {"{\"genres\": [\"a\", 1]}", FT("genres")},
        {"{\"genres\": [null]}", FT("genres")},
        {"{\"genres\": [[\"a\"]]}", FT("genres")},
        {"{\"genres\": {}}", FT("genres")},
        {"{\"genres\": true}", FT("genres")},
    };
#undef FT
    expect_table(cases, sizeof cases / sizeof cases[0]);
}

static void
test_int32_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        json_int_t want;
    } cases[] = {
        {"{\"year\":2147483647}", INT32_MAX},
        {"{\"year\":-2147483648}", INT32_MIN},
        {"{\"year\":0}", 0},
        {"{\"year\":-0}", 0},
        {"{\"year\":2016}", 2016},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = expect_ok(cases[i].body);
        json_t *y = json_object_get(o, "year");
        assert_true(json_is_integer(y));
        assert_int_equal(json_integer_value(y), cases[i].want);
        json_decref(o);
    }
}

static void
test_runtime_custom_check(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"{\"runtime\": 107}", RUNTIME},
        {"{\"runtime\": \"107 minutes\"}", RUNTIME},
        {"{\"runtime\": \"107\"}", RUNTIME},
        {"{\"runtime\": \"abc mins\"}", RUNTIME},
        {"{\"runtime\": [\"107 mins\"]}", RUNTIME},
        {"{\"runtime\": {}}", RUNTIME},
        {"{\"runtime\": true}", RUNTIME},
    };
    expect_table(cases, sizeof cases / sizeof cases[0]);
    static const char *const ok[] = {"{\"runtime\":\"107 mins\"}",
                                     "{\"runtime\":\"+107 mins\"}",
                                     "{\"runtime\":\"-5 mins\"}"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_t *o = expect_ok(ok[i]);
        assert_true(json_is_string(json_object_get(o, "runtime")));
        json_decref(o);
    }
    json_t *o = expect_ok("{\"runtime\":null}");
    assert_null(json_object_get(o, "runtime"));
    json_decref(o);
}

static bool
reject_all(const json_t *v)
{
    (void)v;
    return false;
}

static void
test_custom_without_message(void **state)
{
    (void)state;
    static const struct rl_jin_field f[] = {
        {"code", RL_JIN_CUSTOM, reject_all, NULL, 0},
    };
    struct rl_jin_result r;
    static const char body[] = "{\"code\":1}";
    assert_int_equal(read_n(body, sizeof body - 1, false, f, 1, &r),
                     RL_JIN_BAD);
    assert_string_equal(r.message,
                        "body contains incorrect JSON type for field \"code\"");
    /* null never reaches the check */
    static const char null_body[] = "{\"code\":null}";
    assert_int_equal(read_n(null_body, sizeof null_body - 1, false, f, 1, &r),
                     RL_JIN_OK);
    assert_int_equal(json_object_size(r.object), 0);
    json_decref(r.object);
}

static void
test_all_field_kinds(void **state)
{
    (void)state;
    json_t *o = expect_ok("{\"title\":\"Moana\",\"year\":2016,"
                          "\"runtime\":\"107 mins\","
                          "\"genres\":[\"animation\",\"adventure\"]}");
    json_t *want = json_pack("{s:s, s:I, s:s, s:[s,s]}", "title", "Moana",
                             "year", (json_int_t)2016, "runtime", "107 mins",
                             "genres", "animation", "adventure");
    assert_true(json_equal(o, want));
    json_decref(want);
    json_decref(o);

    o = expect_ok("{\"genres\":[]}");
    assert_int_equal(json_array_size(json_object_get(o, "genres")), 0);
    json_decref(o);
}

static void
test_null_fields_removed(void **state)
{
    (void)state;
    json_t *o = expect_ok("{\"title\":null,\"year\":2016,\"runtime\":null,"
                          "\"genres\":null}");
    assert_int_equal(json_object_size(o), 1);
    assert_null(json_object_get(o, "title"));
    assert_int_equal(json_integer_value(json_object_get(o, "year")), 2016);
    json_decref(o);
}

static void
test_error_ordering(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        /* unknown key before a type error: the first saved one wins */
        {"{\"rating\":1,\"title\":2}", "body contains unknown key \"rating\""},
        {"{\"title\":2,\"rating\":1}",
         "body contains incorrect JSON type for field \"title\""},
        /* a failing custom check wins over anything saved before it */
        {"{\"title\":2,\"runtime\":\"x\"}", RUNTIME},
        {"{\"rating\":1,\"runtime\":107}", RUNTIME},
        {"{\"title\":\"a\",\"title\":\"b\",\"runtime\":\"bad\"}", RUNTIME},
        {"{\"runtime\":\"1 mins\",\"runtime\":\"bad\"}", RUNTIME},
        {"{\"runtime\":\"107 mins\",\"title\":2}",
         "body contains incorrect JSON type for field \"title\""},
        /* a syntax error anywhere beats everything */
        {"{\"rating\":5, }", BADLY " (at character 14)"},
        {"{\"runtime\":1,\"title\":1,}", BADLY " (at character 24)"},
        {"{\"title\":1} x", "body contains incorrect JSON type for field "
                            "\"title\""},
        {"{\"rating\":1}{", "body contains unknown key \"rating\""},
        {"{\"runtime\":1}{}", RUNTIME},
        /* unknown keys are not checked further */
        {"{\"rating\":{\"runtime\":1}}",
         "body contains unknown key \"rating\""},
    };
    expect_table(cases, sizeof cases / sizeof cases[0]);
}

static void
test_duplicate_and_case_sensitive_keys(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"{\"title\":\"a\",\"title\":\"b\"}",
         "body contains duplicate key \"title\""},
        {"{\"title\":null,\"title\":\"b\"}",
         "body contains duplicate key \"title\""},
        {"{\"titl\\u0065\":\"a\",\"title\":\"b\"}",
         "body contains duplicate key \"title\""},
        {"{\"title\":\"a\",\"title\":1}",
         "body contains duplicate key \"title\""},
        {"{\"title\":1,\"title\":\"a\"}",
         "body contains incorrect JSON type for field \"title\""},
        {"{\"x\":1,\"x\":2}", "body contains unknown key \"x\""},
        {"{\"year\":1,\"title\":\"a\",\"year\":2}",
         "body contains duplicate key \"year\""},
        {"{\"TITLE\":\"x\"}", "body contains unknown key \"TITLE\""},
        {"{\"Title\":\"x\"}", "body contains unknown key \"Title\""},
        {"{\"title \":\"x\"}", "body contains unknown key \"title \""},
        {"{\"\":\"x\"}", "body contains unknown key \"\""},
    };
    expect_table(cases, sizeof cases / sizeof cases[0]);

    /* Nested objects keep the last of duplicate keys, as Go does. */
    json_t *v = read_any("{\"any\":{\"a\":1,\"a\":2}}");
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 2);
    assert_int_equal(json_object_size(v), 1);
    json_decref(v);
}

static void
test_key_quoting(void **state)
{
    (void)state;
#define UK "body contains unknown key "
    static const struct bad_case cases[] = {
        {"{\"a\\\"b\":1}", UK "\"a\\\"b\""},
        {"{\"a\\\\b\":1}", UK "\"a\\\\b\""},
        {"{\"a\\/b\":1}", UK "\"a/b\""},
        {"{\"a\\nb\\tc\\rd\":1}", UK "\"a\\nb\\tc\\rd\""},
        {"{\"\\b\\f\\u0007\\u000b\":1}", UK "\"\\b\\f\\a\\v\""},
        {"{\"\\u0001\\u001f\\u007f\":1}", UK "\"\\x01\\x1f\\x7f\""},
        {"{\"caf\\u00e9 \xE2\x82\xAC \xF0\x9F\x98\x80\":1}",
         UK "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\""},
        {"{\"\\u0085\\u00a0\\u00ad\\u2028\\ufeff\":1}",
         UK "\"\\u0085\\u00a0\\u00ad\\u2028\\ufeff\""},
        {"{\"\\udb80\\udc00\":1}", UK "\"\\U000f0000\""},
        {"{\"\\ud800\":1}", UK "\"\xEF\xBF\xBD\""},
    };
#undef UK
    expect_table(cases, sizeof cases / sizeof cases[0]);
}

static void
test_long_key_quoting(void **state)
{
    (void)state;
    char want[400];

    char *a300 = repeat("{\"", "a", 300, "\":1}");
    char *a200 = repeat("", "a", 200, "");
    snprintf(want, sizeof want, "body contains unknown key \"%s...\"", a200);
    expect_bad(a300, want);

    char *exact = repeat("{\"", "a", 200, "\":1}");
    snprintf(want, sizeof want, "body contains unknown key \"%s\"", a200);
    expect_bad(exact, want);

    /* 199 'a' then a 2-byte é that would end at byte 201: cut before it. */
    char *cut = repeat("{\"", "a", 199, "\xC3\xA9\":1}");
    snprintf(want, sizeof want, "body contains unknown key \"%.199s...\"",
             a200);
    expect_bad(cut, want);

    /* Escapes grow: the quoted text is capped so the message fits. */
    char *ctl = repeat("{\"", "\\u0001", 100, "\":1}");
    char *esc = repeat("", "\\x01", 64, "");
    snprintf(want, sizeof want, "body contains unknown key \"%s...\"", esc);
    expect_bad(ctl, want);
    assert_true(strlen(want) < sizeof((struct rl_jin_result *)0)->message);

    char *nbsp = repeat("{\"", "\\u00a0", 150, "\":\"a\"}");
    char *nbsp_esc = repeat("", "\\u00a0", 42, "");
    snprintf(want, sizeof want, "body contains unknown key \"%s...\"",
             nbsp_esc);
    expect_bad(nbsp, want);
    free(a300);
    free(a200);
    free(exact);
    free(cut);
    free(ctl);
    free(esc);
    free(nbsp);
    free(nbsp_esc);
}

/* ---- values -------------------------------------------------------------- */

static void
test_string_escapes(void **state)
{
    (void)state;
    json_t *o = expect_ok(
        "{\"title\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC "
        "\\ud83d\\ude00 \\uD83D\\uDE00 \\u0041\"}");
    const char want[] = "\" \\ / \b \f \n \r \t \xC3\xA9 \xE2\x82\xAC "
                        "\xF0\x9F\x98\x80 \xF0\x9F\x98\x80 A";
    json_t *t = json_object_get(o, "title");
    assert_int_equal(json_string_length(t), sizeof want - 1);
    assert_memory_equal(json_string_value(t), want, sizeof want - 1);
    json_decref(o);
}

static void
test_lone_surrogates(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *want;
    } cases[] = {
        {"{\"title\":\"\\ud800\"}", "\xEF\xBF\xBD"},
        {"{\"title\":\"\\udc00\"}", "\xEF\xBF\xBD"},
        {"{\"title\":\"\\ud800x\"}", "\xEF\xBF\xBDx"},
        {"{\"title\":\"\\ud800\\u0041\"}", "\xEF\xBF\xBD\101"},
        {"{\"title\":\"\\ud800\\ud800\\udc00\"}",
         "\xEF\xBF\xBD\xF0\x90\x80\x80"},
        {"{\"title\":\"\\udc00\\ud800\"}", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"{\"title\":\"\\ud800\\n\"}", "\xEF\xBF\xBD\n"},
        {"{\"title\":\"\\udbff\\udfff\"}", "\xF4\x8F\xBF\xBF"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = expect_ok(cases[i].body);
        assert_string_equal(json_string_value(json_object_get(o, "title")),
                            cases[i].want);
        json_decref(o);
    }
}

static void
test_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        bool integer;
        json_int_t i;
        double d;
    } cases[] = {
        {"{\"any\":9223372036854775807}", true, INT64_MAX, 0},
        {"{\"any\":-9223372036854775808}", true, INT64_MIN, 0},
        {"{\"any\":-0}", true, 0, 0},
        {"{\"any\":9223372036854775808}", false, 0, 9223372036854775808.0},
        {"{\"any\":-9223372036854775809}", false, 0, -9223372036854775809.0},
        {"{\"any\":99999999999999999999999}", false, 0, 1e23},
        {"{\"any\":1.5}", false, 0, 1.5},
        {"{\"any\":-0.25}", false, 0, -0.25},
        {"{\"any\":1E2}", false, 0, 100.0},
        {"{\"any\":1e+2}", false, 0, 100.0},
        {"{\"any\":25e-2}", false, 0, 0.25},
        {"{\"any\":1e400}", false, 0, DBL_MAX},
        {"{\"any\":-1e400}", false, 0, -DBL_MAX},
        {"{\"any\":1e-400}", false, 0, 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = read_any(cases[i].body);
        if (cases[i].integer) {
            assert_true(json_is_integer(v));
            assert_true(json_integer_value(v) == cases[i].i);
        } else {
            assert_true(json_is_real(v));
            assert_true(json_real_value(v) == cases[i].d);
        }
        json_decref(v);
    }
}

static void
test_custom_value_built_whole(void **state)
{
    (void)state;
    json_t *v = read_any("{\"any\" : { \"a\" : [ 1 , \"x\" , null , true , "
                         "false , { \"b\" : { } } , [ ] ] , \"c\" : -2.5 } }");
    json_t *want = json_pack("{s:[i,s,n,b,b,{s:{}},[]], s:f}", "a", 1, "x", 1,
                             0, "b", "c", -2.5);
    assert_true(json_equal(v, want));
    json_decref(want);
    json_decref(v);

    v = read_any("{\"any\":\"\"}");
    assert_string_equal(json_string_value(v), "");
    json_decref(v);
}

/* ---- what a hostile body can make the reader allocate -------------------- */

/* jansson's allocations, counted (rl_jin_read's own scratch buffer and
 * frames are plain malloc: at most len bytes + 16 KB, see jsonin.h). */
union alloc_head {
    size_t n;
    max_align_t align;
};
static size_t live_bytes, peak_bytes;

static void *
counting_malloc(size_t n)
{
    union alloc_head *h = malloc(sizeof *h + n);
    if (h == NULL) {
        return NULL;
    }
    h->n = n;
    live_bytes += n;
    if (live_bytes > peak_bytes) {
        peak_bytes = live_bytes;
    }
    return h + 1;
}

static void
counting_free(void *p)
{
    if (p != NULL) {
        union alloc_head *h = (union alloc_head *)p - 1;
        live_bytes -= h->n;
        free(h);
    }
}

/* Reads body[0..len) against fields with jansson's allocations counted;
 * returns the status, the peak of jansson bytes live during the read in
 * *peak, and the object (or NULL) in *obj. */
static enum rl_jin_status
read_counted(const char *body, size_t len, const struct rl_jin_field *fields,
             size_t nfields, size_t *peak, json_t **obj, char *message,
             size_t message_size)
{
    struct rl_jin_result r;
    json_set_alloc_funcs(counting_malloc, counting_free);
    live_bytes = peak_bytes = 0;
    enum rl_jin_status st = read_n(body, len, false, fields, nfields, &r);
    *peak = peak_bytes;
    *obj = r.object;
    snprintf(message, message_size, "%s", r.message);
    return st;
}

/* `{"genres": [""` + `,""` ... `]}`, exactly RL_JIN_MAX_BODY bytes: 349,521
 * empty strings. */
static char *
million_empty_genres(size_t *len, size_t *count)
{
    static const char head[] = "{\"genres\": [\"\"";
    size_t n = (RL_JIN_MAX_BODY - (sizeof head - 1) - 2) / 3;
    char *body = repeat(head, ",\"\"", n, "]}");
    *len = strlen(body);
    *count = n + 1;
    return body;
}

/* A capped array field builds max_items + 1 elements and no more, so the
 * caller still sees "too many"; below the cap everything is built, in
 * order. */
static void
test_array_cap_builds_max_plus_one(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (size_t n = 0; n <= 8; n++) {
        char body[128] = "{\"genres\":[";
        for (size_t i = 0; i < n; i++) {
            size_t at = strlen(body);
            snprintf(body + at, sizeof body - at, "%s\"%s\"", i ? ", " : "",
                     names[i]);
        }
        size_t at = strlen(body);
        snprintf(body + at, sizeof body - at, "]}");
        json_t *o = expect_ok(body);
        json_t *g = json_object_get(o, "genres");
        size_t want = n < RL_MOVIE_MAX_GENRES + 1 ? n : RL_MOVIE_MAX_GENRES + 1;
        assert_int_equal(json_array_size(g), want);
        for (size_t i = 0; i < want; i++) {
            assert_string_equal(json_string_value(json_array_get(g, i)),
                                names[i]);
        }
        json_decref(o);

        o = expect_ok_with(body, uncapped_fields, 1);
        assert_int_equal(json_array_size(json_object_get(o, "genres")), n);
        json_decref(o);
    }
}

/* The issue's body: 1 MiB of empty genres. Uncapped, jansson is asked for
 * about 15.7 MB (45 bytes in 2 allocations per element; some 30 MB resident
 * with malloc's overhead); capped, for under 600 bytes. */
static void
test_array_cap_bounds_memory(void **state)
{
    (void)state;
    size_t len, count, peak;
    char *body = million_empty_genres(&len, &count);
    json_t *o;
    char msg[320];
    assert_int_equal(len, RL_JIN_MAX_BODY);
    assert_int_equal(count, 349521);

    assert_int_equal(read_counted(body, len, movie_fields, NMOVIE, &peak, &o,
                                  msg, sizeof msg),
                     RL_JIN_OK);
    assert_int_equal(json_array_size(json_object_get(o, "genres")),
                     RL_MOVIE_MAX_GENRES + 1);
    json_decref(o);
    print_message("capped: jansson peak %zu bytes\n", peak);
    assert_true(peak < 2048);

    assert_int_equal(
        read_counted(body, len, uncapped_fields, 1, &peak, &o, msg, sizeof msg),
        RL_JIN_OK);
    assert_int_equal(json_array_size(json_object_get(o, "genres")), count);
    json_decref(o);
    print_message("uncapped: jansson peak %zu bytes\n", peak);
    assert_true(peak > 10 * (size_t)RL_JIN_MAX_BODY);
    json_set_alloc_funcs(malloc, free);
    free(body);
}

/* Elements past the cap are not built but still read: every error they
 * hold is reported exactly as before, at the same offset. */
static void
test_array_cap_keeps_errors(void **state)
{
    (void)state;
    static const char head[] =
        "{\"genres\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",";
    static const struct {
        const char *rest;    /* after head */
        const char *marker;  /* offset of its first byte, 1-based, is N */
        const char *message; /* + " (at character N)" when marker is set */
    } cases[] = {
        {"1]}", NULL, "body contains incorrect JSON type for field \"genres\""},
        {"\"h\",null]}", NULL,
         "body contains incorrect JSON type for field \"genres\""},
        {"\"h\\u0000\"]}", "\\u0000", "body contains a NUL character"},
        {"\"h\xff\"]}", "\xff", "body contains invalid UTF-8"},
        {"\"h\" \"i\"]}", "\"i", BADLY},
        {"\"h\",]}", ",]", BADLY},
        {"\"h\"", NULL, BADLY},
        {"\"h\"],\"rating\":1}", NULL, "body contains unknown key \"rating\""},
        {"\"h\"],\"genres\":[]}", NULL,
         "body contains duplicate key \"genres\""},
        {"\"h\"],\"runtime\":\"x\"}", NULL, RUNTIME},
        {"\"h\"]} {}", NULL, SINGLE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[256], want[320];
        snprintf(body, sizeof body, "%s%s", head, cases[i].rest);
        if (cases[i].marker != NULL) {
            const char *m = strstr(body + sizeof head - 1, cases[i].marker);
            assert_non_null(m);
            /* ",]": the offending byte is the ']' */
            size_t pos = (size_t)(m - body) + 1 + (m[0] == ',' ? 1 : 0);
            snprintf(want, sizeof want, "%s (at character %zu)",
                     cases[i].message, pos);
        } else {
            snprintf(want, sizeof want, "%s", cases[i].message);
        }
        expect_bad(body, want);
    }
}

/* A custom value is built only when it has at most RL_JIN_CUSTOM_MAX_ITEMS
 * values and keys; a larger one fails its check unbuilt. */
static void
test_custom_item_limit(void **state)
{
    (void)state;
    /* the array itself + RL_JIN_CUSTOM_MAX_ITEMS - 1 numbers */
    char *fits = repeat("{\"any\":[0", ",1", RL_JIN_CUSTOM_MAX_ITEMS - 2, "]}");
    json_t *v = read_any(fits);
    assert_int_equal(json_array_size(v), RL_JIN_CUSTOM_MAX_ITEMS - 1);
    json_decref(v);
    char *over = repeat("{\"any\":[0", ",1", RL_JIN_CUSTOM_MAX_ITEMS - 1, "]}");
    struct rl_jin_result r;
    assert_int_equal(read_n(over, strlen(over), false, any_fields, 1, &r),
                     RL_JIN_BAD);
    assert_string_equal(r.message, "bad any");

    /* keys count too: {"k":1} is three items */
    char *objs = repeat("{\"any\":[{\"k\":1}", ",{\"k\":1}",
                        RL_JIN_CUSTOM_MAX_ITEMS / 3 - 1, "]}");
    v = read_any(objs);
    assert_int_equal(json_array_size(v), RL_JIN_CUSTOM_MAX_ITEMS / 3);
    json_decref(v);
    char *objs_over = repeat("{\"any\":[{\"k\":1}", ",{\"k\":1}",
                             RL_JIN_CUSTOM_MAX_ITEMS / 3, "]}");
    assert_int_equal(
        read_n(objs_over, strlen(objs_over), false, any_fields, 1, &r),
        RL_JIN_BAD);
    assert_string_equal(r.message, "bad any");

    /* 1 MiB of empty objects: refused without building any */
    size_t n = (RL_JIN_MAX_BODY - 11) / 3, peak;
    char *huge = repeat("{\"any\":[{}", ",{}", n, "]}");
    json_t *o;
    char msg[320];
    assert_int_equal(read_counted(huge, strlen(huge), any_fields, 1, &peak, &o,
                                  msg, sizeof msg),
                     RL_JIN_BAD);
    json_set_alloc_funcs(malloc, free);
    assert_null(o);
    assert_string_equal(msg, "bad any");
    print_message("1 MiB custom value: jansson peak %zu bytes\n", peak);
    assert_true(peak < 1024);

    free(fits);
    free(over);
    free(objs);
    free(objs_over);
    free(huge);
}

/* ---- out of memory ------------------------------------------------------- */

static long alloc_budget = -1;

static void *
limited_malloc(size_t n)
{
    if (alloc_budget == 0) {
        return NULL;
    }
    if (alloc_budget > 0) {
        alloc_budget--;
    }
    return malloc(n);
}

/* Every jansson allocation failing in turn gives RL_JIN_NOMEM, never a
 * leak (ASan) or a half-built object. */
static void
test_out_of_memory(void **state)
{
    (void)state;
    static const char body[] =
        "{\"title\":\"Moana\",\"year\":2016,\"runtime\":\"107 mins\","
        "\"genres\":[\"animation\",\"adventure\"],\"title\":null}";
    static const struct rl_jin_field any_field[] = {
        {"title", RL_JIN_CUSTOM, accept_all, "x", 0},
        {"genres", RL_JIN_CUSTOM, accept_all, "x", 0},
    };
    static const char body2[] =
        "{\"genres\":[[[1,{\"a\":[\"b\",{\"c\":2.5}]}]],{}],\"title\":{}}";
    json_set_alloc_funcs(limited_malloc, free);
    bool done = false, done2 = false;
    for (long budget = 0; budget < 200 && !(done && done2); budget++) {
        struct rl_jin_result r;
        alloc_budget = budget;
        enum rl_jin_status st =
            read_n(body, sizeof body - 1, false, movie_fields, NMOVIE, &r);
        if (st == RL_JIN_BAD) {
            assert_string_equal(r.message,
                                "body contains duplicate key \"title\"");
            done = true;
        } else {
            assert_int_equal(st, RL_JIN_NOMEM);
            assert_null(r.object);
        }
        alloc_budget = budget;
        st = read_n(body2, sizeof body2 - 1, false, any_field, 2, &r);
        if (st == RL_JIN_OK) {
            json_decref(r.object);
            done2 = true;
        } else {
            assert_int_equal(st, RL_JIN_NOMEM);
            assert_null(r.object);
        }
    }
    alloc_budget = -1;
    json_set_alloc_funcs(malloc, free);
    assert_true(done);
    assert_true(done2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_syntax_error_positions),
        cmocka_unit_test(test_incomplete_value),
        cmocka_unit_test(test_incomplete_value_truncated),
        cmocka_unit_test(test_truncated_flag),
        cmocka_unit_test(test_limit_sized_bodies),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_valid_utf8),
        cmocka_unit_test(test_nul_escape),
        cmocka_unit_test(test_nesting_depth),
        cmocka_unit_test(test_top_level_wrong_type),
        cmocka_unit_test(test_top_level_null_and_empty),
        cmocka_unit_test(test_trailing_data),
        cmocka_unit_test(test_wrong_field_type),
        cmocka_unit_test(test_int32_bounds),
        cmocka_unit_test(test_runtime_custom_check),
        cmocka_unit_test(test_custom_without_message),
        cmocka_unit_test(test_all_field_kinds),
        cmocka_unit_test(test_null_fields_removed),
        cmocka_unit_test(test_error_ordering),
        cmocka_unit_test(test_duplicate_and_case_sensitive_keys),
        cmocka_unit_test(test_key_quoting),
        cmocka_unit_test(test_long_key_quoting),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_lone_surrogates),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_custom_value_built_whole),
        cmocka_unit_test(test_array_cap_builds_max_plus_one),
        cmocka_unit_test(test_array_cap_bounds_memory),
        cmocka_unit_test(test_array_cap_keeps_errors),
        cmocka_unit_test(test_custom_item_limit),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
