/*
 * jsonin.c — the request-body JSON reader: a Go encoding/json emulation.
 *
 * Go's Decoder scans the whole first value before it unmarshals anything, so
 * this file works in three passes over the caller's bytes, each only run when
 * the one before succeeded:
 *
 *   1. scan_first_value: a validator that blames the same byte Go's scanner
 *      does (its grammar, its order of checks), plus Redlight's UTF-8, NUL
 *      and depth rules. Iterative, with a fixed 1000-entry container stack.
 *   2. check_object: walks the top-level object's members in document order,
 *      like Go's decodeState.object into a struct, and builds jansson values
 *      only for keys in the schema, and only as much of them as the schema
 *      can use: a string array up to its max_items + 1 elements
 *      (build_string_array), a custom value only when it has at most
 *      RL_JIN_CUSTOM_MAX_ITEMS nodes. Values are built iteratively
 *      (build_value), so nothing recurses. What is not built is still
 *      scanned, so every message and offset is the one Go would give.
 *   3. trailing data: only whitespace may follow the first value.
 *
 * Passes 2 and 3 read only bytes that pass 1 validated, which is why their
 * helpers do no bounds or syntax checks of their own.
 *
 * Ownership: every json_t made here is either handed to the caller in
 * out->object or released before rl_jin_read returns; the scratch buffer and
 * the builder's frame stack live in a struct ctx on the caller's stack and
 * are freed on every exit path. No global state.
 *
 * Numbers that are not int64 integer literals go through strtod, which reads
 * the decimal point of LC_NUMERIC: the server never calls setlocale, so that
 * is the "C" locale's '.'.
 */
#include "internal/jsonin/jsonin.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/base/hex.h"
#include "internal/base/utf8.h"

/* Output budget for a quoted key inside message[320]: the longest prefix is
 * 44 bytes, then 2 quotes, up to QUOTE_BODY_MAX escaped bytes, "..." and a
 * NUL. */
#define QUOTE_BODY_MAX 256
#define QUOTE_BUF (QUOTE_BODY_MAX + 8)

#define MSG_EMPTY "body must not be empty"
#define MSG_TOO_LARGE "body must not be larger than 1048576 bytes"
_Static_assert(RL_JIN_MAX_BODY == 1048576, "MSG_TOO_LARGE names the limit");
#define MSG_BADLY_FORMED "body contains badly-formed JSON"
#define MSG_SINGLE "body must only contain a single JSON value"

enum scan_err {
    SCAN_OK = 0,
    SCAN_EMPTY,  /* nothing but whitespace */
    SCAN_EOF,    /* the data ended inside the value */
    SCAN_SYNTAX, /* a byte that cannot continue a JSON prefix */
    SCAN_UTF8,   /* an ill-formed UTF-8 sequence inside a string */
    SCAN_NUL,    /* a \u0000 escape */
};

struct frame {
    json_t *container;
    size_t key; /* objects: offset of the pending key's opening quote */
};

struct ctx {
    const unsigned char *b;
    size_t len;
    char *scratch; /* decoded strings and NUL-terminated numbers */
    size_t scratch_cap;
    struct frame *frames; /* RL_JIN_MAX_DEPTH entries, allocated on demand */
};

static bool
is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static size_t
skip_ws(const unsigned char *b, size_t len, size_t i)
{
    while (i < len && is_ws(b[i])) {
        i++;
    }
    return i;
}

/* ---- pass 1: the validating scanner --------------------------------------
 * Each scan_* helper starts at *ip and, on SCAN_OK, leaves *ip just past what
 * it consumed; on SCAN_SYNTAX / SCAN_UTF8 / SCAN_NUL it leaves the 0-based
 * offset of the byte to blame in *ip. */

/* The UTF-8 sequence whose lead byte (>= 0x80) is at *ip (rl_utf8_decode).
 * Data ending mid-sequence is SCAN_EOF, so a body cut at the size limit
 * reads as "too large", not as bad UTF-8. */
static enum scan_err
scan_utf8(const unsigned char *b, size_t len, size_t *ip)
{
    size_t n = rl_utf8_decode(b + *ip, len - *ip, NULL);
    if (n == RL_UTF8_SHORT) {
        return SCAN_EOF;
    }
    if (n == 0) {
        return SCAN_UTF8;
    }
    *ip += n;
    return SCAN_OK;
}

