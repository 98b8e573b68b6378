/*
 * test_arena.c — unit tests for internal/arena: alignment, chunk growth,
 * big blocks, overflow and cap checks, string helpers, deferred cleanups.
 *
 * Deferred cleanups record their order in a file-static log owned by this
 * test binary; cmocka runs the tests one at a time, so no lock is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "internal/arena/arena.h"

#define ALIGN_ANY (_Alignof(max_align_t))

static int order_log[16];
static size_t order_len;

static void
record(void *ptr)
{
    if (order_len < sizeof(order_log) / sizeof(order_log[0])) {
        order_log[order_len++] = *(const int *)ptr;
    }
}

static void
count_call(void *ptr)
{
    (*(int *)ptr)++;
}

/* Allocates from a until the cap refuses even the smallest request, so the
 * next allocation must fail. Returns the number of bytes handed out. */
static size_t
fill_to_cap(struct rl_arena *a)
{
    size_t given = 0;
    for (size_t size = (size_t)1024 * 1024; size >= 1; size /= 2) {
        while (rl_arena_alloc(a, size) != NULL) {
            given += size;
        }
    }
    return given;
}

static void
create_and_destroy(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    rl_arena_destroy(a);
    a = rl_arena_create(1 << 20);
    assert_non_null(a);
    rl_arena_destroy(a);
    rl_arena_destroy(NULL); /* no-op */
}

static void
alloc_is_aligned(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(64);
    assert_non_null(a);
    for (size_t n = 0; n <= 200; n++) {
        unsigned char *p = rl_arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % ALIGN_ANY, 0);
        memset(p, 0xAB, n);
    }
    /* Odd sizes interleaved with big ones still come back aligned. */
    for (size_t i = 0; i < 50; i++) {
        void *p = rl_arena_alloc(a, i % 2 ? 3 : 5000 + i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % ALIGN_ANY, 0);
    }
    long double *ld = rl_arena_alloc(a, sizeof(*ld) * 4);
    assert_non_null(ld);
    ld[3] = 1.5L; /* UBSan would flag a misaligned store */
    assert_true(ld[3] == 1.5L);
    rl_arena_destroy(a);
}

static void
alloc_zero_bytes_gives_distinct_pointers(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    void *p = rl_arena_alloc(a, 0);
    void *q = rl_arena_alloc(a, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    rl_arena_destroy(a);
}

static void
many_small_allocs_across_chunks(void **state)
{
    (void)state;
    enum { COUNT = 20000, SIZE = 24 };
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    unsigned char **ptrs = malloc(COUNT * sizeof(*ptrs));
    assert_non_null(ptrs);
    for (size_t i = 0; i < COUNT; i++) {
        ptrs[i] = rl_arena_alloc(a, SIZE);
        assert_non_null(ptrs[i]);
        memset(ptrs[i], (int)(i & 0xFF), SIZE);
    }
    /* 480 KB in 24-byte pieces spans many chunks; no piece overlaps
     * another. */
    for (size_t i = 0; i < COUNT; i++) {
        for (size_t j = 0; j < SIZE; j++) {
            assert_int_equal(ptrs[i][j], i & 0xFF);
        }
    }
    free(ptrs);
    rl_arena_destroy(a);
}

static void
big_allocs_larger_than_a_chunk(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    char *small1 = rl_arena_strdup(a, "before");
    assert_non_null(small1);
    static const size_t sizes[] = {
        2049, 4096, 4097, 65536, 1024 * 1024, 1024 * 1024 + 1, 3000000};
    unsigned char *big[sizeof(sizes) / sizeof(sizes[0])];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        big[i] = rl_arena_alloc(a, sizes[i]);
        assert_non_null(big[i]);
        assert_int_equal((uintptr_t)big[i] % ALIGN_ANY, 0);
        memset(big[i], (int)i + 1, sizes[i]);
    }
    /* Small allocations keep working around the big blocks. */
    char *small2 = rl_arena_strdup(a, "after");
    assert_non_null(small2);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(big[i][0], i + 1);
        assert_int_equal(big[i][sizes[i] - 1], i + 1);
    }
    assert_string_equal(small1, "before");
    assert_string_equal(small2, "after");
    rl_arena_destroy(a);
}

