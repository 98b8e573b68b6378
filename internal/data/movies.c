/*
 * movies.c — movie rules and queries.
 *
 * The list statements are generated once at start-up (rl_movie_statements_init)
 * from compile-time pieces: one variant per combination of the filters
 * actually given (title, genres, year) and per sort in the safelist, so the
 * WHERE clause never carries an "OR $1 = ''" that would keep PostgreSQL off
 * the GIN indexes. They live in static storage for the life of the process.
 */
#include "internal/data/movies.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/data/pg_int.h"

#define F_TITLE 1u
#define F_GENRES 2u
#define F_YEAR 4u
#define NMASKS 8u

static const struct {
    const char *param;
    const char *order;
} sorts[RL_SORT_COUNT_] = {
    [RL_SORT_ID] = {"id", "id ASC"},
    [RL_SORT_TITLE] = {"title", "title ASC, id ASC"},
    [RL_SORT_YEAR] = {"year", "year ASC, id ASC"},
    [RL_SORT_RUNTIME] = {"runtime", "runtime ASC, id ASC"},
    [RL_SORT_ID_DESC] = {"-id", "id DESC"},
    [RL_SORT_TITLE_DESC] = {"-title", "title DESC, id ASC"},
    [RL_SORT_YEAR_DESC] = {"-year", "year DESC, id ASC"},
    [RL_SORT_RUNTIME_DESC] = {"-runtime", "runtime DESC, id ASC"},
};

static char list_sql[NMASKS][RL_SORT_COUNT_][768];
static char list_names[NMASKS][RL_SORT_COUNT_][32];
static struct rl_stmt_def list_defs[NMASKS][RL_SORT_COUNT_];
static char count_sql[NMASKS][384];
static char count_names[NMASKS][32];
static struct rl_stmt_def count_defs[NMASKS];

bool
rl_runtime_parse(const char *s, size_t len, int32_t *minutes)
{
    static const char suffix[] = " mins";
    const size_t slen = sizeof(suffix) - 1;
    if (len <= slen || memcmp(s + len - slen, suffix, slen) != 0) {
        return false;
    }
    size_t n = len - slen;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n) {
        return false;
    }
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
        if (v > (int64_t)INT32_MAX + 1) {
            return false;
        }
    }
    if (neg) {
        v = -v;
    }
    if (v > INT32_MAX || v < INT32_MIN) {
        return false;
    }
    *minutes = (int32_t)v;
    return true;
}

void
rl_runtime_format(int32_t minutes, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRId32 " mins", minutes);
}

void
rl_movie_validate(struct rl_validator *v, const struct rl_movie *m,
                  int current_year)
{
    const char *title = m->title ? m->title : "";
    rl_check(v, title[0] != '\0', "title", "must be provided");
    rl_check(v, strlen(title) <= RL_MOVIE_TITLE_MAX, "title",
             "must not be more than 500 bytes long");

    rl_check(v, m->year != 0, "year", "must be provided");
    rl_check(v, m->year >= 1888, "year", "must be greater than 1888");
    rl_check(v, m->year <= current_year, "year", "must not be in the future");

    rl_check(v, m->runtime != 0, "runtime", "must be provided");
    rl_check(v, m->runtime > 0, "runtime", "must be a positive integer");

    rl_check(v, m->genres != NULL, "genres", "must be provided");
    rl_check(v, m->ngenres >= 1, "genres", "must contain at least 1 genre");
    rl_check(v, m->ngenres <= RL_MOVIE_MAX_GENRES, "genres",
             "must not contain more than 5 genres");
    if (m->genres != NULL && !rl_failed(v, "genres")) {
        rl_check(v, rl_unique(m->genres, m->ngenres), "genres",
                 "must not contain duplicate values");
        bool short_enough = true;
        for (size_t i = 0; i < m->ngenres; i++) {
            short_enough =
                short_enough && strlen(m->genres[i]) <= RL_MOVIE_GENRE_MAX;
        }
        rl_check(v, short_enough, "genres",
                 "must not contain a genre more than 500 bytes long");
    }
}

bool
rl_movie_sort_parse(const char *s, enum rl_movie_sort *out)
{
    for (int i = 0; i < RL_SORT_COUNT_; i++) {
        if (strcmp(s, sorts[i].param) == 0) {
            *out = (enum rl_movie_sort)i;
            return true;
        }
    }
    return false;
}

/* Appends the WHERE clause for mask, numbering parameters from 1. Returns
 * the number of parameters used. */
