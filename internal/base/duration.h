/*
 * duration.h — Go's time.ParseDuration syntax ("15m", "1h30m", "500ms").
 */
#ifndef REDLIGHT_INTERNAL_BASE_DURATION_H
#define REDLIGHT_INTERNAL_BASE_DURATION_H

#include <stdint.h>

#include "internal/base/err.h"

/* Parses s — a sequence of decimal numbers, each with an optional fraction
 * and a unit (ns, us, µs, ms, s, m, h), or "0" — into milliseconds
 * (fractions of a millisecond are truncated). Negative durations are
 * refused. Returns RL_ERR_INVALID on bad syntax or overflow. Pure. */
enum rl_err rl_duration_parse(const char *s, int64_t *ms) RL_MUST_CHECK;

/* Formats ms the way Go prints a duration ("15m0s", "30s", "1h0m0s",
 * "500ms", "0s") into buf. Pure. */
void rl_duration_format(int64_t ms, char *buf, unsigned cap);

#endif
