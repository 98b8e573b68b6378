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

struct rl_jwt_key {
    const unsigned char *secret;
    size_t len;           /* >= RL_JWT_MIN_KEY */
    const char *issuer;   /* "iss" */
    const char *audience; /* "aud" */
};

/* Writes a signed token for user `sub` with iat = nbf = now and exp = now +
 * ttl (seconds) into out (cap bytes, NUL-terminated). RL_ERR_INVALID when
 * it does not fit or the key is too short. */
enum rl_err rl_jwt_sign(const struct rl_jwt_key *key, int64_t sub, int64_t now,
                        int64_t ttl, char *out, size_t cap) RL_MUST_CHECK;

enum rl_jwt_result {
    RL_JWT_OK = 0,
    RL_JWT_MALFORMED,  /* not three base64url parts of JSON objects */
    RL_JWT_BAD_ALG,    /* alg is not exactly "HS256" */
    RL_JWT_BAD_SIG,    /* signature does not match (constant-time check) */
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

/* Verifies token (len bytes): structure, algorithm, signature, then the
 * claims iss, aud (a string, or an array containing it), sub (a decimal
 * user id >= 1), exp, nbf and iat with `skew` seconds of allowance (a time
 * claim with a fraction counts as its whole second, floor). On RL_JWT_OK
 * fills *out. */
enum rl_jwt_result rl_jwt_verify(const struct rl_jwt_key *key,
                                 const char *token, size_t len, int64_t now,
                                 int64_t skew, struct rl_jwt_claims *out);

/* True when s (len bytes) has the shape of a JWT (two dots), as opposed to
 * a 26-character stateful token. Pure. */
int rl_jwt_looks_like(const char *s, size_t len);

#endif