static int
where_clause(unsigned mask, char *buf, size_t cap)
{
    int n = 0;
    size_t len = 0;
    buf[0] = '\0';
    const char *sep = " WHERE ";
    if (mask & F_TITLE) {
        n++;
        len += (size_t)snprintf(buf + len, cap - len,
                                "%sto_tsvector('simple', title) @@ "
                                "plainto_tsquery('simple', $%d)",
                                sep, n);
        sep = " AND ";
    }
    if (mask & F_GENRES) {
        n++;
        len += (size_t)snprintf(buf + len, cap - len, "%sgenres @> $%d::text[]",
                                sep, n);
        sep = " AND ";
    }
    if (mask & F_YEAR) {
        /* The last clause: nothing follows, so len is not advanced. */
        snprintf(buf + len, cap - len, "%syear BETWEEN $%d AND $%d", sep, n + 1,
                 n + 2);
        n += 2;
    }
    return n;
}

enum rl_err
rl_movie_statements_init(void)
{
    unsigned slot = RL_STMT_COUNT_;
    for (unsigned mask = 0; mask < NMASKS; mask++) {
        char where[256];
        int n = where_clause(mask, where, sizeof(where));
        snprintf(count_names[mask], sizeof(count_names[mask]), "movie_count_%u",
                 mask);
        snprintf(count_sql[mask], sizeof(count_sql[mask]),
                 "SELECT count(*) FROM movies%s", where);
        count_defs[mask] = (struct rl_stmt_def){
            count_names[mask], count_sql[mask], n, true, slot++};
        for (int s = 0; s < RL_SORT_COUNT_; s++) {
            snprintf(list_names[mask][s], sizeof(list_names[mask][s]),
                     "movie_list_%u_%d", mask, s);
            if (mask & F_TITLE) {
                /* Full-text matches are few: fetch them through the GIN
                 * index first (MATERIALIZED keeps the planner from
                 * walking the sort column's index and testing every row),
                 * then count, sort and cut the page. */
                snprintf(list_sql[mask][s], sizeof(list_sql[mask][s]),
                         "WITH m AS MATERIALIZED (SELECT id, title, year, "
                         "runtime, genres, version FROM movies%s) "
                         "SELECT count(*) OVER(), id, title, year, runtime, "
                         "genres, version FROM m ORDER BY %s "
                         "LIMIT $%d OFFSET $%d",
                         where, sorts[s].order, n + 1, n + 2);
            } else {
                /* Genre and year filters can match many rows: count them
                 * once (an InitPlan, answered from the indexes) and let the
                 * page stop after LIMIT rows instead of sorting them all. */
                snprintf(list_sql[mask][s], sizeof(list_sql[mask][s]),
                         "SELECT (SELECT count(*) FROM movies%s), id, title, "
                         "year, runtime, genres, version FROM movies%s "
                         "ORDER BY %s LIMIT $%d OFFSET $%d",
                         where, where, sorts[s].order, n + 1, n + 2);
            }
            list_defs[mask][s] = (struct rl_stmt_def){
                list_names[mask][s], list_sql[mask][s], n + 2, true, slot++};
        }
    }
    return slot <= RL_STMT_SLOTS ? RL_OK : RL_ERR_NOMEM;
}

/* Copies row `row` of r, whose columns start at `col` as
 * id, title, year, runtime, genres, version. */
static enum rl_err
scan_movie(const PGresult *r, int row, int col, struct rl_arena *arena,
           struct rl_movie *m)
{
    m->id = rl_pg_int(r, row, col);
    m->title = rl_arena_strdup(arena, PQgetvalue(r, row, col + 1));
    m->year = (int32_t)rl_pg_int(r, row, col + 2);
    m->runtime = (int32_t)rl_pg_int(r, row, col + 3);
    m->version = (int32_t)rl_pg_int(r, row, col + 5);
    if (m->title == NULL) {
        return RL_ERR_NOMEM;
    }
    return rl_pg_array_decode(arena, PQgetvalue(r, row, col + 4), &m->genres,
                              &m->ngenres);
}

enum rl_err
rl_movie_insert(struct rl_db *db, struct rl_arena *arena, struct rl_movie *m)
{
    char year[16], runtime[16];
    snprintf(year, sizeof(year), "%" PRId32, m->year);
    snprintf(runtime, sizeof(runtime), "%" PRId32, m->runtime);
    const char *genres = rl_pg_array_encode(arena, m->genres, m->ngenres);
    if (genres == NULL) {
        return RL_ERR_NOMEM;
    }
    const char *params[] = {m->title, year, runtime, genres};
    PGresult *r;
    enum rl_err e = rl_db_run(db, RL_STMT_MOVIE_INSERT, params, &r);
    if (e == RL_OK) {
        m->id = rl_pg_int(r, 0, 0);
        m->version = (int32_t)rl_pg_int(r, 0, 1);
        PQclear(r);
    }
    return e;
}

