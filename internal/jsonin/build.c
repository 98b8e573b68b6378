/*
 * build.c — jansson values from bytes pass 1 validated: strings decoded as
 * Go's unquote does, int64 integer literals, other numbers through strtod,
 * and the iterative builder (open containers wait on c->frames, so nothing
 * recurses). Owns nothing past a call: c->scratch and c->frames grow here
 * and are freed by rl_jin_read; every json_t is returned or released.
 *
 * strtod reads the decimal point of LC_NUMERIC: the server never calls
 * setlocale, so that is the "C" locale's '.'.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal/base/hex.h"
#include "internal/jsonin/jsonin_int.h"

/* Makes the scratch buffer hold at least n bytes. Returns false when out of
 * memory. */
static bool
scratch_reserve(struct rl_jin_ctx *c, size_t n)
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
size_t
rl_jin_decode_string(struct rl_jin_ctx *c, size_t i)
{
    const unsigned char *b = c->b;
    size_t end = rl_jin_string_end(b, i);
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
bool
rl_jin_parse_int64(const unsigned char *b, size_t i, size_t end,
                   json_int_t *out)
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
build_scalar(struct rl_jin_ctx *c, size_t *ip)
{
    const unsigned char *b = c->b;
    size_t i = *ip;

    switch (b[i]) {
    case '"': {
        *ip = rl_jin_string_end(b, i);
        size_t n = rl_jin_decode_string(c, i);
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
    size_t end = rl_jin_number_end(b, c->len, i);
    json_int_t iv;
    *ip = end;
    if (rl_jin_parse_int64(b, i, end, &iv)) {
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
attach(struct rl_jin_ctx *c, const struct rl_jin_frame *f, json_t *v)
{
    if (json_is_array(f->container)) {
        return json_array_append_new(f->container, v) == 0;
    }
    /* An object frame always has its key (set when the key was scanned,
     * before its value); the analyzer cannot follow the frame stack. */
    /* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
    size_t n = rl_jin_decode_string(c, f->key);
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
json_t *
rl_jin_build_value(struct rl_jin_ctx *c, size_t *ip)
{
    const unsigned char *b = c->b;
    size_t i = *ip, depth = 0;
    /* A local copy, so that it plainly cannot change behind attach(). */
    struct rl_jin_frame *frames = c->frames;
    json_t *v;

    for (;;) {
        i = rl_jin_skip_ws(b, c->len, i);
        unsigned char open = b[i];
        if (open == '{' || open == '[') {
            if (frames == NULL) {
                frames = malloc(RL_JIN_MAX_DEPTH * sizeof *frames);
                if (frames == NULL) {
                    goto nomem;
                }
                c->frames = frames; /* rl_jin_read frees it */
            }
            json_t *cont = open == '{' ? json_object() : json_array();
            if (cont == NULL) {
                goto nomem;
            }
            frames[depth].container = cont;
            depth++;
            i = rl_jin_skip_ws(b, c->len, i + 1);
            if (b[i] != open + 2) {
                if (open == '{') {
                    frames[depth - 1].key = i;
                    i = rl_jin_skip_ws(b, c->len, rl_jin_string_end(b, i)) + 1;
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
            struct rl_jin_frame *f = &frames[depth - 1];
            if (!attach(c, f, v)) {
                goto nomem;
            }
            i = rl_jin_skip_ws(b, c->len, i);
            if (b[i] == ',') {
                i = rl_jin_skip_ws(b, c->len, i + 1);
                if (json_is_object(f->container)) {
                    f->key = i;
                    i = rl_jin_skip_ws(b, c->len, rl_jin_string_end(b, i)) + 1;
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
        json_decref(frames[--depth].container);
    }
    return NULL;
}

/*
 * Builds the validated array of strings at b[i] ('['), keeping only its
 * first `keep` elements: the rest were checked by pass 1 and all_strings
 * (schema.c) and are not needed by a caller whose rules refuse more than keep
 * - 1. Returns a new reference, or NULL when out of memory.
 */
json_t *
rl_jin_build_string_array(struct rl_jin_ctx *c, size_t i, size_t keep)
{
    const unsigned char *b = c->b;
    json_t *a = json_array();
    size_t n = 0;

    if (a == NULL) {
        return NULL;
    }
    i = rl_jin_skip_ws(b, c->len, i + 1);
    while (b[i] == '"' && n < keep) {
        json_t *s = build_scalar(c, &i);
        /* json_array_append_new releases s when it fails. */
        if (s == NULL || json_array_append_new(a, s) != 0) {
            json_decref(a);
            return NULL;
        }
        n++;
        i = rl_jin_skip_ws(b, c->len, i);
        if (b[i] == ',') {
            i = rl_jin_skip_ws(b, c->len, i + 1);
        }
    }
    return a;
}
