/*
 * percent.c — percent-decoding (percent.h). No state.
 */
#include "internal/base/percent.h"

#include "internal/base/hex.h"

size_t
rl_percent_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = i + 2 < len ? rl_hex_value(s[i + 1]) : -1;
        int lo = i + 2 < len ? rl_hex_value(s[i + 2]) : -1;
        if (s[i] == '%' && hi >= 0 && lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}
