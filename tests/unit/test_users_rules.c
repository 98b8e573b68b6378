/*
 * test_users_rules.c — unit tests for the pure parts of internal/data's user
 * model: the e-mail pattern (WHATWG "valid e-mail address", Greenlight's
 * EmailRX, plus the 254-byte cap) and every validation message of
 * CONTRACT §4.2, first failure per field, all fields together. No database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal/data/users.h"
#include "internal/validator/validator.h"

static const char *
message_of(const struct rl_validator *v, const char *key)
{
    if (v->errors == NULL) {
        return NULL;
    }
    return json_string_value(json_object_get(v->errors, key));
}

static bool
email_ok(const char *s)
{
    return rl_email_valid(s, strlen(s));
}

/* A string of n copies of c, NUL-terminated (test_free it). */
static char *
repeat(char c, size_t n)
{
    char *s = test_malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void
email_accepts(void **state)
{
    (void)state;
    static const char *const good[] = {
        "alice@example.com",
        "a@localhost", /* no dot needed in the domain */
        "a@b",
        "ALICE@EXAMPLE.COM",
        "a.b@x.y",
        "a..b@x", /* WHATWG allows repeated dots locally */
        ".a@x",   /* ... and leading ones */
        "a.@x",   /* ... and trailing ones */
        "user+tag@example.org",
        "!#$%&'*+/=?^_`{|}~-@x", /* every special character allowed */
        "1@2",
        "a@x-y.com",
        "a@x--y.com", /* inner hyphens are fine */
        "a@0.0.0.0",  /* digits-only labels */
        "a@xn--bcher-kva.example",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!email_ok(good[i])) {
            fail_msg("rejected %s", good[i]);
        }
    }
}

static void
email_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "a",
        "@x.com", /* empty local part */
        "a@",     /* empty domain */
        "a@@x.com",
        "a@b@c",
        "a@-x.com", /* label starts with a hyphen */
        "a@x-.com", /* label ends with a hyphen */
        "a@x.-y",
        "a@x.y-",
        "a@x..com", /* empty label */
        "a@.x.com",
        "a@x.com.",    /* trailing dot: empty last label */
        "a@x_y.com",   /* underscore not allowed in the domain */
        "\"a\"@x.com", /* quoted local parts are not in the pattern */
        "\"a b\"@x.com",
        "a b@x.com", /* spaces */
        " a@x.com",
        "a@x.com ",
        "a@x .com",
        "a@x.com\n", /* Go's $ does not match before a newline */
        "a\n@x.com",
        "a\t@x.com",
        "(comment)a@x.com",
        "a,b@x.com",
        "a;b@x.com",
        "a<b>@x.com",
        "a[b]@x.com",
        "a\\b@x.com",
        "a:b@x.com",
        "a@[127.0.0.1]",     /* address literals are not in the pattern */
        "caf\xC3\xA9@x.com", /* non-ASCII local part */
        "a@b\xC3\xBC"
        "cher.example",       /* non-ASCII domain */
        "\xEF\xBC\xA1@x.com", /* fullwidth A */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (email_ok(bad[i])) {
            fail_msg("accepted %s", bad[i]);
        }
    }
    /* len, not the NUL, bounds the check: a NUL inside is rejected. */
    assert_false(rl_email_valid("a@x\0y", 5));
    assert_true(rl_email_valid("a@xyz", 3));
    assert_false(rl_email_valid(NULL, 0));
}

static void
email_label_lengths(void **state)
{
    (void)state;
    char buf[200];
    char *l63 = repeat('d', 63);
    char *l64 = repeat('d', 64);

    memcpy(buf, "a@", 2);
    memcpy(buf + 2, l63, 64);
    assert_true(email_ok(buf)); /* 63-character label: the longest */
    memcpy(buf + 2, l64, 65);
    assert_false(email_ok(buf)); /* 64 characters: too long */

    /* The same inside a longer name. */
    memcpy(buf, "a@x.", 4);
    memcpy(buf + 4, l63, 63);
    memcpy(buf + 67, ".com", 5);
    assert_true(email_ok(buf));
    memcpy(buf + 4, l64, 64);
    memcpy(buf + 68, ".com", 5);
    assert_false(email_ok(buf));

    /* A one-character label, and hyphens right inside the ends. */
    assert_true(email_ok("a@x.y.z"));
    assert_true(email_ok("a@x-----y"));
    test_free(l63);
    test_free(l64);
}

static void
email_total_length(void **state)
{
    (void)state;
    /* 254 bytes is the most we keep (beyond it, index entries and SMTP
     * paths get into trouble); the local part itself has no limit of its
     * own in the pattern. */
    char buf[300];
    size_t local = 254 - strlen("@example.com");
    memset(buf, 'a', local);
    memcpy(buf + local, "@example.com", 13);
    assert_int_equal(strlen(buf), 254);
    assert_true(email_ok(buf));
    memmove(buf + 1, buf, 255);
    assert_int_equal(strlen(buf), 255);
    assert_false(email_ok(buf));
}

