/*
 * parse.c — the pure part of the migrator: migration file names, pairing up
 * and down files of a version into a set, golang-migrate's advisory lock id
 * (crc32 IEEE), the database name golang-migrate derives from a DSN, and
 * PostgreSQL error positions as line and column. No I/O, no global state:
 * thread-safe; what is returned malloc'd is said at each function.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal/base/percent.h"
#include "internal/migrate/migrate_int.h"

/* gcc -fanalyzer (make audit) reports the names and paths that
 * rl_migrate_set_add stores into set->items as leaked: it loses them in the
 * realloc'd array. rl_migrate_free_set frees them; LeakSanitizer checks it
 * (tests/unit/test_migrate.c). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif

#define LOCK_SALT 1486364155u /* golang-migrate advisoryLockIDSalt */

/* ---- file names and the set ---------------------------------------------- */

static bool
ends_with(const char *s, size_t len, const char *suffix, size_t slen)
{
    return len >= slen && memcmp(s + len - slen, suffix, slen) == 0;
}

bool
rl_migrate_parse_filename(const char *filename, uint64_t *version, bool *is_up,
                          size_t *name_off, size_t *name_len, bool *overflow)
{
    static const char up[] = ".up.sql";
    static const char down[] = ".down.sql";
    size_t len = strlen(filename);
    size_t suffix;

    *overflow = false;
    if (ends_with(filename, len, up, sizeof(up) - 1)) {
        *is_up = true;
        suffix = sizeof(up) - 1;
    } else if (ends_with(filename, len, down, sizeof(down) - 1)) {
        *is_up = false;
        suffix = sizeof(down) - 1;
    } else {
        return false;
    }

    size_t digits = 0;
    while (filename[digits] >= '0' && filename[digits] <= '9') {
        digits++;
    }
    /* The '_' must come before the suffix; the identifier may be empty. */
    if (digits == 0 || filename[digits] != '_' || digits + 1 > len - suffix) {
        return false;
    }

    uint64_t v = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned d = (unsigned)(filename[i] - '0');
        if (v > (UINT64_C(9223372036854775807) - d) / 10) {
            *overflow = true; /* bigint cannot record it */
            return false;
        }
        v = v * 10 + d;
    }
    *version = v;
    *name_off = digits + 1;
    *name_len = len - suffix - (digits + 1);
    return true;
}

