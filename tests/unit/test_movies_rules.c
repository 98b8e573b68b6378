/*
 * test_movies_rules.c — unit tests for the pure parts of internal/data's
 * movie model: runtime strings, the contract's validation rules (§3.2), the
 * sort safelist and the text[] literal helpers. No database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal/arena/arena.h"
#include "internal/data/movies.h"
#include "internal/validator/validator.h"

#define YEAR_NOW 2025

/* One expected field → message pair; a NULL key ends a list. */
struct want {
    const char *key;
    const char *message;
};

static const char *const good_genres[] = {"drama", "sci-fi"};

static struct rl_movie
good_movie(void)
{
    struct rl_movie m = {0};
    m.title = "Moana";
    m.year = 2016;
    m.runtime = 107;
    m.genres = (const char **)good_genres;
    m.ngenres = 2;
    return m;
}

/* Validates m and checks that exactly the fields in want failed, each with
 * its message. */
static void
check_validate(const struct rl_movie *m, int year_now, const struct want *want)
{
    struct rl_validator v = {0};
    rl_movie_validate(&v, m, year_now);
    size_t n = 0;
    for (; want[n].key != NULL; n++) {
        const char *got =
            v.errors == NULL
                ? NULL
                : json_string_value(json_object_get(v.errors, want[n].key));
        if (got == NULL || strcmp(got, want[n].message) != 0) {
            print_error("%s: got \"%s\", want \"%s\"\n", want[n].key,
                        got ? got : "(none)", want[n].message);
            rl_validator_free(&v);
            fail();
        }
    }
    size_t got_n = v.errors == NULL ? 0 : json_object_size(v.errors);
    if (got_n != n) {
        char *dump = v.errors ? json_dumps(v.errors, JSON_COMPACT) : NULL;
        print_error("got %zu failures (%s), want %zu\n", got_n,
                    dump ? dump : "{}", n);
        free(dump);
        rl_validator_free(&v);
        fail();
    }
    assert_int_equal(rl_valid(&v), n == 0);
    rl_validator_free(&v);
}

/* A string of n copies of unit, from a. */
static char *
repeat(struct rl_arena *a, const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = rl_arena_alloc(a, ul * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        memcpy(s + i * ul, unit, ul);
    }
    s[ul * n] = '\0';
    return s;
}

/* Each test that needs an arena gets a fresh one in *state; teardown
 * frees it even when an assertion fails half-way. */
static int
arena_setup(void **state)
{
    *state = rl_arena_create(0);
    return *state == NULL ? -1 : 0;
}

static int
arena_teardown(void **state)
{
    rl_arena_destroy(*state);
    return 0;
}

/* ---- runtime ---------------------------------------------------------- */

static void
check_runtime_ok(const char *s, int32_t want)
{
    int32_t got = -777;
    if (!rl_runtime_parse(s, strlen(s), &got) || got != want) {
        print_error("rl_runtime_parse(\"%s\") = %d, want %d\n", s, (int)got,
                    (int)want);
        fail();
    }
}

static void
check_runtime_bad(const char *s, size_t len)
{
    int32_t got = -777;
    if (rl_runtime_parse(s, len, &got)) {
        print_error("rl_runtime_parse(\"%.*s\") accepted as %d\n", (int)len, s,
                    (int)got);
        fail();
    }
    assert_int_equal(got, -777); /* untouched on failure */
}

static void
runtime_parse_accepts(void **state)
{
    (void)state;
    check_runtime_ok("107 mins", 107);
    check_runtime_ok("+5 mins", 5);
    check_runtime_ok("-5 mins", -5);
    check_runtime_ok("0 mins", 0);
    check_runtime_ok("-0 mins", 0);
    check_runtime_ok("007 mins", 7);
    check_runtime_ok("1 mins", 1);
    check_runtime_ok("2147483647 mins", INT32_MAX);
    check_runtime_ok("-2147483648 mins", INT32_MIN);
    check_runtime_ok("00000000000000000000002147483647 mins", INT32_MAX);
}