static void
calloc_zero_fills(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    /* ASan fills fresh malloc blocks with 0xbe, so a missing memset would
     * show here. */
    unsigned char *p = rl_arena_calloc(a, 100, 7);
    assert_non_null(p);
    for (size_t i = 0; i < 700; i++) {
        assert_int_equal(p[i], 0);
    }
    unsigned char *q = rl_arena_calloc(a, 3, 100000);
    assert_non_null(q);
    for (size_t i = 0; i < 300000; i++) {
        assert_int_equal(q[i], 0);
    }
    assert_non_null(rl_arena_calloc(a, 0, 8));
    assert_non_null(rl_arena_calloc(a, 8, 0));
    rl_arena_destroy(a);
}

static void
calloc_overflow_returns_null(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    assert_null(rl_arena_calloc(a, SIZE_MAX / 2 + 1, 2));
    assert_null(rl_arena_calloc(a, 2, SIZE_MAX / 2 + 1));
    assert_null(rl_arena_calloc(a, SIZE_MAX, SIZE_MAX));
    /* (2^32 + 1) * (2^32 - 1) wraps to a small product on 64-bit. */
    assert_null(
        rl_arena_calloc(a, ((size_t)1 << 32) + 1, ((size_t)1 << 32) - 1));
    /* No overflow, but past the cap. */
    assert_null(rl_arena_calloc(a, RL_ARENA_MAX, 2));
    /* The arena is still usable afterwards. */
    assert_non_null(rl_arena_calloc(a, 4, 4));
    rl_arena_destroy(a);
}

static void
strndup_copies_and_terminates(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    const char src[] = {'a', 'b', 'c', 'd', 'e'}; /* no NUL */
    char *s = rl_arena_strndup(a, src, 3);
    assert_non_null(s);
    assert_string_equal(s, "abc");
    s = rl_arena_strndup(a, src, 0);
    assert_non_null(s);
    assert_string_equal(s, "");
    /* Embedded NUL bytes are copied as they are. */
    s = rl_arena_strndup(a, "x\0y", 3);
    assert_non_null(s);
    assert_memory_equal(s, "x\0y", 4);
    assert_null(rl_arena_strndup(a, "", SIZE_MAX));
    char *d = rl_arena_strdup(a, "hello, world");
    assert_non_null(d);
    assert_string_equal(d, "hello, world");
    d = rl_arena_strdup(a, "");
    assert_non_null(d);
    assert_string_equal(d, "");
    rl_arena_destroy(a);
}

static void
printf_short_and_long(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    char *s = rl_arena_printf(a, "%s=%d", "x", 42);
    assert_non_null(s);
    assert_string_equal(s, "x=42");
    s = rl_arena_printf(a, "%s", "");
    assert_non_null(s);
    assert_string_equal(s, "");

    /* Exactly at and around the 256-byte stack buffer. */
    static const size_t lens[] = {254, 255, 256, 257, 1000, 70000};
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t len = lens[k];
        char *want = malloc(len + 1);
        assert_non_null(want);
        for (size_t i = 0; i < len; i++) {
            want[i] = (char)('a' + i % 26);
        }
        want[len] = '\0';
        s = rl_arena_printf(a, "<%s>", want);
        assert_non_null(s);
        assert_int_equal(strlen(s), len + 2);
        assert_int_equal(s[0], '<');
        assert_memory_equal(s + 1, want, len);
        assert_int_equal(s[len + 1], '>');
        free(want);
    }
    s = rl_arena_printf(a, "%0300d|%s", 7, "tail");
    assert_non_null(s);
    assert_int_equal(strlen(s), 305);
    assert_string_equal(s + 299, "7|tail");
    rl_arena_destroy(a);
}

static void
printf_format_error_returns_null(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    /* The test never calls setlocale, so the "C" locale cannot encode
     * U+00E9 and vsnprintf fails with EILSEQ. */
    assert_null(rl_arena_printf(a, "%ls", L"\u00e9"));
    assert_non_null(rl_arena_printf(a, "%ls", L"ok"));
    rl_arena_destroy(a);
}

