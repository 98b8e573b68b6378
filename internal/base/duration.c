/*
 * duration.c — Go-style durations. No state.
 */
#include "internal/base/duration.h"

#include <stdio.h>
#include <string.h>

enum rl_err
rl_duration_parse(const char *s, int64_t *ms)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {
        {"ns", 1.0},   {"us", 1e3},  {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
        {"ms", 1e6},   {"s", 1e9},   {"m", 60e9},        {"h", 3600e9},
    };
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
    double total_ns = 0;
    while (*s != '\0') {
        double v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s - '0');
            s++;
            digits++;
        }
        if (*s == '.') {
            s++;
            double scale = 0.1;
            while (*s >= '0' && *s <= '9') {
                v += (*s - '0') * scale;
                scale /= 10;
                s++;
                digits++;
            }
        }
        if (digits == 0) {
            return RL_ERR_INVALID;
        }
        size_t best = 0;
        double mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].name);
            if (n > best && strncmp(s, units[i].name, n) == 0) {
                best = n;
                mult = units[i].ns;
            }
        }
        if (best == 0) {
            return RL_ERR_INVALID;
        }
        s += best;
        total_ns += v * mult;
        if (total_ns > 9.2e18) {
            return RL_ERR_INVALID;
        }
    }
    *ms = (int64_t)(total_ns / 1e6);
    return RL_OK;
}

void
rl_duration_format(int64_t ms, char *buf, unsigned cap)
{
    if (ms == 0) {
        snprintf(buf, cap, "0s");
    } else if (ms < 1000) {
        snprintf(buf, cap, "%lldms", (long long)ms);
    } else {
        long long h = ms / 3600000;
        long long m = (ms / 60000) % 60;
        long long sec = (ms / 1000) % 60;
        long long frac = ms % 1000;
        char sbuf[32];
        if (frac) {
            snprintf(sbuf, sizeof(sbuf), "%lld.%03llds", sec, frac);
            /* trim trailing zeros of the fraction, like Go */
            size_t n = strlen(sbuf) - 1; /* before 's' */
            while (sbuf[n - 1] == '0') {
                sbuf[n - 1] = 's';
                sbuf[n] = '\0';
                n--;
            }
        } else {
            snprintf(sbuf, sizeof(sbuf), "%llds", sec);
        }
        if (h) {
            snprintf(buf, cap, "%lldh%lldm%s", h, m, sbuf);
        } else if (m) {
            snprintf(buf, cap, "%lldm%s", m, sbuf);
        } else {
            snprintf(buf, cap, "%s", sbuf);
        }
    }
}
