/*
 * auth.h — who is making a request: the user behind an authentication
 * token (or a JWT's subject) with their permissions, loaded in ONE query;
 * logout; and the operator's grant/revoke. Knows nothing of HTTP.
 * Thread-safe (the pool is).
 */
#ifndef REDLIGHT_INTERNAL_DATA_AUTH_H
#define REDLIGHT_INTERNAL_DATA_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/arena/arena.h"
#include "internal/base/err.h"
#include "internal/bearertoken/bearertoken.h"
#include "internal/data/pool.h"

/* Permission bits; codes as stored in permissions.code (CONTRACT §11). */
#define RL_PERM_MOVIES_READ 1u
#define RL_PERM_MOVIES_WRITE 2u

struct rl_auth_user {
    int64_t id;
    bool activated;
    unsigned perms; /* RL_PERM_* bits */
    /* Sessions (JWTs) issued before this second are over: the whole epoch
     * second of the user's last password reset, INT64_MIN when there was
     * none. See rl_auth_session_current. */
    int64_t sessions_since;
    /* rl_auth_by_token: the token's expiry, epoch seconds (it is valid
     * while the clock is before it); rl_auth_by_id: INT64_MAX. */
    int64_t token_expiry;
};

/* The bit of a permission code, or 0 for a code this build does not know.
 * Pure. */
unsigned rl_perm_bit(const char *code);

/* True when a session (JWT) issued at `iat` (epoch seconds; INT64_MIN
 * when the token did not say) is still valid for u: issued no earlier than
 * the second of u's last password reset (CONTRACT §13.2).
 *
 * iat has whole seconds only, so the reset counts from the start of its
 * second: a JWT issued by a login right after the reset, in the same
 * second, works. The price is a window of under one second: a JWT issued
 * in the same second but before the reset also survives it. Pure. */
bool rl_auth_session_current(const struct rl_auth_user *u, int64_t iat);

/* Loads the user owning the unexpired authentication-scope token whose
 * plaintext is the len bytes at token, with permissions. RL_ERR_NOT_FOUND
 * when there is none (unknown, expired, other scope, deleted user). The
 * permission codes are decoded in arena (the request's). */
enum rl_err rl_auth_by_token(struct rl_db *db, const char *token, size_t len,
                             struct rl_arena *arena,
                             struct rl_auth_user *out) RL_MUST_CHECK;

/* rl_auth_by_token for the token whose SHA-256 is hash
 * (rl_token_hash), for a caller that needs the hash itself. */
enum rl_err rl_auth_by_token_hash(struct rl_db *db,
                                  const unsigned char hash[RL_TOKEN_HASH_BYTES],
                                  struct rl_arena *arena,
                                  struct rl_auth_user *out) RL_MUST_CHECK;

/* Loads user id (a verified JWT's subject) with permissions and
 * sessions_since. RL_ERR_NOT_FOUND when the user no longer exists.
 * Codes decoded in arena, as rl_auth_by_token. */
enum rl_err rl_auth_by_id(struct rl_db *db, int64_t id, struct rl_arena *arena,
                          struct rl_auth_user *out) RL_MUST_CHECK;

/* Deletes the authentication token whose plaintext is token (logout).
 * Deleting none is RL_OK. */
enum rl_err rl_auth_revoke(struct rl_db *db, const char *token,
                           size_t len) RL_MUST_CHECK;

/* Grants (grant = true) or revokes permission `code` for the user with
 * this e-mail; *changed tells whether a row was added or removed (false:
 * the user already had it, or did not). RL_ERR_NOT_FOUND: no such user;
 * RL_ERR_INVALID: no such permission code. Idempotent. */
enum rl_err rl_permission_set(struct rl_db *db, const char *email,
                              const char *code, bool grant,
                              bool *changed) RL_MUST_CHECK;

#endif
