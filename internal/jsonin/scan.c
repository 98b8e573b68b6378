/*
 * scan.c — pass 1 of the JSON reader: a validator that blames the same byte
 * Go's scanner does (its grammar, its order of checks), plus Redlight's
 * UTF-8, NUL and depth rules; and rl_jin_skip_value, which walks what it
 * validated. Owns nothing: no allocation, no recursion (a fixed
 * RL_JIN_MAX_DEPTH-byte stack of open brackets).
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "internal/base/hex.h"
#include "internal/base/utf8.h"
#include "internal/jsonin/jsonin_int.h"

/* Each scan_* helper starts at *ip and, on RL_JIN_SCAN_OK, leaves *ip just
 * past what it consumed; on RL_JIN_SCAN_SYNTAX / _UTF8 / _NUL it leaves the
 * 0-based offset of the byte to blame in *ip. */

/* The UTF-8 sequence whose lead byte (>= 0x80) is at *ip (rl_utf8_decode).
 * Data ending mid-sequence is RL_JIN_SCAN_EOF, so a body cut at the size limit
 * reads as "too large", not as bad UTF-8. */
static enum rl_jin_scan
scan_utf8(const unsigned char *b, size_t len, size_t *ip)
{
    size_t n = rl_utf8_decode(b + *ip, len - *ip, NULL);
    if (n == RL_UTF8_SHORT) {
        return RL_JIN_SCAN_EOF;
    }
    if (n == 0) {
        return RL_JIN_SCAN_UTF8;
    }
    *ip += n;
    return RL_JIN_SCAN_OK;
}

/* A string literal; *ip is at its opening quote. */
static enum rl_jin_scan
scan_string(const unsigned char *b, size_t len, size_t *ip)
{
    size_t i = *ip + 1;

    for (;;) {
        if (i == len) {
            return RL_JIN_SCAN_EOF;
        }
        unsigned char c = b[i];
        if (c == '"') {
            *ip = i + 1;
            return RL_JIN_SCAN_OK;
        }
        if (c < 0x20) {
            *ip = i;
            return RL_JIN_SCAN_SYNTAX;
        }
        if (c >= 0x80) {
            *ip = i;
            enum rl_jin_scan e = scan_utf8(b, len, ip);
            if (e != RL_JIN_SCAN_OK) {
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
            return RL_JIN_SCAN_EOF;
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
                    return RL_JIN_SCAN_EOF;
                }
                int h = rl_hex_value((char)b[i]);
                if (h < 0) {
                    *ip = i;
                    return RL_JIN_SCAN_SYNTAX;
                }
                v = v * 16 + h;
            }
            if (v == 0) {
                *ip = backslash;
                return RL_JIN_SCAN_NUL;
            }
            i++;
            break;
        }
        default:
            *ip = i;
            return RL_JIN_SCAN_SYNTAX;
        }
    }
}

/* One or more digits from *ip, which may be at the end of the data: EOF
 * there, SYNTAX (*ip at the offending byte) if no digit comes, else OK with
 * *ip past the run. The fraction and the exponent each need one. */
static enum rl_jin_scan
scan_digits(const unsigned char *b, size_t len, size_t *ip)
{
    size_t i = *ip;
    if (i == len) {
        return RL_JIN_SCAN_EOF;
    }
    if (!rl_jin_is_digit(b[i])) {
        return RL_JIN_SCAN_SYNTAX;
    }
    while (i < len && rl_jin_is_digit(b[i])) {
        i++;
    }
    *ip = i;
    return RL_JIN_SCAN_OK;
}

/* A number; *ip is at '-' or a digit. Ending at the end of the data in a
 * state where Go's scanner could stop (after a digit) is a complete number. */
static enum rl_jin_scan
scan_number(const unsigned char *b, size_t len, size_t *ip)
{
    size_t i = *ip;

    if (b[i] == '-') {
        if (++i == len) {
            return RL_JIN_SCAN_EOF;
        }
        if (!rl_jin_is_digit(b[i])) {
            *ip = i;
            return RL_JIN_SCAN_SYNTAX;
        }
    }
    if (b[i] == '0') {
        i++;
    } else {
        while (i < len && rl_jin_is_digit(b[i])) {
            i++;
        }
    }
    if (i < len && b[i] == '.') {
        i++;
        enum rl_jin_scan r = scan_digits(b, len, &i);
        if (r != RL_JIN_SCAN_OK) {
            *ip = r == RL_JIN_SCAN_SYNTAX ? i : *ip;
            return r;
        }
    }
    if (i < len && (b[i] == 'e' || b[i] == 'E')) {
        i++;
        if (i < len && (b[i] == '+' || b[i] == '-')) {
            i++;
        }
        enum rl_jin_scan r = scan_digits(b, len, &i);
        if (r != RL_JIN_SCAN_OK) {
            *ip = r == RL_JIN_SCAN_SYNTAX ? i : *ip;
            return r;
        }
    }
    *ip = i;
    return RL_JIN_SCAN_OK;
}

