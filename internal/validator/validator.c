/*
 * validator.c — field error collection, generic rules, and the integer
 * parser for request values (which arrive with a length, not as C strings).
 * No global state.
 */
#include "internal/validator/validator.h"

#include <string.h>

#include "internal/base/utf8.h"

void
rl_check(struct rl_validator *v, bool ok, const char *key, const char *message)
{
    if (ok || rl_failed(v, key)) {
        return;
    }
    if (v->errors == NULL) {
        v->errors = json_object();
        if (v->errors == NULL) {
            v->nomem = true;
            return;
        }
    }
    if (json_object_set_new(v->errors, key, json_string(message)) != 0) {
        v->nomem = true;
    }
}

bool
rl_valid(const struct rl_validator *v)
{
    return v->errors == NULL && !v->nomem;
}

bool
rl_failed(const struct rl_validator *v, const char *key)
{
    return v->errors != NULL && json_object_get(v->errors, key) != NULL;
}

void
rl_validator_free(struct rl_validator *v)
{
    json_decref(v->errors);
    v->errors = NULL;
}

bool
rl_unique(const char *const *s, size_t n)
{
    /* n is at most a handful (genres: 5) by the time this runs. */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(s[i], s[j]) == 0) {
                return false;
            }
        }
    }
    return true;
}

bool
rl_valid_text(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] == 0) {
            return false;
        }
        size_t n = rl_utf8_seq_len(p + i, len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

enum rl_err
rl_parse_int64(const char *s, size_t len, bool sign_ok, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t mag = 0;

    if (len > 0 && sign_ok && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len) {
        return RL_ERR_INVALID;
    }
    for (; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        /* INT64_MAX + 1 is the largest magnitude: INT64_MIN */
        if (d > 9 || mag > ((uint64_t)INT64_MAX + 1 - d) / 10) {
            return RL_ERR_INVALID;
        }
        mag = mag * 10 + d;
    }
    if (!neg && mag > (uint64_t)INT64_MAX) {
        return RL_ERR_INVALID;
    }
    *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag)
               : (int64_t)mag;
    return RL_OK;
}
