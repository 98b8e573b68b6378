/*
 * parse.c — decimal integers (see parse.h).
 */
#include "internal/base/parse.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Reads the digits in [*p, stop) into *acc; false when there is none or the
 * value passes limit. *p moves past every digit either way. */
static bool
digits(const char **p, const char *stop, uint64_t limit, uint64_t *acc)
{
    const char *s = *p;
    uint64_t v = 0;
    bool fits = true;
    for (; s < stop && *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (!fits || d > limit || v > (limit - d) / 10) {
            fits = false;
            continue;
        }
        v = v * 10 + d;
    }
    bool any = s != *p;
    *p = s;
    *acc = v;
    return any && fits;
}

enum rl_err
rl_parse_i64n(const char *s, size_t len, unsigned flags, int64_t min,
              int64_t max, const char **end, int64_t *out)
{
    const char *p = s;
    const char *stop = s + len;
    if ((flags & RL_PARSE_SPACE) != 0) {
        while (p < stop && isspace((unsigned char)*p)) {
            p++;
        }
    }
    bool neg = false;
    if ((flags & RL_PARSE_SIGN) != 0 && p < stop && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    uint64_t mag;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (!digits(&p, stop, limit, &mag) || (end == NULL && p != stop)) {
        return RL_ERR_INVALID;
    }
    int64_t v;
    if (!neg) {
        v = (int64_t)mag;
    } else if (mag == (uint64_t)INT64_MAX + 1) {
        v = INT64_MIN;
    } else {
        v = -(int64_t)mag;
    }
    if (v < min || v > max) {
        return RL_ERR_INVALID;
    }
    if (end != NULL) {
        *end = p;
    }
    *out = v;
    return RL_OK;
}

enum rl_err
rl_parse_i64(const char *s, unsigned flags, int64_t min, int64_t max,
             const char **end, int64_t *out)
{
    return rl_parse_i64n(s, strlen(s), flags, min, max, end, out);
}

enum rl_err
rl_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    const char *p = s;
    uint64_t v;
    const char *stop = s + strlen(s);
    if (!digits(&p, stop, max, &v) || p != stop) {
        return RL_ERR_INVALID;
    }
    *out = v;
    return RL_OK;
}

size_t
rl_fmt_i64(char *out, int64_t v)
{
    /* Magnitude as unsigned, so INT64_MIN does not overflow. */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    size_t len = 0;
    if (v < 0) {
        out[len++] = '-';
    }
    while (n > 0) {
        out[len++] = digits[--n];
    }
    out[len] = '\0';
    return len;
}
