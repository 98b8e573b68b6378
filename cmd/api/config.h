/*
 * config.h — command-line flags → struct api_config (contract §10, §13.1).
 */
#ifndef REDLIGHT_CMD_API_CONFIG_H
#define REDLIGHT_CMD_API_CONFIG_H

#include "cmd/api/app.h"

enum api_config_result {
    API_CONFIG_OK,     /* serve, or run the subcommand at argv[*next] */
    API_CONFIG_EXIT_0, /* -help or -version was printed */
    API_CONFIG_EXIT_2, /* bad flag: one line was printed on stderr */
};

/* Fills cfg from defaults, the environment (REDLIGHT_DB_DSN) and argv.
 * Flags stop at the first non-flag argument, whose index goes to *next.
 * Strings in cfg point into argv, the environment or literals. Not
 * thread-safe (getopt). */
enum api_config_result api_config_parse(struct api_config *cfg, int argc,
                                        char **argv, int *next);

/* cfg->argv[i] as /debug/vars shows it (config_redact.c): the values of
 * the flags config.c's table marks secret replaced by REDACTED (only the
 * passwords of -db-dsn's), and any postgres:// password or password=...
 * inside it too.
 * Allocated in arena; NULL when out of memory. Thread-safe (reads cfg). */
const char *api_config_redacted_arg(const struct api_config *cfg, int i,
                                    struct rl_arena *arena);

#endif
