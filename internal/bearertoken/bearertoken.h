/*
 * bearertoken.h — opaque bearer tokens (CONTRACT §4.4): 16 random bytes from
 * libsodium, base32-encoded (RFC 4648 alphabet A–Z2–7, no padding) into
 * exactly 26 characters for the user; only the SHA-256 of that text is
 * ever stored. Scopes and lifetimes are here too, so every caller agrees.
 *
 * Pure functions over caller buffers, thread-safe; sodium_init() must have
 * succeeded before rl_token_new runs (main.c does it first thing).
 */
#ifndef REDLIGHT_INTERNAL_BEARERTOKEN_BEARERTOKEN_H
#define REDLIGHT_INTERNAL_BEARERTOKEN_BEARERTOKEN_H

#include <stddef.h>
#include <stdint.h>

#define RL_TOKEN_RANDOM_BYTES 16
#define RL_TOKEN_LEN 26 /* base32 characters of 16 bytes, no padding */
#define RL_TOKEN_HASH_BYTES 32

/* Scope names as stored in tokens.scope (CONTRACT §11: operators use them). */
#define RL_SCOPE_ACTIVATION "activation"
#define RL_SCOPE_AUTHENTICATION "authentication"
#define RL_SCOPE_PASSWORD_RESET "password-reset"

/* Lifetimes, in seconds. */
#define RL_TTL_ACTIVATION (3 * 24 * 60 * 60)
#define RL_TTL_AUTHENTICATION (24 * 60 * 60)
#define RL_TTL_PASSWORD_RESET (45 * 60)

/* Fills plaintext with a fresh token (26 characters and a NUL) and hash
 * with its SHA-256. Cannot fail (libsodium aborts if the kernel has no
 * randomness for it). */
void rl_token_new(char plaintext[RL_TOKEN_LEN + 1],
                  unsigned char hash[RL_TOKEN_HASH_BYTES]);

/* hash = SHA-256 of the len bytes at plaintext: how a token a client sends
 * is looked up. */
void rl_token_hash(const char *plaintext, size_t len,
                   unsigned char hash[RL_TOKEN_HASH_BYTES]);

/* The number of characters rl_base32_encode writes for n bytes, without
 * padding or NUL: ceil(8n / 5). */
size_t rl_base32_len(size_t n);

/* Encodes n bytes of in as RFC 4648 base32 without '=' padding into out,
 * which must hold rl_base32_len(n) + 1 bytes (NUL-terminated). Returns the
 * number of characters written. Exposed for the unit tests. */
size_t rl_base32_encode(const unsigned char *in, size_t n, char *out);

/* Writes the PostgreSQL bytea hex literal of a token hash ("\\x" and 64
 * lower-case hex digits, NUL-terminated) into out, which must hold
 * RL_TOKEN_HASH_SQL_LEN + 1 bytes: the text form of a bytea parameter. */
#define RL_TOKEN_HASH_SQL_LEN (2 + 2 * RL_TOKEN_HASH_BYTES)
void rl_token_hash_sql(const unsigned char hash[RL_TOKEN_HASH_BYTES],
                       char out[RL_TOKEN_HASH_SQL_LEN + 1]);

#endif
