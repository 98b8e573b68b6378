/*
 * arena.c — a chunked bump allocator with deferred cleanups.
 *
 * Chunks come from malloc and are linked newest-first; a request that asks
 * for more than half a chunk gets a chunk of its own. Cleanups run LIFO, then
 * chunks are freed. Total size is capped at RL_ARENA_MAX.
 */
#include "internal/arena/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gcc -fanalyzer (make audit) reports every new chunk as leaked: it cannot
 * see that the chunk is linked into a->chunks before its interior pointer
 * is returned. rl_arena_destroy frees the list; LeakSanitizer checks it. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif

#define ALIGN (_Alignof(max_align_t))
#define CHUNK_MIN 4096

struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(max_align_t) unsigned char data[];
};

struct deferred {
    struct deferred *next;
    void (*fn)(void *);
    void *ptr;
};

struct rl_arena {
    struct chunk *head;
    struct deferred *defers;
    size_t total;
};

static struct chunk *
chunk_new(size_t size)
{
    struct chunk *c = malloc(sizeof(*c) + size);
    if (c == NULL) {
        return NULL;
    }
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

struct rl_arena *
rl_arena_create(size_t hint)
{
    struct rl_arena *a = malloc(sizeof(*a));
    if (a == NULL) {
        return NULL;
    }
    a->head = chunk_new(hint < CHUNK_MIN ? CHUNK_MIN : hint);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    a->defers = NULL;
    a->total = a->head->size;
    return a;
}

void
rl_arena_destroy(struct rl_arena *a)
{
    if (a == NULL) {
        return;
    }
    struct deferred *d = a->defers;
    /* Each deferred record lives in the arena, so read next before running
     * the cleanup (cleanups must not allocate from this arena). */
    while (d != NULL) {
        struct deferred *next = d->next;
        d->fn(d->ptr);
        d = next;
    }
    struct chunk *c = a->head;
    while (c != NULL) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *
rl_arena_alloc(struct rl_arena *a, size_t n)
{
    if (n == 0) {
        n = 1;
    }
    if (n > RL_ARENA_MAX) {
        return NULL;
    }
    size_t need = (n + ALIGN - 1) & ~(ALIGN - 1);
    struct chunk *c = a->head;
    if (c->size - c->used >= need) {
        void *p = c->data + c->used;
        c->used += need;
        return p;
    }
    size_t size = need > CHUNK_MIN / 2 ? need : c->size * 2;
    if (size < CHUNK_MIN) {
        size = CHUNK_MIN;
    }
    if (size > 1024 * 1024 && size > need) {
        size = need > 1024 * 1024 ? need : 1024 * 1024;
    }
    if (a->total + size > RL_ARENA_MAX) {
        return NULL;
    }
    struct chunk *nc = chunk_new(size);
    if (nc == NULL) {
        return NULL;
    }
    a->total += size;
    nc->used = need;
    if (need > CHUNK_MIN / 2 && c->size - c->used > CHUNK_MIN / 4) {
        /* A big dedicated block: keep allocating from the current chunk. */
        nc->next = c->next;
        c->next = nc;
    } else {
        nc->next = c;
        a->head = nc;
    }
    return nc->data;
}

void *
rl_arena_calloc(struct rl_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    void *p = rl_arena_alloc(a, n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

char *
rl_arena_strndup(struct rl_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX) {
        return NULL;
    }
    char *p = rl_arena_alloc(a, len + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
rl_arena_strdup(struct rl_arena *a, const char *s)
{
    return rl_arena_strndup(a, s, strlen(s));
}

char *
rl_arena_printf(struct rl_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *p = rl_arena_alloc(a, (size_t)n + 1);
    if (p == NULL) {
        return NULL;
    }
    if ((size_t)n < sizeof(small)) {
        memcpy(p, small, (size_t)n + 1);
        return p;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int
rl_arena_defer(struct rl_arena *a, void (*fn)(void *), void *ptr)
{
    struct deferred *d = rl_arena_alloc(a, sizeof(*d));
    if (d == NULL) {
        fn(ptr);
        return -1;
    }
    d->fn = fn;
    d->ptr = ptr;
    d->next = a->defers;
    a->defers = d;
    return 0;
}
