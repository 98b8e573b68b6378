/*
 * test_procstat.c — unit tests for internal/procstat: parsing a
 * /proc/<pid>/status text, and reading this process's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal/procstat/procstat.h"

static void
parses_status_text(void **state)
{
    (void)state;
    const char *status = "Name:\tapi\n"
                         "VmPeak:\t  123456 kB\n"
                         "VmRSS:\t   40960 kB\n"
                         "RssAnon:\t   1000 kB\n"
                         "Threads:\t38\n"
                         "SigQ:\t0/1000\n";
    struct rl_procstat ps;
    rl_procstat_parse(status, &ps);
    assert_int_equal(ps.rss_bytes, 40960 * 1024);
    assert_int_equal(ps.threads, 38);
}

static void
missing_fields_are_minus_one(void **state)
{
    (void)state;
    struct rl_procstat ps;
    rl_procstat_parse("Name:\tx\nVmRSS:\tlots\n", &ps);
    assert_int_equal(ps.rss_bytes, -1);
    assert_int_equal(ps.threads, -1);
    rl_procstat_parse("", &ps);
    assert_int_equal(ps.rss_bytes, -1);
    /* "VmRSSx" is another field, not VmRSS. */
    rl_procstat_parse("VmRSSx:\t5 kB\nThreads:\t2\n", &ps);
    assert_int_equal(ps.rss_bytes, -1);
    assert_int_equal(ps.threads, 2);
}

static void
reads_itself(void **state)
{
    (void)state;
    struct rl_procstat ps;
    assert_int_equal(rl_procstat_read(&ps), RL_OK);
    assert_true(ps.rss_bytes > 1024 * 1024);
    assert_true(ps.threads >= 1);
    assert_true(ps.heap_bytes >= 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_status_text),
        cmocka_unit_test(missing_fields_are_minus_one),
        cmocka_unit_test(reads_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
