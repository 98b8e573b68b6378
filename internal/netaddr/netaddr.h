/*
 * netaddr.h — IP addresses and CIDR sets, for -trusted-proxies and
 * -metrics-allow (and anything else that must ask "is this client in that
 * list?").
 *
 * Every address is kept as 16 bytes: IPv6 as it is, IPv4 as its v4-mapped
 * IPv6 form (::ffff:a.b.c.d), so one comparison serves both families and
 * 127.0.0.1 and ::ffff:127.0.0.1 are the same client. An IPv4 prefix a/n is
 * stored as the IPv6 prefix ::ffff:a/(96+n), so it never matches a native
 * IPv6 address (as in Go's net.IPNet).
 *
 * Knows nothing of HTTP. Pure functions; a parsed set is immutable and may be
 * read by any number of threads.
 */
#ifndef REDLIGHT_INTERNAL_NETADDR_NETADDR_H
#define REDLIGHT_INTERNAL_NETADDR_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "internal/base/err.h"

struct rl_ip {
    unsigned char b[16]; /* network byte order */
};

/* Longest text rl_ip_format writes, with its NUL. */
#define RL_IP_TEXT_MAX 46

/* Parses exactly `len` bytes of s as an IPv4 dotted quad ("192.0.2.1", no
 * leading zeros) or an IPv6 address ("2001:db8::1", "::ffff:192.0.2.1").
 * No brackets, ports or zones. Returns false when it is neither. */
bool rl_ip_parse(const char *s, size_t len, struct rl_ip *out);

/* The address of a struct sockaddr_in or sockaddr_in6. Returns false for
 * other families. */
bool rl_ip_from_sockaddr(const struct sockaddr *sa, struct rl_ip *out);

/* True for v4-mapped addresses (how IPv4 is kept). */
bool rl_ip_is_v4(const struct rl_ip *ip);

/* Writes ip as text ("192.0.2.1" for v4-mapped, RFC 5952 otherwise) into
 * buf (at least RL_IP_TEXT_MAX bytes). */
void rl_ip_format(const struct rl_ip *ip, char *buf, size_t cap);

/* Longest text rl_sockaddr_format writes, with its NUL (a Unix socket's
 * 108-byte path and its "@" or "unix:" mark fit). */
#define RL_SOCKADDR_TEXT_MAX 128

/* Writes a socket address (len bytes at sa, as getsockname gives it) as Go's
 * net.Addr.String() does: "127.0.0.1:4000", "[::]:4000", "[2001:db8::1]:80"
 * (an IPv4-mapped IPv6 address as IPv4), a Unix socket's path, "@name" for
 * an abstract one. Returns false (buf empty) for another family or when
 * cap is too small. */
bool rl_sockaddr_format(const struct sockaddr *sa, socklen_t len, char *buf,
                        size_t cap);

/* Clears every bit of ip past the first `bits` (0..128). */
void rl_ip_mask(struct rl_ip *ip, unsigned bits);

/* A parsed list of addresses and prefixes. */
struct rl_ipset;

/* Parses a list of addresses and CIDR prefixes separated by spaces, tabs or
 * commas ("10.0.0.0/8 ::1/128 192.0.2.7"). A bare address is a /32 or /128;
 * host bits after the prefix are ignored (10.1.2.3/8 = 10.0.0.0/8). An empty
 * or blank list is valid and matches nothing. On RL_ERR_INVALID, *bad and
 * *badlen (may be NULL) point at the offending item inside list. Returns
 * RL_OK, RL_ERR_INVALID or RL_ERR_NOMEM. Free *out with rl_ipset_free. */
enum rl_err rl_ipset_parse(const char *list, struct rl_ipset **out,
                           const char **bad, size_t *badlen) RL_MUST_CHECK;

/* True when ip lies in one of set's prefixes. NULL set matches nothing.
 * Thread-safe. */
bool rl_ipset_contains(const struct rl_ipset *set, const struct rl_ip *ip);

/* How many prefixes set holds (0 for NULL). */
size_t rl_ipset_len(const struct rl_ipset *set);

/* NULL is a no-op. */
void rl_ipset_free(struct rl_ipset *set);

#endif