static void
defer_runs_lifo_on_destroy(void **state)
{
    (void)state;
    static int ids[] = {1, 2, 3, 4};
    order_len = 0;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    assert_int_equal(rl_arena_defer(a, record, &ids[0]), 0);
    /* Allocations in between (some forcing new chunks) do not disturb the
     * list. */
    assert_non_null(rl_arena_alloc(a, 100000));
    assert_int_equal(rl_arena_defer(a, record, &ids[1]), 0);
    for (int i = 0; i < 1000; i++) {
        assert_non_null(rl_arena_alloc(a, 64));
    }
    assert_int_equal(rl_arena_defer(a, record, &ids[2]), 0);
    assert_int_equal(rl_arena_defer(a, record, &ids[3]), 0);
    assert_int_equal(order_len, 0); /* nothing runs before destroy */
    rl_arena_destroy(a);
    assert_int_equal(order_len, 4);
    assert_int_equal(order_log[0], 4);
    assert_int_equal(order_log[1], 3);
    assert_int_equal(order_log[2], 2);
    assert_int_equal(order_log[3], 1);
}

static void
defer_frees_foreign_memory(void **state)
{
    (void)state;
    /* LeakSanitizer fails the binary if these are not freed. */
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    for (int i = 0; i < 100; i++) {
        void *p = malloc(32 + (size_t)i);
        assert_non_null(p);
        assert_int_equal(rl_arena_defer(a, free, p), 0);
    }
    rl_arena_destroy(a);
}

static void
alloc_past_cap_returns_null(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    assert_null(rl_arena_alloc(a, RL_ARENA_MAX + 1));
    assert_null(rl_arena_alloc(a, SIZE_MAX));
    assert_null(rl_arena_alloc(a, SIZE_MAX - 8));
    /* The first chunk already counts, so the whole cap in one piece does
     * not fit either. */
    assert_null(rl_arena_alloc(a, RL_ARENA_MAX));
    assert_null(rl_arena_strndup(a, "x", RL_ARENA_MAX));
    assert_non_null(rl_arena_alloc(a, 16));
    rl_arena_destroy(a);
}

static void
cap_bounds_total_allocation(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    size_t given = fill_to_cap(a);
    assert_true(given <= RL_ARENA_MAX);
    /* Chunk bookkeeping may waste some space, but not most of it. */
    assert_true(given > RL_ARENA_MAX - RL_ARENA_MAX / 8);
    assert_null(rl_arena_alloc(a, 1));
    assert_null(rl_arena_alloc(a, 1024 * 1024));
    assert_null(rl_arena_strdup(a, "x"));
    assert_null(rl_arena_printf(a, "%d", 1));
    rl_arena_destroy(a);
}

static void
defer_when_full_runs_cleanup_now(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(0);
    assert_non_null(a);
    int ran = 0;
    assert_int_equal(rl_arena_defer(a, count_call, &ran), 0);
    (void)fill_to_cap(a);
    int now = 0;
    assert_int_equal(rl_arena_defer(a, count_call, &now), -1);
    assert_int_equal(now, 1); /* ran at once, the caller leaks nothing */
    void *p = malloc(10);
    assert_non_null(p);
    assert_int_equal(rl_arena_defer(a, free, p), -1); /* LSan checks */
    assert_int_equal(ran, 0);
    rl_arena_destroy(a);
    assert_int_equal(ran, 1);
    assert_int_equal(now, 1); /* not run a second time */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_and_destroy),
        cmocka_unit_test(alloc_is_aligned),
        cmocka_unit_test(alloc_zero_bytes_gives_distinct_pointers),
        cmocka_unit_test(many_small_allocs_across_chunks),
        cmocka_unit_test(big_allocs_larger_than_a_chunk),
        cmocka_unit_test(calloc_zero_fills),
        cmocka_unit_test(calloc_overflow_returns_null),
        cmocka_unit_test(strndup_copies_and_terminates),
        cmocka_unit_test(printf_short_and_long),
        cmocka_unit_test(printf_format_error_returns_null),
        cmocka_unit_test(defer_runs_lifo_on_destroy),
        cmocka_unit_test(defer_frees_foreign_memory),
        cmocka_unit_test(alloc_past_cap_returns_null),
        cmocka_unit_test(cap_bounds_total_allocation),
        cmocka_unit_test(defer_when_full_runs_cleanup_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