/* true, false or null, checked byte by byte; *ip is at the first letter,
 * which already matched word[0]. */
static enum rl_jin_scan
scan_literal(const unsigned char *b, size_t len, size_t *ip, const char *word)
{
    size_t i = *ip;

    for (size_t k = 1; word[k] != '\0'; k++) {
        if (i + k == len) {
            return RL_JIN_SCAN_EOF;
        }
        if (b[i + k] != (unsigned char)word[k]) {
            *ip = i + k;
            return RL_JIN_SCAN_SYNTAX;
        }
    }
    *ip = i + strlen(word);
    return RL_JIN_SCAN_OK;
}

/* An object key and the ':' after it; *ip is at the first byte after the
 * whitespace that follows '{' or ','. */
static enum rl_jin_scan
scan_key(const unsigned char *b, size_t len, size_t *ip)
{
    if (b[*ip] != '"') {
        return RL_JIN_SCAN_SYNTAX;
    }
    enum rl_jin_scan e = scan_string(b, len, ip);
    if (e != RL_JIN_SCAN_OK) {
        return e;
    }
    size_t i = rl_jin_skip_ws(b, len, *ip);
    if (i == len) {
        return RL_JIN_SCAN_EOF;
    }
    *ip = i;
    if (b[i] != ':') {
        return RL_JIN_SCAN_SYNTAX;
    }
    *ip = i + 1;
    return RL_JIN_SCAN_OK;
}

/* A single scalar value at *ip (not whitespace, not a bracket). */
static enum rl_jin_scan
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
        if (b[*ip] == '-' || rl_jin_is_digit(b[*ip])) {
            return scan_number(b, len, ip);
        }
        return RL_JIN_SCAN_SYNTAX;
    }
}

/*
 * Finds the first JSON value of b[0..len). On RL_JIN_SCAN_OK, *start is the
 * offset of its first byte and *pos the offset just past its last. On an error
 * with a position, *pos is the 0-based offset of the byte to blame.
 */
enum rl_jin_scan
rl_jin_scan_first_value(const unsigned char *b, size_t len, size_t *start,
                        size_t *pos)
{
    unsigned char stack[RL_JIN_MAX_DEPTH]; /* '{' or '[' per open level */
    size_t depth = 0;
    size_t i = rl_jin_skip_ws(b, len, 0);
    bool want_value = true;
    enum rl_jin_scan e;

    if (i == len) {
        return RL_JIN_SCAN_EMPTY;
    }
    *start = i;
    for (;;) {
        if (want_value) {
            i = rl_jin_skip_ws(b, len, i);
            if (i == len) {
                return RL_JIN_SCAN_EOF;
            }
            unsigned char c = b[i];
            if (c == '{' || c == '[') {
                if (depth == RL_JIN_MAX_DEPTH) {
                    *pos = i;
                    return RL_JIN_SCAN_SYNTAX;
                }
                stack[depth++] = c;
                i = rl_jin_skip_ws(b, len, i + 1);
                if (i == len) {
                    return RL_JIN_SCAN_EOF;
                }
                if (b[i] == c + 2) { /* "{}" or "[]": '}' == '{' + 2 */
                    depth--;
                    i++;
                    want_value = false;
                } else if (c == '{') {
                    e = scan_key(b, len, &i);
                    if (e != RL_JIN_SCAN_OK) {
                        *pos = i;
                        return e;
                    }
                }
                continue;
            }
            e = scan_scalar(b, len, &i);
            if (e != RL_JIN_SCAN_OK) {
                *pos = i;
                return e;
            }
            want_value = false;
        }
        if (depth == 0) {
            *pos = i;
            return RL_JIN_SCAN_OK;
        }
        i = rl_jin_skip_ws(b, len, i);
        if (i == len) {
            return RL_JIN_SCAN_EOF;
        }
        unsigned char open = stack[depth - 1];
        if (b[i] == ',') {
            i++;
            if (open == '{') {
                i = rl_jin_skip_ws(b, len, i);
                if (i == len) {
                    return RL_JIN_SCAN_EOF;
                }
                e = scan_key(b, len, &i);
                if (e != RL_JIN_SCAN_OK) {
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
            return RL_JIN_SCAN_SYNTAX;
        }
    }
}

/* Offset just past the validated value starting at i (not whitespace). Adds
 * to *items the number of values and object keys in it, itself included:
 * what building it would make jansson allocate, node by node. */
size_t
rl_jin_skip_value(const unsigned char *b, size_t len, size_t i, size_t *items)
{
    size_t depth = 0, n = 0;

    do {
        switch (b[i]) {
        case '"':
            i = rl_jin_string_end(b, i);
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
            i = rl_jin_number_end(b, len, i);
            n++;
            break;
        }
    } while (depth > 0);
    *items += n;
    return i;
}
