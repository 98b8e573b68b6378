/*
 * validator.h — collects field → message failures, first failure per field
 * wins (contract §1). Declared rules are plain function calls in order.
 *
 * A struct rl_validator belongs to one thread. Its `errors` object is a
 * jansson object the caller takes over (or releases with
 * rl_validator_free).
 */
#ifndef REDLIGHT_INTERNAL_VALIDATOR_VALIDATOR_H
#define REDLIGHT_INTERNAL_VALIDATOR_VALIDATOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/base/err.h"

struct rl_validator {
    json_t *errors; /* NULL until the first failure */
    bool nomem;     /* a failure could not be recorded */
};

/* Records message for key unless key already failed. No-op when ok. */
void rl_check(struct rl_validator *v, bool ok, const char *key,
              const char *message);

/* True when no check failed (and no memory ran out). */
bool rl_valid(const struct rl_validator *v);

/* True when key has already failed. */
bool rl_failed(const struct rl_validator *v, const char *key);

/* Releases the errors object, if any. */
void rl_validator_free(struct rl_validator *v);

/* True when the n strings are pairwise different (exact byte compare). */
bool rl_unique(const char *const *s, size_t n);

/* True when s (len bytes) is valid UTF-8 without NUL bytes — text that
 * PostgreSQL can store. Pure. */
bool rl_valid_text(const char *s, size_t len);

#endif