static void
runtime_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "107",
        "107 minutes",
        "107 min",
        "107  mins",
        " 107 mins",
        "107 mins ",
        "107 Mins",
        "107mins",
        "abc mins",
        "1e2 mins",
        "10.5 mins",
        "0x10 mins",
        "1,000 mins",
        "--5 mins",
        "+-5 mins",
        "5- mins",
        "2147483648 mins",
        "-2147483649 mins",
        "99999999999999999999999 mins",
        "",
        "mins",
        " mins",
        "+ mins",
        "- mins",
        "\xEF\xBC\x91 mins", /* FULLWIDTH DIGIT ONE */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        check_runtime_bad(bad[i], strlen(bad[i]));
    }
    /* Embedded NUL bytes, with the length given explicitly. */
    check_runtime_bad("10\0 mins", 8);
    check_runtime_bad("\0"
                      "107 mins",
                      9);
    check_runtime_bad("107 mi\0s", 8);
    check_runtime_bad("107 mins\0", 9);
    /* The length, not a terminator, decides: "107 mins" cut short. */
    check_runtime_bad("107 mins", 7);
    check_runtime_bad("107 mins", 0);
}

static void
runtime_parse_reads_only_len_bytes(void **state)
{
    (void)state;
    static const char *const inputs[] = {"107 mins", "-5 mins", "mins", "x"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        size_t len = strlen(inputs[i]);
        char *p = test_malloc(len); /* no terminator: ASan checks reads */
        memcpy(p, inputs[i], len);
        int32_t got = 0;
        bool ok = rl_runtime_parse(p, len, &got);
        assert_int_equal(ok, i < 2);
        test_free(p);
    }
}

static void
runtime_format_and_round_trip(void **state)
{
    (void)state;
    char buf[32];
    rl_runtime_format(107, buf, sizeof(buf));
    assert_string_equal(buf, "107 mins");
    rl_runtime_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "0 mins");
    rl_runtime_format(1, buf, sizeof(buf));
    assert_string_equal(buf, "1 mins");
    rl_runtime_format(-5, buf, sizeof(buf));
    assert_string_equal(buf, "-5 mins");
    rl_runtime_format(INT32_MAX, buf, sizeof(buf));
    assert_string_equal(buf, "2147483647 mins");
    rl_runtime_format(INT32_MIN, buf, sizeof(buf));
    assert_string_equal(buf, "-2147483648 mins");

    char small[5];
    rl_runtime_format(107, small, sizeof(small));
    assert_string_equal(small, "107 "); /* cut, still terminated */

    static const int32_t values[] = {0,  1,   -1,      59,        60,
                                     90, 107, 1000000, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        rl_runtime_format(values[i], buf, sizeof(buf));
        check_runtime_ok(buf, values[i]);
    }
}

/* ---- rl_movie_validate ------------------------------------------------ */

static void
validate_good_movie(void **state)
{
    (void)state;
    struct rl_movie m = good_movie();
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});
}

static void
validate_title(void **state)
{
    struct rl_arena *a = *state;
    struct rl_movie m = good_movie();

    m.title = NULL;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"title", "must be provided"}, {NULL, NULL}});
    m.title = "";
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"title", "must be provided"}, {NULL, NULL}});
    m.title = repeat(a, "x", 500);
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});
    m.title = repeat(a, "x", 501);
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"title", "must not be more than 500 bytes long"},
                              {NULL, NULL}});
    /* Bytes, not characters: 250 × "é" is 500 bytes, 167 × "€" is 501. */
    m.title = repeat(a, "\xC3\xA9", 250);
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});
    m.title = repeat(a, "\xE2\x82\xAC", 167);
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"title", "must not be more than 500 bytes long"},
                              {NULL, NULL}});
    m.title = " ";
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});
}

