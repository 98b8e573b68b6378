/*
 * test_conn.c — unit tests for the deadline arithmetic of
 * internal/data/conn (no database: what waits on a server is tested
 * against a frozen PostgreSQL by tests/test_db_freeze.py).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal/data/conn.h"

static void
poll_ms_is_the_time_left(void **state)
{
    (void)state;
    assert_int_equal(rl_pg_poll_ms(1500, 1000), 500);
    assert_int_equal(rl_pg_poll_ms(1001, 1000), 1);
}

static void
poll_ms_is_zero_at_and_past_the_deadline(void **state)
{
    (void)state;
    /* poll(2) with 0 still reports a socket that is ready right now. */
    assert_int_equal(rl_pg_poll_ms(1000, 1000), 0);
    assert_int_equal(rl_pg_poll_ms(1000, 1001), 0);
    assert_int_equal(rl_pg_poll_ms(0, INT64_MAX), 0);
}

static void
poll_ms_never_overflows_an_int(void **state)
{
    (void)state;
    /* -1 would mean "wait forever" to poll(2). */
    assert_int_equal(rl_pg_poll_ms(INT64_MAX, 0), INT_MAX);
    assert_int_equal(rl_pg_poll_ms((int64_t)INT_MAX + 10, 5), INT_MAX);
    assert_int_equal(rl_pg_poll_ms(INT64_MAX, -5), INT_MAX);
}

static void
deadline_adds_the_budget(void **state)
{
    (void)state;
    assert_int_equal(rl_pg_deadline(1000, 3500), 4500);
}

static void
deadline_saturates(void **state)
{
    (void)state;
    assert_true(rl_pg_deadline(INT64_MAX - 10, 3500) == INT64_MAX);
    assert_true(rl_pg_deadline(INT64_MAX, 1) == INT64_MAX);
}

static void
deadline_without_budget_has_passed(void **state)
{
    (void)state;
    assert_int_equal(rl_pg_deadline(1000, 0), 1000);
    assert_int_equal(rl_pg_deadline(1000, -5), 1000);
    assert_int_equal(rl_pg_poll_ms(rl_pg_deadline(1000, 0), 1000), 0);
}

static void
budget_is_statement_timeout_plus_slack(void **state)
{
    (void)state;
    assert_int_equal(rl_pg_budget_ms(3000, 250), 3250);
    /* The pool's default: 3 s statement_timeout + 0.5 s. */
    assert_int_equal(rl_pg_budget_ms(3000, 0), 3000 + RL_PG_SLACK_MS);
    assert_int_equal(rl_pg_budget_ms(3000, -1), 3000 + RL_PG_SLACK_MS);
    assert_int_equal(RL_PG_SLACK_MS, 500);
}

static void
budget_of_the_largest_timeout_does_not_wrap(void **state)
{
    (void)state;
    assert_true(rl_pg_budget_ms(INT_MAX, INT_MAX) ==
                (int64_t)INT_MAX + INT_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poll_ms_is_the_time_left),
        cmocka_unit_test(poll_ms_is_zero_at_and_past_the_deadline),
        cmocka_unit_test(poll_ms_never_overflows_an_int),
        cmocka_unit_test(deadline_adds_the_budget),
        cmocka_unit_test(deadline_saturates),
        cmocka_unit_test(deadline_without_budget_has_passed),
        cmocka_unit_test(budget_is_statement_timeout_plus_slack),
        cmocka_unit_test(budget_of_the_largest_timeout_does_not_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