/* A string literal; *ip is at its opening quote. */
static enum scan_err
scan_string(const unsigned char *b, size_t len, size_t *ip)
{
    size_t i = *ip + 1;

    for (;;) {
        if (i == len) {
            return SCAN_EOF;
        }
        unsigned char c = b[i];
        if (c == '"') {
            *ip = i + 1;
            return SCAN_OK;
        }
        if (c < 0x20) {
            *ip = i;
            return SCAN_SYNTAX;
        }
        if (c >= 0x80) {
            *ip = i;
            enum scan_err e = scan_utf8(b, len, ip);
            if (e != SCAN_OK) {
                return e;
            }
            i = *ip;
            continue;
        }
        if (c != '\\') {
            i++;
            continue;
        }
        size_t backslash = i++;
        if (i == len) {
            return SCAN_EOF;
        }
        switch (b[i]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            i++;
            break;
        case 'u': {
            int v = 0;
            for (int k = 0; k < 4; k++) {
                if (++i == len) {
                    return SCAN_EOF;
                }
                int h = rl_hex_value((char)b[i]);
                if (h < 0) {
                    *ip = i;
                    return SCAN_SYNTAX;
                }
                v = v * 16 + h;
            }
            if (v == 0) {
                *ip = backslash;
                return SCAN_NUL;
            }
            i++;
            break;
        }
        default:
            *ip = i;
            return SCAN_SYNTAX;
        }
    }
}

/* A number; *ip is at '-' or a digit. Ending at the end of the data in a
 * state where Go's scanner could stop (after a digit) is a complete number. */
static enum scan_err
scan_number(const unsigned char *b, size_t len, size_t *ip)
{
    size_t i = *ip;

    if (b[i] == '-') {
        if (++i == len) {
            return SCAN_EOF;
        }
        if (!is_digit(b[i])) {
            *ip = i;
            return SCAN_SYNTAX;
        }
    }
    if (b[i] == '0') {
        i++;
    } else {
        while (i < len && is_digit(b[i])) {
            i++;
        }
    }
    if (i < len && b[i] == '.') {
        if (++i == len) {
            return SCAN_EOF;
        }
        if (!is_digit(b[i])) {
            *ip = i;
            return SCAN_SYNTAX;
        }
        while (i < len && is_digit(b[i])) {
            i++;
        }
    }
    if (i < len && (b[i] == 'e' || b[i] == 'E')) {
        if (++i == len) {
            return SCAN_EOF;
        }
        if (b[i] == '+' || b[i] == '-') {
            if (++i == len) {
                return SCAN_EOF;
            }
        }
        if (!is_digit(b[i])) {
            *ip = i;
            return SCAN_SYNTAX;
        }
        while (i < len && is_digit(b[i])) {
            i++;
        }
    }
    *ip = i;
    return SCAN_OK;
}

/* true, false or null, checked byte by byte; *ip is at the first letter,
 * which already matched word[0]. */
static enum scan_err
scan_literal(const unsigned char *b, size_t len, size_t *ip, const char *word)
{
    size_t i = *ip;

    for (size_t k = 1; word[k] != '\0'; k++) {
        if (i + k == len) {
            return SCAN_EOF;
        }
        if (b[i + k] != (unsigned char)word[k]) {
            *ip = i + k;
            return SCAN_SYNTAX;
        }
    }
    *ip = i + strlen(word);
    return SCAN_OK;
}

/* An object key and the ':' after it; *ip is at the first byte after the
 * whitespace that follows '{' or ','. */
static enum scan_err
scan_key(const unsigned char *b, size_t len, size_t *ip)
{
    if (b[*ip] != '"') {
        return SCAN_SYNTAX;
    }
    enum scan_err e = scan_string(b, len, ip);
    if (e != SCAN_OK) {
        return e;
    }
    size_t i = skip_ws(b, len, *ip);
    if (i == len) {
        return SCAN_EOF;
    }
    *ip = i;
    if (b[i] != ':') {
        return SCAN_SYNTAX;
    }
    *ip = i + 1;
    return SCAN_OK;
}

