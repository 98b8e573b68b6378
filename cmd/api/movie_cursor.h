/*
 * movie_cursor.h — the cursors of GET /v1/movies (metadata.next_cursor,
 * ?cursor=): what a cursor carries and what it is bound to.
 *
 * Payload (big-endian): version 1, the sort, the page number the cursor
 * leads to (u32), the last row's id (i64), then the last row's sort value:
 * nothing for id, i32 for year and runtime, the title's bytes for title,
 * the score's IEEE 754 bits for relevance. Bound (internal/cursor) to the
 * normalised query: sort, page_size, title, q, genres and year range, so a
 * cursor answers only the query that produced it.
 */
#ifndef REDLIGHT_CMD_API_MOVIE_CURSOR_H
#define REDLIGHT_CMD_API_MOVIE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd/api/app.h"
#include "internal/data/movies.h"

/* The cursor of the page after pg (whose number is f->page), in arena;
 * NULL when out of memory. pg has at least one row. */
char *api_movie_cursor_make(const struct api_app *app, struct rl_arena *arena,
                            const struct rl_movie_filter *f,
                            const struct rl_movie_page *pg);

/* Opens cursor s[0..len) for the query in f (filters, sort, page_size
 * already read): true, with f->after and f->page set, when it is a cursor
 * this server made for this query; false otherwise. Strings it sets live
 * in arena. */
bool api_movie_cursor_read(const struct api_app *app, struct rl_arena *arena,
                           struct rl_movie_filter *f, const char *s,
                           size_t len);

#endif
