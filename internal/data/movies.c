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

#include "internal/base/buf.h"
#include "internal/data/pg_int.h"

#define F_TITLE 1u
#define F_GENRES 2u
#define F_YEAR 4u
#define F_Q 8u /* never with F_TITLE */
#define NMASKS 16u

/* Pagination: by page number (OFFSET) or after a row (keyset). */
enum { BY_PAGE, BY_KEY, NPAGINGS };

/* The safelist: each sort's parameter, ORDER BY, and the keyset condition
 * "after the row ($V, $I)" ($V the sort value, $I the id) in that order.
 * Descending year and runtime order by the negated value so that both the
 * order and the condition match one ascending index (migration 000011);
 * title DESC keeps a (title DESC, id) index and a two-part condition, its
 * ties being few. */
static const struct {
    const char *param; /* NULL: not a sort parameter */
    const char *order;
    const char *after;
} sorts[RL_SORT_COUNT_] = {
    [RL_SORT_ID] = {"id", "id ASC", "id > $I"},
    [RL_SORT_TITLE] = {"title", "title ASC, id ASC", "(title, id) > ($V, $I)"},
    [RL_SORT_YEAR] = {"year", "year ASC, id ASC",
                      "(year, id) > ($V::integer, $I)"},
    [RL_SORT_RUNTIME] = {"runtime", "runtime ASC, id ASC",
                         "(runtime, id) > ($V::integer, $I)"},
    [RL_SORT_ID_DESC] = {"-id", "id DESC", "id < $I"},
    [RL_SORT_TITLE_DESC] = {"-title", "title DESC, id ASC",
                            "title <= $V AND (title < $V OR id > $I)"},
    [RL_SORT_YEAR_DESC] = {"-year", "-year ASC, id ASC",
                           "(-year, id) > (-$V::integer, $I)"},
    [RL_SORT_RUNTIME_DESC] = {"-runtime", "-runtime ASC, id ASC",
                              "(-runtime, id) > (-$V::integer, $I)"},
    [RL_SORT_RELEVANCE] = {NULL, "score DESC, id ASC",
                           "(score < $V::float8 OR (score = $V::float8 AND "
                           "id > $I))"},
};

/* q's relevance: 1 when every word is a prefix of a title word, plus the
 * best similarity of q to a run of the title's words, plus its similarity
 * to the whole title (shorter titles first among equals). $Q is the
 * prefix tsquery text, $S the search text. Deterministic, so a cursor's
 * score compares equal to the row's when the page is asked again. */
#define Q_MATCH                                                                \
    "(to_tsvector('simple', title) @@ to_tsquery('simple', $Q) "               \
    "OR $S <% title)"
#define Q_SCORE                                                                \
    "((to_tsvector('simple', title) @@ to_tsquery('simple', $Q))::int::float8" \
    " + word_similarity($S, title)::float8 + similarity($S, title)::float8)"

#define COLS "id, title, year, runtime, genres, version"

static struct rl_stmt_def list_defs[NMASKS][RL_SORT_COUNT_][NPAGINGS];
static struct rl_stmt_def count_defs[NMASKS];
static char stmt_names[RL_STMT_SLOTS][32];
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
        if (sorts[i].param != NULL && strcmp(s, sorts[i].param) == 0) {
            *out = (enum rl_movie_sort)i;
            return true;
        }
    }
    return false;
}

/* Appends to b the SQL template tmpl with its placeholders numbered:
 * $Q, $S, $V, $I become $<q>, $<s>, $<v>, $<i>. */
static void
add_sql(struct rl_buf *b, const char *tmpl, int q, int s, int v, int i)
{
    for (const char *p = tmpl; *p != '\0'; p++) {
        const char *at = strchr("QSVI", p[1]);
        if (p[0] == '$' && p[1] != '\0' && at != NULL) {
            int n = (const int[]){q, s, v, i}[at - "QSVI"];
            rl_buf_printf(b, "$%d", n);
            p++;
        } else {
            rl_buf_addc(b, *p);
        }
    }
}

/* Appends the WHERE clause for mask, numbering parameters from 1. Returns
 * the number of parameters used. */
static int
add_where(struct rl_buf *b, unsigned mask)
{
    int n = 0;
    const char *sep = " WHERE ";
    if (mask & F_TITLE) {
        n++;
        rl_buf_printf(b,
                      "%sto_tsvector('simple', title) @@ "
                      "plainto_tsquery('simple', $%d)",
                      sep, n);
        sep = " AND ";
    }
    if (mask & F_Q) {
        rl_buf_addstr(b, sep);
        add_sql(b, Q_MATCH, n + 1, n + 2, 0, 0);
        n += 2;
        sep = " AND ";
    }
    if (mask & F_GENRES) {
        n++;
        rl_buf_printf(b, "%sgenres @> $%d::text[]", sep, n);
        sep = " AND ";
    }
    if (mask & F_YEAR) {
        rl_buf_printf(b, "%syear BETWEEN $%d AND $%d", sep, n + 1, n + 2);
        n += 2;
    }
    return n;
}

