/*
 * config_lists.c — the list flags' values checked once parsed (config.c
 * calls these after its range checks): -trusted-proxies and -metrics-allow
 * must be IP addresses or CIDR prefixes, -cors-trusted-origins origins as a
 * browser sends them. Each says on stderr which item is wrong. Nothing
 * here keeps state; the parsed sets are thrown away (middleware.c and
 * metrics_access.c build their own at start-up).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/api/config_private.h"
#include "internal/base/err.h"
#include "internal/base/list.h"
#include "internal/netaddr/netaddr.h"
#include "internal/ratelimit/redis.h"

bool
api_config_check_ipset(const char *where, const char *list)
{
    struct rl_ipset *set = NULL;
    const char *bad = NULL;
    size_t badlen = 0;
    enum rl_err e = rl_ipset_parse(list, &set, &bad, &badlen);
    rl_ipset_free(set);
    if (e == RL_ERR_INVALID) {
        fprintf(stderr,
                "invalid value \"%s\" for %s: \"%.*s\" is not an IP "
                "address or CIDR prefix\n",
                list, where, (int)badlen, bad);
        return false;
    }
    if (e != RL_OK) {
        fprintf(stderr, "%s: %s\n", where, rl_err_str(e));
        return false;
    }
    return true;
}

bool
api_config_check_redis(const char *where, const char *url)
{
    if (url[0] == '\0') {
        return true;
    }
    struct rl_redis_url u;
    const char *why = "invalid";
    enum rl_err e = rl_redis_url_parse(url, &u, &why);
    explicit_bzero(u.password, sizeof(u.password));
    if (e != RL_OK) {
        /* Not the value: it may hold a password. */
        fprintf(stderr, "invalid value for %s: %s\n", where, why);
        return false;
    }
    return true;
}

/* The ASCII a host may hold besides lower-case letters and digits (the URL
 * standard forbids the rest; a comma would split the list). */
#define HOST_OTHER "-._~!$&'()*+;="

/* True for an origin as a browser sends it (RFC 6454 §6.1): a lower-case
 * scheme, "://", a host (lower-case letters, digits, HOST_OTHER) or a
 * bracketed IPv6 address, and
 * an optional port from 1 to 65535 without leading zeros; no user, path,
 * query or trailing slash. Origins are compared byte for byte, so one
 * that a browser could never send would never match. */
static bool
origin_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') ||
                       (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
                                  s[i] == '-' || s[i] == '.')))) {
        i++;
    }
    if (i == 0 || len - i < 3 || memcmp(s + i, "://", 3) != 0) {
        return false;
    }
    i += 3;
    size_t host = i;
    if (i < len && s[i] == '[') {
        i++;
        while (i < len &&
               ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                s[i] == ':' || s[i] == '.')) {
            i++;
        }
        if (i == len || s[i] != ']' || i == host + 1) {
            return false;
        }
        i++;
    } else {
        while (i < len &&
               ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                (s[i] != '\0' && strchr(HOST_OTHER, s[i]) != NULL))) {
            i++;
        }
        if (i == host) {
            return false;
        }
    }
    if (i == len) {
        return true;
    }
    if (s[i] != ':' || i + 1 == len || s[i + 1] == '0' || len - i - 1 > 5) {
        return false;
    }
    long port = 0;
    for (i++; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        port = port * 10 + (s[i] - '0');
    }
    return port <= 65535;
}

bool
api_config_check_origins(const char *where, const char *list)
{
    const char *p = list;
    const char *item;
    size_t len;
    while (rl_list_next(&p, &item, &len)) {
        if (!origin_valid(item, len)) {
            fprintf(stderr,
                    "invalid value \"%s\" for %s: \"%.*s\" is not an "
                    "origin (scheme://host[:port] in lower case, without a "
                    "path or trailing slash, e.g. https://app.example.com)\n",
                    list, where, (int)len, item);
            return false;
        }
    }
    return true;
}
