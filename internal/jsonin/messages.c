/*
 * messages.c — the Go-compatible error messages of the JSON reader, byte for
 * byte what Greenlight's readJSON answers: pass 1's verdicts, and keys
 * quoted as Go's %q does (strconv.Quote's escapes and its idea of
 * printable). Owns nothing: everything is written into the caller's
 * rl_jin_result.message.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal/base/hex.h"
#include "internal/base/utf8.h"
#include "internal/jsonin/jsonin_int.h"

/* Output budget for a quoted key inside message[320]: the longest prefix is
 * 44 bytes, then 2 quotes, up to QUOTE_BODY_MAX escaped bytes, "..." and a
 * NUL. */
#define QUOTE_BODY_MAX 256
#define QUOTE_BUF (QUOTE_BODY_MAX + 8)

void
rl_jin_set_message(struct rl_jin_result *out, const char *fmt, ...)
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

void
rl_jin_set_key_message(struct rl_jin_result *out, const char *what,
                       const char *key, size_t n)
{
    char q[QUOTE_BUF];
    quote_key(q, key, n);
    rl_jin_set_message(out, "body contains %s %s", what, q);
}

/* Pass 1's verdict as the message Greenlight's readJSON would give. */
void
rl_jin_report_scan_error(enum rl_jin_scan e, size_t pos, bool truncated,
                         struct rl_jin_result *out)
{
    switch (e) {
    case RL_JIN_SCAN_EMPTY:
        rl_jin_set_message(out, "%s",
                           truncated ? RL_JIN_MSG_TOO_LARGE : RL_JIN_MSG_EMPTY);
        break;
    case RL_JIN_SCAN_EOF:
        rl_jin_set_message(out, "%s",
                           truncated ? RL_JIN_MSG_TOO_LARGE
                                     : RL_JIN_MSG_BADLY_FORMED);
        break;
    case RL_JIN_SCAN_SYNTAX:
        rl_jin_set_message(out, "%s (at character %zu)",
                           RL_JIN_MSG_BADLY_FORMED, pos + 1);
        break;
    case RL_JIN_SCAN_UTF8:
        rl_jin_set_message(
            out, "body contains invalid UTF-8 (at character %zu)", pos + 1);
        break;
    case RL_JIN_SCAN_NUL:
        rl_jin_set_message(
            out, "body contains a NUL character (at character %zu)", pos + 1);
        break;
    case RL_JIN_SCAN_OK:
        break;
    }
}
