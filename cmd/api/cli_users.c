/*
 * cli_users.c — grant and revoke permissions from the command line, over a
 * one-connection pool. Messages go to stdout (done) and stderr (errors).
 */
#include "cmd/api/cli_users.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal/data/auth.h"
#include "internal/data/pool.h"

int
api_cli_users(int argc, char **argv, const char *dsn)
{
    if (argc != 4 ||
        (strcmp(argv[1], "grant") != 0 && strcmp(argv[1], "revoke") != 0)) {
        fprintf(stderr, "usage: api [flags] users grant|revoke EMAIL "
                        "PERMISSION   (e.g. users grant a@b.c movies:write)\n");
        return 2;
    }
    if (dsn == NULL || dsn[0] == '\0') {
        fprintf(stderr, "error: no database DSN: set -db-dsn or "
                        "REDLIGHT_DB_DSN\n");
        return 1;
    }
    bool grant = strcmp(argv[1], "grant") == 0;
    const char *email = argv[2];
    const char *code = argv[3];
    struct rl_db_config cfg = {
        .dsn = dsn,
        .max_open = 1,
        .max_idle = 1,
        .prepared = false,
        .query_timeout_ms = 3000,
        .acquire_timeout_ms = 3000,
    };
    struct rl_db *db;
    const char *why = NULL;
    enum rl_err e = rl_db_open(&cfg, &db, &why);
    if (e != RL_OK) {
        fprintf(stderr, "error: %s\n", why ? why : rl_err_str(e));
        return 1;
    }
    e = rl_permission_set(db, email, code, grant);
    rl_db_close(db);
    switch (e) {
    case RL_OK:
        printf("%s %s %s\n", grant ? "granted" : "revoked", code, email);
        return 0;
    case RL_ERR_NOT_FOUND:
        fprintf(stderr, "error: no user with email %s\n", email);
        return 1;
    case RL_ERR_INVALID:
        fprintf(stderr,
                "error: no permission %s (known: movies:read, "
                "movies:write)\n",
                code);
        return 1;
    default:
        fprintf(stderr, "error: %s\n", rl_err_str(e));
        return 1;
    }
}