static int
cmp_migration(const void *a, const void *b)
{
    const struct rl_migration *x = a;
    const struct rl_migration *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Index of the entry for `version`, appended when missing (the set is
 * unsorted while scanning); SIZE_MAX when out of memory. */
static size_t
set_entry(struct rl_migration_set *set, size_t *cap, uint64_t version)
{
    for (size_t i = 0; i < set->len; i++) {
        if (set->items[i].version == version) {
            return i;
        }
    }
    if (set->len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct rl_migration *n = realloc(set->items, ncap * sizeof(*n));
        if (n == NULL) {
            return SIZE_MAX;
        }
        set->items = n;
        *cap = ncap;
    }
    memset(&set->items[set->len], 0, sizeof(set->items[0]));
    set->items[set->len].version = version;
    return set->len++;
}

enum rl_err
rl_migrate_set_add(struct rl_migration_set *set, size_t *cap, uint64_t version,
                   bool is_up, const char *name, size_t name_len, char *path,
                   char *errbuf, size_t errlen)
{
    size_t i = set_entry(set, cap, version);
    if (i == SIZE_MAX) {
        free(path);
        return RL_ERR_NOMEM;
    }
    struct rl_migration *e = &set->items[i];
    const char *had = is_up ? e->up_path : e->down_path;
    if (had != NULL) {
        snprintf(errbuf, errlen,
                 "duplicate migration file: %s and %s are both version "
                 "%" PRIu64 " %s",
                 had, path, version, is_up ? "up" : "down");
        free(path);
        return RL_ERR_INVALID;
    }
    char *dup = strndup(name, name_len);
    if (dup == NULL) {
        free(path);
        return RL_ERR_NOMEM;
    }
    if (is_up) {
        set->items[i].up_path = path;
        set->items[i].up_name = dup;
    } else {
        set->items[i].down_path = path;
        set->items[i].down_name = dup;
    }
    return RL_OK;
}

void
rl_migrate_set_sort(struct rl_migration_set *set)
{
    if (set->len > 1) {
        qsort(set->items, set->len, sizeof(set->items[0]), cmp_migration);
    }
}

void
rl_migrate_free_set(struct rl_migration_set *set)
{
    if (set == NULL) {
        return;
    }
    for (size_t i = 0; i < set->len; i++) {
        free(set->items[i].up_name);
        free(set->items[i].up_path);
        free(set->items[i].down_name);
        free(set->items[i].down_path);
    }
    free(set->items);
    set->items = NULL;
    set->len = 0;
}

/* Index of `version` in the sorted set, or -1. */
long
rl_migrate_set_find(const struct rl_migration_set *set, int64_t version)
{
    if (version < 0) {
        return -1;
    }
    size_t lo = 0;
    size_t hi = set->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t v = set->items[mid].version;
        if (v == (uint64_t)version) {
            return (long)mid;
        }
        if (v < (uint64_t)version) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

static uint32_t
crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

uint32_t
rl_migrate_lock_id(const char *database_name, const char *const *additional,
                   size_t n_additional)
{
    /* Current golang-migrate v4 puts the names first and the database name
     * last: strings.Join(append(additionalNames, databaseName), "\x00"). Its
     * util_test.go pins ("database_name", "schema_name_1") to 2453313553.
     * (Its 2018 version appended the names after the database name.) */
    static const unsigned char nul = 0;
    uint32_t crc = 0;
    for (size_t i = 0; i < n_additional; i++) {
        crc = crc32_update(crc, (const unsigned char *)additional[i],
                           strlen(additional[i]));
        crc = crc32_update(crc, &nul, 1);
    }
    crc = crc32_update(crc, (const unsigned char *)database_name,
                       strlen(database_name));
    return crc * LOCK_SALT; /* uint32 arithmetic wraps, as in Go */
}

/* The database name golang-migrate's CLI would use for `dsn`: Go's
 * url.Parse(dsn).Path, percent-decoded, leading '/' included. Returns a
 * malloc'd string, "" when the URL has no path (golang-migrate then asks
 * the server), or NULL for a key=value DSN (*nomem tells NULL from
 * out-of-memory). */
char *
rl_migrate_dsn_dbname(const char *dsn, bool *nomem)
{
    static const char *const schemes[] = {"postgres://", "postgresql://"};
    const char *rest = NULL;
    *nomem = false;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t sl = strlen(schemes[i]);
        if (strncasecmp(dsn, schemes[i], sl) == 0) {
            rest = dsn + sl;
            break;
        }
    }
    if (rest == NULL) {
        return NULL;
    }
    /* Go cuts the fragment, then the query, then the authority. */
    size_t end = strcspn(rest, "#");
    size_t query_at = strcspn(rest, "?");
    if (query_at < end) {
        end = query_at;
    }
    const char *slash = memchr(rest, '/', end);
    size_t plen = slash == NULL ? 0 : end - (size_t)(slash - rest);
    char *out = malloc(plen + 1);
    if (out == NULL) {
        *nomem = true;
        return NULL;
    }
    size_t o = plen ? rl_percent_decode(slash, plen, out) : 0;
    out[o] = '\0';
    return out;
}

char *
rl_migrate_lock_dbname(const char *dsn, const char *current_db)
{
    /* golang-migrate's CLI passes url.Path ("/dbname") as the database
     * name, and asks current_database() only when the path is empty. A
     * key=value DSN has no URL form, so use what its URL would say. */
    bool nomem;
    char *dbname = rl_migrate_dsn_dbname(dsn, &nomem);
    if (dbname == NULL && !nomem) {
        size_t l = strlen(current_db);
        dbname = malloc(l + 2);
        if (dbname != NULL) {
            dbname[0] = '/';
            memcpy(dbname + 1, current_db, l + 1);
        }
    } else if (dbname != NULL && dbname[0] == '\0') {
        free(dbname);
        dbname = strdup(current_db);
    }
    return dbname;
}

/* ---- positions ------------------------------------------------------------
 */

/* Line and column (both 1-based) of the character at 1-based character
 * position `pos` in UTF-8 text, as PostgreSQL counts positions. */
void
rl_migrate_line_col(const char *text, long pos, long *line, long *col)
{
    long chars = 0;
    *line = 1;
    *col = 1;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p & 0xC0) == 0x80) {
            continue; /* continuation byte */
        }
        if (++chars >= pos) {
            return;
        }
        if (*p == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}
