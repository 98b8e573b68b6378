/*
 * test_cli_args.c — cmd/api/cli_args.c: flags before, between and after a
 * subcommand's positional arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/api/cli_args.h"

#define NF 4

static void
table(struct api_cli_flag f[NF])
{
    f[0] = (struct api_cli_flag){"db-dsn", true, NULL};
    f[1] = (struct api_cli_flag){"email", true, NULL};
    f[2] = (struct api_cli_flag){"all", false, NULL};
    f[3] = (struct api_cli_flag){"activated", false, NULL};
}

struct parsed {
    bool ok;
    const char *pos[4];
    size_t npos;
    char err[128];
    struct api_cli_flag f[NF];
};

static void
parse(struct parsed *p, int n, char **words)
{
    memset(p, 0, sizeof(*p));
    table(p->f);
    p->ok = api_cli_args_parse(n, words, p->f, NF, p->pos, 2, &p->npos, p->err,
                               sizeof(p->err));
}

static void
test_flags_after_positionals(void **state)
{
    (void)state;
    char *w[] = {"a@b.c", "movies:write", "-db-dsn", "postgres://x", "--all"};
    struct parsed p;
    parse(&p, 5, w);
    assert_true(p.ok);
    assert_int_equal(p.npos, 2);
    assert_string_equal(p.pos[0], "a@b.c");
    assert_string_equal(p.pos[1], "movies:write");
    assert_string_equal(api_cli_flag_get(p.f, NF, "db-dsn")->value,
                        "postgres://x");
    assert_true(api_cli_flag_on(p.f, NF, "all"));
    assert_false(api_cli_flag_on(p.f, NF, "activated"));
    assert_null(api_cli_flag_get(p.f, NF, "email")->value);
    assert_null(api_cli_flag_get(p.f, NF, "nope"));
}

static void
test_flags_between_and_equals_forms(void **state)
{
    (void)state;
    char *w[] = {"--email=x@y.z", "one", "-activated=false",
                 "-db-dsn=a=b",   "two", "-all=1"};
    struct parsed p;
    parse(&p, 6, w);
    assert_true(p.ok);
    assert_int_equal(p.npos, 2);
    assert_string_equal(p.pos[0], "one");
    assert_string_equal(p.pos[1], "two");
    assert_string_equal(api_cli_flag_get(p.f, NF, "email")->value, "x@y.z");
    assert_string_equal(api_cli_flag_get(p.f, NF, "db-dsn")->value, "a=b");
    assert_string_equal(api_cli_flag_get(p.f, NF, "activated")->value, "false");
    assert_true(api_cli_flag_on(p.f, NF, "all"));
}

static void
test_last_value_wins_and_value_may_look_like_a_flag(void **state)
{
    (void)state;
    char *w[] = {"-email", "a@b.c", "-email", "-all"};
    struct parsed p;
    parse(&p, 4, w);
    assert_true(p.ok);
    assert_int_equal(p.npos, 0);
    assert_string_equal(api_cli_flag_get(p.f, NF, "email")->value, "-all");
    assert_false(api_cli_flag_on(p.f, NF, "all"));
}

static void
test_negative_numbers_dash_and_double_dash_are_positional(void **state)
{
    (void)state;
    char *w1[] = {"-1", "-"};
    struct parsed p;
    parse(&p, 2, w1);
    assert_true(p.ok);
    assert_int_equal(p.npos, 2);
    assert_string_equal(p.pos[0], "-1");
    assert_string_equal(p.pos[1], "-");

    char *w2[] = {"-all", "--", "-email"};
    parse(&p, 3, w2);
    assert_true(p.ok);
    assert_int_equal(p.npos, 1);
    assert_string_equal(p.pos[0], "-email");
    assert_true(api_cli_flag_on(p.f, NF, "all"));
}

static void
test_errors_name_the_word(void **state)
{
    (void)state;
    struct parsed p;
    char *unknown[] = {"x", "-frob=1"};
    parse(&p, 2, unknown);
    assert_false(p.ok);
    assert_string_equal(p.err, "flag provided but not defined: -frob");

    char *missing[] = {"x", "--db-dsn"};
    parse(&p, 2, missing);
    assert_false(p.ok);
    assert_string_equal(p.err, "flag needs an argument: -db-dsn");

    char *badbool[] = {"-all=yes"};
    parse(&p, 1, badbool);
    assert_false(p.ok);
    assert_string_equal(p.err, "invalid boolean value \"yes\" for flag -all");

    char *many[] = {"a", "-all", "b", "c"};
    parse(&p, 4, many);
    assert_false(p.ok);
    assert_string_equal(p.err, "too many arguments (at \"c\")");

    char *prefix[] = {"-db"}; /* no abbreviations */
    parse(&p, 1, prefix);
    assert_false(p.ok);
    assert_string_equal(p.err, "flag provided but not defined: -db");
}

static void
test_nothing(void **state)
{
    (void)state;
    assert_true(api_cli_is_help("-h"));
    assert_true(api_cli_is_help("--help"));
    assert_false(api_cli_is_help("-help=1"));
    struct parsed p;
    parse(&p, 0, NULL);
    assert_true(p.ok);
    assert_int_equal(p.npos, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_after_positionals),
        cmocka_unit_test(test_flags_between_and_equals_forms),
        cmocka_unit_test(test_last_value_wins_and_value_may_look_like_a_flag),
        cmocka_unit_test(
            test_negative_numbers_dash_and_double_dash_are_positional),
        cmocka_unit_test(test_errors_name_the_word),
        cmocka_unit_test(test_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
