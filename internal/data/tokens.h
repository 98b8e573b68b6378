/*
 * tokens.h (data) — the tokens table: insert a fresh token for a user,
 * delete all of a user's tokens of one scope. Generation and hashing live
 * in internal/bearertoken; only the SHA-256 reaches the database.
 *
 * The *_on functions run on a connection the caller holds (usually inside
 * its transaction, see users.h); the others take one from the pool.
 * Thread-safe in the pool's sense.
 */
#ifndef REDLIGHT_INTERNAL_DATA_TOKENS_H
#define REDLIGHT_INTERNAL_DATA_TOKENS_H

#include <stdint.h>

#include "internal/base/err.h"
#include "internal/bearertoken/bearertoken.h"
#include "internal/data/pool.h"

struct rl_token {
    char plaintext[RL_TOKEN_LEN + 1]; /* for the user; never stored */
    unsigned char hash[RL_TOKEN_HASH_BYTES];
    int64_t user_id;
    const char *scope; /* one of RL_SCOPE_*, static */
    char expiry[32];   /* RFC 3339 UTC, e.g. 2026-11-26T05:33:09Z */
};

/* Makes a new token for user_id in scope, valid for ttl_seconds from the
 * database's now(), and stores its hash on c. Fills *out (expiry as the
 * database stored it, whole seconds). */
enum rl_err rl_token_insert_on(struct rl_conn *c, int64_t user_id,
                               const char *scope, int64_t ttl_seconds,
                               struct rl_token *out) RL_MUST_CHECK;

/* rl_token_insert_on on a pooled connection, committed at once (e.g. an
 * authentication token). */
enum rl_err rl_token_insert(struct rl_db *db, int64_t user_id,
                            const char *scope, int64_t ttl_seconds,
                            struct rl_token *out) RL_MUST_CHECK;

/* Deletes every token of user_id in scope on c. Deleting none is RL_OK. */
enum rl_err rl_token_delete_all_on(struct rl_conn *c, int64_t user_id,
                                   const char *scope) RL_MUST_CHECK;

#endif
