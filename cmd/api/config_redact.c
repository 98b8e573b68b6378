/*
 * config_redact.c — the command line as /debug/vars shows it: argv with the
 * values of secret flags (the secret column of config.c's flag table, the
 * one list of them) hidden. config.c's parser noted where each secret
 * value sits in argv (cfg->secret_args); this file copies argv around
 * them, and looks secret flags up by name (api_config_flag_secret) where
 * the parser did not read. Nothing here keeps state.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "cmd/api/config.h"
#include "cmd/api/config_private.h"
#include "internal/base/buf.h"

#define REDACTED "REDACTED"

/* Copies s, replacing passwords: the one in a URL's userinfo
 * (postgres://user:PASSWORD@host) and every password= / sslpassword=
 * value of a key/value DSN or URL query. */
static void
put_scrubbed(struct rl_buf *b, const char *s)
{
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n) {
        if (strncmp(s + i, "://", 3) == 0) {
            size_t start = i + 3;
            size_t end = start;
            while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#') {
                end++;
            }
            const char *at = memrchr(s + start, '@', end - start);
            const char *colon =
                at ? memchr(s + start, ':', (size_t)(at - (s + start))) : NULL;
            if (colon != NULL) {
                rl_buf_add(b, s + i, (size_t)(colon + 1 - (s + i)));
                rl_buf_addstr(b, REDACTED);
                i = (size_t)(at - s);
                continue;
            }
            rl_buf_add(b, s + i, 3);
            i += 3;
            continue;
        }
        bool key_start = i == 0 || strchr(" \t?&;", s[i - 1]) != NULL;
        size_t klen = strncasecmp(s + i, "password", 8) == 0       ? 8
                      : strncasecmp(s + i, "sslpassword", 11) == 0 ? 11
                                                                   : 0;
        if (key_start && klen > 0) {
            size_t j = i + klen;
            while (s[j] == ' ') {
                j++;
            }
            if (s[j] == '=') {
                j++;
                while (s[j] == ' ') {
                    j++;
                }
                rl_buf_add(b, s + i, j - i);
                rl_buf_addstr(b, REDACTED);
                if (s[j] == '\'') { /* libpq quoting: 'a b\'c' */
                    j++;
                    while (j < n && s[j] != '\'') {
                        j += s[j] == '\\' && j + 1 < n ? 2 : 1;
                    }
                    j += j < n;
                } else {
                    while (j < n && s[j] != ' ' && s[j] != '\t' &&
                           s[j] != '&' && s[j] != '#') {
                        j++;
                    }
                }
                i = j;
                continue;
            }
        }
        rl_buf_add(b, s + i, 1);
        i++;
    }
}

/* "-jwt-secret", "--smtp-password=x": a flag whose whole value is secret
 * (config.c's table), by its full name. Not -db-dsn: put_scrubbed finds a
 * DSN's passwords wherever they stand. */
static bool
names_secret_flag(const char *s)
{
    if (s[0] != '-') {
        return false;
    }
    s += s[1] == '-' ? 2 : 1;
    return api_config_flag_secret(s, strcspn(s, "=")) == API_SECRET;
}

const char *
api_config_redacted_arg(const struct api_config *cfg, int i,
                        struct rl_arena *arena)
{
    const char *s = cfg->argv[i];
    if (i > 0 && cfg->secret_args_overflow) {
        return REDACTED;
    }
    struct rl_buf b;
    rl_buf_init(&b, SIZE_MAX, arena);
    uintptr_t lo = (uintptr_t)s;
    uintptr_t hi = lo + strlen(s);
    bool done = false;
    /* Exactly where config.c's parser found a secret flag's value (which
     * also covers abbreviations such as -smtp-pass). */
    for (int k = 0; k < cfg->nsecret_args && !done; k++) {
        uintptr_t v = (uintptr_t)cfg->secret_args[k].value;
        if (v < lo || v > hi) {
            continue;
        }
        rl_buf_add(&b, s, v - lo); /* "-flag=" when given in one argument */
        if (cfg->secret_args[k].dsn) {
            put_scrubbed(&b, cfg->secret_args[k].value);
        } else {
            rl_buf_addstr(&b, REDACTED);
        }
        done = true;
    }
    /* And by name, whatever the parser thought. */
    if (!done && i > 0 && names_secret_flag(cfg->argv[i - 1]) &&
        strchr(cfg->argv[i - 1], '=') == NULL) {
        rl_buf_addstr(&b, REDACTED);
        done = true;
    }
    if (!done && names_secret_flag(s) && strchr(s, '=') != NULL) {
        rl_buf_add(&b, s, (size_t)(strchr(s, '=') + 1 - s));
        rl_buf_addstr(&b, REDACTED);
        done = true;
    }
    if (!done) {
        put_scrubbed(&b, s); /* a DSN anywhere else */
    }
    rl_buf_add(&b, "", 0);
    return rl_buf_err(&b) != RL_OK ? NULL : b.data;
}