/* One list statement: its SQL in a heap string (kept for the life of the
 * process), the number of parameters in *nparams. NULL when out of
 * memory. Parameters: the filters' (add_where), then by page LIMIT and
 * OFFSET, by key the sort value (unless the sort is by id), the id, and
 * LIMIT. */
static char *
list_sql(unsigned mask, int sort, int paging, int *nparams)
{
    struct rl_buf w;
    rl_buf_init(&w, 1024, NULL);
    int n = add_where(&w, mask);
    if (rl_buf_err(&w) != RL_OK) {
        rl_buf_free(&w);
        return NULL;
    }
    const char *wsql = w.data != NULL ? w.data : "";
    bool scored = sort == RL_SORT_RELEVANCE;
    struct rl_buf b;
    rl_buf_init(&b, 4096, NULL);
    bool by_id = sort == RL_SORT_ID || sort == RL_SORT_ID_DESC;
    int v = by_id ? 0 : n + 1;
    int id = by_id ? n + 1 : n + 2;
    if (mask & (F_TITLE | F_Q)) {
        /* Text matches: fetch them through the GIN indexes first
         * (MATERIALIZED keeps the planner from walking the sort column's
         * index and testing every row), then count, sort and cut the
         * page; by relevance the rows carry their score (q's parameters
         * are $1 and $2: q never comes with title). */
        rl_buf_addstr(&b, "WITH m AS MATERIALIZED (SELECT " COLS);
        if (scored) {
            rl_buf_addstr(&b, ", ");
            add_sql(&b, Q_SCORE, 1, 2, 0, 0);
            rl_buf_addstr(&b, " AS score");
        }
        rl_buf_printf(&b, " FROM movies%s) SELECT (SELECT count(*) FROM m), ",
                      wsql);
        rl_buf_addstr(&b, COLS);
        rl_buf_addstr(&b, scored ? ", score FROM m" : " FROM m");
        if (paging == BY_KEY) {
            rl_buf_addstr(&b, " WHERE ");
        }
    } else {
        /* Genre and year filters can match many rows: count them once (an
         * InitPlan, answered from the indexes) and let the page stop after
         * LIMIT rows, read in order from the sort's index. */
        rl_buf_printf(&b,
                      "SELECT (SELECT count(*) FROM movies%s), " COLS
                      " FROM movies%s",
                      wsql, wsql);
        if (paging == BY_KEY) {
            rl_buf_addstr(&b, n > 0 ? " AND " : " WHERE ");
        }
    }
    if (paging == BY_KEY) {
        add_sql(&b, sorts[sort].after, 0, 0, v, id);
        n = id;
        rl_buf_printf(&b, " ORDER BY %s LIMIT $%d", sorts[sort].order, n + 1);
        n += 1;
    } else {
        rl_buf_printf(&b, " ORDER BY %s LIMIT $%d OFFSET $%d",
                      sorts[sort].order, n + 1, n + 2);
        n += 2;
    }
    rl_buf_free(&w);
    *nparams = n;
    return rl_buf_take(&b, NULL);
}

/* The name of statement `slot` (in static storage): movie_count_<mask>
 * when sort < 0, else movie_list_<mask>_<sort>_<paging>. */
static const char *
stmt_name(unsigned slot, unsigned mask, int sort, int paging)
{
    if (slot >= RL_STMT_SLOTS) {
        return "";
    }
    char *name = stmt_names[slot];
    if (sort < 0) {
        snprintf(name, sizeof(stmt_names[slot]), "movie_count_%u", mask);
    } else {
        snprintf(name, sizeof(stmt_names[slot]), "movie_list_%u_%d_%d", mask,
                 sort, paging);
    }
    return name;
}

/* A mask is a combination of filters that can be asked for. */
static bool
mask_ok(unsigned mask)
{
    return (mask & (F_TITLE | F_Q)) != (F_TITLE | F_Q);
}

