/*
 * migrate_int.h — package-private: what the files of internal/migrate share.
 * Not for use outside internal/migrate and its unit tests (migrate.h is the
 * public API).
 *
 *   parse.c    pure: file names, pairing up/down files into a set, golang-
 *              migrate's lock id, the database name of a DSN, positions;
 *   files.c    the migrations directory and the files in it;
 *   sql.c      the error message and the libpq round trips every step uses;
 *   lock.c     golang-migrate's session advisory lock;
 *   migrate.c  connecting, schema_migrations, running steps (the API).
 */
#ifndef REDLIGHT_INTERNAL_MIGRATE_MIGRATE_INT_H
#define REDLIGHT_INTERNAL_MIGRATE_MIGRATE_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/migrate/migrate.h"

#define RL_MIGRATE_TABLE "schema_migrations"
#define RL_MIGRATE_ERRMSG_MAX 8192

struct rl_migrator {
    struct rl_migrate_opts opts;
    PGconn *conn;
    char *qtable; /* "schema"."schema_migrations", quoted by libpq */
    uint32_t lock_key;
    char lock_key_str[16];
    bool locked;
    bool set_loaded;
    struct rl_migration_set set;
    char errmsg[RL_MIGRATE_ERRMSG_MAX];
    size_t errlen;
};

/* ---- parse.c: pure, thread-safe */

/* Adds the file of `version` and direction is_up, whose identifier is
 * name[0..name_len), found at `path`, to the (unsorted) set, pairing it with
 * the other direction of the same version. *cap is the set's capacity (0
 * for an empty set). Takes path (malloc'd) on success and frees it on
 * failure. Returns RL_OK, RL_ERR_INVALID (this version and direction are
 * already there: errbuf says which two files) or RL_ERR_NOMEM. */
enum rl_err rl_migrate_set_add(struct rl_migration_set *set, size_t *cap,
                               uint64_t version, bool is_up, const char *name,
                               size_t name_len, char *path, char *errbuf,
                               size_t errlen) RL_MUST_CHECK;

/* Sorts the set by ascending version. */
void rl_migrate_set_sort(struct rl_migration_set *set);

/* Index of `version` in the sorted set, or -1 (also for version < 0). */
long rl_migrate_set_find(const struct rl_migration_set *set, int64_t version);

/* The database name golang-migrate's CLI would use for `dsn`: Go's
 * url.Parse(dsn).Path, percent-decoded, leading '/' included. Returns a
 * malloc'd string, "" when the URL has no path (golang-migrate then asks
 * the server), or NULL for a key=value DSN (*nomem tells NULL from
 * out-of-memory). */
char *rl_migrate_dsn_dbname(const char *dsn, bool *nomem);

/* The databaseName of golang-migrate's lock id for `dsn` on a server whose
 * current_database() is current_db: the URL path; current_db when the URL
 * has no path; "/" + current_db for a key=value DSN (what its URL would
 * say). Returns a malloc'd string, or NULL when out of memory. */
char *rl_migrate_lock_dbname(const char *dsn, const char *current_db);

/* Line and column (both 1-based) of the character at 1-based character
 * position `pos` in UTF-8 text, as PostgreSQL counts positions. */
void rl_migrate_line_col(const char *text, long pos, long *line, long *col);

/* ---- files.c */

/* Reads a whole migration file into *out (malloc'd, NUL-terminated).
 * Refuses files over RL_MIGRATE_FILE_MAX and files holding a NUL byte.
 * Returns RL_OK, RL_ERR_IO, RL_ERR_INVALID or RL_ERR_NOMEM (message in m). */
enum rl_err rl_migrate_read_file(struct rl_migrator *m, const char *path,
                                 char **out) RL_MUST_CHECK;

/* ---- sql.c */

void rl_migrate_msg_clear(struct rl_migrator *m);

/* Appends to the error message; past RL_MIGRATE_ERRMSG_MAX the message ends
 * in a visible truncation mark rather than being cut silently. */
void rl_migrate_msg_add(struct rl_migrator *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Adds `text` without trailing newlines and blanks, capped at 4096 bytes. */
void rl_migrate_msg_add_trimmed(struct rl_migrator *m, const char *text);

/* RL_ERR_CONN when the connection is gone, else RL_ERR_DB. */
enum rl_err rl_migrate_conn_err(const struct rl_migrator *m);

/* Describes a failed result (or a NULL one) after the prefix `what`. */
void rl_migrate_describe_error(struct rl_migrator *m, const PGresult *res,
                               const char *what);

/* Adds detail, hint and context lines of a failed result. */
void rl_migrate_describe_extra(struct rl_migrator *m, const PGresult *res);

/* Runs one statement with text parameters. Returns the result when it
 * succeeded (the caller clears it), otherwise NULL with the error in m. */
PGresult *rl_migrate_query(struct rl_migrator *m, const char *what,
                           const char *sql, int nparams,
                           const char *const *params);

/* rl_migrate_query without rows: RL_OK, RL_ERR_DB or RL_ERR_CONN. */
enum rl_err rl_migrate_exec(struct rl_migrator *m, const char *what,
                            const char *sql, int nparams,
                            const char *const *params) RL_MUST_CHECK;

/* Leaves the connection outside any transaction; used on error paths, so
 * its own failure only matters through the error already reported. */
void rl_migrate_rollback(struct rl_migrator *m);

/* ---- lock.c */

/* Takes golang-migrate's session advisory lock m->lock_key, waiting at most
 * opts.lock_timeout_ms (0: forever). Returns RL_OK, RL_ERR_LOCKED (timeout),
 * RL_ERR_DB or RL_ERR_CONN. */
enum rl_err rl_migrate_take_lock(struct rl_migrator *m) RL_MUST_CHECK;

/* Releases the lock if m holds it on a live connection (closing the
 * connection releases it too). */
void rl_migrate_release_lock(struct rl_migrator *m);

#endif
