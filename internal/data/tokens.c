/*
 * tokens.c (data) — token rows. Owns nothing beyond each call: results are
 * copied into the caller's struct before PQclear.
 */
#include "internal/data/tokens.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal/data/pg_int.h"

enum rl_err
rl_token_insert_on(struct rl_conn *c, int64_t user_id, const char *scope,
                   int64_t ttl_seconds, struct rl_token *out)
{
    memset(out, 0, sizeof(*out));
    rl_token_new(out->plaintext, out->hash);
    out->user_id = user_id;
    out->scope = scope;

    char hash[RL_TOKEN_HASH_SQL_LEN + 1], uid[24], ttl[24];
    rl_token_hash_sql(out->hash, hash);
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_seconds);
    const char *params[] = {hash, uid, ttl, scope};
    PGresult *r;
    enum rl_err e = rl_db_exec(c, RL_STMT_TOKEN_INSERT, params, NULL, &r);
    if (e != RL_OK) {
        return e;
    }
    if (PQntuples(r) != 1 ||
        (size_t)PQgetlength(r, 0, 0) >= sizeof(out->expiry)) {
        e = RL_ERR_DB;
    } else {
        memcpy(out->expiry, PQgetvalue(r, 0, 0),
               (size_t)PQgetlength(r, 0, 0) + 1);
    }
    PQclear(r);
    return e;
}

enum rl_err
rl_token_insert(struct rl_db *db, int64_t user_id, const char *scope,
                int64_t ttl_seconds, struct rl_token *out)
{
    struct rl_conn *c;
    enum rl_err e = rl_db_acquire(db, &c);
    if (e != RL_OK) {
        return e;
    }
    e = rl_token_insert_on(c, user_id, scope, ttl_seconds, out);
    rl_db_release(db, c);
    return e;
}

enum rl_err
rl_token_delete_all_on(struct rl_conn *c, int64_t user_id, const char *scope)
{
    char uid[24];
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    const char *params[] = {uid, scope};
    PGresult *r;
    enum rl_err e = rl_db_exec(c, RL_STMT_TOKEN_DELETE_ALL, params, NULL, &r);
    if (e == RL_OK) {
        PQclear(r);
    }
    return e;
}
