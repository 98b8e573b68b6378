/*
 * movies.c — the /v1/movies handlers: create, show, update (PATCH), delete,
 * list. Input is read with api_read_body against one field table; rules
 * live in internal/data/movies.c. No state.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/api/errors.h"
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"
#include "cmd/api/movie_cursor.h"
#include "internal/base/parse.h"
#include "internal/data/movies.h"
#include "internal/data/replica.h"
#include "internal/validator/validator.h"

static bool
runtime_ok(const json_t *v)
{
    int32_t m;
    return json_is_string(v) &&
           rl_runtime_parse(json_string_value(v), json_string_length(v), &m);
}

/* The pool lists and searches read: the replica's while it is usable
 * (replica.h: one atomic load), else the primary's. Nothing else reads
 * there: every other route, and every read inside a write, stays on
 * app->db. */
static struct rl_db *
api_list_db(const struct api_app *app)
{
    struct rl_db *replica = rl_replica_db(app->replica);
    return replica != NULL ? replica : app->db;
}

static const struct rl_jin_field movie_fields[] = {
    {"title", RL_JIN_STRING, NULL, NULL, 0},
    {"year", RL_JIN_INT32, NULL, NULL, 0},
    {"runtime", RL_JIN_CUSTOM_STRING, runtime_ok, "invalid runtime format", 0},
    {"genres", RL_JIN_STRING_ARRAY, NULL, NULL, RL_MOVIE_MAX_GENRES},
};
#define NMOVIE_FIELDS (sizeof(movie_fields) / sizeof(movie_fields[0]))

static int
current_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    return tm.tm_year + 1900;
}

static json_t *
movie_json(const struct rl_movie *m)
{
    json_t *o = json_object();
    json_t *genres = NULL;
    if (o == NULL) {
        return NULL;
    }
    int bad = json_object_set_new_nocheck(o, "id", json_integer(m->id));
    bad |=
        json_object_set_new_nocheck(o, "title", json_string_nocheck(m->title));
    if (m->year != 0) {
        bad |= json_object_set_new_nocheck(o, "year", json_integer(m->year));
    }
    if (m->runtime != 0) {
        char rt[32];
        rl_runtime_format(m->runtime, rt, sizeof(rt));
        bad |=
            json_object_set_new_nocheck(o, "runtime", json_string_nocheck(rt));
    }
    if (m->ngenres > 0) {
        genres = json_array();
        bad |= json_object_set_new_nocheck(o, "genres", genres);
        for (size_t i = 0; genres != NULL && i < m->ngenres; i++) {
            bad |= json_array_append_new(genres,
                                         json_string_nocheck(m->genres[i]));
        }
    }
    bad |= json_object_set_new_nocheck(o, "version", json_integer(m->version));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Copies the present (non-null) fields of `in` over m. Genres point into
 * `in`, which the request keeps alive. Strings from api_read_body are valid
 * UTF-8 without NUL bytes (jsonin.h), so json_string_value is the whole
 * string and strlen its length. Returns RL_OK or RL_ERR_NOMEM. */
static enum rl_err
merge_input(struct api_req *req, const json_t *in, struct rl_movie *m)
{
    const json_t *v;
    if ((v = json_object_get(in, "title")) != NULL) {
        m->title = json_string_value(v);
    }
    if ((v = json_object_get(in, "year")) != NULL) {
        m->year = (int32_t)json_integer_value(v);
    }
    if ((v = json_object_get(in, "runtime")) != NULL) {
        if (!rl_runtime_parse(json_string_value(v), json_string_length(v),
                              &m->runtime)) {
            return RL_ERR_INVALID; /* the reader checked: cannot happen */
        }
    }
    if ((v = json_object_get(in, "genres")) != NULL) {
        size_t n = json_array_size(v);
        const char **g = rl_arena_calloc(req->arena, n ? n : 1, sizeof(*g));
        if (g == NULL) {
            return RL_ERR_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            g[i] = json_string_value(json_array_get(v, i));
        }
        m->genres = g;
        m->ngenres = n;
    }
    return RL_OK;
}

/* Reads the body over m and checks the rules: API_CONTINUE, or the status
 * of the 400/422 (or 500) it answered. */
static int
read_movie(struct api_req *req, struct rl_movie *m)
{
    json_t *in;
    int status = api_read_body(req, movie_fields, NMOVIE_FIELDS, &in);
    if (status != API_CONTINUE) {
        return status;
    }
    if (merge_input(req, in, m) != RL_OK) {
        return api_reply_server_error(req, "reading movie: out of memory");
    }
    struct rl_validator v = {0};
    rl_movie_validate(&v, m, current_year());
    return api_reply_validation(req, &v);
}

int
api_movie_create(struct api_app *app, struct api_req *req)
{
    struct rl_movie m = {0};
    int status = read_movie(req, &m);
    if (status != API_CONTINUE) {
        return status;
    }
    enum rl_err e = rl_movie_insert(app->db, req->arena, &m);
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    char *loc = rl_arena_printf(req->arena, "/v1/movies/%" PRId64, m.id);
    if (loc == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    if (!api_add_header(req, "Location", loc)) {
        return api_reply_headers_full(req);
    }
    return api_reply_envelope(req, 201, "movie", movie_json(&m));
}

/* The strong entity tag of a version: "\"<n>\"". */
static const char *
etag(struct api_req *req, int32_t version)
{
    return rl_arena_printf(req->arena, "\"%" PRId32 "\"", version);
}

/* RFC 9110 list matching for If-Match (strong) / If-None-Match (weak). */
static bool
etag_listed(const char *header, const char *tag, bool weak_ok)
{
    const char *p = header;
    size_t tlen = strlen(tag);
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (*p == '*') {
            return true;
        }
        bool weak = false;
        if (p[0] == 'W' && p[1] == '/') {
            weak = true;
            p += 2;
        }
        const char *start = p;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                p++;
            }
            if (*p == '"') {
                p++;
            }
        } else {
            while (*p && *p != ',') {
                p++;
            }
        }
        if ((size_t)(p - start) == tlen && memcmp(start, tag, tlen) == 0 &&
            (weak_ok || !weak)) {
            return true;
        }
    }
    return false;
}

