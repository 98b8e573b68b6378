/*
 * config.c — the mail worker's tuning from the environment, and the retry
 * backoff that tuning sets. No state: rl_mailer_config_env writes the
 * caller's struct; rl_mailer_backoff_ms reads only its arguments.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "internal/base/parse.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/mailer/worker.h"
#include "internal/mailer/worker_int.h"

static bool
env_positive(const char *name, int64_t max, int64_t *out)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0') {
        return false;
    }
    int64_t v;
    if (rl_parse_i64(s, RL_PARSE_STRTOL, 1, max, NULL, &v) != RL_OK) {
        rl_log_props(RL_LOG_ERROR, "ignoring invalid environment variable",
                     RL_LOG_STR("name", name), NULL);
        return false;
    }
    *out = v;
    return true;
}

void
rl_mailer_config_env(struct rl_mailer_config *cfg)
{
    int64_t v;
    if (env_positive("REDLIGHT_MAIL_BACKOFF_MS", 86400000, &v)) {
        cfg->backoff_base_ms = v;
    }
    if (env_positive("REDLIGHT_MAIL_BACKOFF_MAX_MS", 86400000, &v)) {
        cfg->backoff_max_ms = v;
    }
    if (env_positive("REDLIGHT_MAIL_MAX_ATTEMPTS", 1000, &v)) {
        cfg->max_attempts = (int)v;
    }
    if (env_positive("REDLIGHT_MAIL_THREADS", 64, &v)) {
        cfg->threads = (int)v;
    }
}

/* The delay before retry number `failures` (1 after the first failure):
 * base * 2^(failures-1), capped, minus up to a fifth at random so that
 * jobs that failed together do not retry together. */
int64_t
rl_mailer_backoff_ms(const struct rl_mailer_config *cfg, int failures)
{
    int64_t d = cfg->backoff_base_ms;
    for (int i = 1; i < failures && d < cfg->backoff_max_ms; i++) {
        d *= 2;
    }
    if (d > cfg->backoff_max_ms) {
        d = cfg->backoff_max_ms;
    }
    int64_t jitter = d / 5;
    if (jitter > 0 && jitter < UINT32_MAX) {
        d -= randombytes_uniform((uint32_t)jitter + 1);
    }
    return d;
}