/* A single scalar value at *ip (not whitespace, not a bracket). */
static enum scan_err
scan_scalar(const unsigned char *b, size_t len, size_t *ip)
{
    switch (b[*ip]) {
    case '"':
        return scan_string(b, len, ip);
    case 't':
        return scan_literal(b, len, ip, "true");
    case 'f':
        return scan_literal(b, len, ip, "false");
    case 'n':
        return scan_literal(b, len, ip, "null");
    default:
        if (b[*ip] == '-' || is_digit(b[*ip])) {
            return scan_number(b, len, ip);
        }
        return SCAN_SYNTAX;
    }
}

/*
 * Finds the first JSON value of b[0..len). On SCAN_OK, *start is the offset
 * of its first byte and *pos the offset just past its last. On an error with
 * a position, *pos is the 0-based offset of the byte to blame.
 */
static enum scan_err
scan_first_value(const unsigned char *b, size_t len, size_t *start, size_t *pos)
{
    unsigned char stack[RL_JIN_MAX_DEPTH]; /* '{' or '[' per open level */
    size_t depth = 0;
    size_t i = skip_ws(b, len, 0);
    bool want_value = true;
    enum scan_err e;

    if (i == len) {
        return SCAN_EMPTY;
    }
    *start = i;
    for (;;) {
        if (want_value) {
            i = skip_ws(b, len, i);
            if (i == len) {
                return SCAN_EOF;
            }
            unsigned char c = b[i];
            if (c == '{' || c == '[') {
                if (depth == RL_JIN_MAX_DEPTH) {
                    *pos = i;
                    return SCAN_SYNTAX;
                }
                stack[depth++] = c;
                i = skip_ws(b, len, i + 1);
                if (i == len) {
                    return SCAN_EOF;
                }
                if (b[i] == c + 2) { /* "{}" or "[]": '}' == '{' + 2 */
                    depth--;
                    i++;
                    want_value = false;
                } else if (c == '{') {
                    e = scan_key(b, len, &i);
                    if (e != SCAN_OK) {
                        *pos = i;
                        return e;
                    }
                }
                continue;
            }
            e = scan_scalar(b, len, &i);
            if (e != SCAN_OK) {
                *pos = i;
                return e;
            }
            want_value = false;
        }
        if (depth == 0) {
            *pos = i;
            return SCAN_OK;
        }
        i = skip_ws(b, len, i);
        if (i == len) {
            return SCAN_EOF;
        }
        unsigned char open = stack[depth - 1];
        if (b[i] == ',') {
            i++;
            if (open == '{') {
                i = skip_ws(b, len, i);
                if (i == len) {
                    return SCAN_EOF;
                }
                e = scan_key(b, len, &i);
                if (e != SCAN_OK) {
                    *pos = i;
                    return e;
                }
            }
            want_value = true;
        } else if (b[i] == open + 2) {
            depth--;
            i++;
        } else {
            *pos = i;
            return SCAN_SYNTAX;
        }
    }
}

/* ---- passes 2 and 3: helpers over validated bytes ------------------------ */

/* Offset just past the closing quote of the validated string at i. */
static size_t
string_end(const unsigned char *b, size_t i)
{
    i++;
    while (b[i] != '"') {
        i += b[i] == '\\' ? 2 : 1;
    }
    return i + 1;
}

/* Offset just past the validated number at i. */
static size_t
number_end(const unsigned char *b, size_t len, size_t i)
{
    while (i < len && (is_digit(b[i]) || b[i] == '-' || b[i] == '+' ||
                       b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
        i++;
    }
    return i;
}

/* Offset just past the validated value starting at i (not whitespace). Adds
 * to *items the number of values and object keys in it, itself included:
 * what building it would make jansson allocate, node by node. */
static size_t
skip_value(const unsigned char *b, size_t len, size_t i, size_t *items)
{
    size_t depth = 0, n = 0;

    do {
        switch (b[i]) {
        case '"':
            i = string_end(b, i);
            n++;
            break;
        case '{':
        case '[':
            depth++;
            i++;
            n++;
            break;
        case '}':
        case ']':
            depth--;
            i++;
            break;
        case 't':
        case 'n':
            i += 4;
            n++;
            break;
        case 'f':
            i += 5;
            n++;
            break;
        case ',':
        case ':':
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            i++;
            break;
        default:
            i = number_end(b, len, i);
            n++;
            break;
        }
    } while (depth > 0);
    *items += n;
    return i;
}

/* Makes the scratch buffer hold at least n bytes. Returns false when out of
 * memory. */
static bool
scratch_reserve(struct ctx *c, size_t n)
{
    if (n <= c->scratch_cap) {
        return true;
    }
    size_t cap = c->scratch_cap ? c->scratch_cap : 64;
    while (cap < n) {
        cap *= 2;
    }
    char *p = realloc(c->scratch, cap);
    if (p == NULL) {
        return false;
    }
    c->scratch = p;
    c->scratch_cap = cap;
    return true;
}

static unsigned
hex4(const unsigned char *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        v = v * 16 + (unsigned)rl_hex_value((char)p[k]);
    }
    return v;
}

