/*
 * test_netaddr.c — unit tests for internal/netaddr: address parsing (both
 * families, v4-mapped equivalence, what is refused), formatting, masks, and
 * CIDR sets as -trusted-proxies and -metrics-allow use them, and socket
 * addresses written as the start-up line names them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal/netaddr/netaddr.h"

static struct rl_ip
ip(const char *s)
{
    struct rl_ip out;
    assert_true(rl_ip_parse(s, strlen(s), &out));
    return out;
}

static bool
parses(const char *s)
{
    struct rl_ip out;
    return rl_ip_parse(s, strlen(s), &out);
}

static void
parse_addresses(void **state)
{
    (void)state;
    struct rl_ip a = ip("192.0.2.1");
    assert_true(rl_ip_is_v4(&a));
    assert_int_equal(a.b[12], 192);
    assert_int_equal(a.b[15], 1);
    /* IPv4 and its v4-mapped IPv6 spelling are one client. */
    struct rl_ip m = ip("::ffff:192.0.2.1");
    assert_memory_equal(a.b, m.b, 16);
    struct rl_ip six = ip("2001:db8::1");
    assert_false(rl_ip_is_v4(&six));
    assert_int_equal(six.b[0], 0x20);
    assert_int_equal(six.b[15], 1);
    assert_true(parses("::"));
    assert_true(parses("::1"));
    assert_true(parses("255.255.255.255"));

    const char *bad[] = {
        "",           "1.2.3",        "1.2.3.4.5",    "256.1.1.1",   "01.2.3.4",
        "1.2.3.4 ",   " 1.2.3.4",     "0x7f.0.0.1",   "127.1",       "[::1]",
        "1.2.3.4:80", "fe80::1%eth0", "2001:db8:::1", "example.com", "unknown"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(parses(bad[i]));
    }
    /* Only `len` bytes count, and an embedded NUL is refused. */
    struct rl_ip out;
    assert_true(rl_ip_parse("10.0.0.1, 10.0.0.2", 8, &out));
    assert_false(rl_ip_parse("10.0.0.1\0x", 10, &out));
    char longer[100];
    memset(longer, '1', sizeof(longer));
    assert_false(rl_ip_parse(longer, sizeof(longer), &out));
}

static void
format_and_sockaddr(void **state)
{
    (void)state;
    char buf[RL_IP_TEXT_MAX];
    struct rl_ip a = ip("::ffff:10.1.2.3");
    rl_ip_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "10.1.2.3");
    a = ip("2001:0db8:0000:0000:0000:0000:0000:0001");
    rl_ip_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8::1");

    struct sockaddr_in in4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "198.51.100.7", &in4.sin_addr);
    assert_true(rl_ip_from_sockaddr((struct sockaddr *)&in4, &a));
    struct rl_ip want = ip("198.51.100.7");
    assert_memory_equal(a.b, want.b, 16);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:198.51.100.7", &in6.sin6_addr);
    assert_true(rl_ip_from_sockaddr((struct sockaddr *)&in6, &a));
    assert_memory_equal(a.b, want.b, 16);
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_false(rl_ip_from_sockaddr(&other, &a));
    assert_false(rl_ip_from_sockaddr(NULL, &a));
}

