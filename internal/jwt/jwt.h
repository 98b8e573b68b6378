/*
 * jwt.h — HS256 JSON Web Tokens (RFC 7519) signed with libsodium's
 * HMAC-SHA-256. Only HS256 is produced or accepted; "none" and every other
 * algorithm are refused. Pure functions of their arguments: thread-safe.
 */
#ifndef REDLIGHT_INTERNAL_JWT_JWT_H
#define REDLIGHT_INTERNAL_JWT_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "internal/base/err.h"

/* Shortest accepted signing key, in bytes. */
#define RL_JWT_MIN_KEY 32
/* Longest token accepted by rl_jwt_verify (and produced). */
#define RL_JWT_MAX_LEN 2048
/* Most keys one configuration may list. */
#define RL_JWT_MAX_KEYS 8
/* A key's id (the "kid" header): 8 bytes of a BLAKE2b hash of the key
 * under a fixed context, in lower-case hex. It names the key without
 * revealing it (the key is >= 32 bytes). */
#define RL_JWT_KID_LEN 16

struct rl_jwt_secret {
    const unsigned char *bytes; /* not NUL-terminated; borrowed */
    size_t len;                 /* >= RL_JWT_MIN_KEY */
    char kid[RL_JWT_KID_LEN + 1];
};

/* Key rotation: keys[0] signs, every key verifies. A token whose header
 * names a kid is checked against that key only (an unknown kid is a bad
 * signature); one without a kid (issued before kids existed) against
 * every key. n == 0: JWTs are off. */
struct rl_jwt_keys {
    struct rl_jwt_secret keys[RL_JWT_MAX_KEYS];
    size_t n;
    const char *issuer;   /* "iss" */
    const char *audience; /* "aud" */
};

/* Fills *out from list, the -jwt-secret value: keys separated by commas
 * or spaces (internal/base/list.h); the keys point into list, which must
 * outlive *out. An empty list gives n == 0. RL_ERR_INVALID when a key is
 * shorter than RL_JWT_MIN_KEY, RL_ERR_TOO_LARGE when there are more than
 * RL_JWT_MAX_KEYS (*out is then unusable). Never logs anything. */
enum rl_err rl_jwt_keys_parse(const char *list, const char *issuer,
                              const char *audience,
                              struct rl_jwt_keys *out) RL_MUST_CHECK;

/* The kid of the len bytes of key into out (RL_JWT_KID_LEN + 1 bytes,
 * NUL-terminated). */
void rl_jwt_kid(const unsigned char *key, size_t len,
                char out[RL_JWT_KID_LEN + 1]);

/* Writes a token for user `sub` signed with keys->keys[0], its kid in the
 * header, with iat = nbf = now and exp = now + ttl (seconds) into out (cap
 * bytes, NUL-terminated). RL_ERR_INVALID when it does not fit or there is
 * no key (or it is too short). */
enum rl_err rl_jwt_sign(const struct rl_jwt_keys *keys, int64_t sub,
                        int64_t now, int64_t ttl, char *out,
                        size_t cap) RL_MUST_CHECK;

enum rl_jwt_result {
    RL_JWT_OK = 0,
    RL_JWT_MALFORMED,  /* not three base64url parts of JSON objects, or a
                          kid that is not a string */
    RL_JWT_BAD_ALG,    /* alg is not exactly "HS256" */
    RL_JWT_BAD_SIG,    /* signature does not match (constant-time check),
                          or the kid names no key */
    RL_JWT_BAD_CLAIMS, /* iss / aud / sub missing or wrong */
    RL_JWT_EXPIRED,    /* exp <= now - skew */
    RL_JWT_NOT_YET,    /* nbf or iat > now + skew */
};

/* What a verified token says. */
struct rl_jwt_claims {
    int64_t sub; /* the user id */
    int64_t iat; /* issued at, epoch seconds; RL_JWT_NO_IAT when absent */
};

/* The iat of a token without one: earlier than any real time, so such a
 * token counts as issued before any password reset. */
#define RL_JWT_NO_IAT INT64_MIN

/* Verifies token (len bytes): structure, algorithm (and kid: a string,
 * or absent), the signature by the key the kid names or, without a kid,
 * by any key (each compared in constant time, all of them tried), then the
 * claims iss, aud (a string, or an array containing it), sub (a decimal
 * user id >= 1), exp, nbf and iat with `skew` seconds of allowance (a time
 * claim with a fraction counts as its whole second, floor). On RL_JWT_OK
 * fills *out. */
enum rl_jwt_result rl_jwt_verify(const struct rl_jwt_keys *keys,
                                 const char *token, size_t len, int64_t now,
                                 int64_t skew, struct rl_jwt_claims *out);

/* True when s (len bytes) has the shape of a JWT (two dots), as opposed to
 * a 26-character stateful token. Pure. */
int rl_jwt_looks_like(const char *s, size_t len);

#endif
