/*
 * users.h — the user model: validation rules (CONTRACT §4.2), queries, and
 * the multi-statement workflows of registration, activation and password
 * reset, each one transaction (rows and the mail job commit together or not
 * at all; the mail goes through the outbox, outbox.h). Knows nothing of HTTP.
 *
 * Strings of a struct rl_user filled by these functions live in the arena
 * the caller passes. Every function taking a struct rl_db is thread-safe
 * (the pool is); the validators are pure.
 */
#ifndef REDLIGHT_INTERNAL_DATA_USERS_H
#define REDLIGHT_INTERNAL_DATA_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/arena/arena.h"
#include "internal/base/err.h"
#include "internal/data/pool.h"
#include "internal/data/tokens.h"
#include "internal/validator/validator.h"

#define RL_USER_NAME_MAX 500  /* bytes */
#define RL_USER_EMAIL_MAX 254 /* bytes: RFC 5321 path limit, index-safe */

struct rl_user {
    int64_t id;
    char created_at[32]; /* RFC 3339 UTC, e.g. 2026-11-26T05:33:09Z */
    const char *name;
    const char *email;
    const char *password_hash; /* libsodium string; never sent to clients */
    bool activated;
    int32_t version;
};

/* True when the len bytes at s are an address the WHATWG "valid e-mail
 * address" pattern accepts (Greenlight's EmailRX) and at most
 * RL_USER_EMAIL_MAX bytes long. Pure. */
bool rl_email_valid(const char *s, size_t len);

/* The contract's rules, first failure per field, under the keys "name",
 * "email", "password", "token". A NULL string counts as empty. Strings
 * come from the JSON reader, so they hold no NUL bytes. */
void rl_user_validate_name(struct rl_validator *v, const char *name);
void rl_user_validate_email(struct rl_validator *v, const char *email);
void rl_user_validate_password(struct rl_validator *v, const char *password);
void rl_user_validate_token(struct rl_validator *v, const char *token);

/* Registration, one transaction: inserts u (name, email, password_hash;
 * activated = false), grants movies:read, creates an activation token and
 * enqueues the "user_welcome" mail carrying it. On RL_OK sets u->id,
 * created_at, version and activated, and *activation (the plaintext is
 * what the mail carries). RL_ERR_DUPLICATE_EMAIL when the address is
 * taken (case-insensitively); nothing is stored then. Scratch comes from
 * arena. */
enum rl_err rl_user_register(struct rl_db *db, struct rl_arena *arena,
                             struct rl_user *u,
                             struct rl_token *activation) RL_MUST_CHECK;

/* Loads the user with this e-mail (case-insensitive). RL_ERR_NOT_FOUND if
 * none. */
enum rl_err rl_user_get_by_email(struct rl_db *db, const char *email,
                                 struct rl_arena *arena,
                                 struct rl_user *u) RL_MUST_CHECK;

/* Loads the user owning the unexpired token whose plaintext is the len
 * bytes at token, in scope. RL_ERR_NOT_FOUND if there is none (unknown,
 * expired, or another scope's). */
enum rl_err rl_user_get_for_token(struct rl_db *db, const char *scope,
                                  const char *token, size_t len,
                                  struct rl_arena *arena,
                                  struct rl_user *u) RL_MUST_CHECK;

/* Writes name, email, password_hash and activated if the stored version
 * still equals u->version, then sets u->version to the new one.
 * RL_ERR_EDIT_CONFLICT if the row changed or vanished meanwhile;
 * RL_ERR_DUPLICATE_EMAIL if the new address is taken. (Login uses it to
 * store an upgraded hash.) */
enum rl_err rl_user_update(struct rl_db *db, struct rl_user *u) RL_MUST_CHECK;

/* Activation, one transaction: sets activated (version-checked like
 * rl_user_update) and deletes every activation token of the user. */
enum rl_err rl_user_activate(struct rl_db *db, struct rl_user *u) RL_MUST_CHECK;

/* Password reset, one transaction: stores new_hash (version-checked),
 * deletes every password-reset and every authentication token of the user
 * (CONTRACT §12 #6) and ends the user's JWTs: sessions_valid_after = now()
 * (CONTRACT §13.2, auth.h). u->password_hash points to new_hash
 * afterwards. */
enum rl_err rl_user_reset_password(struct rl_db *db, struct rl_user *u,
                                   const char *new_hash) RL_MUST_CHECK;

/* One transaction: a new activation token for u and the
 * "token_activation" mail carrying it. */
enum rl_err rl_user_send_activation(struct rl_db *db,
                                    const struct rl_user *u) RL_MUST_CHECK;

/* One transaction: a new password-reset token for u and the
 * "password_reset" mail carrying it. */
enum rl_err rl_user_send_password_reset(struct rl_db *db,
                                        const struct rl_user *u) RL_MUST_CHECK;

/* An operator's user, without mail or token (`api users create`), one
 * transaction: inserts u (name, email, password_hash, activated) and grants
 * the n permissions named by codes (unknown codes are ignored). On RL_OK
 * sets u->id, created_at and version. RL_ERR_DUPLICATE_EMAIL when the
 * address is taken; nothing is stored then. Scratch comes from arena. */
enum rl_err rl_user_create(struct rl_db *db, struct rl_arena *arena,
                           struct rl_user *u, const char *const *codes,
                           size_t n) RL_MUST_CHECK;

/* One line of `api users list`. */
struct rl_user_summary {
    const char *email;
    bool activated;
    const char *permissions; /* codes, sorted, comma-separated; "" if none */
};

/* Every user, by e-mail (case-insensitively) then id, into *out (an array
 * of *n in arena; NULL when there are none). */
enum rl_err rl_user_list(struct rl_db *db, struct rl_arena *arena,
                         struct rl_user_summary **out, size_t *n) RL_MUST_CHECK;

/* Grants the permissions named by codes (unknown codes are ignored, ones
 * already held are kept) to user_id on c; the array literal is built in
 * arena. */
enum rl_err rl_permission_grant_on(struct rl_conn *c, struct rl_arena *arena,
                                   int64_t user_id, const char *const *codes,
                                   size_t n) RL_MUST_CHECK;

#endif
