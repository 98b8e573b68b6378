/*
 * bearertoken.c — token generation, hashing and base32. No state: every
 * function works on its arguments only.
 */
#include "internal/bearertoken/bearertoken.h"

#include <sodium.h>

#include "internal/base/hex.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t
rl_base32_len(size_t n)
{
    return (n * 8 + 4) / 5;
}

size_t
rl_base32_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    uint32_t acc = 0; /* at most 12 meaningful bits between steps */
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31u];
        }
        acc &= (1u << bits) - 1u;
    }
    if (bits > 0) {
        /* The last group is padded with zero bits on the right. */
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31u];
    }
    out[o] = '\0';
    return o;
}

void
rl_token_hash(const char *plaintext, size_t len,
              unsigned char hash[RL_TOKEN_HASH_BYTES])
{
    crypto_hash_sha256(hash, (const unsigned char *)plaintext, len);
}

void
rl_token_new(char plaintext[RL_TOKEN_LEN + 1],
             unsigned char hash[RL_TOKEN_HASH_BYTES])
{
    unsigned char raw[RL_TOKEN_RANDOM_BYTES];
    randombytes_buf(raw, sizeof(raw));
    size_t n = rl_base32_encode(raw, sizeof(raw), plaintext);
    sodium_memzero(raw, sizeof(raw));
    rl_token_hash(plaintext, n, hash);
}

void
rl_token_hash_sql(const unsigned char hash[RL_TOKEN_HASH_BYTES],
                  char out[RL_TOKEN_HASH_SQL_LEN + 1])
{
    out[0] = '\\';
    out[1] = 'x';
    rl_hex_encode(hash, RL_TOKEN_HASH_BYTES, out + 2);
    out[RL_TOKEN_HASH_SQL_LEN] = '\0';
}
