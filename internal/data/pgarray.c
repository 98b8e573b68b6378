/*
 * pgarray.c — PostgreSQL one-dimensional text[] literals, both ways.
 * No state; everything is allocated from the caller's arena.
 */
#include <stdbool.h>
#include <string.h>

#include "internal/data/movies.h"

char *
rl_pg_array_encode(struct rl_arena *a, const char *const *s, size_t n)
{
    size_t need = 3;
    for (size_t i = 0; i < n; i++) {
        need += 3 + 2 * strlen(s[i]);
    }
    char *out = rl_arena_alloc(a, need);
    if (out == NULL) {
        return NULL;
    }
    char *p = out;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }
        *p++ = '"';
        for (const char *c = s[i]; *c; c++) {
            if (*c == '"' || *c == '\\') {
                *p++ = '\\';
            }
            *p++ = *c;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

enum rl_err
rl_pg_array_decode(struct rl_arena *a, const char *text, const char ***out,
                   size_t *n)
{
    /* Skip an explicit-bounds prefix such as "[0:1]=". */
    if (*text == '[') {
        const char *eq = strchr(text, '=');
        if (eq == NULL) {
            return RL_ERR_INVALID;
        }
        text = eq + 1;
    }
    if (*text != '{') {
        return RL_ERR_INVALID;
    }
    size_t len = strlen(text);
    size_t max = 1;
    for (const char *c = text; *c; c++) {
        max += *c == ',';
    }
    const char **items = rl_arena_calloc(a, max, sizeof(*items));
    char *buf = rl_arena_alloc(a, len + 1);
    if (items == NULL || buf == NULL) {
        return RL_ERR_NOMEM;
    }
    size_t count = 0;
    const char *p = text + 1;
    if (*p == '}') {
        if (p[1] != '\0') {
            return RL_ERR_INVALID;
        }
        *out = items;
        *n = 0;
        return RL_OK;
    }
    for (;;) {
        char *start = buf;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) {
                    p++;
                }
                *buf++ = *p++;
            }
            if (*p != '"') {
                return RL_ERR_INVALID;
            }
            p++;
        } else {
            /* PostgreSQL quotes empty elements and any with these
             * characters, so unquoted they mean the text is malformed. */
            while (*p && *p != ',' && *p != '}') {
                if (*p == '"' || *p == '{' || *p == '\\') {
                    return RL_ERR_INVALID;
                }
                *buf++ = *p++;
            }
            if (buf == start) {
                return RL_ERR_INVALID;
            }
        }
        *buf++ = '\0';
        if (count >= max) {
            return RL_ERR_INVALID;
        }
        items[count++] = start;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}' && p[1] == '\0') {
            break;
        }
        return RL_ERR_INVALID;
    }
    *out = items;
    *n = count;
    return RL_OK;
}
