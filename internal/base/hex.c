/* hex.c — hex digits both ways (hex.h). No state. */
#include "internal/base/hex.h"

int
rl_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

char
rl_hex_digit(unsigned v)
{
    return "0123456789abcdef"[v & 0xFu];
}

char
rl_hex_digit_upper(unsigned v)
{
    return "0123456789ABCDEF"[v & 0xFu];
}

void
rl_hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = rl_hex_digit(in[i] >> 4);
        out[2 * i + 1] = rl_hex_digit(in[i]);
    }
}
