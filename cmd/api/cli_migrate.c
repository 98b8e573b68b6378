/*
 * cli_migrate.c — `api migrate …`: argument parsing and printing around
 * internal/migrate. Owns nothing past the call: the migrator (connection,
 * advisory lock) is freed before api_cli_migrate returns.
 *
 * Output follows golang-migrate's CLI: one progress line per file on
 * stdout ("1/u create_citext_extension (3.2ms)"), "no change" when there
 * was nothing to do, "error: …" on stderr. As golang-migrate, `down`
 * without N asks "Are you sure…? [y/N]" (on stderr; only y or yes goes
 * on), and -all skips the question; unlike it, without a terminal on stdin
 * it refuses (status 2) instead of reading an answer nobody typed, and
 * `version` with nothing applied prints "no migration" and succeeds. The
 * question is asked holding the advisory lock, so the version it is about
 * cannot change before the answer (another migrate waits meanwhile). Flags
 * (-all, -db-dsn) may come before or after the arguments.
 */
#include "cmd/api/cli_migrate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd/api/cli_args.h"
#include "internal/base/parse.h"
#include "internal/migrate/migrate.h"

enum verb { VERB_UP, VERB_DOWN, VERB_GOTO, VERB_VERSION, VERB_FORCE };

static const char usage_text[] =
    "usage: migrate COMMAND\n"
    "  up [N]     apply all pending up migrations, or at most N\n"
    "  down [N]   apply at most N down migrations; without N all of them,\n"
    "             after a y/N question on a terminal (-all: no question)\n"
    "  goto V     migrate up or down to version V\n"
    "  version    print the current migration version\n"
    "  force V    record version V as applied and clean, running nothing\n"
    "             (V = -1: record that no migration is applied)\n"
    "Flags may also follow the arguments: -all, -db-dsn DSN (default\n"
    "$REDLIGHT_DB_DSN).\n";

static int
usage_error(const char *why)
{
    return api_cli_usage_error(why, usage_text);
}

/* Parses a plain decimal (digits only, no sign or spaces) up to `max`. */
static bool
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    return rl_parse_u64(s, max, out) == RL_OK;
}

static void
print_count(size_t applied)
{
    if (applied == 0) {
        puts("no change");
    }
}

/* Asks on stderr whether to undo everything; true for "y" or "yes" (any
 * case, surrounding blanks ignored) on stdin. */
static bool
confirm_all_down(void)
{
    fputs("Are you sure you want to apply all down migrations? [y/N] ", stderr);
    fflush(stderr);
    char line[64];
    if (fgets(line, sizeof(line), stdin) == NULL) {
        fputc('\n', stderr);
        return false;
    }
    char *p = line + strspn(line, " \t");
    p[strcspn(p, " \t\r\n")] = '\0';
    return strcasecmp(p, "y") == 0 || strcasecmp(p, "yes") == 0;
}

/* Runs verb. For `down` without N, ask = true puts the question first;
 * *declined is set when the answer was no (nothing ran then). */
static enum rl_err
run(struct rl_migrator *m, enum verb verb, uint64_t n, int64_t force_to,
    bool ask, bool *declined)
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
        /* golang-migrate asks before undoing everything; so do we, unless
         * there is nothing to undo or the database is dirty (then
         * rl_migrate_down explains). */
        if (n == 0 && rl_migrate_version(m, &version, &dirty) == RL_OK &&
            !dirty && version != RL_MIGRATE_NIL_VERSION) {
            if (ask && !confirm_all_down()) {
                *declined = true;
                return RL_OK;
            }
            puts("applying all down migrations");
            fflush(stdout);
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
    if (api_cli_is_help(cmd)) {
        fputs(usage_text, stdout);
        return 0;
    }
    /* Flags anywhere after "migrate": before the verb, between, after. */
    struct api_cli_flag flags[] = {{"db-dsn", true, NULL},
                                   {"all", false, NULL}};
    const char *pos[3];
    size_t npos;
    char why[160];
    if (!api_cli_args_parse(argc - 1, argv + 1, flags, 2, pos, 3, &npos, why,
                            sizeof(why))) {
        return usage_error(why);
    }
    if (npos == 0) {
        return usage_error("missing command");
    }
    size_t i = 0;
    while (i < sizeof(verbs) / sizeof(verbs[0]) &&
           strcmp(verbs[i].name, pos[0]) != 0) {
        i++;
    }
    if (i == sizeof(verbs) / sizeof(verbs[0])) {
        return usage_error("unknown command");
    }
    enum verb verb = verbs[i].verb;
    size_t nargs = npos - 1;
    if (nargs < (size_t)verbs[i].min_args ||
        nargs > (size_t)verbs[i].max_args) {
        return usage_error(nargs > (size_t)verbs[i].max_args
                               ? "too many arguments"
                               : "missing argument");
    }
    bool all = flags[1].value != NULL;
    if (all && verb != VERB_DOWN) {
        return usage_error("flag provided but not defined: -all");
    }
    all = api_cli_flag_on(flags, 2, "all");
    if (all && nargs > 0) {
        return usage_error("-all cannot be used with N");
    }
    if (flags[0].value != NULL) {
        dsn = flags[0].value;
    }

    uint64_t n = 0; /* up/down limit (0 = all) or goto version */
    int64_t force_to = 0;
    const char *arg = nargs > 0 ? pos[1] : NULL;
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
    /* Nobody can answer the question: a script must say -all. */
    bool ask = verb == VERB_DOWN && n == 0 && !all;
    if (ask && !isatty(STDIN_FILENO)) {
        return usage_error("down without N applies all down migrations: "
                           "add -all, or run it on a terminal to confirm");
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
    bool declined = false;
    enum rl_err err = rl_migrate_connect(m);
    if (err == RL_OK) {
        err = run(m, verb, n, force_to, ask, &declined);
    }
    fflush(stdout);
    if (declined) {
        fputs("error: not applying all down migrations\n", stderr);
        rl_migrate_free(m);
        return 1;
    }
    if (err != RL_OK) {
        const char *msg = rl_migrate_errmsg(m);
        fprintf(stderr, "error: %s\n", msg[0] != '\0' ? msg : rl_err_str(err));
    }
    rl_migrate_free(m);
    return err == RL_OK ? 0 : 1;
}
