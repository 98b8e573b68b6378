/*
 * test_validator.c — unit tests for internal/validator: error collection
 * (first failure per key wins), rl_unique, rl_valid_text and
 * rl_parse_i64n (internal/base/parse) with Go ParseInt cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal/base/parse.h"
#include "internal/validator/validator.h"

/* The message recorded for key, or NULL. */
static const char *
message_of(const struct rl_validator *v, const char *key)
{
    if (v->errors == NULL) {
        return NULL;
    }
    return json_string_value(json_object_get(v->errors, key));
}

static void
fresh_validator_is_valid(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    assert_true(rl_valid(&v));
    assert_false(rl_failed(&v, "title"));
    assert_null(v.errors);
    rl_validator_free(&v); /* nothing to release */
    assert_null(v.errors);
}

static void
passing_checks_record_nothing(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    rl_check(&v, true, "title", "must be provided");
    rl_check(&v, true, "year", "must be provided");
    assert_true(rl_valid(&v));
    assert_null(v.errors); /* no object allocated until a failure */
    assert_false(rl_failed(&v, "title"));
    rl_validator_free(&v);
}

static void
first_failure_per_key_wins(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    rl_check(&v, true, "year", "must be provided");
    rl_check(&v, false, "year", "must be greater than 1888");
    rl_check(&v, false, "year", "must not be in the future");
    rl_check(&v, true, "year", "ignored");
    assert_false(rl_valid(&v));
    assert_true(rl_failed(&v, "year"));
    assert_int_equal(json_object_size(v.errors), 1);
    assert_string_equal(message_of(&v, "year"), "must be greater than 1888");
    rl_validator_free(&v);
    assert_null(v.errors);
}

static void
several_keys_reported_together(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    rl_check(&v, false, "title", "must be provided");
    rl_check(&v, true, "year", "must be provided");
    rl_check(&v, false, "runtime", "must be a positive integer");
    rl_check(&v, false, "title", "must not be more than 500 bytes long");
    rl_check(&v, false, "genres", "must be provided");
    rl_check(&v, false, "runtime", "must be provided");
    assert_false(rl_valid(&v));
    assert_int_equal(json_object_size(v.errors), 3);
    assert_string_equal(message_of(&v, "title"), "must be provided");
    assert_string_equal(message_of(&v, "runtime"),
                        "must be a positive integer");
    assert_string_equal(message_of(&v, "genres"), "must be provided");
    assert_true(rl_failed(&v, "title"));
    assert_true(rl_failed(&v, "runtime"));
    assert_true(rl_failed(&v, "genres"));
    assert_false(rl_failed(&v, "year"));
    assert_false(rl_failed(&v, "Title")); /* keys are exact */
    assert_false(rl_failed(&v, ""));
    rl_validator_free(&v);
}

static void
messages_are_copied(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    char key[] = "email";
    char msg[] = "must be a valid email address";
    rl_check(&v, false, key, msg);
    memset(msg, 'x', sizeof(msg) - 1);
    memset(key, 'y', sizeof(key) - 1);
    assert_string_equal(message_of(&v, "email"),
                        "must be a valid email address");
    rl_validator_free(&v);
}

static void
caller_can_take_over_errors(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    rl_check(&v, false, "token", "must be 26 bytes long");
    json_t *errors = json_incref(v.errors);
    rl_validator_free(&v);
    assert_null(v.errors);
    char *dumped = json_dumps(errors, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(dumped);
    assert_string_equal(dumped, "{\"token\":\"must be 26 bytes long\"}");
    free(dumped);
    json_decref(errors);
}

static void
nomem_makes_invalid(void **state)
{
    (void)state;
    /* A failure that could not be recorded must still fail validation. */
    struct rl_validator v = {0};
    v.nomem = true;
    assert_false(rl_valid(&v));
    rl_validator_free(&v);
}

static void
unique_cases(void **state)
{
    (void)state;
    assert_true(rl_unique(NULL, 0));
    const char *one[] = {"drama"};
    assert_true(rl_unique(one, 1));
    const char *distinct[] = {"drama", "Drama", "dram", "drama ", "", "sci-fi"};
    assert_true(rl_unique(distinct, 6));
    const char *first_last[] = {"a", "b", "c", "d", "a"};
    assert_false(rl_unique(first_last, 5));
    const char *adjacent[] = {"a", "b", "b", "c"};
    assert_false(rl_unique(adjacent, 4));
    const char *empties[] = {"", "x", ""};
    assert_false(rl_unique(empties, 3));
    /* Exact byte compare: NFC "é" and NFD "e" + U+0301 differ. */
    const char *forms[] = {"caf\xC3\xA9", "cafe\xCC\x81"};
    assert_true(rl_unique(forms, 2));
    const char *same_utf8[] = {"caf\xC3\xA9", "x", "caf\xC3\xA9"};
    assert_false(rl_unique(same_utf8, 3));
    /* Only the first n count. */
    assert_true(rl_unique(first_last, 4));
}

static void
valid_text_accepts(void **state)
{
    (void)state;
    assert_true(rl_valid_text("", 0));
    assert_true(rl_valid_text(NULL, 0));
    assert_true(rl_valid_text("hello, world", 12));
    assert_true(rl_valid_text("\t\r\n\x01\x7F", 5)); /* controls are text */
    assert_true(rl_valid_text("caf\xC3\xA9", 5));
    assert_true(rl_valid_text("\xE2\x82\xAC 5", 5));
    assert_true(rl_valid_text("\xF0\x9F\x8E\xAC movie", 10));
    assert_true(rl_valid_text("\xF4\x8F\xBF\xBF", 4));
    /* len, not the terminator, bounds the check. */
    assert_true(rl_valid_text("ab\xFF", 2));
    assert_true(rl_valid_text("ab\0cd", 2));
}

static void
valid_text_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {"\0", 1},
        {"ab\0cd", 5}, /* embedded NUL */
        {"abc\0", 4},  /* trailing NUL inside len */
        {"\xFF", 1},
        {"ab\x80", 3},   /* lone continuation */
        {"\xC0\x80", 2}, /* overlong NUL (Java's modified UTF-8) */
        {"\xE0\x80\x80", 3},
        {"\xED\xA0\x80", 3}, /* surrogate */
        {"\xF4\x90\x80\x80", 4},
        {"caf\xC3", 4},     /* cut short at the end */
        {"caf\xC3\xA9", 4}, /* len cuts a valid sequence */
        {"\xE2\x82", 2},
        {"\xC3(", 2},
        {"ok \xF0\x9F\x8E", 6},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (rl_valid_text(cases[i].s, cases[i].len)) {
            print_error("case %zu accepted\n", i);
            fail();
        }
    }
}

