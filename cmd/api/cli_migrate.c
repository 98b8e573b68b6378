/*
 * cli_migrate.c — `api migrate …`: argument parsing and printing around
 * internal/migrate. Owns nothing past the call: the migrator (connection,
 * advisory lock) is freed before api_cli_migrate returns.
 *
 * Output follows golang-migrate's CLI: one progress line per file on
 * stdout ("1/u create_citext_extension (3.2ms)"), "no change" when there
 * was nothing to do, "error: …" on stderr. Unlike golang-migrate, `down`
 * without N does not ask for confirmation (it says what it does), and
 * `version` with nothing applied prints "no migration" and succeeds.
 */
#include "cmd/api/cli_migrate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/migrate/migrate.h"

enum verb { VERB_UP, VERB_DOWN, VERB_GOTO, VERB_VERSION, VERB_FORCE };

static const char usage_text[] =
    "usage: migrate COMMAND\n"
    "  up [N]     apply all pending up migrations, or at most N\n"
    "  down [N]   apply all down migrations, or at most N\n"
    "  goto V     migrate up or down to version V\n"
    "  version    print the current migration version\n"
    "  force V    record version V as applied and clean, running nothing\n"
    "             (V = -1: record that no migration is applied)\n";

static int
usage_error(const char *why)
{
    fprintf(stderr, "error: %s\n%s", why, usage_text);
    return 2;
}

/* Parses a plain decimal (digits only, no sign or spaces) up to `max`. */
static bool
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static void
print_count(size_t applied)
{
    if (applied == 0) {
        puts("no change");
    }
}

static enum rl_err
run(struct rl_migrator *m, enum verb verb, uint64_t n, int64_t force_to)
{
    size_t applied = 0;
    enum rl_err err = RL_OK;
    int64_t version;
    bool dirty;

    switch (verb) {
    case VERB_UP:
        err = rl_migrate_up(m, (size_t)n, &applied);
        break;
    case VERB_DOWN:
        /* golang-migrate asks before undoing everything; we say it instead,
         * unless there is nothing to undo or the database is dirty (then
         * rl_migrate_down explains). */
        if (n == 0 && rl_migrate_version(m, &version, &dirty) == RL_OK &&
            !dirty && version != RL_MIGRATE_NIL_VERSION) {
            puts("applying all down migrations");
        }
        err = rl_migrate_down(m, (size_t)n, &applied);
        break;
    case VERB_GOTO:
        err = rl_migrate_goto(m, n, &applied);
        break;
    case VERB_VERSION:
        err = rl_migrate_version(m, &version, &dirty);
        if (err == RL_OK && version == RL_MIGRATE_NIL_VERSION && !dirty) {
            puts("no migration");
        } else if (err == RL_OK) {
            printf("%" PRId64 "%s\n", version, dirty ? " (dirty)" : "");
        }
        return err;
    case VERB_FORCE:
        return rl_migrate_force(m, force_to);
    }
    if (err == RL_OK) {
        print_count(applied);
    }
    return err;
}

int
api_cli_migrate(int argc, char **argv, const char *dsn, const char *dir)
{
    static const struct {
        const char *name;
        enum verb verb;
        int min_args;
        int max_args;
    } verbs[] = {
        {"up", VERB_UP, 0, 1},       {"down", VERB_DOWN, 0, 1},
        {"goto", VERB_GOTO, 1, 1},   {"version", VERB_VERSION, 0, 0},
        {"force", VERB_FORCE, 1, 1},
    };
    if (argc < 2) {
        return usage_error("missing command");
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "-help") == 0 || strcmp(cmd, "--help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    size_t i = 0;
    while (i < sizeof(verbs) / sizeof(verbs[0]) &&
           strcmp(verbs[i].name, cmd) != 0) {
        i++;
    }
    if (i == sizeof(verbs) / sizeof(verbs[0])) {
        return usage_error("unknown command");
    }
    enum verb verb = verbs[i].verb;
    int nargs = argc - 2;
    if (nargs < verbs[i].min_args || nargs > verbs[i].max_args) {
        return usage_error(nargs > verbs[i].max_args ? "too many arguments"
                                                     : "missing argument");
    }

    uint64_t n = 0; /* up/down limit (0 = all) or goto version */
    int64_t force_to = 0;
    const char *arg = nargs > 0 ? argv[2] : NULL;
    if ((verb == VERB_UP || verb == VERB_DOWN) && arg != NULL &&
        (!parse_uint(arg, SIZE_MAX, &n) || n == 0)) {
        return usage_error("N must be a whole number >= 1");
    }
    if (verb == VERB_GOTO && (arg == NULL || !parse_uint(arg, INT64_MAX, &n))) {
        return usage_error("V must be a version number");
    }
    if (verb == VERB_FORCE) {
        if (arg == NULL) {
            return usage_error("V must be a version number or -1");
        }
        if (strcmp(arg, "-1") == 0) {
            force_to = RL_MIGRATE_NIL_VERSION;
        } else if (parse_uint(arg, INT64_MAX, &n)) {
            force_to = (int64_t)n;
        } else {
            return usage_error("V must be a version number or -1");
        }
    }
    if (dsn == NULL || dsn[0] == '\0') {
        return usage_error("no database DSN: set -db-dsn or REDLIGHT_DB_DSN");
    }

    struct rl_migrate_opts opts = {
        .dsn = dsn,
        .dir = dir,
        .lock_timeout_ms = RL_MIGRATE_LOCK_TIMEOUT_MS,
        .out = stdout,
        .warn = stderr,
    };
    struct rl_migrator *m = rl_migrate_new(&opts);
    if (m == NULL) {
        fputs("error: out of memory\n", stderr);
        return 1;
    }
    enum rl_err err = rl_migrate_connect(m);
    if (err == RL_OK) {
        err = run(m, verb, n, force_to);
    }
    fflush(stdout);
    if (err != RL_OK) {
        const char *msg = rl_migrate_errmsg(m);
        fprintf(stderr, "error: %s\n", msg[0] != '\0' ? msg : rl_err_str(err));
    }
    rl_migrate_free(m);
    return err == RL_OK ? 0 : 1;
}
