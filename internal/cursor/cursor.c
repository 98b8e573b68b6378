/*
 * cursor.c — seal and open pagination cursors (cursor.h).
 */
#include "internal/cursor/cursor.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#define TAGBYTES crypto_auth_hmacsha512256_BYTES
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

void
rl_cursor_key_derive(struct rl_cursor_key *key, const char *context,
                     const void *secret, size_t len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(key->k));
    crypto_generichash_update(&st, (const unsigned char *)context,
                              strlen(context) + 1);
    crypto_generichash_update(&st, secret, len);
    crypto_generichash_final(&st, key->k, sizeof(key->k));
    sodium_memzero(&st, sizeof(st));
}

void
rl_cursor_key_random(struct rl_cursor_key *key)
{
    randombytes_buf(key->k, sizeof(key->k));
}

static void
tag_of(const struct rl_cursor_key *key, const void *bind, size_t blen,
       const unsigned char *payload, size_t plen, unsigned char tag[TAGBYTES])
{
    unsigned char lenbuf[8];
    uint64_t b = blen;
    for (int i = 7; i >= 0; i--) {
        lenbuf[i] = (unsigned char)(b & 0xff);
        b >>= 8;
    }
    crypto_auth_hmacsha512256_state st;
    crypto_auth_hmacsha512256_init(&st, key->k, sizeof(key->k));
    crypto_auth_hmacsha512256_update(&st, lenbuf, sizeof(lenbuf));
    crypto_auth_hmacsha512256_update(&st, bind, blen);
    crypto_auth_hmacsha512256_update(&st, payload, plen);
    crypto_auth_hmacsha512256_final(&st, tag);
    sodium_memzero(&st, sizeof(st));
}

char *
rl_cursor_seal(struct rl_arena *arena, const struct rl_cursor_key *key,
               const void *bind, size_t blen, const void *payload, size_t plen)
{
    unsigned char raw[RL_CURSOR_MAX_PAYLOAD + TAGBYTES];
    if (plen > RL_CURSOR_MAX_PAYLOAD) {
        return NULL;
    }
    memcpy(raw, payload, plen);
    tag_of(key, bind, blen, raw, plen, raw + plen);
    size_t cap = sodium_base64_ENCODED_LEN(plen + TAGBYTES, B64);
    char *out = rl_arena_alloc(arena, cap);
    if (out != NULL) {
        sodium_bin2base64(out, cap, raw, plen + TAGBYTES, B64);
    }
    return out;
}

bool
rl_cursor_open(const struct rl_cursor_key *key, const void *bind, size_t blen,
               const char *s, size_t len, unsigned char *out, size_t *plen)
{
    unsigned char raw[RL_CURSOR_MAX_PAYLOAD + TAGBYTES];
    unsigned char tag[TAGBYTES];
    size_t rawlen;
    /* Longer than any cursor sealed: refused before decoding. */
    if (len >= sodium_base64_ENCODED_LEN(sizeof(raw), B64)) {
        return false;
    }
    const char *end;
    if (sodium_base642bin(raw, sizeof(raw), s, len, NULL, &rawlen, &end, B64) !=
            0 ||
        end != s + len || rawlen < TAGBYTES) {
        return false;
    }
    size_t n = rawlen - TAGBYTES;
    tag_of(key, bind, blen, raw, n, tag);
    if (crypto_verify_32(tag, raw + n) != 0) {
        return false;
    }
    memcpy(out, raw, n);
    *plen = n;
    return true;
}