static void
validate_year(void **state)
{
    (void)state;
    struct rl_movie m = good_movie();
    static const struct {
        int32_t year;
        const char *message; /* NULL: valid */
    } cases[] = {
        {0, "must be provided"},
        {1888, NULL},
        {1887, "must be greater than 1888"},
        {1, "must be greater than 1888"},
        {-1, "must be greater than 1888"},
        {INT32_MIN, "must be greater than 1888"},
        {YEAR_NOW, NULL},
        {YEAR_NOW - 1, NULL},
        {YEAR_NOW + 1, "must not be in the future"},
        {INT32_MAX, "must not be in the future"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        m.year = cases[i].year;
        struct want w[2] = {{NULL, NULL}, {NULL, NULL}};
        if (cases[i].message != NULL) {
            w[0] = (struct want){"year", cases[i].message};
        }
        check_validate(&m, YEAR_NOW, w);
    }
    /* The calendar year is the caller's: the same movie passes next year. */
    m.year = YEAR_NOW + 1;
    check_validate(&m, YEAR_NOW + 1, (const struct want[]){{NULL, NULL}});
}

static void
validate_runtime(void **state)
{
    (void)state;
    struct rl_movie m = good_movie();
    m.runtime = 0;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"runtime", "must be provided"}, {NULL, NULL}});
    m.runtime = -5;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"runtime", "must be a positive integer"},
                              {NULL, NULL}});
    m.runtime = INT32_MIN;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"runtime", "must be a positive integer"},
                              {NULL, NULL}});
    m.runtime = 1;
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});
    m.runtime = INT32_MAX;
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});
}

static void
validate_genres(void **state)
{
    struct rl_arena *a = *state;
    struct rl_movie m = good_movie();

    m.genres = NULL;
    m.ngenres = 0;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"genres", "must be provided"}, {NULL, NULL}});

    const char *none[1] = {NULL};
    m.genres = none; /* present but empty: [] */
    m.ngenres = 0;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"genres", "must contain at least 1 genre"},
                              {NULL, NULL}});

    const char *one[] = {"drama"};
    m.genres = one;
    m.ngenres = 1;
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});

    const char *five[] = {"a", "b", "c", "d", "e"};
    m.genres = five;
    m.ngenres = 5;
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});

    const char *six[] = {"a", "b", "c", "d", "e", "f"};
    m.genres = six;
    m.ngenres = 6;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"genres", "must not contain more than 5 genres"},
                              {NULL, NULL}});

    /* Too many wins over duplicates: the count rule comes first. */
    const char *six_dup[] = {"a", "a", "b", "c", "d", "e"};
    m.genres = six_dup;
    m.ngenres = 6;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"genres", "must not contain more than 5 genres"},
                              {NULL, NULL}});

    const char *dup[] = {"drama", "comedy", "drama"};
    m.genres = dup;
    m.ngenres = 3;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"genres", "must not contain duplicate values"},
                              {NULL, NULL}});

    /* Exact comparison: case and trailing spaces make values differ. */
    const char *near[] = {"drama", "Drama", "drama "};
    m.genres = near;
    m.ngenres = 3;
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});

    const char *edge[] = {repeat(a, "g", 500), "x"};
    m.genres = edge;
    m.ngenres = 2;
    check_validate(&m, YEAR_NOW, (const struct want[]){{NULL, NULL}});

    const char *too_long[] = {"x", repeat(a, "g", 501)};
    m.genres = too_long;
    m.ngenres = 2;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){
            {"genres", "must not contain a genre more than 500 bytes long"},
            {NULL, NULL}});

    /* Duplicates are reported before length. */
    const char *long_dup[] = {repeat(a, "g", 501), repeat(a, "g", 501)};
    m.genres = long_dup;
    m.ngenres = 2;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"genres", "must not contain duplicate values"},
                              {NULL, NULL}});
}