static size_t
put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Decodes the validated string literal at b[i] into c->scratch the way Go's
 * unquote does: a surrogate pair of \u escapes makes one code point; any
 * other surrogate escape becomes U+FFFD. Returns the decoded length (the
 * decoded text is never longer than the literal), or SIZE_MAX when out of
 * memory.
 */
static size_t
decode_string(struct ctx *c, size_t i)
{
    const unsigned char *b = c->b;
    size_t end = string_end(b, i);
    if (!scratch_reserve(c, end - i)) {
        return SIZE_MAX;
    }
    char *out = c->scratch;
    size_t w = 0;

    i++;
    while (i < end - 1) {
        if (b[i] != '\\') {
            out[w++] = (char)b[i++];
            continue;
        }
        unsigned char e = b[i + 1];
        i += 2;
        switch (e) {
        case 'b':
            out[w++] = '\b';
            continue;
        case 'f':
            out[w++] = '\f';
            continue;
        case 'n':
            out[w++] = '\n';
            continue;
        case 'r':
            out[w++] = '\r';
            continue;
        case 't':
            out[w++] = '\t';
            continue;
        case 'u':
            break;
        default: /* '"', '\\', '/' */
            out[w++] = (char)e;
            continue;
        }
        uint32_t cp = hex4(b + i);
        i += 4;
        if (cp >= 0xD800 && cp < 0xE000) {
            /* A '\\' inside a validated string is always followed by at
             * least one byte, and "\u" by four hex digits. */
            if (cp < 0xDC00 && b[i] == '\\' && b[i + 1] == 'u') {
                uint32_t lo = hex4(b + i + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else {
                cp = 0xFFFD;
            }
        }
        w += put_utf8(out + w, cp);
    }
    return w;
}

/*
 * Parses the integer literal b[i..end) into *out. Returns false when it has
 * a fraction or an exponent, or does not fit json_int_t (int64).
 */
static bool
parse_int64(const unsigned char *b, size_t i, size_t end, json_int_t *out)
{
    bool neg = b[i] == '-';
    uint64_t mag = 0;

    if (neg) {
        i++;
    }
    for (; i < end; i++) {
        unsigned d = (unsigned)b[i] - '0';
        if (d > 9 || mag > (UINT64_MAX - d) / 10) {
            return false;
        }
        mag = mag * 10 + d;
    }
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1) {
            return false;
        }
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX) {
            return false;
        }
        *out = (json_int_t)mag;
    }
    return true;
}

/* A jansson value for the validated scalar at *ip; *ip moves past it.
 * Returns NULL when out of memory. */
static json_t *
build_scalar(struct ctx *c, size_t *ip)
{
    const unsigned char *b = c->b;
    size_t i = *ip;

    switch (b[i]) {
    case '"': {
        *ip = string_end(b, i);
        size_t n = decode_string(c, i);
        return n == SIZE_MAX ? NULL : json_stringn_nocheck(c->scratch, n);
    }
    case 't':
        *ip = i + 4;
        return json_true();
    case 'f':
        *ip = i + 5;
        return json_false();
    case 'n':
        *ip = i + 4;
        return json_null();
    default:
        break;
    }
    size_t end = number_end(b, c->len, i);
    json_int_t iv;
    *ip = end;
    if (parse_int64(b, i, end, &iv)) {
        return json_integer(iv);
    }
    if (!scratch_reserve(c, end - i + 1)) {
        return NULL;
    }
    memcpy(c->scratch, b + i, end - i);
    c->scratch[end - i] = '\0';
    double d = strtod(c->scratch, NULL);
    if (!isfinite(d)) {
        d = d < 0 ? -DBL_MAX : DBL_MAX;
    }
    return json_real(d);
}

