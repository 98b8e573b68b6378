/*
 * config_private.h — what the files of the config package share and nothing
 * else includes (but its unit test): which flags are secret, read from
 * config.c's flag table by the redaction (config_redact.c), and the checks
 * of the list flags' values (config_lists.c) that config.c's parser runs.
 */
#ifndef REDLIGHT_CMD_API_CONFIG_PRIVATE_H
#define REDLIGHT_CMD_API_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

/* How much of a flag's value is secret (the secret column of config.c's
 * flag table). */
enum api_secret {
    API_PUBLIC,     /* shown as given */
    API_SECRET,     /* the whole value: -smtp-password, -jwt-secret */
    API_SECRET_DSN, /* only the passwords inside it: -db-dsn */
};

/* The secrecy of the flag whose full name (no '-') is the len bytes at
 * name; API_PUBLIC for a name that is no flag. Thread-safe. */
enum api_secret api_config_flag_secret(const char *name, size_t len);

/* True when list (spaces or commas between items) is IP addresses and
 * CIDR prefixes; else prints on stderr which item is not, naming the flag
 * or variable `where` ("flag -metrics-allow", "$REDLIGHT_METRICS_ALLOW"),
 * and returns false. */
bool api_config_check_ipset(const char *where, const char *list);

/* True when url is empty or a valid -limiter-redis URL
 * (rl_redis_url_parse); otherwise prints why to stderr, after where, and
 * never the value (it may hold a password). */
bool api_config_check_redis(const char *where, const char *url);

/* True when every item of list is an origin (RFC 6454 §6.1, lower case,
 * no path); else prints on stderr which item is not, naming `where`, and
 * returns false. */
bool api_config_check_origins(const char *where, const char *list);

#endif