static void
validate_all_fields_at_once(void **state)
{
    struct rl_arena *a = *state;
    struct rl_movie m = {0}; /* nothing provided */
    check_validate(&m, YEAR_NOW,
                   (const struct want[]){{"title", "must be provided"},
                                         {"year", "must be provided"},
                                         {"runtime", "must be provided"},
                                         {"genres", "must be provided"},
                                         {NULL, NULL}});

    const char *six[] = {"a", "b", "c", "d", "e", "f"};
    m.title = repeat(a, "t", 501);
    m.year = 1887;
    m.runtime = -5;
    m.genres = six;
    m.ngenres = 6;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"title", "must not be more than 500 bytes long"},
                              {"year", "must be greater than 1888"},
                              {"runtime", "must be a positive integer"},
                              {"genres", "must not contain more than 5 genres"},
                              {NULL, NULL}});

    m.title = "ok";
    m.year = YEAR_NOW + 1;
    m.runtime = 90;
    const char *dup[] = {"x", "x"};
    m.genres = dup;
    m.ngenres = 2;
    check_validate(
        &m, YEAR_NOW,
        (const struct want[]){{"year", "must not be in the future"},
                              {"genres", "must not contain duplicate values"},
                              {NULL, NULL}});
}

static void
validate_keeps_earlier_failures(void **state)
{
    (void)state;
    /* A failure recorded before (e.g. a wrong JSON type) is not replaced. */
    struct rl_validator v = {0};
    rl_check(&v, false, "year", "must be an integer");
    struct rl_movie m = good_movie();
    m.year = 0;
    rl_movie_validate(&v, &m, YEAR_NOW);
    assert_string_equal(json_string_value(json_object_get(v.errors, "year")),
                        "must be an integer");
    assert_int_equal(json_object_size(v.errors), 1);
    rl_validator_free(&v);
}

/* ---- sort safelist ---------------------------------------------------- */

static void
sort_parse_safelist(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        enum rl_movie_sort want;
    } ok[] = {
        {"id", RL_SORT_ID},           {"title", RL_SORT_TITLE},
        {"year", RL_SORT_YEAR},       {"runtime", RL_SORT_RUNTIME},
        {"-id", RL_SORT_ID_DESC},     {"-title", RL_SORT_TITLE_DESC},
        {"-year", RL_SORT_YEAR_DESC}, {"-runtime", RL_SORT_RUNTIME_DESC},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        enum rl_movie_sort got = RL_SORT_COUNT_;
        assert_true(rl_movie_sort_parse(ok[i].in, &got));
        assert_int_equal(got, ok[i].want);
    }
    static const char *const bad[] = {
        "ID",        "Title",  "-",       "",        "id ",      " id",
        "name",      "--id",   "+id",     "-ID",     "id,title", "id;",
        "year DESC", "genres", "-genres", "version", "idx",      "titl",
        "relevance", "score",  "-score",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum rl_movie_sort got = RL_SORT_YEAR_DESC;
        if (rl_movie_sort_parse(bad[i], &got)) {
            print_error("sort \"%s\" accepted\n", bad[i]);
            fail();
        }
        assert_int_equal(got, RL_SORT_YEAR_DESC); /* untouched */
    }
}

/* ---- text[] literals -------------------------------------------------- */

static void
check_decode(struct rl_arena *a, const char *text, const char *const *want,
             size_t nwant)
{
    const char **got = NULL;
    size_t n = 999;
    enum rl_err e = rl_pg_array_decode(a, text, &got, &n);
    if (e != RL_OK) {
        print_error("decode(%s) = %d\n", text, (int)e);
        fail();
    }
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < nwant; i++) {
        assert_non_null(got[i]);
        assert_string_equal(got[i], want[i]);
    }
}

