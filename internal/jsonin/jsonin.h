/*
 * jsonin.h — the one request-body JSON reader (CONTRACT §1.2, §12 #9–#11).
 *
 * rl_jin_read reproduces, message for message and offset for offset, what
 * Go's encoding/json Decoder (DisallowUnknownFields, behind
 * http.MaxBytesReader(1048576)) plus Greenlight's readJSON triage answer, with
 * Redlight's departures: case-sensitive keys, duplicate keys rejected, invalid
 * UTF-8 and \u0000 rejected, nesting capped at RL_JIN_MAX_DEPTH.
 *
 * It knows nothing of HTTP: the caller buffers the body (at most
 * RL_JIN_MAX_BODY bytes, remembering whether more was sent) and turns
 * RL_JIN_BAD into a 400 {"error": message}.
 */
#ifndef REDLIGHT_INTERNAL_JSONIN_JSONIN_H
#define REDLIGHT_INTERNAL_JSONIN_JSONIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "internal/base/err.h"

/* The body limit; also the number in "body must not be larger than ...". */
#define RL_JIN_MAX_BODY 1048576

/* Deepest nesting of arrays/objects accepted (the top level counts as 1). */
#define RL_JIN_MAX_DEPTH 1000

/* Longest key, in bytes, quoted whole in an error message; longer keys are
 * cut at a UTF-8 boundary and end in "..." inside the quotes. */
#define RL_JIN_KEY_QUOTE_MAX 200

enum rl_jin_kind {
    RL_JIN_STRING,        /* a JSON string */
    RL_JIN_INT32,         /* an integer literal (no fraction, no exponent)
                             within INT32_MIN..INT32_MAX */
    RL_JIN_STRING_ARRAY,  /* an array whose elements are all strings */
    RL_JIN_CUSTOM,        /* any value that check() accepts (of at most
                             RL_JIN_CUSTOM_MAX_ITEMS values and keys) */
    RL_JIN_CUSTOM_STRING, /* RL_JIN_CUSTOM for string values; any other
                             non-null value fails at once, unbuilt, so a
                             hostile body cannot make it allocate */
};

/* Most values and object keys, counted together, that a RL_JIN_CUSTOM value
 * may hold; a larger one fails its check unbuilt, so building it costs at
 * most ~210 KB of jansson nodes (1024 empty objects; 1 MiB of them would
 * be ~75 MB) plus its strings, whatever the body holds. The deepest value
 * the scanner accepts (RL_JIN_MAX_DEPTH) still fits. */
#define RL_JIN_CUSTOM_MAX_ITEMS 1024

/* One key of an endpoint's input schema. A table of these is plain data,
 * usually a static const array next to the handler. */
struct rl_jin_field {
    const char *name; /* exact, case-sensitive key */
    enum rl_jin_kind kind;
    /* RL_JIN_CUSTOM only: returns true when a non-null value is acceptable.
     * Called with a borrowed reference (the whole value, built in full);
     * must not keep it. A value of more than RL_JIN_CUSTOM_MAX_ITEMS values
     * and keys fails without being built or checked. Runs even after a
     * duplicate / unknown / type error was found, because its failure takes
     * precedence (as a Go UnmarshalJSON error does). */
    bool (*check)(const json_t *value);
    /* RL_JIN_CUSTOM: the message when check fails (under 320 bytes); NULL
     * gives the field's "incorrect JSON type" message. */
    const char *custom_message;
    /* RL_JIN_STRING_ARRAY: the most elements the caller's rules allow, or 0
     * for no limit. Every element is still scanned and type-checked, but
     * only the first max_items + 1 are built: the caller gets an array of
     * min(n, max_items + 1) strings, so "more than max_items" stays
     * visible while a body of a million tiny elements costs no more than
     * six. Ignored by the other kinds. */
    size_t max_items;
};

enum rl_jin_status {
    RL_JIN_OK = 0,
    RL_JIN_BAD,   /* message set, answer 400 */
    RL_JIN_NOMEM, /* out of memory: answer 500 */
};

struct rl_jin_result {
    enum rl_jin_status status;
    /* RL_JIN_OK: the top-level object; the caller json_decref()s it. Only
     * keys named in fields[] appear. Keys whose value was JSON null are
     * removed (null == absent). Top-level `null` gives an empty object.
     * NULL unless status is RL_JIN_OK. */
    json_t *object;
    /* RL_JIN_BAD: the exact error string for {"error": message}. Empty
     * otherwise. Always NUL-terminated. */
    char message[320];
};

/*
 * Reads the request body as one JSON object and checks it against fields[].
 *
 * body:      the first min(len, RL_JIN_MAX_BODY) bytes received (need not be
 *            NUL-terminated; may be NULL when len is 0). Never read past len.
 * truncated: true when the client sent more than RL_JIN_MAX_BODY bytes and
 *            the rest was discarded. A len above RL_JIN_MAX_BODY is treated
 *            as its first RL_JIN_MAX_BODY bytes with truncated = true.
 * fields:    the schema (nfields entries, names unique).
 *
 * Returns out->status and fills *out (see struct rl_jin_result). Errors, in
 * the order Go finds them: syntax / size / UTF-8 / NUL / depth errors in the
 * first value; then the first-in-document-order duplicate, unknown-key or
 * wrong-type error, unless a RL_JIN_CUSTOM check fails anywhere (that wins);
 * then anything after the first value.
 *
 * Never reads past len and never recurses. Memory, for a body of len bytes
 * (at most RL_JIN_MAX_BODY): a scratch buffer of at most len bytes for the
 * longest string or number, 16 KB of builder frames, and jansson values only
 * for keys in fields[]: their strings hold at most len bytes in all, and
 * their nodes are bounded by the schema (one value per field, max_items + 1
 * elements per capped array, RL_JIN_CUSTOM_MAX_ITEMS per custom value), not
 * by the body. So reading never takes more than about 2 x len plus a fixed
 * amount (uncapped arrays excepted: each element costs ~50 bytes).
 * Thread-safe (no shared state); re-entrant.
 *
 * Strings in the object are valid UTF-8 without NUL bytes (bodies with
 * invalid UTF-8 or \u0000 are RL_JIN_BAD), so json_string_value() of any of
 * them is the whole string: its strlen() equals json_string_length().
 */
enum rl_jin_status rl_jin_read(const char *body, size_t len, bool truncated,
                               const struct rl_jin_field *fields,
                               size_t nfields,
                               struct rl_jin_result *out) RL_MUST_CHECK;

#endif
