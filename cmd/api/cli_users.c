/*
 * cli_users.c — users list/create/grant/revoke from the command line, over a
 * one-connection pool. Results go to stdout, errors to stderr ("error: …").
 * Owns nothing past the call: the pool and the arena are freed, and a
 * password read or given is wiped before returning.
 */
#include "cmd/api/cli_users.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/api/cli_args.h"
#include "internal/arena/arena.h"
#include "internal/data/auth.h"
#include "internal/data/pool.h"
#include "internal/data/users.h"
#include "internal/password/password.h"
#include "internal/validator/validator.h"

static const char usage_text[] =
    "usage: api [flags] users COMMAND [arguments and flags]\n"
    "  list                      every user: e-mail, activated, permissions\n"
    "  create -email E -name N (-password-stdin | -password P)\n"
    "         [-activated] [-grant movies:read,movies:write]\n"
    "                            a user, no mail sent; exits 3 (nothing "
    "changed)\n"
    "                            when the e-mail is taken\n"
    "  grant EMAIL PERMISSION    e.g. users grant a@b.c movies:write\n"
    "  revoke EMAIL PERMISSION\n"
    "Flags may also follow the arguments. -db-dsn DSN (default "
    "$REDLIGHT_DB_DSN).\n"
    "-password shows the password to other local users (ps): prefer\n"
    "-password-stdin (the first line of standard input).\n";

static int
usage_error(const char *why)
{
    return api_cli_usage_error(why, usage_text);
}

static struct rl_db *
open_db(const char *dsn)
{
    struct rl_db_config cfg = {
        .dsn = dsn,
        .max_open = 1,
        .max_idle = 1,
        .prepared = false,
        .query_timeout_ms = 3000,
        .acquire_timeout_ms = 3000,
    };
    struct rl_db *db = NULL;
    const char *why = NULL;
    enum rl_err e = rl_db_open(&cfg, &db, &why);
    if (e != RL_OK) {
        fprintf(stderr, "error: %s\n", why ? why : rl_err_str(e));
        return NULL;
    }
    return db;
}

static int
db_error(enum rl_err e)
{
    fprintf(stderr, "error: %s\n", rl_err_str(e));
    return 1;
}

static int
list(struct rl_db *db)
{
    struct rl_arena *a = rl_arena_create(4096);
    if (a == NULL) {
        return db_error(RL_ERR_NOMEM);
    }
    struct rl_user_summary *users;
    size_t n;
    enum rl_err e = rl_user_list(db, a, &users, &n);
    if (e != RL_OK) {
        rl_arena_destroy(a);
        return db_error(e);
    }
    int width = (int)strlen("EMAIL");
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(users[i].email);
        width = len > width ? len : width;
    }
    printf("%-*s  %-9s  %s\n", width, "EMAIL", "ACTIVATED", "PERMISSIONS");
    for (size_t i = 0; i < n; i++) {
        printf("%-*s  %-9s  %s\n", width, users[i].email,
               users[i].activated ? "yes" : "no",
               users[i].permissions[0] != '\0' ? users[i].permissions : "-");
    }
    rl_arena_destroy(a);
    return 0;
}

static int
unknown_permission(const char *code)
{
    fprintf(stderr,
            "error: no permission \"%s\" (known: movies:read, movies:write)\n",
            code);
    return 1;
}

static int
set_permission(struct rl_db *db, bool grant, const char *email,
               const char *code)
{
    bool changed = false;
    enum rl_err e = rl_permission_set(db, email, code, grant, &changed);
    switch (e) {
    case RL_OK:
        if (changed) {
            printf(grant ? "granted %s to %s\n" : "revoked %s from %s\n", code,
                   email);
        } else {
            printf("nothing changed: %s %s %s\n", email,
                   grant ? "already has" : "does not have", code);
        }
        return 0;
    case RL_ERR_NOT_FOUND:
        fprintf(stderr, "error: no user with email %s\n", email);
        return 1;
    case RL_ERR_INVALID:
        return unknown_permission(code);
    default:
        return db_error(e);
    }
}

/* Reads the first line of stdin (without its line end) into buf. */
static bool
read_password(char *buf, size_t cap)
{
    if (fgets(buf, (int)cap, stdin) == NULL) {
        buf[0] = '\0';
        return !ferror(stdin);
    }
    size_t len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    return true;
}

/* Splits a copy of list ("a,b") into at most max codes; false on an
 * unknown one (printed). */
static bool
split_codes(struct rl_arena *a, const char *csv, const char **codes, size_t max,
            size_t *n, int *status)
{
    *n = 0;
    char *copy = rl_arena_strdup(a, csv);
    if (copy == NULL) {
        *status = db_error(RL_ERR_NOMEM);
        return false;
    }
    char *save = NULL;
    for (char *c = strtok_r(copy, ", ", &save); c != NULL;
         c = strtok_r(NULL, ", ", &save)) {
        if (rl_perm_bit(c) == 0) {
            *status = unknown_permission(c);
            return false;
        }
        if (*n == max) {
            *status = usage_error("too many permissions in -grant");
            return false;
        }
        codes[(*n)++] = c;
    }
    return true;
}

/* Prints the validator's failures, "error: field: message" each. */
static int
invalid(struct rl_validator *v)
{
    const char *key;
    json_t *msg;
    if (v->errors == NULL) {
        return db_error(RL_ERR_NOMEM);
    }
    json_object_foreach(v->errors, key, msg)
    {
        fprintf(stderr, "error: %s: %s\n", key, json_string_value(msg));
    }
    return 2;
}

struct create_args {
    const char *email;
    const char *name;
    const char *password; /* NULL: read from stdin */
    bool activated;
    const char *grant; /* comma-separated codes, or NULL */
};

