/*
 * password.h — password hashing with libsodium's Argon2id.
 *
 * Hashes are libsodium's self-describing strings ("$argon2id$v=19$m=...,
 * t=...,p=1$salt$hash", under crypto_pwhash_STRBYTES bytes), so a change of
 * RL_PASSWORD_OPSLIMIT / RL_PASSWORD_MEMLIMIT leaves old hashes verifiable
 * and rl_password_needs_rehash tells the login to upgrade them.
 *
 * Cost: one hash (or verification) costs about what bcrypt cost 12 costs —
 * measured in the README. Each one holds RL_PASSWORD_MEMLIMIT bytes for its
 * duration, so at most rl_password_max_concurrent() run at once (more would
 * not finish sooner on this many CPUs, only take more memory); the others
 * wait their turn. That limit is this module's one piece of shared state,
 * set up once (pthread_once) and guarded by its own semaphore.
 *
 * Every function is thread-safe and needs sodium_init() to have succeeded.
 */
#ifndef REDLIGHT_INTERNAL_PASSWORD_PASSWORD_H
#define REDLIGHT_INTERNAL_PASSWORD_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "internal/base/err.h"

/* Argon2id parameters: 8 passes over 64 MiB, one lane. */
#define RL_PASSWORD_OPSLIMIT 8ULL
#define RL_PASSWORD_MEMLIMIT ((size_t)64 * 1024 * 1024)

/* Contract §4.2: passwords are 8..72 bytes (validated before hashing). */
#define RL_PASSWORD_MIN 8
#define RL_PASSWORD_MAX 72

/* Room for a hash string and its NUL. */
#define RL_PASSWORD_HASH_MAX 128

/* Prepares the module: the concurrency limit and the dummy hash used by
 * rl_password_verify_dummy. Costs one hash; call once at start-up so the
 * first login does not pay for it (later calls, and every function below,
 * run it on demand otherwise). Returns RL_ERR_NOMEM when the dummy hash
 * could not be made. */
enum rl_err rl_password_init(void) RL_MUST_CHECK;

/* Hashes the len bytes of password with the module's parameters into out
 * (NUL-terminated). Returns RL_OK, or RL_ERR_NOMEM when Argon2id could not
 * get its memory. */
enum rl_err rl_password_hash(const char *password, size_t len,
                             char out[RL_PASSWORD_HASH_MAX]) RL_MUST_CHECK;

/* rl_password_hash with explicit Argon2id parameters (tests, tuning).
 * RL_ERR_INVALID when they are outside libsodium's bounds. */
enum rl_err
rl_password_hash_params(const char *password, size_t len,
                        unsigned long long opslimit, size_t memlimit,
                        char out[RL_PASSWORD_HASH_MAX]) RL_MUST_CHECK;

/* True when password matches hash. A malformed hash (or one of another
 * algorithm) never matches. Takes as long as the hash's parameters say. */
bool rl_password_verify(const char *hash, const char *password, size_t len);

/* Runs a verification against a hash of a random password that nothing
 * can match, and returns false: the "no such e-mail" path of a login takes
 * as long as a real one (CONTRACT §12 #5). */
bool rl_password_verify_dummy(const char *password, size_t len);

/* True when hash was not made with the current parameters (or is not an
 * Argon2id string at all): the login that just verified it should store a
 * fresh rl_password_hash. */
bool rl_password_needs_rehash(const char *hash);

/* How many hashes/verifications may run at once: the number of online
 * CPUs, at least 2. */
int rl_password_max_concurrent(void);

#endif
