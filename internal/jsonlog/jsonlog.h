/*
 * jsonlog.h — structured logs: one JSON object a line on stdout,
 * {"level":..,"time":..,"message":..,"properties":{..}}, as Greenlight's
 * jsonlog writes them: "time" is RFC 3339 UTC with milliseconds, and a
 * property is a JSON string or number as its RL_LOG_STR / RL_LOG_INT says.
 *
 * Every function here is thread-safe: a line is built in a private buffer and
 * written with a single write(2), so lines never interleave.
 */
#ifndef REDLIGHT_INTERNAL_JSONLOG_JSONLOG_H
#define REDLIGHT_INTERNAL_JSONLOG_JSONLOG_H

#include <stddef.h>

enum rl_log_level { RL_LOG_DEBUG, RL_LOG_INFO, RL_LOG_ERROR, RL_LOG_FATAL };

/* Sets the file descriptor lines go to (default 1) and the minimum level.
 * Call before any other thread logs. */
void rl_log_init(int fd, enum rl_log_level min_level);

/* One property of a log line, made by RL_LOG_STR or RL_LOG_INT. */
enum rl_log_prop_type { RL_LOG_PROP_STR, RL_LOG_PROP_INT };
struct rl_log_prop {
    const char *key;
    enum rl_log_prop_type type;
    const char *str; /* RL_LOG_PROP_STR; NULL: the property is left out */
    long long num;   /* RL_LOG_PROP_INT */
};

/* A string property (a JSON string; NULL s leaves it out) and an integer one
 * (a JSON number). Each is a compound literal that lives until the end of
 * the enclosing block: pass them straight to rl_log_props. Giving a number
 * to RL_LOG_STR or a string to RL_LOG_INT does not compile. */
#define RL_LOG_STR(k, s)                                                       \
    (&(const struct rl_log_prop){                                              \
        .key = (k), .type = RL_LOG_PROP_STR, .str = (s)})
#define RL_LOG_INT(k, n)                                                       \
    (&(const struct rl_log_prop){                                              \
        .key = (k), .type = RL_LOG_PROP_INT, .num = (n)})

/* Logs `message` with the properties listed, ending in NULL:
 *   rl_log_props(RL_LOG_INFO, "mail sent", RL_LOG_INT("id", id),
 *                RL_LOG_STR("template", tmpl), NULL);
 * The macro gathers them in an array of property pointers, so anything else
 * among them (a bare string, say) is a compile error, not a crash. */
#define rl_log_props(level, message, ...)                                      \
    rl_log_propv((level), (message),                                           \
                 (const struct rl_log_prop *const[]){__VA_ARGS__})

/* What rl_log_props calls: props is NULL-terminated. */
void rl_log_propv(enum rl_log_level level, const char *message,
                  const struct rl_log_prop *const *props);

/* Appends `s` (len bytes) JSON-escaped, without quotes, to buf (cap bytes,
 * starting at *pos). Invalid UTF-8 bytes become U+FFFD. Returns 0, or -1 if
 * it did not fit (buf is left NUL-terminated at the last whole escape).
 * Pure function, thread-safe. */
int rl_json_escape(char *buf, size_t cap, size_t *pos, const char *s,
                   size_t len);

/* Writes the current UTC time as RFC 3339 with milliseconds
 * ("2026-11-26T05:33:09.123Z") into buf (at least RL_LOG_TIME_MAX bytes;
 * an empty string when smaller). Thread-safe. */
#define RL_LOG_TIME_MAX 25
void rl_log_time(char *buf, size_t cap);

/* Writes one already-built line (which must end in '\n') with one write(2).
 * For callers that format hot-path lines themselves (the request log). */
void rl_log_write_line(const char *line, size_t len);

/* Appends one already-built line (ending in '\n') to the calling thread's
 * buffer; the buffer is written when full and by the flusher every 100 ms.
 * For the request log, where a write(2) per line would cost more than the
 * request. Without a running flusher it writes through. Thread-safe. */
void rl_log_buffered(const char *line, size_t len);

/* Starts the flusher thread. Returns 0, or -1 (then lines write through). */
int rl_log_flusher_start(void);

/* Stops the flusher, writes every buffered line and frees the buffers.
 * Call once the threads that log buffered lines have stopped. */
void rl_log_flusher_stop(void);

#endif