enum rl_err
rl_movie_statements_init(void)
{
    unsigned slot = RL_STMT_COUNT_;
    for (unsigned mask = 0; mask < NMASKS; mask++) {
        if (!mask_ok(mask)) {
            continue;
        }
        struct rl_buf b;
        rl_buf_init(&b, 2048, NULL);
        rl_buf_addstr(&b, "SELECT count(*) FROM movies");
        int n = add_where(&b, mask);
        char *sql = rl_buf_take(&b, NULL);
        if (sql == NULL) {
            return RL_ERR_NOMEM;
        }
        count_defs[mask] = (struct rl_stmt_def){stmt_name(slot, mask, -1, 0),
                                                sql, n, true, slot};
        slot++;
        for (int s = 0; s < RL_SORT_COUNT_; s++) {
            if (s == RL_SORT_RELEVANCE && !(mask & F_Q)) {
                continue;
            }
            for (int p = 0; p < NPAGINGS; p++) {
                int np;
                char *lsql = list_sql(mask, s, p, &np);
                if (lsql == NULL) {
                    return RL_ERR_NOMEM;
                }
                list_defs[mask][s][p] = (struct rl_stmt_def){
                    stmt_name(slot, mask, s, p), lsql, np, true, slot};
                slot++;
            }
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

char *
rl_movie_prefix_query(struct rl_arena *arena, const char *q)
{
    struct rl_buf b;
    /* Each byte of q costs at most itself plus "'':* & " once a word. */
    rl_buf_init(&b, strlen(q) * 8 + 1, arena);
    rl_buf_add(&b, "", 0);
    const unsigned char *p = (const unsigned char *)q;
    while (*p != '\0') {
        size_t n = 0;
        while (p[n] != '\0' &&
               (p[n] >= 0x80 || (p[n] >= '0' && p[n] <= '9') ||
                ((p[n] | 0x20) >= 'a' && (p[n] | 0x20) <= 'z'))) {
            n++;
        }
        if (n == 0) {
            p++;
            continue;
        }
        /* A word holds no quote or backslash: quoting it is enough. */
        rl_buf_addstr(&b, b.len > 0 ? " & '" : "'");
        rl_buf_add(&b, p, n);
        rl_buf_addstr(&b, "':*");
        p += n;
    }
    return rl_buf_take(&b, NULL);
}

enum rl_err
rl_movie_list(struct rl_db *db, const struct rl_movie_filter *f,
              struct rl_arena *arena, struct rl_movie_page *out)
{
    unsigned mask = 0;
    const char *params[10];
    int n = 0;
    char from[16], to[16], limit[16], offset[24], value[40], id[24];
    if (f->title != NULL && f->title[0] != '\0') {
        mask |= F_TITLE;
        params[n++] = f->title;
    } else if (f->q != NULL && f->q[0] != '\0') {
        mask |= F_Q;
        params[n] = rl_movie_prefix_query(arena, f->q);
        if (params[n++] == NULL) {
            return RL_ERR_NOMEM;
        }
        params[n++] = f->q;
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
    enum rl_movie_sort sort = f->sort;
    if (sort == RL_SORT_RELEVANCE && !(mask & F_Q)) {
        sort = RL_SORT_ID; /* nothing to rank by */
    }
    int paging = f->after.set ? BY_KEY : BY_PAGE;
    snprintf(limit, sizeof(limit), "%" PRId32, f->page_size + 1);
    if (paging == BY_KEY) {
        switch (sort) {
        case RL_SORT_ID:
        case RL_SORT_ID_DESC:
            break;
        case RL_SORT_TITLE:
        case RL_SORT_TITLE_DESC:
            params[n++] = f->after.title != NULL ? f->after.title : "";
            break;
        case RL_SORT_RELEVANCE:
            snprintf(value, sizeof(value), "%.17g", f->after.score);
            params[n++] = value;
            break;
        default:
            snprintf(value, sizeof(value), "%" PRId32, f->after.num);
            params[n++] = value;
            break;
        }
        snprintf(id, sizeof(id), "%" PRId64, f->after.id);
        params[n++] = id;
        params[n++] = limit;
    } else {
        snprintf(offset, sizeof(offset), "%" PRId64,
                 ((int64_t)f->page - 1) * f->page_size);
        params[n++] = limit;
        params[n++] = offset;
    }

    struct rl_conn *c;
    enum rl_err e = rl_db_acquire(db, &c);
    if (e != RL_OK) {
        return e;
    }
    PGresult *r;
    e = rl_db_exec_def(c, &list_defs[mask][sort][paging], params, NULL, &r);
    if (e != RL_OK) {
        rl_db_release(db, c);
        return e;
    }
    int rows = PQntuples(r);
    out->n = 0;
    out->total_records = 0;
    out->more = rows > f->page_size;
    out->last_score = 0;
    if (out->more) {
        rows = f->page_size;
    }
    out->movies =
        rl_arena_calloc(arena, rows ? (size_t)rows : 1, sizeof(*out->movies));
    if (out->movies == NULL) {
        e = RL_ERR_NOMEM;
    }
    for (int i = 0; e == RL_OK && i < rows; i++) {
        out->total_records = rl_pg_int(r, i, 0);
        e = scan_movie(r, i, 1, arena, &out->movies[i]);
        out->n++;
        if (sort == RL_SORT_RELEVANCE) {
            out->last_score = strtod(PQgetvalue(r, i, 7), NULL);
        }
    }
    PQclear(r);
    if (e == RL_OK && rows == 0 && (f->page > 1 || paging == BY_KEY)) {
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
