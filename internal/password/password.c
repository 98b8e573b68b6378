/*
 * password.c — Argon2id hashing (libsodium) behind a counting semaphore.
 *
 * Shared state, created once by pthread_once and never freed (it lives as
 * long as the process): `slots`, the semaphore that caps concurrent
 * hashes, and `dummy`, a hash of random bytes for constant-time misses.
 * Both are read-only after set-up except through sem_wait/sem_post.
 */
#include "internal/password/password.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sem_t slots;
static int nslots;
static char dummy[RL_PASSWORD_HASH_MAX];
static bool dummy_ok;

static void
slot_acquire(void)
{
    while (sem_wait(&slots) != 0 && errno == EINTR) {
    }
}

static void
slot_release(void)
{
    sem_post(&slots);
}

static enum rl_err
hash_now(const char *password, size_t len, unsigned long long opslimit,
         size_t memlimit, char out[RL_PASSWORD_HASH_MAX])
{
    _Static_assert(crypto_pwhash_STRBYTES <= RL_PASSWORD_HASH_MAX,
                   "RL_PASSWORD_HASH_MAX too small");
    if (opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
        opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
        memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
        memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX ||
        len > crypto_pwhash_argon2id_PASSWD_MAX) {
        return RL_ERR_INVALID;
    }
    slot_acquire();
    int rc = crypto_pwhash_str_alg(out, password, len, opslimit, memlimit,
                                   crypto_pwhash_ALG_ARGON2ID13);
    slot_release();
    return rc == 0 ? RL_OK : RL_ERR_NOMEM;
}

static void
setup(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    nslots = cpus < 2 ? 2 : cpus > 256 ? 256 : (int)cpus;
    if (sem_init(&slots, 0, (unsigned)nslots) != 0) {
        /* Only EINVAL (value too large) is possible, and 256 is not. */
        nslots = 0;
        return;
    }
    unsigned char random_pw[32];
    randombytes_buf(random_pw, sizeof(random_pw));
    dummy_ok =
        hash_now((const char *)random_pw, sizeof(random_pw),
                 RL_PASSWORD_OPSLIMIT, RL_PASSWORD_MEMLIMIT, dummy) == RL_OK;
    sodium_memzero(random_pw, sizeof(random_pw));
}

enum rl_err
rl_password_init(void)
{
    pthread_once(&once, setup);
    return nslots > 0 && dummy_ok ? RL_OK : RL_ERR_NOMEM;
}

int
rl_password_max_concurrent(void)
{
    pthread_once(&once, setup);
    return nslots;
}

enum rl_err
rl_password_hash_params(const char *password, size_t len,
                        unsigned long long opslimit, size_t memlimit,
                        char out[RL_PASSWORD_HASH_MAX])
{
    pthread_once(&once, setup);
    if (nslots == 0) {
        return RL_ERR_NOMEM;
    }
    return hash_now(password, len, opslimit, memlimit, out);
}

enum rl_err
rl_password_hash(const char *password, size_t len,
                 char out[RL_PASSWORD_HASH_MAX])
{
    return rl_password_hash_params(password, len, RL_PASSWORD_OPSLIMIT,
                                   RL_PASSWORD_MEMLIMIT, out);
}

/* libsodium reads a hash as a NUL-terminated string in a buffer of
 * crypto_pwhash_STRBYTES; anything longer cannot be one of ours. */
static bool
plausible(const char *hash)
{
    return hash != NULL &&
           strnlen(hash, crypto_pwhash_STRBYTES) < crypto_pwhash_STRBYTES &&
           strncmp(hash, crypto_pwhash_argon2id_STRPREFIX,
                   strlen(crypto_pwhash_argon2id_STRPREFIX)) == 0;
}

bool
rl_password_verify(const char *hash, const char *password, size_t len)
{
    pthread_once(&once, setup);
    if (!plausible(hash) || nslots == 0) {
        return false;
    }
    slot_acquire();
    int rc = crypto_pwhash_str_verify(hash, password, len);
    slot_release();
    return rc == 0;
}

bool
rl_password_verify_dummy(const char *password, size_t len)
{
    pthread_once(&once, setup);
    if (dummy_ok) {
        (void)rl_password_verify(dummy, password, len);
    }
    return false;
}

bool
rl_password_needs_rehash(const char *hash)
{
    if (!plausible(hash)) {
        return true;
    }
    return crypto_pwhash_str_needs_rehash(hash, RL_PASSWORD_OPSLIMIT,
                                          RL_PASSWORD_MEMLIMIT) != 0;
}