/* Adds v to the container of frame f (under f's pending key for objects).
 * Consumes v on success and on failure. Returns false when out of memory. */
static bool
attach(struct ctx *c, const struct frame *f, json_t *v)
{
    if (json_is_array(f->container)) {
        return json_array_append_new(f->container, v) == 0;
    }
    /* An object frame always has its key (set when the key was scanned,
     * before its value); the analyzer cannot follow the frame stack. */
    /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
    size_t n = decode_string(c, f->key);
    if (n == SIZE_MAX) {
        json_decref(v);
        return false;
    }
    return json_object_setn_new_nocheck(f->container, c->scratch, n, v) == 0;
}

/*
 * Builds the validated value at *ip (not whitespace) without recursion: open
 * containers wait on c->frames until their closing bracket. Nested objects
 * keep the last of duplicate keys, as Go does. *ip moves past the value.
 * Returns a new reference, or NULL when out of memory.
 */
static json_t *
build_value(struct ctx *c, size_t *ip)
{
    const unsigned char *b = c->b;
    size_t i = *ip, depth = 0;
    json_t *v;

    for (;;) {
        i = skip_ws(b, c->len, i);
        unsigned char open = b[i];
        if (open == '{' || open == '[') {
            if (c->frames == NULL) {
                c->frames = malloc(RL_JIN_MAX_DEPTH * sizeof *c->frames);
                if (c->frames == NULL) {
                    goto nomem;
                }
            }
            json_t *cont = open == '{' ? json_object() : json_array();
            if (cont == NULL) {
                goto nomem;
            }
            c->frames[depth].container = cont;
            depth++;
            i = skip_ws(b, c->len, i + 1);
            if (b[i] != open + 2) {
                if (open == '{') {
                    c->frames[depth - 1].key = i;
                    i = skip_ws(b, c->len, string_end(b, i)) + 1;
                }
                continue;
            }
            i++;
            depth--;
            v = cont;
        } else {
            v = build_scalar(c, &i);
            if (v == NULL) {
                goto nomem;
            }
        }
        /* v is complete: hand it to its parent, closing every container
         * that ends right after it. */
        for (;;) {
            if (depth == 0) {
                *ip = i;
                return v;
            }
            struct frame *f = &c->frames[depth - 1];
            if (!attach(c, f, v)) {
                goto nomem;
            }
            i = skip_ws(b, c->len, i);
            if (b[i] == ',') {
                i = skip_ws(b, c->len, i + 1);
                if (json_is_object(f->container)) {
                    f->key = i;
                    i = skip_ws(b, c->len, string_end(b, i)) + 1;
                }
                break;
            }
            i++; /* the closing bracket */
            v = f->container;
            depth--;
        }
    }
nomem:
    while (depth > 0) {
        json_decref(c->frames[--depth].container);
    }
    return NULL;
}

/*
 * Builds the validated array of strings at b[i] ('['), keeping only its
 * first `keep` elements: the rest were checked by pass 1 and all_strings and
 * are not needed by a caller whose rules refuse more than keep - 1. Returns
 * a new reference, or NULL when out of memory.
 */
static json_t *
build_string_array(struct ctx *c, size_t i, size_t keep)
{
    const unsigned char *b = c->b;
    json_t *a = json_array();
    size_t n = 0;

    if (a == NULL) {
        return NULL;
    }
    i = skip_ws(b, c->len, i + 1);
    while (b[i] == '"' && n < keep) {
        json_t *s = build_scalar(c, &i);
        /* json_array_append_new releases s when it fails. */
        if (s == NULL || json_array_append_new(a, s) != 0) {
            json_decref(a);
            return NULL;
        }
        n++;
        i = skip_ws(b, c->len, i);
        if (b[i] == ',') {
            i = skip_ws(b, c->len, i + 1);
        }
    }
    return a;
}

/* ---- messages ------------------------------------------------------------ */

