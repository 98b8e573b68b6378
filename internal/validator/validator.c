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