static int
create(struct rl_db *db, const struct create_args *args)
{
    int status = 0;
    char typed[256];
    char hash[RL_PASSWORD_HASH_MAX];
    const char *codes[8];
    size_t ncodes = 0;
    struct rl_validator v = {0};
    struct rl_arena *a = rl_arena_create(512);
    const char *password = args->password;
    if (a == NULL) {
        return db_error(RL_ERR_NOMEM);
    }
    if (password == NULL) {
        if (!read_password(typed, sizeof(typed))) {
            fputs("error: cannot read the password from standard input\n",
                  stderr);
            rl_arena_destroy(a);
            return 1;
        }
        password = typed;
    }
    rl_user_validate_email(&v, args->email);
    rl_user_validate_name(&v, args->name);
    rl_check(&v, rl_valid_text(args->name, strlen(args->name)), "name",
             "must be valid UTF-8");
    rl_user_validate_password(&v, password);
    if (!rl_valid(&v)) {
        status = invalid(&v);
    } else if (args->grant == NULL ||
               split_codes(a, args->grant, codes, 8, &ncodes, &status)) {
        enum rl_err e = rl_password_hash(password, strlen(password), hash);
        struct rl_user u = {
            .name = args->name,
            .email = args->email,
            .password_hash = hash,
            .activated = args->activated,
        };
        if (e == RL_OK) {
            e = rl_user_create(db, a, &u, codes, ncodes);
        }
        if (e == RL_ERR_DUPLICATE_EMAIL) {
            printf("nothing changed: a user with email %s exists\n",
                   args->email);
            status = API_CLI_USERS_EXISTS;
        } else if (e != RL_OK) {
            status = db_error(e);
        } else {
            printf("created user %s (id %lld%s%s%s)\n", u.email,
                   (long long)u.id, u.activated ? ", activated" : "",
                   ncodes > 0 ? ", " : "", ncodes > 0 ? args->grant : "");
        }
    }
    sodium_memzero(typed, sizeof(typed));
    sodium_memzero(hash, sizeof(hash));
    rl_validator_free(&v);
    rl_arena_destroy(a);
    return status;
}

enum {
    F_DSN,
    F_EMAIL,
    F_NAME,
    F_PASSWORD,
    F_PASSWORD_STDIN,
    F_ACTIVATED,
    F_GRANT,
    NF
};

int
api_cli_users(int argc, char **argv, const char *dsn)
{
    if (argc < 2) {
        return usage_error("missing command");
    }
    const char *verb = argv[1];
    if (api_cli_is_help(verb)) {
        fputs(usage_text, stdout);
        return 0;
    }
    struct api_cli_flag flags[NF] = {
        [F_DSN] = {"db-dsn", true, NULL},
        [F_EMAIL] = {"email", true, NULL},
        [F_NAME] = {"name", true, NULL},
        [F_PASSWORD] = {"password", true, NULL},
        [F_PASSWORD_STDIN] = {"password-stdin", false, NULL},
        [F_ACTIVATED] = {"activated", false, NULL},
        [F_GRANT] = {"grant", true, NULL},
    };
    /* Flags anywhere after "users": before the verb, between, after. */
    const char *pos[4];
    size_t npos;
    char err[160];
    if (!api_cli_args_parse(argc - 1, argv + 1, flags, NF, pos, 4, &npos, err,
                            sizeof(err))) {
        return usage_error(err);
    }
    if (npos == 0) {
        return usage_error("missing command");
    }
    verb = pos[0];
    bool is_create = strcmp(verb, "create") == 0;
    bool is_list = strcmp(verb, "list") == 0;
    bool grant = strcmp(verb, "grant") == 0;
    if (!is_create && !is_list && !grant && strcmp(verb, "revoke") != 0) {
        return usage_error("unknown command");
    }
    size_t want = is_create || is_list ? 0 : 2;
    if (npos - 1 > want) {
        snprintf(err, sizeof(err), "too many arguments (at \"%s\")",
                 pos[want + 1]);
        return usage_error(err);
    }
    if (npos - 1 < want) {
        return usage_error("missing argument");
    }
    for (size_t f = F_EMAIL; !is_create && f < NF; f++) {
        if (flags[f].value != NULL) {
            snprintf(err, sizeof(err), "flag -%s is for create only",
                     flags[f].name);
            return usage_error(err);
        }
    }
    if (is_create) {
        if (flags[F_EMAIL].value == NULL || flags[F_NAME].value == NULL) {
            return usage_error("create needs -email and -name");
        }
        if ((flags[F_PASSWORD].value != NULL) ==
            api_cli_flag_on(flags, NF, "password-stdin")) {
            return usage_error(
                "create needs one of -password-stdin and -password");
        }
    }
    if (flags[F_DSN].value != NULL) {
        dsn = flags[F_DSN].value;
    }
    if (dsn == NULL || dsn[0] == '\0') {
        fputs("error: no database DSN: set -db-dsn or REDLIGHT_DB_DSN "
              "(for make run's cluster: export "
              "REDLIGHT_DB_DSN=$(make -s db/dsn))\n",
              stderr);
        return 1;
    }
    struct rl_db *db = open_db(dsn);
    if (db == NULL) {
        return 1;
    }
    int status;
    if (is_list) {
        status = list(db);
    } else if (is_create) {
        struct create_args args = {
            .email = flags[F_EMAIL].value,
            .name = flags[F_NAME].value,
            .password = flags[F_PASSWORD].value,
            .activated = api_cli_flag_on(flags, NF, "activated"),
            .grant = flags[F_GRANT].value,
        };
        status = create(db, &args);
    } else {
        status = set_permission(db, grant, pos[1], pos[2]);
    }
    rl_db_close(db);
    return status;
}