enum rl_err
rl_movie_get(struct rl_db *db, int64_t id, struct rl_arena *arena,
             struct rl_movie *m)
{
    char idbuf[24];
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    const char *params[] = {idbuf};
    PGresult *r;
    enum rl_err e = rl_db_run(db, RL_STMT_MOVIE_GET, params, &r);
    if (e != RL_OK) {
        return e;
    }
    if (PQntuples(r) == 0) {
        e = RL_ERR_NOT_FOUND;
    } else {
        e = scan_movie(r, 0, 0, arena, m);
    }
    PQclear(r);
    return e;
}

enum rl_err
rl_movie_update(struct rl_db *db, struct rl_arena *arena, struct rl_movie *m)
{
    char id[24], version[16], year[16], runtime[16];
    snprintf(id, sizeof(id), "%" PRId64, m->id);
    snprintf(version, sizeof(version), "%" PRId32, m->version);
    snprintf(year, sizeof(year), "%" PRId32, m->year);
    snprintf(runtime, sizeof(runtime), "%" PRId32, m->runtime);
    const char *genres = rl_pg_array_encode(arena, m->genres, m->ngenres);
    if (genres == NULL) {
        return RL_ERR_NOMEM;
    }
    const char *params[] = {id, version, m->title, year, runtime, genres};
    PGresult *r;
    enum rl_err e = rl_db_run(db, RL_STMT_MOVIE_UPDATE, params, &r);
    if (e == RL_OK) {
        if (PQntuples(r) == 0) {
            e = RL_ERR_EDIT_CONFLICT;
        } else {
            m->version = (int32_t)rl_pg_int(r, 0, 0);
        }
        PQclear(r);
    }
    return e;
}

enum rl_err
rl_movie_delete(struct rl_db *db, int64_t id, int32_t version)
{
    char idbuf[24], vbuf[16];
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    snprintf(vbuf, sizeof(vbuf), "%" PRId32, version);
    const char *params[] = {idbuf, vbuf};
    PGresult *r;
    enum rl_err e = rl_db_run(
        db, version > 0 ? RL_STMT_MOVIE_DELETE_VERSION : RL_STMT_MOVIE_DELETE,
        params, &r);
    if (e != RL_OK) {
        return e;
    }
    if (strcmp(PQcmdTuples(r), "0") == 0) {
        e = version > 0 ? RL_ERR_EDIT_CONFLICT : RL_ERR_NOT_FOUND;
    }
    PQclear(r);
    return e;
}

enum rl_err
rl_movie_list(struct rl_db *db, const struct rl_movie_filter *f,
              struct rl_arena *arena, struct rl_movie_page *out)
{
    unsigned mask = 0;
    const char *params[6];
    int n = 0;
    char from[16], to[16], limit[16], offset[24];
    if (f->title != NULL && f->title[0] != '\0') {
        mask |= F_TITLE;
        params[n++] = f->title;
    }
    if (f->genres != NULL) {
        mask |= F_GENRES;
        params[n] = rl_pg_array_encode(arena, f->genres, f->ngenres);
        if (params[n++] == NULL) {
            return RL_ERR_NOMEM;
        }
    }
    if (f->year_from != 0) {
        mask |= F_YEAR;
        snprintf(from, sizeof(from), "%" PRId32, f->year_from);
        snprintf(to, sizeof(to), "%" PRId32, f->year_to);
        params[n++] = from;
        params[n++] = to;
    }
    snprintf(limit, sizeof(limit), "%" PRId32, f->page_size);
    snprintf(offset, sizeof(offset), "%" PRId64,
             ((int64_t)f->page - 1) * f->page_size);
    params[n++] = limit;
    params[n++] = offset;

    struct rl_conn *c;
    enum rl_err e = rl_db_acquire(db, &c);
    if (e != RL_OK) {
        return e;
    }
    PGresult *r;
    e = rl_db_exec_def(c, &list_defs[mask][f->sort], params, NULL, &r);
    if (e != RL_OK) {
        rl_db_release(db, c);
        return e;
    }
    int rows = PQntuples(r);
    out->n = 0;
    out->total_records = 0;
    out->movies =
        rl_arena_calloc(arena, rows ? (size_t)rows : 1, sizeof(*out->movies));
    if (out->movies == NULL) {
        e = RL_ERR_NOMEM;
    }
    for (int i = 0; e == RL_OK && i < rows; i++) {
        out->total_records = rl_pg_int(r, i, 0);
        e = scan_movie(r, i, 1, arena, &out->movies[i]);
        out->n++;
    }
    PQclear(r);
    if (e == RL_OK && rows == 0 && f->page > 1) {
        /* Past the last page: the real totals still matter (§12 #2). */
        e = rl_db_exec_def(c, &count_defs[mask], params, NULL, &r);
        if (e == RL_OK) {
            out->total_records = rl_pg_int(r, 0, 0);
            PQclear(r);
        }
    }
    rl_db_release(db, c);
    return e;
}
