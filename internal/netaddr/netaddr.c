/*
 * netaddr.c — address parsing (inet_pton, which is strict: no octal, no
 * shorthand IPv4, no leading zeros) and prefix sets kept as a plain array:
 * the lists are a handful of entries, so a linear scan beats any tree.
 * A set is malloc-owned by its creator and immutable after parsing.
 */
#include "internal/netaddr/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "internal/base/list.h"

struct prefix {
    struct rl_ip addr; /* already masked */
    unsigned bits;     /* 0..128, in the IPv6 space */
};

struct rl_ipset {
    size_t n;
    struct prefix p[];
};

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                                   0, 0, 0, 0, 0xff, 0xff};

static void
set_v4(struct rl_ip *out, const void *in4)
{
    memcpy(out->b, v4_mapped_prefix, 12);
    memcpy(out->b + 12, in4, 4);
}

bool
rl_ip_parse(const char *s, size_t len, struct rl_ip *out)
{
    char buf[RL_IP_TEXT_MAX];
    if (len == 0 || len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        return false; /* an embedded NUL would cut the text short */
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        set_v4(out, &a4);
        return true;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, buf, &a6) == 1) {
        memcpy(out->b, a6.s6_addr, 16);
        return true;
    }
    return false;
}

bool
rl_ip_from_sockaddr(const struct sockaddr *sa, struct rl_ip *out)
{
    if (sa == NULL) {
        return false;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        set_v4(out, &in->sin_addr);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        memcpy(out->b, in6->sin6_addr.s6_addr, 16);
        return true;
    }
    return false;
}

bool
rl_ip_is_v4(const struct rl_ip *ip)
{
    return memcmp(ip->b, v4_mapped_prefix, 12) == 0;
}

void
rl_ip_format(const struct rl_ip *ip, char *buf, size_t cap)
{
    const char *r = rl_ip_is_v4(ip)
                        ? inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)cap)
                        : inet_ntop(AF_INET6, ip->b, buf, (socklen_t)cap);
    if (r == NULL && cap > 0) {
        buf[0] = '\0';
    }
}

bool
rl_sockaddr_format(const struct sockaddr *sa, socklen_t len, char *buf,
                   size_t cap)
{
    if (cap > 0) {
        buf[0] = '\0';
    }
    if (sa == NULL || cap == 0) {
        return false;
    }
    int n = -1;
    struct rl_ip ip;
    if ((sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
        (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))) {
        (void)rl_ip_from_sockaddr(sa, &ip);
        in_port_t port =
            sa->sa_family == AF_INET
                ? ((const struct sockaddr_in *)(const void *)sa)->sin_port
                : ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port;
        char text[RL_IP_TEXT_MAX];
        rl_ip_format(&ip, text, sizeof(text));
        bool v6 = !rl_ip_is_v4(&ip);
        n = snprintf(buf, cap, "%s%s%s:%u", v6 ? "[" : "", text, v6 ? "]" : "",
                     (unsigned)ntohs(port));
    } else if (sa->sa_family == AF_UNIX &&
               len > offsetof(struct sockaddr_un, sun_path)) {
        const struct sockaddr_un *un = (const void *)sa;
        size_t plen = len - offsetof(struct sockaddr_un, sun_path);
        if (plen > sizeof(un->sun_path)) {
            plen = sizeof(un->sun_path);
        }
        if (un->sun_path[0] == '\0') { /* abstract: no NUL at the end */
            n = snprintf(buf, cap, "@%.*s", (int)(plen - 1), un->sun_path + 1);
        } else {
            n = snprintf(buf, cap, "%.*s", (int)strnlen(un->sun_path, plen),
                         un->sun_path);
        }
    }
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return false;
    }
    return true;
}

void
rl_ip_mask(struct rl_ip *ip, unsigned bits)
{
    if (bits >= 128) {
        return;
    }
    unsigned byte = bits / 8;
    unsigned rem = bits % 8;
    if (rem != 0) {
        ip->b[byte] &= (unsigned char)(0xff << (8 - rem));
        byte++;
    }
    memset(ip->b + byte, 0, 16 - byte);
}

/* Parses one "addr" or "addr/bits" item of `len` bytes. */
static bool
parse_prefix(const char *s, size_t len, struct prefix *out)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    if (!rl_ip_parse(s, alen, &out->addr)) {
        return false;
    }
    bool v4 = memchr(s, ':', alen) == NULL;
    unsigned max = v4 ? 32 : 128;
    unsigned bits = max;
    if (slash != NULL) {
        const char *d = slash + 1;
        size_t dlen = len - alen - 1;
        if (dlen == 0 || dlen > 3) {
            return false;
        }
        bits = 0;
        for (size_t i = 0; i < dlen; i++) {
            if (d[i] < '0' || d[i] > '9') {
                return false;
            }
            bits = bits * 10 + (unsigned)(d[i] - '0');
        }
        if (bits > max || (dlen > 1 && d[0] == '0')) {
            return false;
        }
    }
    out->bits = v4 ? 96 + bits : bits;
    rl_ip_mask(&out->addr, out->bits);
    return true;
}

enum rl_err
rl_ipset_parse(const char *list, struct rl_ipset **out, const char **bad,
               size_t *badlen)
{
    size_t count = rl_list_count(list);
    struct rl_ipset *set = malloc(sizeof(*set) + count * sizeof(set->p[0]));
    if (set == NULL) {
        return RL_ERR_NOMEM;
    }
    set->n = 0;
    const char *p = list;
    const char *item;
    size_t len;
    while (rl_list_next(&p, &item, &len)) {
        if (!parse_prefix(item, len, &set->p[set->n])) {
            if (bad != NULL) {
                *bad = item;
            }
            if (badlen != NULL) {
                *badlen = len;
            }
            free(set);
            return RL_ERR_INVALID;
        }
        set->n++;
    }
    *out = set;
    return RL_OK;
}

bool
rl_ipset_contains(const struct rl_ipset *set, const struct rl_ip *ip)
{
    if (set == NULL) {
        return false;
    }
    for (size_t i = 0; i < set->n; i++) {
        struct rl_ip masked = *ip;
        rl_ip_mask(&masked, set->p[i].bits);
        if (memcmp(masked.b, set->p[i].addr.b, 16) == 0) {
            return true;
        }
    }
    return false;
}

size_t
rl_ipset_len(const struct rl_ipset *set)
{
    return set ? set->n : 0;
}

void
rl_ipset_free(struct rl_ipset *set)
{
    free(set);
}
