/* utf8.c — see utf8.h. No state. */
#include "internal/base/utf8.h"

size_t
rl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t more;
    uint32_t v;

    if (c < 0x80) {
        if (cp != NULL) {
            *cp = c;
        }
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        more = 1;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        more = 2;
        v = c & 0x0Fu;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlongs */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        more = 3;
        v = c & 0x07u;
        lo = c == 0xF0 ? 0x90 : 0x80; /* no overlongs */
        hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing past U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0, C1 or F5..FF */
    }
    for (size_t k = 1; k <= more; k++) {
        if (k == n) {
            return RL_UTF8_SHORT;
        }
        if (s[k] < lo || s[k] > hi) {
            return 0;
        }
        v = (v << 6) | (s[k] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    if (cp != NULL) {
        *cp = v;
    }
    return more + 1;
}

size_t
rl_utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len = rl_utf8_decode(s, n, NULL);
    return len == RL_UTF8_SHORT ? 0 : len;
}
