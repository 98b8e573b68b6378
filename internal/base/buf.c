/*
 * buf.c — the capped growable buffer (buf.h). Capacity doubles from 256
 * bytes, never past max + 1.
 */
#include "internal/base/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/arena/arena.h"

enum { FIRST_CAP = 256 };

void
rl_buf_init(struct rl_buf *b, size_t max, struct rl_arena *arena)
{
    *b = (struct rl_buf){.max = max < SIZE_MAX / 4 ? max : SIZE_MAX / 4,
                         .arena = arena};
}

static enum rl_err
fail(struct rl_buf *b, enum rl_err err)
{
    b->err = err;
    return err;
}

size_t
rl_buf_cap_for(const struct rl_buf *b, size_t more)
{
    if (b->err != RL_OK || more > b->max - b->len) {
        return 0;
    }
    size_t need = b->len + more + 1; /* ≤ max + 1 */
    if (need <= b->cap) {
        return b->cap;
    }
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    while (cap < need) { /* no overflow: need ≤ SIZE_MAX / 4 + 1 */
        cap *= 2;
    }
    return cap > b->max + 1 ? b->max + 1 : cap;
}

/* Room for more bytes and the NUL. */
static enum rl_err
reserve(struct rl_buf *b, size_t more)
{
    if (b->err != RL_OK) {
        return b->err;
    }
    size_t cap = rl_buf_cap_for(b, more);
    if (cap == 0) {
        return fail(b, RL_ERR_TOO_LARGE);
    }
    if (cap == b->cap) {
        return RL_OK;
    }
    char *nd;
    if (b->arena != NULL) {
        nd = rl_arena_alloc(b->arena, cap);
        if (nd != NULL && b->len) {
            memcpy(nd, b->data, b->len);
        }
    } else {
        nd = realloc(b->data, cap);
    }
    if (nd == NULL) {
        return fail(b, RL_ERR_NOMEM);
    }
    b->data = nd;
    b->cap = cap;
    return RL_OK;
}

enum rl_err
rl_buf_add(struct rl_buf *b, const void *p, size_t n)
{
    enum rl_err e = reserve(b, n);
    if (e != RL_OK) {
        return e;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return RL_OK;
}

enum rl_err
rl_buf_addstr(struct rl_buf *b, const char *s)
{
    return rl_buf_add(b, s, strlen(s));
}

enum rl_err
rl_buf_addc(struct rl_buf *b, char c)
{
    return rl_buf_add(b, &c, 1);
}

enum rl_err
rl_buf_printf(struct rl_buf *b, const char *fmt, ...)
{
    if (b->err != RL_OK) {
        return b->err;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return fail(b, RL_ERR_INVALID);
    }
    enum rl_err e = reserve(b, (size_t)n);
    if (e != RL_OK) {
        return e;
    }
    va_start(ap, fmt);
    (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return RL_OK;
}

enum rl_err
rl_buf_err(const struct rl_buf *b)
{
    return b->err;
}

void
rl_buf_reset(struct rl_buf *b)
{
    b->len = 0;
    b->err = RL_OK;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

void
rl_buf_free(struct rl_buf *b)
{
    if (b->arena == NULL) {
        free(b->data);
    }
    rl_buf_init(b, b->max, b->arena);
}

char *
rl_buf_take(struct rl_buf *b, size_t *len)
{
    char *p = b->err == RL_OK ? b->data : NULL;
    if (len != NULL) {
        *len = p != NULL ? b->len : 0;
    }
    if (p == NULL) {
        rl_buf_free(b);
    } else {
        rl_buf_init(b, b->max, b->arena);
    }
    return p;
}