static void
pg_array_encode_exact(void **state)
{
    struct rl_arena *a = *state;
    char *s = rl_pg_array_encode(a, NULL, 0);
    assert_non_null(s);
    assert_string_equal(s, "{}");
    const char *plain[] = {"drama", "sci-fi"};
    assert_string_equal(rl_pg_array_encode(a, plain, 2),
                        "{\"drama\",\"sci-fi\"}");
    const char *tricky[] = {"a\"b", "c\\d", "", "x,y", "{z}", "NULL", " s "};
    assert_string_equal(
        rl_pg_array_encode(a, tricky, 7),
        "{\"a\\\"b\",\"c\\\\d\",\"\",\"x,y\",\"{z}\",\"NULL\",\" s \"}");
    /* Worst case: every byte needs an escape. */
    const char *worst[] = {"\"\"\"", "\\\\"};
    assert_string_equal(rl_pg_array_encode(a, worst, 2),
                        "{\"\\\"\\\"\\\"\",\"\\\\\\\\\"}");
}

static void
pg_array_round_trips(void **state)
{
    struct rl_arena *a = *state;
    static const char *const values[] = {
        "drama",
        "sci fi",
        "a\"b",
        "c\\d",
        "",
        "x,y",
        "{braces}",
        "}",
        "{",
        "NULL",
        "null",
        "  spaces  ",
        "\\",
        "\"",
        "\\\"",
        "trailing\\",
        "caf\xC3\xA9 \xF0\x9F\x8E\xAC \xE2\x82\xAC",
        "[0:1]={a}",
        "tab\there",
        "new\nline",
    };
    const size_t nv = sizeof(values) / sizeof(values[0]);
    /* All at once, each alone, and every pair. */
    char *text = rl_pg_array_encode(a, values, nv);
    assert_non_null(text);
    check_decode(a, text, values, nv);
    for (size_t i = 0; i < nv; i++) {
        check_decode(a, rl_pg_array_encode(a, &values[i], 1), &values[i], 1);
        for (size_t j = 0; j < nv; j++) {
            const char *pair[] = {values[i], values[j]};
            check_decode(a, rl_pg_array_encode(a, pair, 2), pair, 2);
        }
    }
    check_decode(a, rl_pg_array_encode(a, NULL, 0), NULL, 0);
}

static void
pg_array_decodes_postgres_output(void **state)
{
    struct rl_arena *a = *state;
    /* What PostgreSQL's array_out prints: quotes only when needed. */
    check_decode(a, "{}", NULL, 0);
    check_decode(a, "{drama}", (const char *const[]){"drama"}, 1);
    check_decode(a, "{drama,\"sci fi\",\"a\\\"b\",\"c\\\\d\",\"\"}",
                 (const char *const[]){"drama", "sci fi", "a\"b", "c\\d", ""},
                 5);
    check_decode(a, "{\"NULL\",\"{x}\",\"a,b\"}",
                 (const char *const[]){"NULL", "{x}", "a,b"}, 3);
    check_decode(a, "{caf\xC3\xA9,\xE2\x82\xAC}",
                 (const char *const[]){"caf\xC3\xA9", "\xE2\x82\xAC"}, 2);
    /* Explicit lower bounds other than 1 come with a dimension prefix. */
    check_decode(a, "[0:1]={a,b}", (const char *const[]){"a", "b"}, 2);
    check_decode(a, "[-2:-2]={\"x y\"}", (const char *const[]){"x y"}, 1);
}

static void
pg_array_decode_rejects_malformed(void **state)
{
    struct rl_arena *a = *state;
    static const char *const bad[] = {
        "",          "x",       "drama",         "(a,b)",     "{",
        "{a",        "{a,",     "{\"a",          "{\"a\"",    "{\"a\\",
        "{\"a\\\"}", "{\"a\",", "{\"a\"b}", /* text after a closing quote */
        "{a\"b\"}",                     /* quote inside an unquoted element */
        "{a,}",                         /* empty unquoted element */
        "{,a}",      "{,}",     "{a}x", /* text after the array */
        "{a}}",      "{}x",     "{{a,b},{c,d}}", /* not one-dimensional */
        "[0:1]",     "[0:1]=",  "[0:1]=x",       "[0:1]a{b}", "[",
        "}",
    };
    size_t accepted = 0; /* report every case, not just the first */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char **out = NULL;
        size_t n = 0;
        enum rl_err e = rl_pg_array_decode(a, bad[i], &out, &n);
        if (e != RL_ERR_INVALID) {
            print_error("decode(%s) = %d (n=%zu), want invalid\n", bad[i],
                        (int)e, n);
            accepted++;
        }
    }
    assert_int_equal(accepted, 0);
}

