/*
 * redis_url.c — the -limiter-redis URL (redis.h). Strict: each part must
 * be what the grammar says or the whole URL is refused with a reason, so
 * a typo fails at start-up instead of silently limiting nothing. The
 * reasons never quote the URL (it may hold a password).
 */
#include <stdio.h>
#include <string.h>

#include "internal/base/hex.h"
#include "internal/base/parse.h"
#include "internal/ratelimit/redis.h"

/* Percent-decodes len bytes of s into out (cap bytes with the NUL). A NUL
 * byte (%00) is refused: the value goes to Redis as a C string. */
static bool
decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? rl_hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? rl_hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = (char)(hi * 16 + lo);
            if (c == '\0') {
                return false;
            }
            i += 2;
        }
        if (n + 1 >= cap) {
            return false;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

static enum rl_err
fail(const char **why, const char *reason)
{
    if (why != NULL) {
        *why = reason;
    }
    return RL_ERR_INVALID;
}

static bool
host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static enum rl_err
parse_unix(const char *p, struct rl_redis_url *out, const char **why)
{
    size_t len = strlen(p);
    if (len == 0 || p[0] != '/') {
        return fail(why, "a unix:// URL needs an absolute path "
                         "(unix:///run/redis/redis.sock)");
    }
    if (len >= sizeof(out->path)) {
        return fail(why, "the Unix socket path is too long");
    }
    if (strpbrk(p, "?#") != NULL) {
        return fail(why, "a unix:// URL takes no query or fragment");
    }
    out->unix_socket = true;
    memcpy(out->path, p, len + 1);
    return RL_OK;
}

/* [[user]:password@] */
static enum rl_err
parse_userinfo(const char *s, size_t len, struct rl_redis_url *out,
               const char **why)
{
    const char *colon = memchr(s, ':', len);
    if (colon == NULL) {
        return fail(why, "the Redis URL's userinfo must be :password or "
                         "user:password");
    }
    size_t ulen = (size_t)(colon - s);
    if (!decode(s, ulen, out->username, sizeof(out->username)) ||
        !decode(colon + 1, len - ulen - 1, out->password,
                sizeof(out->password))) {
        return fail(why, "the Redis URL's user or password has a bad "
                         "%-escape or is too long");
    }
    if (out->password[0] == '\0') {
        return fail(why, "the Redis URL's password is empty");
    }
    return RL_OK;
}

/* host[:port] or [v6][:port] */
static enum rl_err
parse_hostport(const char *s, size_t len, struct rl_redis_url *out,
               const char **why)
{
    const char *host = s;
    size_t hlen;
    const char *rest;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL) {
            return fail(why, "the Redis URL's IPv6 address lacks its ']'");
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        for (size_t i = 0; i < hlen; i++) {
            char c = host[i];
            if (!(rl_hex_value(c) >= 0 || c == ':' || c == '.')) {
                return fail(why, "the Redis URL's IPv6 address is invalid");
            }
        }
        rest = close + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        hlen = colon ? (size_t)(colon - s) : len;
        for (size_t i = 0; i < hlen; i++) {
            if (!host_char(host[i])) {
                return fail(why, "the Redis URL's host has a character a "
                                 "host name cannot have");
            }
        }
        rest = s + hlen;
    }
    if (hlen == 0) {
        return fail(why, "the Redis URL has no host");
    }
    if (hlen >= sizeof(out->host)) {
        return fail(why, "the Redis URL's host is too long");
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    size_t rlen = len - (size_t)(rest - s);
    out->port = 6379;
    if (rlen == 0) {
        return RL_OK;
    }
    int64_t port;
    if (rest[0] != ':' ||
        rl_parse_i64n(rest + 1, rlen - 1, 0, 1, 65535, NULL, &port) != RL_OK) {
        return fail(why, "the Redis URL's port must be a number from 1 to "
                         "65535");
    }
    out->port = (int)port;
    return RL_OK;
}

enum rl_err
rl_redis_url_parse(const char *s, struct rl_redis_url *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(s, "unix://", 7) == 0) {
        return parse_unix(s + 7, out, why);
    }
    if (strncmp(s, "rediss://", 9) == 0) {
        return fail(why, "rediss:// (TLS) is not supported: use redis:// "
                         "or unix://");
    }
    if (strncmp(s, "redis://", 8) != 0) {
        return fail(why, "the Redis URL must start with redis:// or "
                         "unix://");
    }
    const char *p = s + 8;
    if (strpbrk(p, "?#") != NULL) {
        return fail(why, "the Redis URL takes no query or fragment");
    }
    const char *slash = strchr(p, '/');
    size_t auth_len = slash ? (size_t)(slash - p) : strlen(p);
    const char *at = memrchr(p, '@', auth_len);
    enum rl_err e;
    if (at != NULL) {
        e = parse_userinfo(p, (size_t)(at - p), out, why);
        if (e != RL_OK) {
            return e;
        }
        auth_len -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    e = parse_hostport(p, auth_len, out, why);
    if (e != RL_OK) {
        return e;
    }
    if (slash != NULL && slash[1] != '\0') {
        int64_t db;
        if (rl_parse_i64(slash + 1, 0, 0, 1000000, NULL, &db) != RL_OK) {
            return fail(why, "the Redis URL's database must be a number "
                             "(redis://host:port/0)");
        }
        out->db = (int)db;
    }
    return RL_OK;
}
