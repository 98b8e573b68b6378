/*
 * arena.h — lifetime-scoped memory: everything allocated from an arena, and
 * every cleanup deferred on it, dies together in rl_arena_destroy.
 *
 * One arena per request (or per job). Not thread-safe: an arena belongs to
 * the thread that is working on its request.
 */
#ifndef REDLIGHT_INTERNAL_ARENA_ARENA_H
#define REDLIGHT_INTERNAL_ARENA_ARENA_H

#include <stddef.h>

struct rl_arena;

/* Returns a new arena whose first chunk has room for about `hint` bytes,
 * or NULL when out of memory. Free with rl_arena_destroy. */
struct rl_arena *rl_arena_create(size_t hint);

/* Runs the deferred cleanups in LIFO order, then frees every chunk.
 * NULL is a no-op. */
void rl_arena_destroy(struct rl_arena *a);

/* Returns `n` bytes aligned for any type, or NULL when out of memory or when
 * the arena's cap (RL_ARENA_MAX bytes) would be passed. Never freed alone. */
void *rl_arena_alloc(struct rl_arena *a, size_t n);

/* rl_arena_alloc, zero-filled. Checks n * size for overflow. */
void *rl_arena_calloc(struct rl_arena *a, size_t n, size_t size);

/* Copies `len` bytes of s and adds a NUL. NULL when out of memory. */
char *rl_arena_strndup(struct rl_arena *a, const char *s, size_t len);

/* Copies a NUL-terminated string. NULL when out of memory. */
char *rl_arena_strdup(struct rl_arena *a, const char *s);

/* printf into the arena. NULL when out of memory or on a format error. */
char *rl_arena_printf(struct rl_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers fn(ptr) to run when the arena is destroyed (LIFO). Returns 0,
 * or -1 when out of memory — in which case fn(ptr) has already been run, so
 * the caller never leaks what it tried to hand over. */
int rl_arena_defer(struct rl_arena *a, void (*fn)(void *), void *ptr);

/* Upper bound on what one arena may hold, so one request cannot eat the
 * process's memory. */
#define RL_ARENA_MAX ((size_t)64 * 1024 * 1024)

#endif