static void
pg_array_decode_reads_only_the_string(void **state)
{
    /* Heap copies of exact size: ASan catches reads past the NUL. */
    static const struct {
        const char *in;
        enum rl_err want;
    } cases[] = {
        {"{\"a\\", RL_ERR_INVALID},
        {"{\"", RL_ERR_INVALID},
        {"{a", RL_ERR_INVALID},
        {"[0:1]=", RL_ERR_INVALID},
        {"{\\", RL_ERR_INVALID},
        {"{\"a\"}", RL_OK},
        {"{}", RL_OK},
    };
    struct rl_arena *a = *state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].in) + 1;
        char *p = test_malloc(len);
        memcpy(p, cases[i].in, len);
        const char **out = NULL;
        size_t n = 0;
        assert_int_equal(rl_pg_array_decode(a, p, &out, &n), cases[i].want);
        test_free(p);
    }
}

/* q → to_tsquery text: words of ASCII letters and digits or bytes >=
 * 0x80, each a quoted prefix; everything else (quotes and backslashes
 * included) separates words and never reaches the query. */
static void
prefix_query_quotes_every_word(void **state)
{
    struct rl_arena *a = *state;
    static const struct {
        const char *q;
        const char *want;
    } cases[] = {
        {"godf", "'godf':*"},
        {"Star w", "'Star':* & 'w':*"},
        {"  star   wars  ", "'star':* & 'wars':*"},
        {"schindler's", "'schindler':* & 's':*"},
        {"a'b\\c|d&e!f(g):h*", "'a':* & 'b':* & 'c':* & 'd':* & 'e':* & "
                               "'f':* & 'g':* & 'h':*"},
        {"caf\xc3\xa9 2049", "'caf\xc3\xa9':* & '2049':*"},
        {"", ""},
        {"!!! --- '", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = rl_movie_prefix_query(a, cases[i].q);
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runtime_parse_accepts),
        cmocka_unit_test(runtime_parse_rejects),
        cmocka_unit_test(runtime_parse_reads_only_len_bytes),
        cmocka_unit_test(runtime_format_and_round_trip),
        cmocka_unit_test(validate_good_movie),
        cmocka_unit_test_setup_teardown(validate_title, arena_setup,
                                        arena_teardown),
        cmocka_unit_test(validate_year),
        cmocka_unit_test(validate_runtime),
        cmocka_unit_test_setup_teardown(validate_genres, arena_setup,
                                        arena_teardown),
        cmocka_unit_test_setup_teardown(validate_all_fields_at_once,
                                        arena_setup, arena_teardown),
        cmocka_unit_test(validate_keeps_earlier_failures),
        cmocka_unit_test(sort_parse_safelist),
        cmocka_unit_test_setup_teardown(prefix_query_quotes_every_word,
                                        arena_setup, arena_teardown),
        cmocka_unit_test_setup_teardown(pg_array_encode_exact, arena_setup,
                                        arena_teardown),
        cmocka_unit_test_setup_teardown(pg_array_round_trips, arena_setup,
                                        arena_teardown),
        cmocka_unit_test_setup_teardown(pg_array_decodes_postgres_output,
                                        arena_setup, arena_teardown),
        cmocka_unit_test_setup_teardown(pg_array_decode_rejects_malformed,
                                        arena_setup, arena_teardown),
        cmocka_unit_test_setup_teardown(pg_array_decode_reads_only_the_string,
                                        arena_setup, arena_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
