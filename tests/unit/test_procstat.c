/*
 * test_procstat.c — unit tests for internal/procstat: parsing
 * /proc/<pid>/status and /proc/<pid>/stat texts, counting descriptors, and
 * reading this process's own figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal/procstat/procstat.h"

static void
parses_status_text(void **state)
{
    (void)state;
    const char *status = "Name:\tapi\n"
                         "VmPeak:\t  123456 kB\n"
                         "VmSize:\t  120000 kB\n"
                         "VmRSS:\t   40960 kB\n"
                         "RssAnon:\t   1000 kB\n"
                         "Threads:\t38\n"
                         "SigQ:\t0/1000\n";
    struct rl_procstat ps;
    rl_procstat_parse(status, &ps);
    assert_int_equal(ps.rss_bytes, 40960 * 1024);
    assert_int_equal(ps.vm_bytes, 120000 * 1024);
    assert_int_equal(ps.threads, 38);
}

static void
missing_fields_are_minus_one(void **state)
{
    (void)state;
    struct rl_procstat ps;
    rl_procstat_parse("Name:\tx\nVmRSS:\tlots\n", &ps);
    assert_int_equal(ps.rss_bytes, -1);
    assert_int_equal(ps.vm_bytes, -1);
    assert_int_equal(ps.threads, -1);
    rl_procstat_parse("", &ps);
    assert_int_equal(ps.rss_bytes, -1);
    /* "VmRSSx" is another field, not VmRSS. */
    rl_procstat_parse("VmRSSx:\t5 kB\nThreads:\t2\n", &ps);
    assert_int_equal(ps.rss_bytes, -1);
    assert_int_equal(ps.threads, 2);
}

/* A real line of /proc/<pid>/stat (Linux 6.1), fields 1..52. */
#define STAT_TAIL                                                              \
    " S 1 4242 4242 0 -1 4194560 2779 0 0 0 123 45 0 0 20 0 41 0 98765 "       \
    "1096392704 3225 18446744073709551615 1 1 0 0 0 0 0 4096 17609 0 0 0 17 "  \
    "1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

static void
parses_stat_line(void **state)
{
    (void)state;
    int64_t ut = -1, st = -1, start = -1;
    assert_true(
        rl_procstat_parse_stat("4242 (api)" STAT_TAIL, &ut, &st, &start));
    assert_int_equal(ut, 123);
    assert_int_equal(st, 45);
    assert_int_equal(start, 98765);
    /* A command name may hold spaces and parentheses: counted after the
     * last ')'. */
    ut = st = start = -1;
    assert_true(rl_procstat_parse_stat("4242 (a) b (c) d)" STAT_TAIL, &ut, &st,
                                       &start));
    assert_int_equal(ut, 123);
    assert_int_equal(st, 45);
    assert_int_equal(start, 98765);
}

static void
rejects_bad_stat_lines(void **state)
{
    (void)state;
    int64_t ut, st, start;
    assert_false(rl_procstat_parse_stat("", &ut, &st, &start));
    assert_false(rl_procstat_parse_stat("4242 api S 1 2 3", &ut, &st, &start));
    /* Cut before starttime (field 22). */
    assert_false(rl_procstat_parse_stat(
        "1 (x) S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0\n", &ut, &st, &start));
    /* utime not a number, or negative. */
    assert_false(rl_procstat_parse_stat(
        "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x7 8 0 0 20 0 1 0 9 0\n", &ut, &st,
        &start));
    assert_false(rl_procstat_parse_stat(
        "1 (x) S 1 1 1 0 -1 0 0 0 0 0 -7 8 0 0 20 0 1 0 9 0\n", &ut, &st,
        &start));
    assert_true(rl_procstat_parse_stat(
        "1 (x) S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 9\n", &ut, &st, &start));
    assert_int_equal(start, 9);
}

static void
counts_descriptors(void **state)
{
    (void)state;
    int64_t before = rl_procstat_count_fds("/proc/self/fd");
    assert_true(before >= 3); /* stdin, stdout, stderr */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(rl_procstat_count_fds("/proc/self/fd"), before + 2);
    close(p[0]);
    close(p[1]);
    assert_int_equal(rl_procstat_count_fds("/proc/self/fd"), before);
    assert_int_equal(rl_procstat_count_fds("/nonexistent/fd"), -1);
}

static void
reads_itself(void **state)
{
    (void)state;
    struct rl_procstat ps;
    assert_int_equal(rl_procstat_read(&ps), RL_OK);
    assert_true(ps.rss_bytes > 1024 * 1024);
    assert_true(ps.vm_bytes >= ps.rss_bytes);
    assert_true(ps.threads >= 1);
    assert_true(ps.cpu_ns >= 0);
    assert_int_equal(ps.open_fds, rl_procstat_count_fds("/proc/self/fd"));
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(ps.max_fds, (int64_t)rl.rlim_cur);
    assert_true(ps.heap.alloc >= 0);
    assert_true(ps.heap.inuse >= ps.heap.alloc);
}

static void
cpu_time_grows_with_work(void **state)
{
    (void)state;
    struct rl_procstat a, b;
    assert_int_equal(rl_procstat_read(&a), RL_OK);
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    volatile uint64_t x = 1;
    do { /* 50 ms of CPU: several clock ticks */
        for (int i = 0; i < 100000; i++) {
            x = x * 6364136223846793005ULL + 1;
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec <
             50000000L);
    assert_int_equal(rl_procstat_read(&b), RL_OK);
    assert_true(b.cpu_ns >= a.cpu_ns + 20000000); /* ticks are 10 ms */
}

static void
heap_follows_malloc(void **state)
{
    (void)state;
    struct rl_heapstat a, b;
    rl_procstat_heap(&a);
    /* Under AddressSanitizer malloc is not glibc's: mallinfo2 does not see
     * it, so only the shape can be checked there. */
    char *p = malloc(300000); /* past the mmap threshold: hblkhd */
    assert_non_null(p);
    memset(p, 1, 300000);
    rl_procstat_heap(&b);
    assert_true(b.sys >= b.inuse);
    assert_true(b.inuse >= b.alloc);
    assert_true(b.alloc >= 0);
#if !defined(__SANITIZE_ADDRESS__)
    assert_true(b.alloc >= a.alloc + 300000);
#else
    (void)a;
#endif
    free(p);
}

static void
start_time_is_now(void **state)
{
    (void)state;
    int64_t ns = 0;
    assert_int_equal(rl_procstat_start_time(&ns), RL_OK);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    /* This test binary started moments ago (ticks are 10 ms; the clocks
     * are read a moment apart). */
    assert_true(ns <= now_ns + 100000000);
    assert_true(ns > now_ns - 120 * 1000000000LL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_status_text),
        cmocka_unit_test(missing_fields_are_minus_one),
        cmocka_unit_test(parses_stat_line),
        cmocka_unit_test(rejects_bad_stat_lines),
        cmocka_unit_test(counts_descriptors),
        cmocka_unit_test(reads_itself),
        cmocka_unit_test(cpu_time_grows_with_work),
        cmocka_unit_test(heap_follows_malloc),
        cmocka_unit_test(start_time_is_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