static void
name_rules(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    rl_user_validate_name(&v, "Alice");
    assert_true(rl_valid(&v));

    rl_user_validate_name(&v, "");
    assert_string_equal(message_of(&v, "name"), "must be provided");
    rl_validator_free(&v);

    rl_user_validate_name(&v, NULL);
    assert_string_equal(message_of(&v, "name"), "must be provided");
    rl_validator_free(&v);

    char *n500 = repeat('n', 500);
    char *n501 = repeat('n', 501);
    rl_user_validate_name(&v, n500);
    assert_true(rl_valid(&v));
    rl_user_validate_name(&v, n501);
    assert_string_equal(message_of(&v, "name"),
                        "must not be more than 500 bytes long");
    rl_validator_free(&v);
    test_free(n500);
    test_free(n501);

    /* Bytes, not characters: 250 two-byte characters pass, 251 fail. */
    char two[503];
    for (size_t i = 0; i < 251; i++) {
        two[2 * i] = '\xC3';
        two[2 * i + 1] = '\xA9';
    }
    two[500] = '\0';
    rl_user_validate_name(&v, two);
    assert_true(rl_valid(&v));
    two[500] = '\xC3';
    two[502] = '\0';
    rl_user_validate_name(&v, two);
    assert_string_equal(message_of(&v, "name"),
                        "must not be more than 500 bytes long");
    rl_validator_free(&v);
}

static void
email_rules(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    rl_user_validate_email(&v, "alice@example.com");
    assert_true(rl_valid(&v));

    rl_user_validate_email(&v, "");
    assert_string_equal(message_of(&v, "email"), "must be provided");
    rl_validator_free(&v);

    rl_user_validate_email(&v, NULL);
    assert_string_equal(message_of(&v, "email"), "must be provided");
    rl_validator_free(&v);

    rl_user_validate_email(&v, "not an email");
    assert_string_equal(message_of(&v, "email"),
                        "must be a valid email address");
    rl_validator_free(&v);
}

static void
password_rules(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *want; /* NULL: valid */
    } cases[] = {
        {0, "must be provided"},
        {1, "must be at least 8 bytes long"},
        {7, "must be at least 8 bytes long"},
        {8, NULL},
        {72, NULL},
        {73, "must not be more than 72 bytes long"},
        {500, "must not be more than 72 bytes long"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rl_validator v = {0};
        char *pw = repeat('p', cases[i].len);
        rl_user_validate_password(&v, pw);
        if (cases[i].want == NULL) {
            assert_true(rl_valid(&v));
        } else {
            assert_string_equal(message_of(&v, "password"), cases[i].want);
        }
        rl_validator_free(&v);
        test_free(pw);
    }
    struct rl_validator v = {0};
    rl_user_validate_password(&v, NULL);
    assert_string_equal(message_of(&v, "password"), "must be provided");
    rl_validator_free(&v);

    /* Bytes: four 4-byte characters are 16 bytes, enough. */
    rl_user_validate_password(&v, "\xF0\x9F\x8E\xAC\xF0\x9F\x8E\xAC"
                                  "\xF0\x9F\x8E\xAC\xF0\x9F\x8E\xAC");
    assert_true(rl_valid(&v));
    /* Two are 8 bytes: the minimum. */
    rl_user_validate_password(&v, "\xF0\x9F\x8E\xAC\xF0\x9F\x8E\xAC");
    assert_true(rl_valid(&v));
}

static void
token_rules(void **state)
{
    (void)state;
    static const struct {
        const char *token;
        const char *want;
    } cases[] = {
        {"", "must be provided"},
        {NULL, "must be provided"},
        {"A", "must be 26 bytes long"},
        {"AAAAAAAAAAAAAAAAAAAAAAAAA", "must be 26 bytes long"},   /* 25 */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAA", "must be 26 bytes long"}, /* 27 */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},                     /* 26 */
        /* Bytes, not characters: 13 two-byte characters are 26 bytes. The
         * rule is only about length; such a token is simply not found. */
        {"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
         "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9",
         NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rl_validator v = {0};
        rl_user_validate_token(&v, cases[i].token);
        if (cases[i].want == NULL) {
            assert_true(rl_valid(&v));
        } else {
            assert_string_equal(message_of(&v, "token"), cases[i].want);
        }
        rl_validator_free(&v);
    }
}

static void
all_fields_reported_together(void **state)
{
    (void)state;
    struct rl_validator v = {0};
    rl_user_validate_name(&v, "");
    rl_user_validate_email(&v, "a@-x.com");
    rl_user_validate_password(&v, "short");
    rl_user_validate_token(&v, "abc");
    assert_false(rl_valid(&v));
    assert_int_equal(json_object_size(v.errors), 4);
    assert_string_equal(message_of(&v, "name"), "must be provided");
    assert_string_equal(message_of(&v, "email"),
                        "must be a valid email address");
    assert_string_equal(message_of(&v, "password"),
                        "must be at least 8 bytes long");
    assert_string_equal(message_of(&v, "token"), "must be 26 bytes long");
    rl_validator_free(&v);

    /* A valid user leaves nothing behind. */
    rl_user_validate_name(&v, "Alice");
    rl_user_validate_email(&v, "alice@example.com");
    rl_user_validate_password(&v, "pa55word");
    assert_true(rl_valid(&v));
    assert_null(v.errors);
}

static void
first_failure_per_field_wins(void **state)
{
    (void)state;
    /* An empty email fails "must be provided" and must not then also be
     * called invalid. */
    struct rl_validator v = {0};
    rl_user_validate_email(&v, "");
    rl_user_validate_email(&v, "nope");
    assert_string_equal(message_of(&v, "email"), "must be provided");
    rl_validator_free(&v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(email_accepts),
        cmocka_unit_test(email_rejects),
        cmocka_unit_test(email_label_lengths),
        cmocka_unit_test(email_total_length),
        cmocka_unit_test(name_rules),
        cmocka_unit_test(email_rules),
        cmocka_unit_test(password_rules),
        cmocka_unit_test(token_rules),
        cmocka_unit_test(all_fields_reported_together),
        cmocka_unit_test(first_failure_per_field_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
