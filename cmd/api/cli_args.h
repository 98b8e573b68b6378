/*
 * cli_args.h — the flags and positional arguments of a subcommand, in any
 * order. Go's flag package stops at the first positional argument, so
 * `users grant a@b.c movies:write -db-dsn …` would fail there; operators
 * add a flag at the end of the line they just typed, so we accept it.
 */
#ifndef REDLIGHT_CMD_API_CLI_ARGS_H
#define REDLIGHT_CMD_API_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

struct api_cli_flag {
    const char *name;  /* without the dash: "email" */
    bool has_value;    /* -name V or -name=V; false: a boolean flag */
    const char *value; /* out: NULL when absent; a boolean's is "true" or
                          "false" (from -name, -name=true|false|1|0) */
};

/* Parses the n words at words (what follows a subcommand's verb). A word
 * "-name" or "--name" names a flag of flags[] (a value flag takes the next
 * word, or what follows "="); "--" ends the flags; "-" and words that start
 * with "-" and a digit ("-1") are positional. Positional words go to pos in
 * order (*npos of them, at most maxpos). A flag given twice keeps the last
 * value, as Go's flag package does. Returns true, or false with a one-line
 * message in err (errcap bytes) naming the bad word. Pure: writes only
 * flags[].value, pos, *npos and err. */
bool api_cli_args_parse(int n, char **words, struct api_cli_flag *flags,
                        size_t nflags, const char **pos, size_t maxpos,
                        size_t *npos, char *err, size_t errcap);

/* The flag named name in flags[] (NULL if the table has none), for
 * reading its value after api_cli_args_parse. */
const struct api_cli_flag *api_cli_flag_get(const struct api_cli_flag *flags,
                                            size_t nflags, const char *name);

/* True when the boolean flag name was set to true. */
bool api_cli_flag_on(const struct api_cli_flag *flags, size_t nflags,
                     const char *name);

/* True for the words that ask a subcommand for its usage: help, -h,
 * -help, --help. */
bool api_cli_is_help(const char *word);

/* Prints "error: why" and the subcommand's usage text to stderr; returns
 * 2, the exit status of a usage error. */
int api_cli_usage_error(const char *why, const char *usage);

#endif
