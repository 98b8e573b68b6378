/*
 * cli_users.h — `bin/api users list | create | grant | revoke`: the
 * operator's way to see users, make one without mail (the demo user) and
 * change permissions (no HTTP endpoint does).
 */
#ifndef REDLIGHT_CMD_API_CLI_USERS_H
#define REDLIGHT_CMD_API_CLI_USERS_H

/* Exit status of `users create` when the e-mail is taken: nothing changed,
 * distinct from a failure so scripts can treat it as done. */
#define API_CLI_USERS_EXISTS 3

/* argv[0] == "users"; flags may follow the verb and its arguments
 * (-db-dsn there overrides dsn). Returns the process exit status: 0 done
 * (also when grant/revoke changed nothing), 1 failure (no such user or
 * permission, database error), 2 usage or an invalid value,
 * API_CLI_USERS_EXISTS. */
int api_cli_users(int argc, char **argv, const char *dsn);

#endif
