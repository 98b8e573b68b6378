/*
 * test_buf.c — unit tests for internal/base/buf: the capped growable buffer
 * on the heap and in an arena, its cap, its sticky errors, reset and take.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal/arena/arena.h"
#include "internal/base/buf.h"

static void
empty_buffer_holds_nothing(void **state)
{
    (void)state;
    struct rl_buf b;
    rl_buf_init(&b, 100, NULL);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(rl_buf_err(&b), RL_OK);
    size_t len = 99;
    assert_null(rl_buf_take(&b, &len));
    assert_int_equal(len, 0);
    /* Adding nothing still gives a string. */
    assert_int_equal(rl_buf_add(&b, "", 0), RL_OK);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    rl_buf_free(&b);
    assert_null(b.data);
}

static void
adds_grow_past_first_block(void **state)
{
    (void)state;
    struct rl_buf b;
    rl_buf_init(&b, 1 << 20, NULL);
    char want[5000];
    for (size_t i = 0; i < sizeof(want) - 1; i++) {
        want[i] = (char)('a' + i % 26);
        assert_int_equal(rl_buf_addc(&b, want[i]), RL_OK);
        assert_int_equal(b.len, i + 1);
        assert_int_equal(b.data[b.len], '\0');
    }
    want[sizeof(want) - 1] = '\0';
    assert_string_equal(b.data, want);
    assert_int_equal(rl_buf_addstr(&b, "xyz"), RL_OK);
    assert_int_equal(rl_buf_printf(&b, "-%d-%s", 42, "ok"), RL_OK);
    assert_int_equal(b.len, sizeof(want) - 1 + 3 + 6);
    assert_string_equal(b.data + sizeof(want) - 1, "xyz-42-ok");
    size_t len = 0;
    char *s = rl_buf_take(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
}

static void
printf_longer_than_any_block(void **state)
{
    (void)state;
    struct rl_buf b;
    rl_buf_init(&b, 1 << 20, NULL);
    char big[3000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(rl_buf_printf(&b, "<%s>", big), RL_OK);
    assert_int_equal(b.len, sizeof(big) + 1);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[b.len - 1], '>');
    assert_int_equal(b.data[b.len], '\0');
    rl_buf_free(&b);
}

static void
cap_is_exact_and_errors_stick(void **state)
{
    (void)state;
    struct rl_buf b;
    rl_buf_init(&b, 10, NULL);
    assert_int_equal(rl_buf_addstr(&b, "0123456789"), RL_OK); /* exactly max */
    assert_int_equal(b.len, 10);
    assert_true(b.cap <= 11);
    /* One byte more fails and changes nothing. */
    assert_int_equal(rl_buf_addc(&b, 'x'), RL_ERR_TOO_LARGE);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    /* The error sticks, even for adds that would fit. */
    assert_int_equal(rl_buf_add(&b, "", 0), RL_ERR_TOO_LARGE);
    assert_int_equal(rl_buf_printf(&b, "%s", ""), RL_ERR_TOO_LARGE);
    assert_int_equal(rl_buf_err(&b), RL_ERR_TOO_LARGE);
    /* Reset clears the error and keeps the memory. */
    char *mem = b.data;
    rl_buf_reset(&b);
    assert_int_equal(rl_buf_err(&b), RL_OK);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, mem);
    assert_string_equal(b.data, "");
    assert_int_equal(rl_buf_printf(&b, "%05d", 7), RL_OK);
    assert_string_equal(b.data, "00007");
    /* A printf past the cap fails whole. */
    assert_int_equal(rl_buf_printf(&b, "%s", "123456"), RL_ERR_TOO_LARGE);
    assert_string_equal(b.data, "00007");
    /* Take after an error gives nothing and releases the memory. */
    size_t len = 5;
    assert_null(rl_buf_take(&b, &len));
    assert_int_equal(len, 0);
    assert_null(b.data);
}

static void
huge_add_does_not_wrap(void **state)
{
    (void)state;
    struct rl_buf b;
    rl_buf_init(&b, SIZE_MAX, NULL);
    assert_int_equal(rl_buf_addc(&b, 'a'), RL_OK);
    assert_int_equal(rl_buf_add(&b, "x", SIZE_MAX), RL_ERR_TOO_LARGE);
    assert_int_equal(b.len, 1);
    rl_buf_free(&b);
}

static void
arena_buffer_and_exhausted_arena(void **state)
{
    (void)state;
    struct rl_arena *a = rl_arena_create(1024);
    assert_non_null(a);
    struct rl_buf b;
    rl_buf_init(&b, 1 << 20, a);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(rl_buf_printf(&b, "%d,", i % 10), RL_OK);
    }
    assert_int_equal(b.len, 2000);
    assert_memory_equal(b.data, "0,1,2,3,4,", 10);
    char *s = rl_buf_take(&b, NULL); /* arena memory: not freed by hand */
    assert_non_null(s);
    assert_int_equal(strlen(s), 2000);
    /* An arena that refuses: RL_ERR_NOMEM, sticky. */
    for (size_t size = 1 << 16; size > 0; size /= 2) {
        while (rl_arena_alloc(a, size) != NULL) {
        }
    }
    rl_buf_init(&b, 1 << 20, a);
    assert_int_equal(rl_buf_addstr(&b, "abc"), RL_ERR_NOMEM);
    assert_int_equal(rl_buf_addstr(&b, ""), RL_ERR_NOMEM);
    assert_null(rl_buf_take(&b, NULL));
    rl_arena_destroy(a);
}

/* rl_buf_cap_for tells the capacity the next add leaves, without adding. */
static void
cap_for_predicts_growth(void **state)
{
    (void)state;
    struct rl_buf b;
    rl_buf_init(&b, 1000, NULL);
    assert_int_equal(rl_buf_cap_for(&b, 0), 256);
    assert_int_equal(rl_buf_cap_for(&b, 300), 512);
    assert_int_equal(rl_buf_cap_for(&b, 999), 1001);
    assert_int_equal(rl_buf_cap_for(&b, 1001), 0);
    assert_int_equal(rl_buf_add(&b, "abc", 3), RL_OK);
    assert_int_equal(b.cap, 256);
    assert_int_equal(rl_buf_cap_for(&b, 252), 256);
    size_t want = rl_buf_cap_for(&b, 253);
    assert_int_equal(want, 512);
    static char x[253];
    assert_int_equal(rl_buf_add(&b, x, sizeof(x)), RL_OK);
    assert_int_equal(b.cap, want);
    assert_int_equal(rl_buf_add(&b, x, 1000), RL_ERR_TOO_LARGE);
    assert_int_equal(rl_buf_cap_for(&b, 0), 0); /* the error stuck */
    rl_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_buffer_holds_nothing),
        cmocka_unit_test(adds_grow_past_first_block),
        cmocka_unit_test(printf_longer_than_any_block),
        cmocka_unit_test(cap_is_exact_and_errors_stick),
        cmocka_unit_test(huge_add_does_not_wrap),
        cmocka_unit_test(arena_buffer_and_exhausted_arena),
        cmocka_unit_test(cap_for_predicts_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
