/*
 * movies.h — the movie model: validation rules, runtime format, and the
 * queries. Knows nothing of HTTP.
 *
 * Strings in a struct rl_movie returned by these functions are allocated
 * from the arena the caller passes and die with it. Every function that
 * takes a struct rl_db is thread-safe (the pool is).
 */
#ifndef REDLIGHT_INTERNAL_DATA_MOVIES_H
#define REDLIGHT_INTERNAL_DATA_MOVIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/arena/arena.h"
#include "internal/base/err.h"
#include "internal/data/pool.h"
#include "internal/validator/validator.h"

#define RL_MOVIE_MAX_GENRES 5
#define RL_MOVIE_TITLE_MAX 500 /* bytes */
#define RL_MOVIE_GENRE_MAX 500 /* bytes: keeps GIN index entries small */

struct rl_movie {
    int64_t id;
    const char *title;
    int32_t year;
    int32_t runtime;     /* minutes */
    const char **genres; /* NULL when absent */
    size_t ngenres;
    int32_t version;
};

/* Parses "<optional sign><digits> mins" (exactly one space) into *minutes,
 * the value fitting int32. Pure. */
bool rl_runtime_parse(const char *s, size_t len, int32_t *minutes);

/* Writes "<n> mins" into buf. Pure. */
void rl_runtime_format(int32_t minutes, char *buf, size_t cap);

/* Applies the contract's movie rules (§3.2) to m, for the given calendar
 * year. genres == NULL means "not provided". */
void rl_movie_validate(struct rl_validator *v, const struct rl_movie *m,
                       int current_year);

/* Inserts m; sets m->id and m->version. Scratch (the genres array
 * literal) comes from arena. */
enum rl_err rl_movie_insert(struct rl_db *db, struct rl_arena *arena,
                            struct rl_movie *m) RL_MUST_CHECK;

/* Loads movie `id` into *m (strings in arena). RL_ERR_NOT_FOUND if none. */
enum rl_err rl_movie_get(struct rl_db *db, int64_t id, struct rl_arena *arena,
                         struct rl_movie *m) RL_MUST_CHECK;

/* Writes m if the stored version still equals m->version; then sets
 * m->version to the new version. RL_ERR_EDIT_CONFLICT if the row changed
 * or vanished meanwhile. Scratch comes from arena, as for rl_movie_insert. */
enum rl_err rl_movie_update(struct rl_db *db, struct rl_arena *arena,
                            struct rl_movie *m) RL_MUST_CHECK;

/* Deletes movie `id`; when version > 0, only at that version (a changed
 * row gives RL_ERR_EDIT_CONFLICT). RL_ERR_NOT_FOUND if there is none. */
enum rl_err rl_movie_delete(struct rl_db *db, int64_t id,
                            int32_t version) RL_MUST_CHECK;

enum rl_movie_sort {
    RL_SORT_ID,
    RL_SORT_TITLE,
    RL_SORT_YEAR,
    RL_SORT_RUNTIME,
    RL_SORT_ID_DESC,
    RL_SORT_TITLE_DESC,
    RL_SORT_YEAR_DESC,
    RL_SORT_RUNTIME_DESC,
    RL_SORT_RELEVANCE, /* best match first: only with q, never a parameter */
    RL_SORT_COUNT_
};

/* Maps a sort parameter ("year", "-title", ...) through the safelist.
 * Returns false for anything else. Pure. */
bool rl_movie_sort_parse(const char *s, enum rl_movie_sort *out);

/* Where a keyset page starts: just after the row with these sort values
 * (the last row of the previous page). Only the value of the list's sort
 * is read: id alone for id and -id; num for year and runtime; title (a
 * NUL-terminated string of valid UTF-8) for title; score for relevance. */
struct rl_movie_after {
    bool set; /* false: offset pagination by page */
    int64_t id;
    int32_t num;
    const char *title;
    double score;
};

struct rl_movie_filter {
    const char *title; /* full-text words; NULL or "" = no filter */
    /* Search (q): word prefixes or similar words; NULL or "" = none. Never
     * together with title. Valid UTF-8 without NUL. */
    const char *q;
    const char **genres; /* must contain all; NULL = no filter */
    size_t ngenres;
    int32_t year_from; /* 0 = no year filter */
    int32_t year_to;
    enum rl_movie_sort sort; /* RL_SORT_RELEVANCE needs q */
    int32_t page;            /* >= 1; ignored when after.set */
    int32_t page_size;       /* >= 1 */
    struct rl_movie_after after;
};

struct rl_movie_page {
    struct rl_movie *movies; /* in arena */
    size_t n;
    int64_t total_records; /* 0: nothing matched at all */
    bool more;             /* rows follow this page's last one */
    double last_score;     /* RL_SORT_RELEVANCE: the last row's score */
};

/* Builds the text-search query of q for to_tsquery('simple', ...): every
 * word (a run of ASCII letters and digits, or of bytes >= 0x80) as a
 * quoted prefix, joined by '&' ("Star w" → "'Star':* & 'w':*"; "" when q
 * has no word). Result in arena; NULL when out of memory. Pure. */
char *rl_movie_prefix_query(struct rl_arena *arena, const char *q);

/* Runs the list query: one round trip when the page has rows, a second
 * (count) only when the page is past the last one. Fetches page_size + 1
 * rows to learn `more`; with f->after set, the page starts after that row
 * (keyset pagination, no OFFSET) and page is not read. */
enum rl_err rl_movie_list(struct rl_db *db, const struct rl_movie_filter *f,
                          struct rl_arena *arena,
                          struct rl_movie_page *out) RL_MUST_CHECK;

/* Builds the generated list statements. Call once before threads start.
 * Returns RL_ERR_NOMEM on failure. */
enum rl_err rl_movie_statements_init(void) RL_MUST_CHECK;

/* PostgreSQL text[] helpers (pgarray.c). encode always quotes; decode
 * accepts PostgreSQL's output form. Results in arena. */
char *rl_pg_array_encode(struct rl_arena *a, const char *const *s, size_t n);
enum rl_err rl_pg_array_decode(struct rl_arena *a, const char *text,
                               const char ***out, size_t *n) RL_MUST_CHECK;

#endif