/* Loads the :id movie into m: API_CONTINUE, or the status of the 404 (or
 * 500) it answered when there is none. */
static int
load(struct api_app *app, struct api_req *req, struct rl_movie *m)
{
    int64_t id;
    int status = api_read_id(req, "id", &id);
    if (status != API_CONTINUE) {
        return status;
    }
    enum rl_err e = rl_movie_get(app->db, id, req->arena, m);
    if (e == RL_ERR_NOT_FOUND) {
        return api_reply_not_found(req);
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    return API_CONTINUE;
}

int
api_movie_show(struct api_app *app, struct api_req *req)
{
    struct rl_movie m = {0};
    int status = load(app, req, &m);
    if (status != API_CONTINUE) {
        return status;
    }
    const char *tag = etag(req, m.version);
    if (tag == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    if (!api_add_header(req, "ETag", tag)) {
        return api_reply_headers_full(req);
    }
    const char *inm = api_req_header(req, "If-None-Match");
    if (inm != NULL && etag_listed(inm, tag, true)) {
        return api_reply_empty(req, 304);
    }
    return api_reply_envelope(req, 200, "movie", movie_json(&m));
}

/* Answers 412 when If-Match is present and does not name the current
 * version; API_CONTINUE otherwise. */
static int
check_if_match(struct api_req *req, const struct rl_movie *m)
{
    const char *im = api_req_header(req, "If-Match");
    if (im == NULL) {
        return API_CONTINUE;
    }
    const char *tag = etag(req, m->version);
    if (tag == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    return etag_listed(im, tag, false) ? API_CONTINUE
                                       : api_reply_precondition_failed(req);
}

int
api_movie_update(struct api_app *app, struct api_req *req)
{
    struct rl_movie m = {0};
    int status = load(app, req, &m);
    if (status == API_CONTINUE) {
        status = check_if_match(req, &m);
    }
    if (status != API_CONTINUE) {
        return status;
    }
    const char *xv = api_req_header(req, "X-Expected-Version");
    if (xv != NULL) {
        int64_t want;
        if (rl_parse_i64(xv, RL_PARSE_STRTOL, INT64_MIN, INT64_MAX, NULL,
                         &want) != RL_OK ||
            want != m.version) {
            return api_reply_edit_conflict(req);
        }
    }
    status = read_movie(req, &m);
    if (status != API_CONTINUE) {
        return status;
    }
    enum rl_err e = rl_movie_update(app->db, req->arena, &m);
    if (e == RL_ERR_EDIT_CONFLICT) {
        return api_reply_edit_conflict(req);
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    const char *tag = etag(req, m.version);
    if (tag == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    if (!api_add_header(req, "ETag", tag)) {
        return api_reply_headers_full(req);
    }
    return api_reply_envelope(req, 200, "movie", movie_json(&m));
}

int
api_movie_delete(struct api_app *app, struct api_req *req)
{
    int64_t id;
    int status = api_read_id(req, "id", &id);
    if (status != API_CONTINUE) {
        return status;
    }
    int32_t version = 0;
    if (api_req_header(req, "If-Match") != NULL) {
        struct rl_movie m = {0};
        status = load(app, req, &m);
        if (status == API_CONTINUE) {
            status = check_if_match(req, &m);
        }
        if (status != API_CONTINUE) {
            return status;
        }
        version = m.version;
    }
    enum rl_err e = rl_movie_delete(app->db, id, version);
    if (e == RL_ERR_NOT_FOUND) {
        return api_reply_not_found(req);
    }
    if (e == RL_ERR_EDIT_CONFLICT) {
        return api_reply_precondition_failed(req);
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    return api_reply_envelope(req, 200, "message",
                              json_string("movie successfully deleted"));
}

/* Go's strconv.Atoi over the value's len bytes: optional sign, decimal
 * digits, fits int64. A NUL or any other byte is not an integer. */
static bool
parse_int(const char *s, size_t len, int64_t *out)
{
    return rl_parse_i64n(s, len, RL_PARSE_SIGN, INT64_MIN, INT64_MAX, NULL,
                         out) == RL_OK;
}

/* Reads an integer query parameter with the contract's messages. */
static int64_t
read_int(struct api_req *req, struct rl_validator *v, const char *key,
         int64_t def)
{
    size_t len;
    const char *s = api_req_query(req, key, &len);
    if (s == NULL || len == 0) {
        return def;
    }
    int64_t n;
    if (!parse_int(s, len, &n)) {
        rl_check(v, false, key, "must be an integer value");
        return def;
    }
    return n;
}

/* A year (1888..now) or a range "A-B" with A <= B, over len bytes of s:
 * digits only on each side. */
static bool
parse_years(const char *s, size_t len, int now, int32_t *from, int32_t *to)
{
    /* A leading '-' would be a sign, never the range separator; signs are
     * refused anyway. */
    const char *dash = len > 1 ? memchr(s + 1, '-', len - 1) : NULL;
    size_t alen = dash != NULL ? (size_t)(dash - s) : len;
    int64_t a, b;
    if (rl_parse_i64n(s, alen, 0, INT64_MIN, INT64_MAX, NULL, &a) != RL_OK) {
        return false;
    }
    b = a;
    if (dash != NULL && rl_parse_i64n(dash + 1, len - alen - 1, 0, INT64_MIN,
                                      INT64_MAX, NULL, &b) != RL_OK) {
        return false;
    }
    if (a < 1888 || a > now || b < 1888 || b > now || a > b) {
        return false;
    }
    *from = (int32_t)a;
    *to = (int32_t)b;
    return true;
}

/* Reads a text query parameter that will reach PostgreSQL: valid UTF-8
 * without NUL bytes, so from here on it is also a C string of *len bytes.
 * NULL when absent, empty or refused (then v holds the 422). */
static const char *
read_text(struct api_req *req, struct rl_validator *v, const char *key,
          size_t *len)
{
    const char *s = api_req_query(req, key, len);
    if (s == NULL || *len == 0) {
        return NULL;
    }
    if (!rl_valid_text(s, *len)) {
        rl_check(v, false, key, "must be valid UTF-8 without NUL characters");
        return NULL;
    }
    return s;
}

/* Splits the comma-separated genres[0..len) into f's list: one arena copy
 * whose commas become NULs. Returns RL_OK or RL_ERR_NOMEM. */
static enum rl_err
split_genres(struct api_req *req, const char *genres, size_t len,
             struct rl_movie_filter *f)
{
    char *copy = rl_arena_strndup(req->arena, genres, len);
    if (copy == NULL) {
        return RL_ERR_NOMEM;
    }
    char *end = copy + len;
    size_t n = 1;
    for (char *c = copy; (c = memchr(c, ',', (size_t)(end - c))) != NULL; c++) {
        n++;
    }
    const char **g = rl_arena_calloc(req->arena, n, sizeof(*g));
    if (g == NULL) {
        return RL_ERR_NOMEM;
    }
    char *p = copy;
    for (size_t i = 0; i < n; i++) {
        char *comma = memchr(p, ',', (size_t)(end - p));
        g[i] = p;
        if (comma != NULL) {
            *comma = '\0';
            p = comma + 1;
        }
    }
    f->genres = g;
    f->ngenres = n;
    return RL_OK;
}

/* Reads the list's query parameters into f (and its page into *page),
 * the cursor's position included: API_CONTINUE, or the status of the 422
 * (or 500) it answered. */
static int
read_list_query(struct api_app *app, struct api_req *req,
                struct rl_movie_filter *f)
{
    struct rl_validator v = {0};
    size_t tlen, qlen, glen;
    f->page = 1;
    f->page_size = 20;
    f->title = read_text(req, &v, "title", &tlen);
    f->q = read_text(req, &v, "q", &qlen);
    if (f->q != NULL) {
        rl_check(&v, qlen <= RL_MOVIE_TITLE_MAX, "q",
                 "must not be more than 500 bytes long");
        rl_check(&v, f->title == NULL, "q", "cannot be combined with title");
    }
    const char *genres = read_text(req, &v, "genres", &glen);
    if (genres != NULL && split_genres(req, genres, glen, f) != RL_OK) {
        rl_validator_free(&v);
        return api_reply_server_error(req, "out of memory");
    }
    size_t ylen;
    const char *year = api_req_query(req, "year", &ylen);
    if (year != NULL && ylen > 0 &&
        !parse_years(year, ylen, current_year(), &f->year_from, &f->year_to)) {
        rl_check(&v, false, "year",
                 "must be a year or a range of years such as 1990-1999");
    }
    /* A cursor carries its page: page is then not read at all. */
    size_t clen;
    const char *cursor = api_req_query(req, "cursor", &clen);
    bool by_cursor = cursor != NULL && clen > 0;
    int64_t page = by_cursor ? 1 : read_int(req, &v, "page", 1);
    int64_t page_size = read_int(req, &v, "page_size", 20);
    size_t slen;
    const char *sort = api_req_query(req, "sort", &slen);
    rl_check(&v, page > 0, "page", "must be greater than zero");
    rl_check(&v, page <= 10000000, "page", "must be a maximum of 10 million");
    rl_check(&v, page_size > 0, "page_size", "must be greater than zero");
    rl_check(&v, page_size <= 100, "page_size", "must be a maximum of 100");
    if (sort == NULL || slen == 0) {
        f->sort = f->q != NULL ? RL_SORT_RELEVANCE : RL_SORT_ID;
    } else {
        rl_check(&v,
                 strlen(sort) == slen && rl_movie_sort_parse(sort, &f->sort),
                 "sort", "invalid sort value");
    }
    f->page = (int32_t)page;
    f->page_size = (int32_t)page_size;
    /* A cursor is checked against the query only once the query is known
     * to be valid. */
    if (by_cursor && rl_valid(&v)) {
        rl_check(&v, api_movie_cursor_read(app, req->arena, f, cursor, clen),
                 "cursor", "invalid cursor");
    }
    return api_reply_validation(req, &v);
}

int
api_movie_list(struct api_app *app, struct api_req *req)
{
    struct rl_movie_filter f = {0};
    int status = read_list_query(app, req, &f);
    if (status != API_CONTINUE) {
        return status;
    }
    struct rl_movie_page pg;
    /* Lists read the replica while it is usable (-db-replica-dsn); one that
     * fails under a request (gone, or a recovery conflict) is retried on
     * the primary at once: the checker skips it from its next check. */
    struct rl_db *db = api_list_db(app);
    enum rl_err e = rl_movie_list(db, &f, req->arena, &pg);
    if (db != app->db && (e == RL_ERR_CONN || e == RL_ERR_DB)) {
        e = rl_movie_list(app->db, &f, req->arena, &pg);
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    const char *next = NULL;
    if (pg.more && pg.n > 0) {
        next = api_movie_cursor_make(app, req->arena, &f, &pg);
        if (next == NULL) {
            return api_reply_server_error(req, "making a cursor failed");
        }
    }
    json_t *movies = json_array();
    json_t *meta = json_object();
    json_t *body = json_object();
    if (movies == NULL || meta == NULL || body == NULL) {
        json_decref(movies);
        json_decref(meta);
        json_decref(body);
        return api_reply_server_error(req, "out of memory");
    }
    /* Both are body's from here on, whatever set_new answers. */
    int bad = json_object_set_new_nocheck(body, "movies", movies);
    bad |= json_object_set_new_nocheck(body, "metadata", meta);
    for (size_t i = 0; i < pg.n && !bad; i++) {
        bad |= json_array_append_new(movies, movie_json(&pg.movies[i]));
    }
    if (pg.total_records > 0 && !bad) {
        int64_t last = (pg.total_records + f.page_size - 1) / f.page_size;
        bad |= json_object_set_new_nocheck(meta, "current_page",
                                           json_integer(f.page));
        bad |= json_object_set_new_nocheck(meta, "page_size",
                                           json_integer(f.page_size));
        bad |= json_object_set_new_nocheck(meta, "first_page", json_integer(1));
        bad |=
            json_object_set_new_nocheck(meta, "last_page", json_integer(last));
        bad |= json_object_set_new_nocheck(meta, "total_records",
                                           json_integer(pg.total_records));
        if (next != NULL) {
            bad |= json_object_set_new_nocheck(meta, "next_cursor",
                                               json_string_nocheck(next));
        }
    }
    if (bad) {
        json_decref(body);
        return api_reply_server_error(req, "out of memory");
    }
    return api_reply_json(req, 200, body);
}