static void
masks(void **state)
{
    (void)state;
    struct rl_ip a = ip("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
    rl_ip_mask(&a, 64);
    struct rl_ip want = ip("2001:db8:aaaa:bbbb::");
    assert_memory_equal(a.b, want.b, 16);
    a = ip("2001:db8:aaaa:bbbb::1");
    rl_ip_mask(&a, 28);
    want = ip("2001:db0::");
    assert_memory_equal(a.b, want.b, 16);
    a = ip("::1");
    rl_ip_mask(&a, 128);
    want = ip("::1");
    assert_memory_equal(a.b, want.b, 16);
    rl_ip_mask(&a, 0);
    want = ip("::");
    assert_memory_equal(a.b, want.b, 16);
}

static bool
in(const struct rl_ipset *set, const char *addr)
{
    struct rl_ip a = ip(addr);
    return rl_ipset_contains(set, &a);
}

static void
sets(void **state)
{
    (void)state;
    struct rl_ipset *s = NULL;
    /* The -metrics-allow default. */
    assert_int_equal(rl_ipset_parse("127.0.0.1/8 ::1/128", &s, NULL, NULL),
                     RL_OK);
    assert_int_equal(rl_ipset_len(s), 2);
    assert_true(in(s, "127.0.0.1"));
    assert_true(in(s, "127.255.0.9"));
    assert_true(in(s, "::ffff:127.0.0.1"));
    assert_true(in(s, "::1"));
    assert_false(in(s, "128.0.0.1"));
    assert_false(in(s, "::2"));
    assert_false(in(s, "10.0.0.1"));
    rl_ipset_free(s);

    /* Bare addresses, commas and tabs, IPv6 prefixes, host bits. */
    assert_int_equal(rl_ipset_parse(" 10.1.2.3/8,\t192.0.2.7  2001:db8::/32 ",
                                    &s, NULL, NULL),
                     RL_OK);
    assert_int_equal(rl_ipset_len(s), 3);
    assert_true(in(s, "10.200.1.1"));
    assert_true(in(s, "192.0.2.7"));
    assert_false(in(s, "192.0.2.8"));
    assert_true(in(s, "2001:db8:ffff::1"));
    assert_false(in(s, "2001:db9::1"));
    rl_ipset_free(s);

    /* An IPv4 /0 is every IPv4 address, but no native IPv6 one. */
    assert_int_equal(rl_ipset_parse("0.0.0.0/0", &s, NULL, NULL), RL_OK);
    assert_true(in(s, "203.0.113.9"));
    assert_false(in(s, "2001:db8::1"));
    rl_ipset_free(s);
    assert_int_equal(rl_ipset_parse("::/0", &s, NULL, NULL), RL_OK);
    assert_true(in(s, "203.0.113.9"));
    assert_true(in(s, "2001:db8::1"));
    rl_ipset_free(s);

    /* Empty lists are valid and match nothing. */
    assert_int_equal(rl_ipset_parse("", &s, NULL, NULL), RL_OK);
    assert_int_equal(rl_ipset_len(s), 0);
    assert_false(in(s, "127.0.0.1"));
    rl_ipset_free(s);
    assert_int_equal(rl_ipset_parse("  ", &s, NULL, NULL), RL_OK);
    rl_ipset_free(s);
    assert_false(in(NULL, "127.0.0.1"));
}

static void
bad_sets(void **state)
{
    (void)state;
    const char *bad[] = {"10.0.0.0/33", "::/129",           "10.0.0.0/",
                         "10.0.0.0/-1", "10.0.0.0/08",      "10.0.0.0/1x",
                         "10.0.0/8",    "localhost",        "10.0.0.0/8/8",
                         "/8",          "10.0.0.1-10.0.0.9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rl_ipset *s = NULL;
        const char *where = NULL;
        size_t len = 0;
        assert_int_equal(rl_ipset_parse(bad[i], &s, &where, &len),
                         RL_ERR_INVALID);
        assert_null(s);
        assert_ptr_equal(where, bad[i]);
        assert_int_equal(len, strlen(bad[i]));
    }
    struct rl_ipset *s = NULL;
    const char *list = "127.0.0.1 nope ::1";
    const char *where = NULL;
    size_t len = 0;
    assert_int_equal(rl_ipset_parse(list, &s, &where, &len), RL_ERR_INVALID);
    assert_ptr_equal(where, list + 10);
    assert_int_equal(len, 4);
}

static void
check_sockaddr(const void *sa, socklen_t len, const char *want)
{
    char buf[RL_SOCKADDR_TEXT_MAX];
    memset(buf, 'x', sizeof(buf));
    assert_true(rl_sockaddr_format(sa, len, buf, sizeof(buf)));
    assert_string_equal(buf, want);
}

static void
sockaddr_text(void **state)
{
    (void)state;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(4000)};
    check_sockaddr(&in, sizeof(in), "0.0.0.0:4000");
    assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &in.sin_addr), 1);
    in.sin_port = htons(65535);
    check_sockaddr(&in, sizeof(in), "192.0.2.7:65535");

    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
                               .sin6_port = htons(4000)};
    check_sockaddr(&in6, sizeof(in6), "[::]:4000");
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr), 1);
    in6.sin6_port = htons(0);
    check_sockaddr(&in6, sizeof(in6), "[2001:db8::1]:0");
    /* IPv4 on a dual-stack socket reads as IPv4, as in Go. */
    assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr),
                     1);
    in6.sin6_port = htons(8080);
    check_sockaddr(&in6, sizeof(in6), "127.0.0.1:8080");

    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "%s", "/run/redlight/api.sock");
    socklen_t ulen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                                 strlen(un.sun_path) + 1);
    check_sockaddr(&un, ulen, "/run/redlight/api.sock");
    /* Abstract: a leading NUL, the length says where the name ends. */
    memcpy(un.sun_path, "\0redlight", 9);
    check_sockaddr(&un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 9),
                   "@redlight");
}

static void
sockaddr_text_refused(void **state)
{
    (void)state;
    char buf[RL_SOCKADDR_TEXT_MAX];
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
                               .sin6_port = htons(4000)};
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr), 1);
    /* "[2001:db8::1]:4000" is 18 bytes: 18 of room is one short. */
    assert_false(rl_sockaddr_format((void *)&in6, sizeof(in6), buf, 18));
    assert_string_equal(buf, "");
    assert_true(rl_sockaddr_format((void *)&in6, sizeof(in6), buf, 19));
    /* A length short of the family's structure, another family, NULL. */
    assert_false(
        rl_sockaddr_format((void *)&in6, sizeof(in6) - 1, buf, sizeof(buf)));
    struct sockaddr sa = {.sa_family = AF_PACKET};
    assert_false(rl_sockaddr_format(&sa, sizeof(sa), buf, sizeof(buf)));
    assert_string_equal(buf, "");
    assert_false(rl_sockaddr_format(NULL, 0, buf, sizeof(buf)));
    /* An unnamed Unix socket has no path. */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_false(rl_sockaddr_format(
        (void *)&un, (socklen_t)offsetof(struct sockaddr_un, sun_path), buf,
        sizeof(buf)));
}

static void
sockaddr_of_a_real_socket(void **state)
{
    (void)state;
    /* Bound to port 0: getsockname gives the kernel's port. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    char buf[RL_SOCKADDR_TEXT_MAX];
    assert_true(
        rl_sockaddr_format((struct sockaddr *)&ss, len, buf, sizeof(buf)));
    char want[32];
    snprintf(want, sizeof(want), "127.0.0.1:%u",
             (unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port));
    assert_string_equal(buf, want);
    assert_string_not_equal(buf, "127.0.0.1:0");
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_addresses),
        cmocka_unit_test(format_and_sockaddr),
        cmocka_unit_test(masks),
        cmocka_unit_test(sets),
        cmocka_unit_test(bad_sets),
        cmocka_unit_test(sockaddr_text),
        cmocka_unit_test(sockaddr_text_refused),
        cmocka_unit_test(sockaddr_of_a_real_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
