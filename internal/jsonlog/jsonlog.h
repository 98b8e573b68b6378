/*
 * jsonlog.h — structured logs: one JSON object a line on stdout,
 * {"level":..,"time":..,"message":..,"properties":{..}}.
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

/* Logs `message` with properties given as NULL-terminated key/value string
 * pairs: rl_log(RL_LOG_INFO, "starting server", "addr", ":4000", NULL).
 * Values are logged as JSON strings; NULL values are skipped. */
void rl_log(enum rl_log_level level, const char *message, ...)
    __attribute__((sentinel));

/* Appends `s` (len bytes) JSON-escaped, without quotes, to buf (cap bytes,
 * starting at *pos). Invalid UTF-8 bytes become U+FFFD. Returns 0, or -1 if
 * it did not fit (buf is left NUL-terminated at the last whole escape).
 * Pure function, thread-safe. */
int rl_json_escape(char *buf, size_t cap, size_t *pos, const char *s,
                   size_t len);

/* Writes the current UTC time as RFC 3339 with seconds ("2026-11-26T05:33:09Z")
 * into buf (at least 21 bytes). Thread-safe. */
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
