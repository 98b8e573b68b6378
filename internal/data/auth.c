/*
 * auth.c — the authenticated user and permissions. Rows are copied out
 * before PQclear; nothing is kept between calls.
 */
#include "internal/data/auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/arena/arena.h"
#include "internal/bearertoken/bearertoken.h"
#include "internal/data/movies.h"
#include "internal/data/pg_int.h"

unsigned
rl_perm_bit(const char *code)
{
    if (strcmp(code, "movies:read") == 0) {
        return RL_PERM_MOVIES_READ;
    }
    if (strcmp(code, "movies:write") == 0) {
        return RL_PERM_MOVIES_WRITE;
    }
    return 0;
}

bool
rl_auth_session_current(const struct rl_auth_user *u, int64_t iat)
{
    return iat >= u->sessions_since;
}

/* Runs a statement whose row is (id, activated, permission codes[],
 * sessions since: epoch seconds or NULL[, token expiry: epoch seconds]). */
static enum rl_err
load(struct rl_db *db, enum rl_stmt stmt, const char *param,
     struct rl_arena *arena, struct rl_auth_user *out)
{
    const char *params[] = {param};
    PGresult *r;
    enum rl_err e = rl_db_run(db, stmt, params, &r);
    if (e != RL_OK) {
        return e;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return RL_ERR_NOT_FOUND;
    }
    out->id = rl_pg_int(r, 0, 0);
    out->activated = PQgetvalue(r, 0, 1)[0] == 't';
    out->perms = 0;
    out->sessions_since = PQgetisnull(r, 0, 3) ? INT64_MIN : rl_pg_int(r, 0, 3);
    out->token_expiry = PQnfields(r) > 4 ? rl_pg_int(r, 0, 4) : INT64_MAX;
    const char **codes;
    size_t n;
    e = rl_pg_array_decode(arena, PQgetvalue(r, 0, 2), &codes, &n);
    if (e == RL_OK) {
        for (size_t i = 0; i < n; i++) {
            out->perms |= rl_perm_bit(codes[i]);
        }
    }
    PQclear(r);
    return e;
}

enum rl_err
rl_auth_by_token(struct rl_db *db, const char *token, size_t len,
                 struct rl_arena *arena, struct rl_auth_user *out)
{
    unsigned char hash[RL_TOKEN_HASH_BYTES];
    rl_token_hash(token, len, hash);
    return rl_auth_by_token_hash(db, hash, arena, out);
}

enum rl_err
rl_auth_by_token_hash(struct rl_db *db,
                      const unsigned char hash[RL_TOKEN_HASH_BYTES],
                      struct rl_arena *arena, struct rl_auth_user *out)
{
    char hex[RL_TOKEN_HASH_SQL_LEN + 1];
    rl_token_hash_sql(hash, hex);
    return load(db, RL_STMT_AUTH_BY_TOKEN, hex, arena, out);
}

enum rl_err
rl_auth_by_id(struct rl_db *db, int64_t id, struct rl_arena *arena,
              struct rl_auth_user *out)
{
    char idbuf[24];
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    return load(db, RL_STMT_AUTH_BY_ID, idbuf, arena, out);
}

/* Runs a statement that returns no rows the caller needs. */
static enum rl_err
run(struct rl_db *db, enum rl_stmt stmt, const char *const *params,
    char *tuples, size_t cap)
{
    PGresult *r;
    enum rl_err e = rl_db_run(db, stmt, params, &r);
    if (e == RL_OK) {
        if (tuples != NULL) {
            snprintf(tuples, cap, "%s",
                     PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
        }
        PQclear(r);
    }
    return e;
}

enum rl_err
rl_auth_revoke(struct rl_db *db, const char *token, size_t len)
{
    unsigned char hash[RL_TOKEN_HASH_BYTES];
    char hex[RL_TOKEN_HASH_SQL_LEN + 1];
    rl_token_hash(token, len, hash);
    rl_token_hash_sql(hash, hex);
    const char *params[] = {hex};
    return run(db, RL_STMT_AUTH_REVOKE, params, NULL, 0);
}

enum rl_err
rl_permission_set(struct rl_db *db, const char *email, const char *code,
                  bool grant, bool *changed)
{
    *changed = false;
    const char *params[] = {email, code};
    char found[8];
    /* "uc": u = the user exists, c = the code exists. */
    enum rl_err e =
        run(db, RL_STMT_PERMISSION_LOOKUP, params, found, sizeof(found));
    if (e != RL_OK) {
        return e;
    }
    if (strchr(found, 'u') == NULL) {
        return RL_ERR_NOT_FOUND;
    }
    if (strchr(found, 'c') == NULL) {
        return RL_ERR_INVALID;
    }
    PGresult *r;
    e = rl_db_run(db,
                  grant ? RL_STMT_PERMISSION_ADD : RL_STMT_PERMISSION_REMOVE,
                  params, &r);
    if (e == RL_OK) {
        *changed = strcmp(PQcmdTuples(r), "0") != 0;
        PQclear(r);
    }
    return e;
}
