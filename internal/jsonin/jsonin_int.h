/*
 * jsonin_int.h — package-private: what the files of internal/jsonin share.
 * Not for use outside internal/jsonin (jsonin.h is the public API).
 *
 * The reader works in three passes over the caller's bytes (see jsonin.c);
 * the files split it by job:
 *   scan.c      pass 1, the validating scanner, and walks over bytes it
 *               validated (rl_jin_skip_value);
 *   build.c     jansson values from validated bytes (strings decoded as Go's
 *               unquote does, integers, the iterative builder);
 *   messages.c  the Go-compatible error messages (%q quoting of keys);
 *   schema.c    pass 2, the top-level object against the caller's fields;
 *   jsonin.c    rl_jin_read: the passes in order, pass 3.
 * Every helper that takes validated bytes does no bounds or syntax checks of
 * its own: it must only see bytes rl_jin_scan_first_value accepted.
 * Everything here is thread-safe (no shared state) and re-entrant.
 */
#ifndef REDLIGHT_INTERNAL_JSONIN_JSONIN_INT_H
#define REDLIGHT_INTERNAL_JSONIN_JSONIN_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "internal/jsonin/jsonin.h"

#define RL_JIN_MSG_EMPTY "body must not be empty"
#define RL_JIN_MSG_TOO_LARGE "body must not be larger than 1048576 bytes"
_Static_assert(RL_JIN_MAX_BODY == 1048576,
               "RL_JIN_MSG_TOO_LARGE names the limit");
#define RL_JIN_MSG_BADLY_FORMED "body contains badly-formed JSON"
#define RL_JIN_MSG_SINGLE "body must only contain a single JSON value"

enum rl_jin_scan {
    RL_JIN_SCAN_OK = 0,
    RL_JIN_SCAN_EMPTY,  /* nothing but whitespace */
    RL_JIN_SCAN_EOF,    /* the data ended inside the value */
    RL_JIN_SCAN_SYNTAX, /* a byte that cannot continue a JSON prefix */
    RL_JIN_SCAN_UTF8,   /* an ill-formed UTF-8 sequence inside a string */
    RL_JIN_SCAN_NUL,    /* a \u0000 escape */
};

/* One open container of the builder. */
struct rl_jin_frame {
    json_t *container;
    size_t key; /* objects: offset of the pending key's opening quote */
};

/* One rl_jin_read call's state, on its stack; rl_jin_read frees scratch and
 * frames on every exit path. */
struct rl_jin_ctx {
    const unsigned char *b;
    size_t len;
    char *scratch; /* decoded strings and NUL-terminated numbers */
    size_t scratch_cap;
    struct rl_jin_frame *frames; /* RL_JIN_MAX_DEPTH entries, on demand */
};

static inline bool
rl_jin_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool
rl_jin_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The first offset at or after i that is not whitespace (or len). */
static inline size_t
rl_jin_skip_ws(const unsigned char *b, size_t len, size_t i)
{
    while (i < len && rl_jin_is_ws(b[i])) {
        i++;
    }
    return i;
}

/* Offset just past the closing quote of the validated string at i. */
static inline size_t
rl_jin_string_end(const unsigned char *b, size_t i)
{
    i++;
    while (b[i] != '"') {
        i += b[i] == '\\' ? 2 : 1;
    }
    return i + 1;
}

/* Offset just past the validated number at i. */
static inline size_t
rl_jin_number_end(const unsigned char *b, size_t len, size_t i)
{
    while (i < len && (rl_jin_is_digit(b[i]) || b[i] == '-' || b[i] == '+' ||
                       b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
        i++;
    }
    return i;
}

/* ---- scan.c */

/* Pass 1: finds the first JSON value of b[0..len). On RL_JIN_SCAN_OK,
 * *start is the offset of its first byte and *pos the offset just past its
 * last. On an error with a position, *pos is the 0-based offset of the byte
 * to blame. Iterative, with a fixed RL_JIN_MAX_DEPTH-entry stack. */
enum rl_jin_scan rl_jin_scan_first_value(const unsigned char *b, size_t len,
                                         size_t *start, size_t *pos);

/* Offset just past the validated value starting at i (not whitespace). Adds
 * to *items the number of values and object keys in it, itself included:
 * what building it would make jansson allocate, node by node. */
size_t rl_jin_skip_value(const unsigned char *b, size_t len, size_t i,
                         size_t *items);

/* ---- build.c */

/* Decodes the validated string literal at c->b[i] into c->scratch (Go's
 * unquote: a surrogate pair of \u escapes is one code point, any other
 * surrogate escape U+FFFD). Returns the decoded length, or SIZE_MAX when out
 * of memory. The text stays valid until the next use of c->scratch. */
size_t rl_jin_decode_string(struct rl_jin_ctx *c, size_t i);

/* Parses the integer literal b[i..end) into *out. Returns false when it has
 * a fraction or an exponent, or does not fit json_int_t (int64). */
bool rl_jin_parse_int64(const unsigned char *b, size_t i, size_t end,
                        json_int_t *out);

/* Builds the validated value at *ip (not whitespace) without recursion and
 * moves *ip past it. Nested objects keep the last of duplicate keys, as Go
 * does. Returns a new reference, or NULL when out of memory. */
json_t *rl_jin_build_value(struct rl_jin_ctx *c, size_t *ip);

/* Builds the validated array of strings at c->b[i] ('['), keeping only its
 * first `keep` elements. Returns a new reference, or NULL when out of
 * memory. */
json_t *rl_jin_build_string_array(struct rl_jin_ctx *c, size_t i, size_t keep);

/* ---- messages.c */

/* Formats out->message (always fits: keys are capped) and sets status to
 * RL_JIN_BAD. */
void rl_jin_set_message(struct rl_jin_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "body contains <what> <key as Go's %q>", the key cut after
 * RL_JIN_KEY_QUOTE_MAX bytes with "..." inside the quotes. */
void rl_jin_set_key_message(struct rl_jin_result *out, const char *what,
                            const char *key, size_t n);

/* Pass 1's verdict e (not RL_JIN_SCAN_OK) as the message Greenlight's
 * readJSON would give. */
void rl_jin_report_scan_error(enum rl_jin_scan e, size_t pos, bool truncated,
                              struct rl_jin_result *out);

/* ---- schema.c */

/* Pass 2: the validated top-level object at c->b[i] ('{') against fields[].
 * Sets out->status, and out->object (RL_JIN_OK) or out->message
 * (RL_JIN_BAD). */
void rl_jin_check_object(struct rl_jin_ctx *c, size_t i,
                         const struct rl_jin_field *fields, size_t nfields,
                         struct rl_jin_result *out);

#endif
