/*
 * movie_cursor.c — pack and unpack the cursors of GET /v1/movies
 * (movie_cursor.h); sealing and opening is internal/cursor's.
 */
#include "cmd/api/movie_cursor.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal/base/buf.h"
#include "internal/cursor/cursor.h"
#include "internal/validator/validator.h"

#define VERSION 1
#define HEAD 14 /* version, sort, page, id */

static void
put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t
get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Appends len then the bytes of s (NULL: none). */
static void
add_field(struct rl_buf *b, const char *s)
{
    size_t len = s != NULL ? strlen(s) : 0;
    unsigned char n[4];
    put_be(n, len, 4);
    rl_buf_add(b, n, 4);
    rl_buf_add(b, s != NULL ? s : "", len);
}

/* What a cursor is bound to: the query minus the page, normalised (an
 * empty filter and an absent one are the same). NULL when out of memory.
 * Its size follows the query string's (at most 64 KiB, contract §12 #25):
 * a genre costs 4 bytes more here than its comma there, so 64 KiB of
 * one-letter genres take 160 KiB; the cap only guards against a bug. */
static char *
binding(struct rl_arena *arena, const struct rl_movie_filter *f, size_t *len)
{
    struct rl_buf b;
    rl_buf_init(&b, 1024 * 1024, arena);
    unsigned char n[4];
    rl_buf_addstr(&b, "GET /v1/movies");
    rl_buf_addc(&b, '\0');
    rl_buf_addc(&b, (char)f->sort);
    put_be(n, (uint32_t)f->page_size, 4);
    rl_buf_add(&b, n, 4);
    add_field(&b, f->title);
    add_field(&b, f->q);
    put_be(n, f->genres != NULL ? f->ngenres : 0, 4);
    rl_buf_add(&b, n, 4);
    for (size_t i = 0; f->genres != NULL && i < f->ngenres; i++) {
        add_field(&b, f->genres[i]);
    }
    put_be(n, (uint32_t)f->year_from, 4);
    rl_buf_add(&b, n, 4);
    put_be(n, (uint32_t)f->year_to, 4);
    rl_buf_add(&b, n, 4);
    return rl_buf_take(&b, len);
}

char *
api_movie_cursor_make(const struct api_app *app, struct rl_arena *arena,
                      const struct rl_movie_filter *f,
                      const struct rl_movie_page *pg)
{
    unsigned char p[RL_CURSOR_MAX_PAYLOAD];
    const struct rl_movie *last = &pg->movies[pg->n - 1];
    size_t n = HEAD;
    p[0] = VERSION;
    p[1] = (unsigned char)f->sort;
    put_be(p + 2, (uint32_t)f->page + 1, 4);
    put_be(p + 6, (uint64_t)last->id, 8);
    switch (f->sort) {
    case RL_SORT_ID:
    case RL_SORT_ID_DESC:
        break;
    case RL_SORT_TITLE:
    case RL_SORT_TITLE_DESC: {
        size_t tlen = strlen(last->title);
        if (tlen > sizeof(p) - HEAD) {
            return NULL; /* cannot happen: titles are at most 500 bytes */
        }
        memcpy(p + HEAD, last->title, tlen);
        n += tlen;
        break;
    }
    case RL_SORT_YEAR:
    case RL_SORT_YEAR_DESC:
        put_be(p + HEAD, (uint32_t)last->year, 4);
        n += 4;
        break;
    case RL_SORT_RUNTIME:
    case RL_SORT_RUNTIME_DESC:
        put_be(p + HEAD, (uint32_t)last->runtime, 4);
        n += 4;
        break;
    case RL_SORT_RELEVANCE: {
        uint64_t bits;
        memcpy(&bits, &pg->last_score, sizeof(bits));
        put_be(p + HEAD, bits, 8);
        n += 8;
        break;
    }
    default:
        return NULL;
    }
    size_t blen;
    char *bind = binding(arena, f, &blen);
    if (bind == NULL) {
        return NULL;
    }
    return rl_cursor_seal(arena, &app->cursor_key, bind, blen, p, n);
}

bool
api_movie_cursor_read(const struct api_app *app, struct rl_arena *arena,
                      struct rl_movie_filter *f, const char *s, size_t len)
{
    unsigned char p[RL_CURSOR_MAX_PAYLOAD];
    size_t n, blen;
    char *bind = binding(arena, f, &blen);
    if (bind == NULL ||
        !rl_cursor_open(&app->cursor_key, bind, blen, s, len, p, &n) ||
        n < HEAD || p[0] != VERSION || p[1] != (unsigned char)f->sort) {
        return false;
    }
    uint64_t page = get_be(p + 2, 4);
    if (page < 2 || page > INT32_MAX) {
        return false;
    }
    struct rl_movie_after a = {.set = true};
    a.id = (int64_t)get_be(p + 6, 8);
    const unsigned char *v = p + HEAD;
    size_t vlen = n - HEAD;
    switch (f->sort) {
    case RL_SORT_ID:
    case RL_SORT_ID_DESC:
        if (vlen != 0) {
            return false;
        }
        break;
    case RL_SORT_TITLE:
    case RL_SORT_TITLE_DESC:
        /* Bytes, not a C string, until checked. */
        if (!rl_valid_text((const char *)v, vlen)) {
            return false;
        }
        a.title = rl_arena_strndup(arena, (const char *)v, vlen);
        if (a.title == NULL) {
            return false;
        }
        break;
    case RL_SORT_YEAR:
    case RL_SORT_YEAR_DESC:
    case RL_SORT_RUNTIME:
    case RL_SORT_RUNTIME_DESC:
        if (vlen != 4) {
            return false;
        }
        a.num = (int32_t)(uint32_t)get_be(v, 4);
        break;
    case RL_SORT_RELEVANCE: {
        if (vlen != 8) {
            return false;
        }
        uint64_t bits = get_be(v, 8);
        memcpy(&a.score, &bits, sizeof(bits));
        if (!isfinite(a.score)) {
            return false;
        }
        break;
    }
    default:
        return false;
    }
    f->after = a;
    f->page = (int32_t)page;
    return true;
}
