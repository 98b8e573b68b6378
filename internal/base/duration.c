/*
 * duration.c — Go-style durations. No state.
 */
#include "internal/base/duration.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Go's leadingInt: the digits at *s as an integer, false past 2^63. */
static bool
leading_int(const char **s, uint64_t *x)
{
    const uint64_t lim = (uint64_t)1 << 63;
    *x = 0;
    for (; **s >= '0' && **s <= '9'; (*s)++) {
        if (*x > lim / 10) {
            return false;
        }
        *x = *x * 10 + (uint64_t)(**s - '0');
        if (*x > lim) {
            return false;
        }
    }
    return true;
}

/* Go's leadingFraction: digits that would overflow are skipped, not an
 * error, so "1.000…0001s" parses. */
static uint64_t
leading_fraction(const char **s, double *scale)
{
    const uint64_t lim = (uint64_t)1 << 63;
    uint64_t x = 0;
    bool overflow = false;
    *scale = 1;
    for (; **s >= '0' && **s <= '9'; (*s)++) {
        if (overflow) {
            continue;
        }
        if (x > (lim - 1) / 10) {
            overflow = true;
            continue;
        }
        uint64_t y = x * 10 + (uint64_t)(**s - '0');
        if (y > lim) {
            overflow = true;
            continue;
        }
        x = y;
        *scale *= 10;
    }
    return x;
}

/* A port of Go's time.ParseDuration, in integer nanoseconds as Go does:
 * accumulating in floating point loses a millisecond on values such as
 * "1.001s". */
enum rl_err
rl_duration_parse(const char *s, int64_t *ms)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xC2\xB5s", 1000}, /* U+00B5 micro sign */
        {"\xCE\xBCs", 1000}, /* U+03BC Greek letter mu */
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", UINT64_C(60000000000)},
        {"h", UINT64_C(3600000000000)},
    };
    const uint64_t lim = (uint64_t)1 << 63;
    if (s == NULL || *s == '\0') {
        return RL_ERR_INVALID;
    }
    if (*s == '+') {
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return RL_OK;
    }
    if (*s == '\0') {
        return RL_ERR_INVALID;
    }
    uint64_t total = 0;
    while (*s != '\0') {
        if (!(*s == '.' || (*s >= '0' && *s <= '9'))) {
            return RL_ERR_INVALID;
        }
        const char *before = s;
        uint64_t v;
        if (!leading_int(&s, &v)) {
            return RL_ERR_INVALID;
        }
        bool pre = s != before;
        bool post = false;
        uint64_t f = 0;
        double scale = 1;
        if (*s == '.') {
            s++;
            before = s;
            f = leading_fraction(&s, &scale);
            post = s != before;
        }
        if (!pre && !post) {
            return RL_ERR_INVALID;
        }
        size_t ulen = strcspn(s, ".0123456789");
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strlen(units[i].name) == ulen &&
                strncmp(s, units[i].name, ulen) == 0) {
                unit = units[i].ns;
            }
        }
        if (unit == 0) {
            return RL_ERR_INVALID; /* missing or unknown unit */
        }
        s += ulen;
        if (v > lim / unit) {
            return RL_ERR_INVALID;
        }
        v *= unit;
        if (f > 0) {
            /* As Go: float64 keeps fractions of hours exact to the ns. */
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > lim) {
                return RL_ERR_INVALID;
            }
        }
        if (v > lim - total) {
            return RL_ERR_INVALID;
        }
        total += v;
    }
    if (total > lim - 1) {
        return RL_ERR_INVALID;
    }
    *ms = (int64_t)(total / 1000000);
    return RL_OK;
}

void
rl_duration_format(int64_t ms, char *buf, unsigned cap)
{
    /* Go prints the sign, then the magnitude ("-1.5s"); the unsigned
     * magnitude also covers INT64_MIN. */
    const char *sign = ms < 0 ? "-" : "";
    uint64_t u = ms < 0 ? -(uint64_t)ms : (uint64_t)ms;
    if (u == 0) {
        snprintf(buf, cap, "0s");
    } else if (u < 1000) {
        snprintf(buf, cap, "%s%" PRIu64 "ms", sign, u);
    } else {
        uint64_t h = u / 3600000;
        uint64_t m = (u / 60000) % 60;
        uint64_t sec = (u / 1000) % 60;
        uint64_t frac = u % 1000;
        char sbuf[32];
        if (frac) {
            snprintf(sbuf, sizeof(sbuf), "%" PRIu64 ".%03" PRIu64 "s", sec,
                     frac);
            /* trim trailing zeros of the fraction, like Go */
            size_t n = strlen(sbuf) - 1; /* before 's' */
            while (sbuf[n - 1] == '0') {
                sbuf[n - 1] = 's';
                sbuf[n] = '\0';
                n--;
            }
        } else {
            snprintf(sbuf, sizeof(sbuf), "%" PRIu64 "s", sec);
        }
        if (h) {
            snprintf(buf, cap, "%s%" PRIu64 "h%" PRIu64 "m%s", sign, h, m,
                     sbuf);
        } else if (m) {
            snprintf(buf, cap, "%s%" PRIu64 "m%s", sign, m, sbuf);
        } else {
            snprintf(buf, cap, "%s%s", sign, sbuf);
        }
    }
}
