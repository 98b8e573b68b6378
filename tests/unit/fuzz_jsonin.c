/*
 * fuzz_jsonin.c — libFuzzer harness for internal/jsonin (not a unit test:
 * the Makefile only builds tests/unit/test_*.c).
 *
 * Build and run from the repository root (clang with libFuzzer):
 *
 *   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=all -D_GNU_SOURCE -I. \
 *       tests/unit/fuzz_jsonin.c internal/jsonin/[a-z]*.c \
 *       internal/base/hex.c internal/base/utf8.c \
 *       $(pkg-config --cflags --libs jansson) -o bin/fuzz_jsonin
 *   mkdir -p build/fuzz_jsonin
 *   bin/fuzz_jsonin -max_total_time=60 -max_len=4096 build/fuzz_jsonin
 *
 * Input: the low bit of the first byte is the `truncated` flag, the rest is
 * the body. Besides the sanitizers, it checks the result's invariants, that
 * jansson never accepts a body we call badly formed, and that an accepted
 * object survives a dump and a second read unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/jsonin/jsonin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
runtime_ok(const json_t *v)
{
    if (!json_is_string(v)) {
        return false;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        i++;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    return digits > 0 && n - i == 5 && memcmp(s + i, " mins", 5) == 0;
}

static bool
accept_all(const json_t *v)
{
    return v != NULL;
}

static const struct rl_jin_field fields[] = {
    {"title", RL_JIN_STRING, NULL, NULL, 0},
    {"year", RL_JIN_INT32, NULL, NULL, 0},
    {"runtime", RL_JIN_CUSTOM, runtime_ok, "invalid runtime format", 0},
    {"genres", RL_JIN_STRING_ARRAY, NULL, NULL, 0},
    {"any", RL_JIN_CUSTOM, accept_all, "too many items", 0},
    {"tags", RL_JIN_STRING_ARRAY, NULL, NULL, 2},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *const prefixes[] = {
    "body must not be empty",
    "body must not be larger than 1048576 bytes",
    "body contains badly-formed JSON",
    "body contains invalid UTF-8 (at character ",
    "body contains a NUL character (at character ",
    "body contains incorrect JSON type",
    "body contains unknown key \"",
    "body contains duplicate key \"",
    "body must only contain a single JSON value",
    "invalid runtime format",
    "too many items", /* "any" past RL_JIN_CUSTOM_MAX_ITEMS */
};

static void
require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_jsonin: invariant broken: %s\n", what);
        abort();
    }
}

static bool
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
check_object(const json_t *obj)
{
    const char *key;
    json_t *v;
    require(json_is_object(obj), "OK without an object");
    json_object_foreach((json_t *)obj, key, v)
    {
        const struct rl_jin_field *f = NULL;
        for (size_t k = 0; k < NFIELDS; k++) {
            if (strcmp(fields[k].name, key) == 0) {
                f = &fields[k];
            }
        }
        require(f != NULL, "unknown key in result");
        require(!json_is_null(v), "null kept in result");
        /* require() does not return when f is NULL */
        /* cppcheck-suppress nullPointer */
        switch (f->kind) {
        case RL_JIN_STRING:
            require(json_is_string(v) &&
                        strlen(json_string_value(v)) == json_string_length(v),
                    "STRING not a string without NUL");
            break;
        case RL_JIN_INT32:
            require(json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
                        json_integer_value(v) <= INT32_MAX,
                    "INT32 out of range");
            break;
        case RL_JIN_STRING_ARRAY: {
            size_t i;
            json_t *e;
            require(json_is_array(v), "STRING_ARRAY not an array");
            require(f->max_items == 0 || json_array_size(v) <= f->max_items + 1,
                    "STRING_ARRAY past max_items + 1");
            json_array_foreach(v, i, e)
            {
                require(json_is_string(e) && strlen(json_string_value(e)) ==
                                                 json_string_length(e),
                        "STRING_ARRAY element");
            }
            break;
        }
        case RL_JIN_CUSTOM:
        case RL_JIN_CUSTOM_STRING:
            require(f->check(v), "CUSTOM value fails its check");
            break;
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    bool truncated = data[0] & 1;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct rl_jin_result r;

    enum rl_jin_status st =
        rl_jin_read(body, len, truncated, fields, NFIELDS, &r);
    require(st == r.status, "return value != out->status");
    require(memchr(r.message, '\0', sizeof r.message) != NULL,
            "message not terminated");
    if (st != RL_JIN_OK) {
        require(st == RL_JIN_BAD, "unexpected status");
        require(r.object == NULL, "object on error");
        bool known = false;
        for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
            known = known || starts_with(r.message, prefixes[k]);
        }
        require(known, "unknown message");
    }

    /* jansson accepting the whole body means it is well-formed JSON, so
     * the only phase-1 error we may give is the depth limit. (jansson's
     * reader skips raw NUL bytes, so those bodies prove nothing.) */
    if (!truncated && st == RL_JIN_BAD && memchr(body, '\0', len) == NULL &&
        (starts_with(r.message, "body contains badly-formed JSON") ||
         starts_with(r.message, "body must not be empty") ||
         starts_with(r.message, "body contains invalid UTF-8"))) {
        json_t *j = json_loadb(body, len, JSON_DECODE_ANY, NULL);
        if (j != NULL) {
            unsigned long at = 0;
            const char *p = strstr(r.message, "(at character ");
            if (p != NULL) {
                at = strtoul(p + 14, NULL, 10);
            }
            require(at > 0 && at <= len &&
                        (body[at - 1] == '[' || body[at - 1] == '{'),
                    "jansson accepts what we call badly formed");
            json_decref(j);
        }
    }

    if (st == RL_JIN_OK) {
        check_object(r.object);
        char *dump = json_dumps(r.object, JSON_COMPACT);
        require(dump != NULL, "dump failed");
        struct rl_jin_result again;
        enum rl_jin_status st2 =
            rl_jin_read(dump, strlen(dump), false, fields, NFIELDS, &again);
        require(st2 == RL_JIN_OK, "re-reading our own dump failed");
        require(json_equal(r.object, again.object), "round trip differs");
        json_decref(again.object);
        free(dump);
        json_decref(r.object);
    }
    return 0;
}
