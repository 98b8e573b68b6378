/*
 * cli_migrate.h — the `migrate` subcommand: golang-migrate's CLI verbs on top
 * of internal/migrate.
 */
#ifndef REDLIGHT_CMD_API_CLI_MIGRATE_H
#define REDLIGHT_CMD_API_CLI_MIGRATE_H

/* Runs `migrate up [N] | down [N] | goto V | version | force V` (argv[0] is
 * "migrate") against `dsn` with the migration files in `dir`. Progress goes
 * to stdout, errors to stderr. Returns the process exit status: 0 on
 * success, 1 on error, 2 on a usage error. dsn may be NULL or "" (a usage
 * error). Not thread-safe: meant to run alone in the process. */
int api_cli_migrate(int argc, char **argv, const char *dsn, const char *dir);

#endif
