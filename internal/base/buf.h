/*
 * buf.h — the one growable byte buffer, capped (curl's dynbuf is the model):
 * JSON replies, metrics expositions and mail messages are built in it.
 *
 * A buffer allocates from a request arena (old blocks are left to the arena)
 * or, with a NULL arena, from the heap (rl_buf_free or rl_buf_take releases
 * it). Its text is NUL-terminated after every successful add, and never
 * longer than the max it was given; an add that would pass it fails with
 * RL_ERR_TOO_LARGE and changes nothing.
 *
 * Errors stick: after the first failed add every later add returns the same
 * error and adds nothing, so a builder may add freely and check rl_buf_err
 * once at the end (that is why the adds are not must-check).
 *
 * Not thread-safe: a buffer belongs to one thread.
 */
#ifndef REDLIGHT_INTERNAL_BASE_BUF_H
#define REDLIGHT_INTERNAL_BASE_BUF_H

#include <stddef.h>

#include "internal/base/err.h"

struct rl_arena;

struct rl_buf {
    char *data;             /* NULL until the first add; then NUL-terminated */
    size_t len;             /* bytes held, not counting the NUL */
    size_t cap;             /* bytes allocated */
    size_t max;             /* len never passes it */
    struct rl_arena *arena; /* NULL: the heap */
    enum rl_err err;        /* the first failure, or RL_OK */
};

/* Makes b empty, with room for at most max bytes (plus the NUL; a max past
 * SIZE_MAX / 4 is taken as SIZE_MAX / 4), allocating
 * from arena (NULL: the heap). Allocates nothing yet. */
void rl_buf_init(struct rl_buf *b, size_t max, struct rl_arena *arena);

/* Appends the n bytes at p (n may be 0: the buffer then holds at least "").
 * Returns RL_OK, RL_ERR_TOO_LARGE past max, RL_ERR_NOMEM, or the error
 * already stuck. */
enum rl_err rl_buf_add(struct rl_buf *b, const void *p, size_t n);

/* rl_buf_add of a NUL-terminated string. */
enum rl_err rl_buf_addstr(struct rl_buf *b, const char *s);

/* rl_buf_add of one byte. */
enum rl_err rl_buf_addc(struct rl_buf *b, char c);

/* Appends printf output; RL_ERR_INVALID on a format error (which sticks). */
enum rl_err rl_buf_printf(struct rl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The capacity b would have after adding `more` bytes: b->cap when they
 * fit already, what the add would grow it to otherwise, 0 when the add
 * would fail past max or an error has stuck. Lets a caller charge the
 * growth to a budget of its own before the add makes it. */
size_t rl_buf_cap_for(const struct rl_buf *b, size_t more);

/* The error that stuck, or RL_OK. */
enum rl_err rl_buf_err(const struct rl_buf *b);

/* Empties b and clears its error, keeping its memory. */
void rl_buf_reset(struct rl_buf *b);

/* Frees heap memory (a no-op for an arena buffer) and empties b. */
void rl_buf_free(struct rl_buf *b);

/* Hands b's text to the caller (heap: free() it; arena: it dies with the
 * arena) and empties b; *len (when not NULL) gets its length. NULL when
 * nothing was added or an error stuck (the memory is then released). */
char *rl_buf_take(struct rl_buf *b, size_t *len) RL_MUST_CHECK;

#endif
