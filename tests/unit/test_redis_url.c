/*
 * test_redis_url.c — unit tests for the -limiter-redis URL parser
 * (internal/ratelimit/redis_url.c): every part of the grammar, what is
 * refused with which reason, and that no reason quotes the password. Also
 * rl_gcra_result, the header arithmetic the local and Redis limiters
 * share. No Redis here: tests/test_limiter_redis.py runs a real one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal/ratelimit/ratelimit.h"
#include "internal/ratelimit/redis.h"

static struct rl_redis_url
ok(const char *s)
{
    struct rl_redis_url u;
    const char *why = NULL;
    enum rl_err e = rl_redis_url_parse(s, &u, &why);
    if (e != RL_OK) {
        fail_msg("%s: %s", s, why ? why : "(no reason)");
    }
    return u;
}

/* Refused, with a reason containing `want` and never `secret`. */
static void
bad(const char *s, const char *want)
{
    struct rl_redis_url u;
    const char *why = NULL;
    assert_int_equal(rl_redis_url_parse(s, &u, &why), RL_ERR_INVALID);
    assert_non_null(why);
    if (strstr(why, want) == NULL) {
        fail_msg("%s: reason \"%s\" lacks \"%s\"", s, why, want);
    }
    assert_null(strstr(why, "s3cret"));
}

static void
tcp_forms(void **state)
{
    (void)state;
    struct rl_redis_url u = ok("redis://127.0.0.1:6380");
    assert_false(u.unix_socket);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");

    u = ok("redis://cache.internal");
    assert_string_equal(u.host, "cache.internal");
    assert_int_equal(u.port, 6379);

    u = ok("redis://localhost:6379/3");
    assert_int_equal(u.db, 3);
    u = ok("redis://localhost:6379/");
    assert_int_equal(u.db, 0);

    u = ok("redis://[::1]:7000/2");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 2);
    u = ok("redis://[2001:db8::5]");
    assert_string_equal(u.host, "2001:db8::5");
    assert_int_equal(u.port, 6379);
}

static void
passwords(void **state)
{
    (void)state;
    struct rl_redis_url u = ok("redis://:s3cret@10.0.0.1:6379/1");
    assert_string_equal(u.username, "");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.host, "10.0.0.1");
    assert_int_equal(u.db, 1);

    /* The last '@' before the path ends the userinfo; escapes decode. */
    u = ok("redis://:p%40ss%3Aw@rd@h:1");
    assert_string_equal(u.password, "p@ss:w@rd");
    assert_string_equal(u.host, "h");

    u = ok("redis://app:s3cret@h");
    assert_string_equal(u.username, "app");
    assert_string_equal(u.password, "s3cret");
}

static void
unix_sockets(void **state)
{
    (void)state;
    struct rl_redis_url u = ok("unix:///run/redis/redis.sock");
    assert_true(u.unix_socket);
    assert_string_equal(u.path, "/run/redis/redis.sock");

    bad("unix://run/redis.sock", "absolute path");
    bad("unix://", "absolute path");
    bad("unix:///run/r.sock?db=1", "no query");
    char longpath[200] = "unix:///";
    memset(longpath + 8, 'a', 150);
    longpath[158] = '\0';
    bad(longpath, "too long");
}

static void
refused(void **state)
{
    (void)state;
    bad("", "must start with redis://");
    bad("http://h:6379", "must start with redis://");
    bad("REDIS://h", "must start with redis://");
    bad("rediss://h:6380", "TLS");
    bad("redis://", "no host");
    bad("redis://:6379", "no host");
    bad("redis://:s3cret@:6379", "no host");
    bad("redis://h:", "port");
    bad("redis://h:0", "port");
    bad("redis://h:65536", "port");
    bad("redis://h:+80", "port");
    bad("redis://h: 80", "port");
    bad("redis://h:80x", "port");
    bad("redis://h:6379/x", "database");
    bad("redis://h:6379/-1", "database");
    bad("redis://h:6379/1/2", "database");
    bad("redis://h:6379/ 1", "database");
    bad("redis://h?timeout=1", "no query");
    bad("redis://h#frag", "no query");
    bad("redis://ho st", "character");
    bad("redis://h%41", "character");
    bad("redis://[::1", "']'");
    bad("redis://[zz::1]", "IPv6");
    bad("redis://[::1]x", "port");
    bad("redis://s3cret@h", "userinfo");
    bad("redis://:@h", "password is empty");
    bad("redis://:s3cret%4@h", "%-escape");
    bad("redis://:s3cret%zz@h", "%-escape");
    bad("redis://:s3cret%00@h", "%-escape");
}

/* The header arithmetic, in a unit where one token is 10 and the bucket
 * holds 4 (tau 40), 100 units a second. */
static void
gcra_headers(void **state)
{
    (void)state;
    struct rl_limiter_result r;
    rl_gcra_result(true, 30, 10, 40, 100, &r); /* took 1 of a full 4 */
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 3);
    assert_int_equal(r.reset_s, 1); /* 10 units to the next token: 0.1 s */
    assert_int_equal(r.retry_after_s, 0);

    rl_gcra_result(false, 5, 10, 40, 100, &r); /* half a token left */
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.retry_after_s, 1); /* at least 1 */

    rl_gcra_result(false, 0, 1000, 4000, 100, &r); /* 10 s per token */
    assert_int_equal(r.retry_after_s, 10);
    assert_int_equal(r.reset_s, 10);

    rl_gcra_result(true, 40, 10, 40, 100, &r); /* full: reset 0 */
    assert_int_equal(r.remaining, 4);
    assert_int_equal(r.reset_s, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_forms),    cmocka_unit_test(passwords),
        cmocka_unit_test(unix_sockets), cmocka_unit_test(refused),
        cmocka_unit_test(gcra_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