static void set_message(struct rl_jin_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_message(struct rl_jin_result *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* Every format used here fits message[]; quote_key caps keys. */
    (void)vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    out->status = RL_JIN_BAD;
}

/*
 * Non-ASCII code points Go's strconv.IsPrint rejects that are assigned in
 * Unicode (controls, format characters, non-ASCII spaces, private use) and
 * the noncharacters. Unassigned code points print as themselves here, where
 * Go (with its own Unicode tables) would escape them.
 */
static const uint32_t not_printable[][2] = {
    {0x0080, 0x00A0},   {0x00AD, 0x00AD},    {0x0600, 0x0605},
    {0x061C, 0x061C},   {0x06DD, 0x06DD},    {0x070F, 0x070F},
    {0x0890, 0x0891},   {0x08E2, 0x08E2},    {0x1680, 0x1680},
    {0x180E, 0x180E},   {0x2000, 0x200F},    {0x2028, 0x202F},
    {0x205F, 0x206F},   {0x3000, 0x3000},    {0xE000, 0xF8FF},
    {0xFDD0, 0xFDEF},   {0xFEFF, 0xFEFF},    {0xFFF0, 0xFFFB},
    {0xFFFE, 0xFFFF},   {0x110BD, 0x110BD},  {0x110CD, 0x110CD},
    {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},  {0x1D173, 0x1D17A},
    {0xE0000, 0xE00FF}, {0xF0000, 0x10FFFF},
};

static bool
printable(uint32_t cp)
{
    if (cp < 0x80) {
        return cp >= 0x20 && cp < 0x7F;
    }
    if ((cp & 0xFFFE) == 0xFFFE) {
        return false; /* U+xxFFFE and U+xxFFFF in every plane */
    }
    for (size_t k = 0; k < sizeof not_printable / sizeof not_printable[0];
         k++) {
        if (cp >= not_printable[k][0] && cp <= not_printable[k][1]) {
            return false;
        }
    }
    return true;
}

/* Go's strconv.Quote escape of one code point (raw bytes s[0..n)) into
 * out[12]; returns its length. */
static size_t
escape_rune(uint32_t cp, const unsigned char *s, size_t n, char *out)
{
    static const char letters[] = "abtnvfr"; /* \a (7) .. \r (13) */

    if (cp == '"' || cp == '\\') {
        out[0] = '\\';
        out[1] = (char)cp;
        return 2;
    }
    if (printable(cp)) {
        memcpy(out, s, n);
        return n;
    }
    if (cp >= 7 && cp <= 13) {
        out[0] = '\\';
        out[1] = letters[cp - 7];
        return 2;
    }
    if (cp < 0x20 || cp == 0x7F) {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = rl_hex_digit(cp >> 4);
        out[3] = rl_hex_digit(cp);
        return 4;
    }
    int digits = cp < 0x10000 ? 4 : 8;
    out[0] = '\\';
    out[1] = digits == 4 ? 'u' : 'U';
    for (int k = 0; k < digits; k++) {
        out[2 + k] = rl_hex_digit(cp >> (4 * (digits - 1 - k)));
    }
    return 2 + (size_t)digits;
}

/*
 * Go's %q of key[0..n) into q[QUOTE_BUF]. Past RL_JIN_KEY_QUOTE_MAX input
 * bytes, or QUOTE_BODY_MAX output bytes, the text is cut at a code point
 * boundary and "..." goes before the closing quote.
 */
static void
quote_key(char *q, const char *key, size_t n)
{
    const unsigned char *s = (const unsigned char *)key;
    size_t r = 0, w = 0;
    bool cut = false;

    q[w++] = '"';
    while (r < n) {
        char tmp[12];
        uint32_t cp;
        size_t rl = rl_utf8_decode(s + r, n - r, &cp);
        size_t tl;
        if (rl == 0 || rl == RL_UTF8_SHORT) { /* not reachable from a decoded
                                                 key; Go's \x form */
            rl = 1;
            tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", s[r]);
        } else {
            tl = escape_rune(cp, s + r, rl, tmp);
        }
        if (r + rl > RL_JIN_KEY_QUOTE_MAX || w - 1 + tl > QUOTE_BODY_MAX) {
            cut = true;
            break;
        }
        memcpy(q + w, tmp, tl);
        w += tl;
        r += rl;
    }
    if (cut) {
        memcpy(q + w, "...", 3);
        w += 3;
    }
    q[w++] = '"';
    q[w] = '\0';
}

static void
set_key_message(struct rl_jin_result *out, const char *what, const char *key,
                size_t n)
{
    char q[QUOTE_BUF];
    quote_key(q, key, n);
    set_message(out, "body contains %s %s", what, q);
}

/* ---- pass 2: the top-level object ---------------------------------------- */

static const struct rl_jin_field *
find_field(const struct rl_jin_field *fields, size_t nfields, const char *key,
           size_t n)
{
    for (size_t k = 0; k < nfields; k++) {
        if (strncmp(fields[k].name, key, n) == 0 && fields[k].name[n] == '\0') {
            return &fields[k];
        }
    }
    return NULL;
}

/* Whether the validated array at b[i] ('[') holds only strings. */
static bool
all_strings(const unsigned char *b, size_t len, size_t i)
{
    i = skip_ws(b, len, i + 1);
    if (b[i] == ']') {
        return true;
    }
    for (;;) {
        if (b[i] != '"') {
            return false;
        }
        i = skip_ws(b, len, string_end(b, i));
        if (b[i] == ']') {
            return true;
        }
        i = skip_ws(b, len, i + 1);
    }
}

/* Whether the non-null value b[i..end) has the JSON type kind asks for
 * (RL_JIN_CUSTOM is checked by its own function). */
static bool
type_ok(const struct ctx *c, enum rl_jin_kind kind, size_t i, size_t end)
{
    const unsigned char *b = c->b;
    json_int_t v;

    switch (kind) {
    case RL_JIN_STRING:
        return b[i] == '"';
    case RL_JIN_INT32:
        return (b[i] == '-' || is_digit(b[i])) && parse_int64(b, i, end, &v) &&
               v >= INT32_MIN && v <= INT32_MAX;
    case RL_JIN_STRING_ARRAY:
        return b[i] == '[' && all_strings(b, c->len, i);
    case RL_JIN_CUSTOM:
    case RL_JIN_CUSTOM_STRING:
        break;
    }
    return true;
}

/*
 * Go's decodeState.object into a struct with DisallowUnknownFields, plus
 * duplicate keys: the first duplicate / unknown / wrong-type error in
 * document order is kept while the walk goes on, because a failing custom
 * check (Go: an UnmarshalJSON error) ends the walk and wins. i is at '{'.
 */
static void
check_object(struct ctx *c, size_t i, const struct rl_jin_field *fields,
             size_t nfields, struct rl_jin_result *out)
{
    const unsigned char *b = c->b;
    json_t *obj = json_object();
    bool saved = false;

    if (obj == NULL) {
        goto nomem;
    }
    i = skip_ws(b, c->len, i + 1);
    while (b[i] != '}') {
        size_t kpos = i;
        size_t colon = skip_ws(b, c->len, string_end(b, i));
        size_t vpos = skip_ws(b, c->len, colon + 1);
        size_t items = 0;
        size_t vend = skip_value(b, c->len, vpos, &items);
        size_t klen = decode_string(c, kpos);
        if (klen == SIZE_MAX) {
            goto nomem;
        }
        const struct rl_jin_field *f =
            find_field(fields, nfields, c->scratch, klen);

        /* Until something is saved, every key seen so far was a known
         * field and went into obj, so obj is the duplicate detector. */
        if (!saved && f != NULL &&
            json_object_getn(obj, c->scratch, klen) != NULL) {
            set_key_message(out, "duplicate key", c->scratch, klen);
            saved = true;
        } else if (!saved && f == NULL) {
            set_key_message(out, "unknown key", c->scratch, klen);
            saved = true;
        }
        if (f != NULL && b[vpos] == 'n') {
            if (!saved &&
                json_object_set_new_nocheck(obj, f->name, json_null()) != 0) {
                goto nomem;
            }
        } else if (f != NULL && (f->kind == RL_JIN_CUSTOM ||
                                 f->kind == RL_JIN_CUSTOM_STRING)) {
            json_t *v = NULL;
            if ((f->kind == RL_JIN_CUSTOM || b[vpos] == '"') &&
                items <= RL_JIN_CUSTOM_MAX_ITEMS) {
                size_t at = vpos;
                v = build_value(c, &at);
                if (v == NULL) {
                    goto nomem;
                }
            }
            if (v == NULL || f->check == NULL || !f->check(v)) {
                json_decref(v);
                json_decref(obj);
                if (f->custom_message != NULL) {
                    set_message(out, "%s", f->custom_message);
                } else {
                    set_key_message(out, "incorrect JSON type for field",
                                    f->name, strlen(f->name));
                }
                return;
            }
            if (saved) {
                json_decref(v);
            } else if (json_object_set_new_nocheck(obj, f->name, v) != 0) {
                goto nomem;
            }
        } else if (f != NULL && !saved) {
            if (!type_ok(c, f->kind, vpos, vend)) {
                set_key_message(out, "incorrect JSON type for field", f->name,
                                strlen(f->name));
                saved = true;
            } else {
                size_t at = vpos;
                json_t *v;
                if (f->kind == RL_JIN_STRING_ARRAY) {
                    size_t keep = f->max_items == 0 || f->max_items == SIZE_MAX
                                      ? SIZE_MAX
                                      : f->max_items + 1;
                    v = build_string_array(c, vpos, keep);
                } else {
                    v = build_value(c, &at);
                }
                if (v == NULL ||
                    json_object_set_new_nocheck(obj, f->name, v) != 0) {
                    goto nomem;
                }
            }
        }
        i = skip_ws(b, c->len, vend);
        if (b[i] == ',') {
            i = skip_ws(b, c->len, i + 1);
        }
    }
    if (saved) {
        json_decref(obj);
        return;
    }
    for (size_t k = 0; k < nfields; k++) {
        if (json_is_null(json_object_get(obj, fields[k].name))) {
            (void)json_object_del(obj, fields[k].name);
        }
    }
    out->object = obj;
    out->status = RL_JIN_OK;
    return;
nomem:
    json_decref(obj);
    out->message[0] = '\0';
    out->status = RL_JIN_NOMEM;
}

/* ---- the entry point ----------------------------------------------------- */

/* Pass 1's verdict as the message Greenlight's readJSON would give. */
static void
report_scan_error(enum scan_err e, size_t pos, bool truncated,
                  struct rl_jin_result *out)
{
    switch (e) {
    case SCAN_EMPTY:
        set_message(out, "%s", truncated ? MSG_TOO_LARGE : MSG_EMPTY);
        break;
    case SCAN_EOF:
        set_message(out, "%s", truncated ? MSG_TOO_LARGE : MSG_BADLY_FORMED);
        break;
    case SCAN_SYNTAX:
        set_message(out, "%s (at character %zu)", MSG_BADLY_FORMED, pos + 1);
        break;
    case SCAN_UTF8:
        set_message(out, "body contains invalid UTF-8 (at character %zu)",
                    pos + 1);
        break;
    case SCAN_NUL:
        set_message(out, "body contains a NUL character (at character %zu)",
                    pos + 1);
        break;
    case SCAN_OK:
        break;
    }
}

enum rl_jin_status
rl_jin_read(const char *body, size_t len, bool truncated,
            const struct rl_jin_field *fields, size_t nfields,
            struct rl_jin_result *out)
{
    static const unsigned char nothing[1];
    struct ctx c = {.b = body != NULL ? (const unsigned char *)body : nothing,
                    .len = body != NULL ? len : 0};
    size_t start = 0, end = 0;

    out->status = RL_JIN_OK;
    out->object = NULL;
    out->message[0] = '\0';
    if (c.len > RL_JIN_MAX_BODY) {
        c.len = RL_JIN_MAX_BODY;
        truncated = true;
    }

    enum scan_err e = scan_first_value(c.b, c.len, &start, &end);
    if (e != SCAN_OK) {
        report_scan_error(e, end, truncated, out);
        return out->status;
    }
    /* Go's scanner only knows a scalar has ended when it sees the next
     * byte; with the rest of the body discarded, it never does. */
    if (truncated && end == c.len && c.b[start] != '{' && c.b[start] != '[') {
        set_message(out, "%s", MSG_TOO_LARGE);
        return out->status;
    }

    switch (c.b[start]) {
    case '{':
        check_object(&c, start, fields, nfields, out);
        break;
    case 'n':
        out->object = json_object();
        out->status = out->object != NULL ? RL_JIN_OK : RL_JIN_NOMEM;
        break;
    case '[':
        set_message(out, "body contains incorrect JSON type (at character %zu)",
                    start + 1);
        break;
    default:
        set_message(out, "body contains incorrect JSON type (at character %zu)",
                    end);
        break;
    }
    free(c.scratch);
    free(c.frames);
    if (out->status != RL_JIN_OK) {
        return out->status;
    }

    if (truncated || skip_ws(c.b, c.len, end) != c.len) {
        json_decref(out->object);
        out->object = NULL;
        set_message(out, "%s", MSG_SINGLE);
    }
    return out->status;
}
