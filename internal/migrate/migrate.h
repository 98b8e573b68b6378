/*
 * migrate.h — SQL schema migrations, compatible with golang-migrate.
 *
 * Files: `<dir>/NNN_name.up.sql` and `NNN_name.down.sql` (the version is the
 * leading integer). State: golang-migrate's postgres driver table
 * `schema_migrations (version bigint not null primary key, dirty boolean not
 * null)` in current_schema(), holding at most one row; no row means nothing
 * is applied. Mutual exclusion: the same session advisory lock key that
 * golang-migrate takes, so the two tools exclude each other.
 *
 * Redlight's rule on top of golang-migrate: each file runs in its own
 * transaction, together with the statement that marks it clean.
 *
 * A struct rl_migrator is one connection holding the lock; it belongs to one
 * thread and its functions are not thread-safe. Nothing prints except to
 * opts->out (progress) and opts->warn (server warnings); errors are returned
 * as enum rl_err with a description in rl_migrate_errmsg.
 */
#ifndef REDLIGHT_INTERNAL_MIGRATE_MIGRATE_H
#define REDLIGHT_INTERNAL_MIGRATE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "internal/base/err.h"

/* golang-migrate's database.NilVersion: no migration applied. */
#define RL_MIGRATE_NIL_VERSION ((int64_t)-1)

/* Migration files larger than this are refused rather than truncated. */
#define RL_MIGRATE_FILE_MAX ((size_t)16 * 1024 * 1024)

/* golang-migrate's default wait for the advisory lock (-lock-timeout 15). */
#define RL_MIGRATE_LOCK_TIMEOUT_MS 15000

/* One version found in the directory; either file may be missing. */
struct rl_migration {
    uint64_t version;
    char *up_name;   /* identifier between "NNN_" and ".up.sql"; or NULL */
    char *up_path;   /* "<dir>/<file>"; NULL when there is no up file */
    char *down_name; /* same for the down file */
    char *down_path;
};

/* Every version of a directory, sorted by ascending version. */
struct rl_migration_set {
    struct rl_migration *items;
    size_t len;
};

struct rl_migrate_opts {
    const char *dsn; /* libpq connection string or postgres:// URL */
    const char *dir; /* migrations directory */
    /* Give up waiting for the advisory lock after this long (RL_ERR_LOCKED);
     * 0 waits forever. */
    int lock_timeout_ms;
    /* Progress lines ("1/u create_movies_table (3.1ms)"); NULL for none. */
    FILE *out;
    /* Server WARNINGs raised while migrating; NULL for none. NOTICEs are
     * dropped, as golang-migrate does. */
    FILE *warn;
};

struct rl_migrator;

/* Returns true when `filename` (a base name) matches
 * ^[0-9]+_.*\.(up|down)\.sql$ and its version fits in a bigint; fills
 * *version, *is_up and the identifier's offset and length inside filename.
 * A matching name whose version overflows returns false with *overflow set
 * (callers treat it as an error, not as a file to ignore). Pure; thread-safe.
 */
bool rl_migrate_parse_filename(const char *filename, uint64_t *version,
                               bool *is_up, size_t *name_off, size_t *name_len,
                               bool *overflow);

/* Reads `dir` with opendir/readdir and fills *set (sorted). Files not
 * matching the pattern are ignored; two files with the same version and
 * direction, an unreadable directory or a version past INT64_MAX are errors,
 * described in errbuf. Returns RL_OK, RL_ERR_IO, RL_ERR_INVALID or
 * RL_ERR_NOMEM. Free *set with rl_migrate_free_set, also on error.
 * Thread-safe. */
enum rl_err rl_migrate_scan_dir(const char *dir, struct rl_migration_set *set,
                                char *errbuf, size_t errlen) RL_MUST_CHECK;

/* Frees what rl_migrate_scan_dir allocated and zeroes *set. NULL-safe. */
void rl_migrate_free_set(struct rl_migration_set *set);

/* golang-migrate's database.GenerateAdvisoryLockId(databaseName,
 * additionalNames...): crc32 (IEEE) of the additional names followed by
 * databaseName, joined with NUL bytes, times 1486364155, modulo 2^32.
 * Pure; thread-safe. */
uint32_t rl_migrate_lock_id(const char *database_name,
                            const char *const *additional, size_t n_additional);

/* Returns a migrator for opts (copied; the strings must outlive it), or NULL
 * when out of memory. It is not connected yet. Free with rl_migrate_free. */
struct rl_migrator *rl_migrate_new(const struct rl_migrate_opts *opts);

/* Connects to opts->dsn (not NULL), takes golang-migrate's advisory lock
 * (waiting at most opts->lock_timeout_ms) and creates schema_migrations when
 * it is missing. The lock is held until rl_migrate_free.
 * Returns RL_OK, RL_ERR_CONN, RL_ERR_LOCKED (timeout), RL_ERR_DB or
 * RL_ERR_NOMEM; rl_migrate_errmsg says why. */
enum rl_err rl_migrate_connect(struct rl_migrator *m) RL_MUST_CHECK;

/* Reads the recorded state: *version is RL_MIGRATE_NIL_VERSION when no row
 * exists. Returns RL_OK or RL_ERR_DB. */
enum rl_err rl_migrate_version(struct rl_migrator *m, int64_t *version,
                               bool *dirty) RL_MUST_CHECK;

/* Applies pending up migrations in order, at most `limit` of them (0 = all).
 * *applied (may be NULL) counts the versions applied. Refuses a dirty
 * database (RL_ERR_DIRTY). A failing file is rolled back, the step's target
 * version stays recorded as dirty (as golang-migrate leaves it; for a down
 * step that is the version below), and RL_ERR_DB is returned with the
 * PostgreSQL error, file, line and column in rl_migrate_errmsg. Other
 * errors: RL_ERR_IO, RL_ERR_INVALID (bad file set, or the recorded version
 * has no file), RL_ERR_NOT_FOUND (no migration files at all), RL_ERR_NOMEM,
 * RL_ERR_CONN. */
enum rl_err rl_migrate_up(struct rl_migrator *m, size_t limit,
                          size_t *applied) RL_MUST_CHECK;

/* Applies down migrations from the current version, at most `limit` of them
 * (0 = all, golang-migrate's `down`). Same errors as rl_migrate_up. */
enum rl_err rl_migrate_down(struct rl_migrator *m, size_t limit,
                            size_t *applied) RL_MUST_CHECK;

/* Migrates up or down until `version` is the recorded version. The version
 * must exist as a file (RL_ERR_NOT_FOUND otherwise). Same errors as
 * rl_migrate_up. */
enum rl_err rl_migrate_goto(struct rl_migrator *m, uint64_t version,
                            size_t *applied) RL_MUST_CHECK;

/* Records `version` as clean without running anything; RL_MIGRATE_NIL_VERSION
 * removes the row. Works on a dirty database. Returns RL_OK, RL_ERR_INVALID
 * (version < -1) or RL_ERR_DB. */
enum rl_err rl_migrate_force(struct rl_migrator *m,
                             int64_t version) RL_MUST_CHECK;

/* The last error's description (multi-line for SQL errors), "" when none.
 * Owned by m; valid until the next call on m. */
const char *rl_migrate_errmsg(const struct rl_migrator *m);

/* Releases the advisory lock, closes the connection and frees m. NULL-safe. */
void rl_migrate_free(struct rl_migrator *m);

#endif
