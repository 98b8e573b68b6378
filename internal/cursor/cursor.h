/*
 * cursor.h — opaque, tamper-proof pagination cursors.
 *
 * A cursor is base64url (no padding) of payload || tag, where tag is
 * HMAC-SHA-512-256 (libsodium's crypto_auth) under the process's cursor key
 * of len(bind) || bind || payload. `bind` is what the cursor belongs to (a
 * list's normalised filters, sort and page size): a cursor presented with
 * another bind, a changed byte, or made under another key fails to open.
 * The payload is the caller's bytes; nothing here interprets it.
 *
 * Pure functions over caller memory; thread-safe; sodium_init() must have
 * run.
 */
#ifndef REDLIGHT_INTERNAL_CURSOR_CURSOR_H
#define REDLIGHT_INTERNAL_CURSOR_CURSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "internal/arena/arena.h"

#define RL_CURSOR_KEYBYTES 32
/* The shortest secret a key may be derived from (-cursor-secret). */
#define RL_CURSOR_MIN_SECRET 32
/* The largest payload a cursor carries. */
#define RL_CURSOR_MAX_PAYLOAD 1024

struct rl_cursor_key {
    unsigned char k[RL_CURSOR_KEYBYTES];
};

/* Derives a key from secret[0..len) for one purpose (`context`, a short
 * fixed string): BLAKE2b-256 of context, a NUL, and the secret. */
void rl_cursor_key_derive(struct rl_cursor_key *key, const char *context,
                          const void *secret, size_t len);

/* A random key (valid for this process only). */
void rl_cursor_key_random(struct rl_cursor_key *key);

/* The cursor of payload[0..plen) bound to bind[0..blen), NUL-terminated, in
 * arena. NULL when out of memory or plen > RL_CURSOR_MAX_PAYLOAD. */
char *rl_cursor_seal(struct rl_arena *arena, const struct rl_cursor_key *key,
                     const void *bind, size_t blen, const void *payload,
                     size_t plen);

/* Opens the cursor s[0..len) (any bytes: never read past len, nor as a C
 * string): true, with its payload copied to out[0..*plen), when it was
 * sealed with key and bind; false for anything else. out holds at least
 * RL_CURSOR_MAX_PAYLOAD bytes. */
bool rl_cursor_open(const struct rl_cursor_key *key, const void *bind,
                    size_t blen, const char *s, size_t len, unsigned char *out,
                    size_t *plen);

#endif