static void
valid_text_reads_only_len_bytes(void **state)
{
    (void)state;
    /* Exactly len bytes on the heap, no terminator: ASan catches a read
     * past them. */
    static const char body[] = "t\xC3\xADtulo \xF0\x9F\x8E\xAC";
    size_t len = sizeof(body) - 1;
    char *p = test_malloc(len);
    memcpy(p, body, len);
    assert_true(rl_valid_text(p, len));
    assert_false(rl_valid_text(p, len - 1)); /* cuts the emoji */
    test_free(p);
}

static void
parse_int64_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool sign_ok;
        int64_t want;
    } cases[] = {
        {"0", false, 0},
        {"7", false, 7},
        {"007", false, 7}, /* Go's ParseInt takes leading zeros */
        {"36", false, 36},
        {"9223372036854775807", false, INT64_MAX},
        {"+5", true, 5},
        {"-5", true, -5},
        {"-0", true, 0},
        {"-9223372036854775808", true, INT64_MIN},
        {"+9223372036854775807", true, INT64_MAX},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = 42;
        assert_int_equal(rl_parse_i64n(cases[i].s, strlen(cases[i].s),
                                       cases[i].sign_ok ? RL_PARSE_SIGN : 0,
                                       INT64_MIN, INT64_MAX, NULL, &got),
                         RL_OK);
        assert_true(got == cases[i].want);
    }
}

static void
parse_int64_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        bool sign_ok;
    } cases[] = {
        {"", 0, true},
        {"+", 1, true},
        {"-", 1, true},
        {"+5", 2, false}, /* no sign for ids and years */
        {"-5", 2, false},
        {"36\0", 3, false}, /* "36%00": the NUL is part of the value */
        {"5\0"
         "2",
         3, true},
        {"\0"
         "1",
         2, true},
        {"1 ", 2, true},
        {" 1", 2, true},
        {"1.5", 3, true},
        {"1e3", 3, true},
        {"0x1", 3, true},
        {"1_000", 5, true},
        {"\xEF\xBC\x91", 3, true}, /* FULLWIDTH DIGIT ONE */
        {"\xFF", 1, true},
        {"9223372036854775808", 19, true},
        {"-9223372036854775809", 20, true},
        {"99999999999999999999", 20, true},
        {"18446744073709551616", 20, true}, /* wraps uint64 to 0 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = 42;
        if (rl_parse_i64n(cases[i].s, cases[i].len,
                          cases[i].sign_ok ? RL_PARSE_SIGN : 0, INT64_MIN,
                          INT64_MAX, NULL, &got) != RL_ERR_INVALID ||
            got != 42) {
            print_error("case %zu accepted\n", i);
            fail();
        }
    }
}

static void
parse_int64_reads_only_len_bytes(void **state)
{
    (void)state;
    /* "12" followed by more digits on the heap: only len bytes count, and
     * ASan catches a read past them. */
    char *p = test_malloc(2);
    memcpy(p, "12", 2);
    int64_t got;
    assert_int_equal(rl_parse_i64n(p, 2, 0, INT64_MIN, INT64_MAX, NULL, &got),
                     RL_OK);
    assert_int_equal(got, 12);
    assert_int_equal(rl_parse_i64n(p, 1, 0, INT64_MIN, INT64_MAX, NULL, &got),
                     RL_OK);
    assert_int_equal(got, 1);
    test_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_validator_is_valid),
        cmocka_unit_test(passing_checks_record_nothing),
        cmocka_unit_test(first_failure_per_key_wins),
        cmocka_unit_test(several_keys_reported_together),
        cmocka_unit_test(messages_are_copied),
        cmocka_unit_test(caller_can_take_over_errors),
        cmocka_unit_test(nomem_makes_invalid),
        cmocka_unit_test(unique_cases),
        cmocka_unit_test(valid_text_accepts),
        cmocka_unit_test(valid_text_rejects),
        cmocka_unit_test(valid_text_reads_only_len_bytes),
        cmocka_unit_test(parse_int64_accepts),
        cmocka_unit_test(parse_int64_rejects),
        cmocka_unit_test(parse_int64_reads_only_len_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
