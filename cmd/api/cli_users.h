/*
 * cli_users.h — `bin/api users grant|revoke EMAIL PERMISSION`: the
 * operator's way to change permissions (no HTTP endpoint does).
 */
#ifndef REDLIGHT_CMD_API_CLI_USERS_H
#define REDLIGHT_CMD_API_CLI_USERS_H

/* argv[0] == "users". Returns the process exit status: 0 done, 1 failure
 * (no such user or permission, database error), 2 usage. */
int api_cli_users(int argc, char **argv, const char *dsn);

#endif
