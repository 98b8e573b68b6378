/*
 * users.c — user rules, queries and workflows.
 *
 * Owns nothing that outlives a call: each workflow takes one pooled
 * connection, runs BEGIN … COMMIT on it through in_tx(), and releases it —
 * rl_db_release rolls back whatever did not commit, so every early return
 * leaves no trace. Rows are copied into the caller's arena before PQclear.
 */
#include "internal/data/users.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal/data/movies.h"
#include "internal/data/outbox.h"
#include "internal/data/pg_int.h"

/* ---- rules ------------------------------------------------------------- */

static bool
ascii_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

static bool
local_char(unsigned char ch)
{
    return ascii_alnum(ch) ||
           (ch != '\0' && strchr(".!#$%&'*+/=?^_`{|}~-", ch) != NULL);
}

/* One label of the domain: 1..63 letters, digits and hyphens, not starting
 * or ending with a hyphen. */
static bool
label_ok(const unsigned char *s, size_t len)
{
    if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!ascii_alnum(s[i]) && s[i] != '-') {
            return false;
        }
    }
    return true;
}

bool
rl_email_valid(const char *str, size_t len)
{
    /* WHATWG (and Greenlight's EmailRX):
     * ^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+
     *  @[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?
     *  (?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$
     * Dots in the local part may lead, trail or repeat. */
    const unsigned char *s = (const unsigned char *)str;
    if (s == NULL || len == 0 || len > RL_USER_EMAIL_MAX) {
        return false;
    }
    size_t at = 0;
    while (at < len && local_char(s[at])) {
        at++;
    }
    if (at == 0 || at == len || s[at] != '@') {
        return false;
    }
    size_t start = at + 1;
    for (size_t i = start;; i++) {
        if (i == len || s[i] == '.') {
            if (!label_ok(s + start, i - start)) {
                return false;
            }
            if (i == len) {
                return true;
            }
            start = i + 1;
        }
    }
}

void
rl_user_validate_name(struct rl_validator *v, const char *name)
{
    name = name ? name : "";
    rl_check(v, name[0] != '\0', "name", "must be provided");
    rl_check(v, strlen(name) <= RL_USER_NAME_MAX, "name",
             "must not be more than 500 bytes long");
}

void
rl_user_validate_email(struct rl_validator *v, const char *email)
{
    email = email ? email : "";
    rl_check(v, email[0] != '\0', "email", "must be provided");
    rl_check(v, rl_email_valid(email, strlen(email)), "email",
             "must be a valid email address");
}

void
rl_user_validate_password(struct rl_validator *v, const char *password)
{
    password = password ? password : "";
    size_t len = strlen(password);
    rl_check(v, len > 0, "password", "must be provided");
    rl_check(v, len >= 8, "password", "must be at least 8 bytes long");
    rl_check(v, len <= 72, "password", "must not be more than 72 bytes long");
}

void
rl_user_validate_token(struct rl_validator *v, const char *token)
{
    token = token ? token : "";
    rl_check(v, token[0] != '\0', "token", "must be provided");
    rl_check(v, strlen(token) == RL_TOKEN_LEN, "token",
             "must be 26 bytes long");
}

/* ---- rows -------------------------------------------------------------- */

/* Copies row 0 of r: id, created_at, name, email, password_hash,
 * activated, version. */
static enum rl_err
scan_user(const PGresult *r, struct rl_arena *arena, struct rl_user *u)
{
    const char *created = PQgetvalue(r, 0, 1);
    if (strlen(created) >= sizeof(u->created_at)) {
        return RL_ERR_DB;
    }
    u->id = rl_pg_int(r, 0, 0);
    memcpy(u->created_at, created, strlen(created) + 1);
    u->name = rl_arena_strdup(arena, PQgetvalue(r, 0, 2));
    u->email = rl_arena_strdup(arena, PQgetvalue(r, 0, 3));
    u->password_hash = rl_arena_strdup(arena, PQgetvalue(r, 0, 4));
    u->activated = PQgetvalue(r, 0, 5)[0] == 't';
    u->version = (int32_t)rl_pg_int(r, 0, 6);
    if (u->name == NULL || u->email == NULL || u->password_hash == NULL) {
        return RL_ERR_NOMEM;
    }
    return RL_OK;
}

/* Runs a one-row lookup statement and scans its row. */
static enum rl_err
get_one(struct rl_db *db, enum rl_stmt stmt, const char *const *params,
        struct rl_arena *arena, struct rl_user *u)
{
    PGresult *r;
    enum rl_err e = rl_db_run(db, stmt, params, &r);
    if (e != RL_OK) {
        return e;
    }
    e = PQntuples(r) == 0 ? RL_ERR_NOT_FOUND : scan_user(r, arena, u);
    PQclear(r);
    return e;
}

enum rl_err
rl_user_get_by_email(struct rl_db *db, const char *email,
                     struct rl_arena *arena, struct rl_user *u)
{
    const char *params[] = {email};
    return get_one(db, RL_STMT_USER_GET_BY_EMAIL, params, arena, u);
}

enum rl_err
rl_user_get_for_token(struct rl_db *db, const char *scope, const char *token,
                      size_t len, struct rl_arena *arena, struct rl_user *u)
{
    unsigned char hash[RL_TOKEN_HASH_BYTES];
    char hash_sql[RL_TOKEN_HASH_SQL_LEN + 1];
    rl_token_hash(token, len, hash);
    rl_token_hash_sql(hash, hash_sql);
    const char *params[] = {hash_sql, scope};
    return get_one(db, RL_STMT_USER_GET_FOR_TOKEN, params, arena, u);
}

/* A unique violation on users.email, told by SQLSTATE and constraint. */
static bool
duplicate_email(const struct rl_conn *c)
{
    return strcmp(rl_db_last_sqlstate(c), "23505") == 0 &&
           strcmp(rl_db_last_constraint(c), "users_email_key") == 0;
}

static enum rl_err
update_on(struct rl_conn *c, struct rl_user *u)
{
    char id[24], version[16];
    snprintf(id, sizeof(id), "%" PRId64, u->id);
    snprintf(version, sizeof(version), "%" PRId32, u->version);
    const char *params[] = {
        id,       version,          u->name,
        u->email, u->password_hash, u->activated ? "true" : "false"};
    PGresult *r;
    enum rl_err e = rl_db_exec(c, RL_STMT_USER_UPDATE, params, NULL, &r);
    if (e != RL_OK) {
        return e == RL_ERR_DB && duplicate_email(c) ? RL_ERR_DUPLICATE_EMAIL
                                                    : e;
    }
    if (PQntuples(r) == 0) {
        e = RL_ERR_EDIT_CONFLICT;
    } else {
        u->version = (int32_t)rl_pg_int(r, 0, 0);
    }
    PQclear(r);
    return e;
}

enum rl_err
rl_user_update(struct rl_db *db, struct rl_user *u)
{
    struct rl_conn *c;
    enum rl_err e = rl_db_acquire(db, &c);
    if (e != RL_OK) {
        return e;
    }
    e = update_on(c, u);
    rl_db_release(db, c);
    return e;
}

enum rl_err
rl_permission_grant_on(struct rl_conn *c, struct rl_arena *arena,
                       int64_t user_id, const char *const *codes, size_t n)
{
    char uid[24];
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    const char *array = rl_pg_array_encode(arena, codes, n);
    enum rl_err e = RL_ERR_NOMEM;
    if (array != NULL) {
        const char *params[] = {uid, array};
        PGresult *r;
        e = rl_db_exec(c, RL_STMT_PERMISSION_GRANT, params, NULL, &r);
        if (e == RL_OK) {
            PQclear(r);
        }
    }
    return e;
}

/* ---- workflows --------------------------------------------------------- */

/* Runs step(c, ctx) between BEGIN and COMMIT on a pooled connection. Any
 * failure leaves the transaction open, and rl_db_release rolls it back. */
static enum rl_err
in_tx(struct rl_db *db, enum rl_err (*step)(struct rl_conn *, void *),
      void *ctx)
{
    struct rl_conn *c;
    enum rl_err e = rl_db_acquire(db, &c);
    if (e != RL_OK) {
        return e;
    }
    e = rl_db_begin(c);
    if (e == RL_OK) {
        e = step(c, ctx);
    }
    if (e == RL_OK) {
        e = rl_db_commit(c);
    }
    rl_db_release(db, c);
    return e;
}

/* Enqueues mail `tmpl` to `to` with data built by json_pack(fmt, ...). */
static enum rl_err
enqueue(struct rl_conn *c, const char *tmpl, const char *to, json_t *data)
{
    if (data == NULL) {
        return RL_ERR_NOMEM;
    }
    char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(data);
    if (text == NULL) {
        return RL_ERR_NOMEM;
    }
    enum rl_err e = rl_outbox_enqueue(c, tmpl, to, text);
    free(text);
    return e;
}

struct register_ctx {
    struct rl_user *u;
    struct rl_token *token;
    struct rl_arena *arena;
};

/* Inserts u (name, email, password_hash, activated) and sets its id,
 * created_at and version. */
static enum rl_err
insert_on(struct rl_conn *c, struct rl_user *u)
{
    const char *params[] = {u->name, u->email, u->password_hash,
                            u->activated ? "true" : "false"};
    PGresult *r;
    enum rl_err e = rl_db_exec(c, RL_STMT_USER_INSERT, params, NULL, &r);
    if (e != RL_OK) {
        return e == RL_ERR_DB && duplicate_email(c) ? RL_ERR_DUPLICATE_EMAIL
                                                    : e;
    }
    if (PQntuples(r) != 1 ||
        (size_t)PQgetlength(r, 0, 1) >= sizeof(u->created_at)) {
        PQclear(r);
        return RL_ERR_DB;
    }
    u->id = rl_pg_int(r, 0, 0);
    memcpy(u->created_at, PQgetvalue(r, 0, 1),
           (size_t)PQgetlength(r, 0, 1) + 1);
    u->version = (int32_t)rl_pg_int(r, 0, 2);
    PQclear(r);
    return RL_OK;
}

static enum rl_err
register_step(struct rl_conn *c, void *arg)
{
    struct register_ctx *ctx = arg;
    struct rl_user *u = ctx->u;
    u->activated = false;
    enum rl_err e = insert_on(c, u);
    if (e != RL_OK) {
        return e;
    }
    static const char *const initial[] = {"movies:read"};
    e = rl_permission_grant_on(c, ctx->arena, u->id, initial, 1);
    if (e == RL_OK) {
        e = rl_token_insert_on(c, u->id, RL_SCOPE_ACTIVATION, RL_TTL_ACTIVATION,
                               ctx->token);
    }
    if (e == RL_OK) {
        e = enqueue(c, RL_MAIL_USER_WELCOME, u->email,
                    json_pack("{s:I, s:s, s:s}", "user_id", (json_int_t)u->id,
                              "name", u->name, "activation_token",
                              ctx->token->plaintext));
    }
    return e;
}

enum rl_err
rl_user_register(struct rl_db *db, struct rl_arena *arena, struct rl_user *u,
                 struct rl_token *activation)
{
    struct register_ctx ctx = {u, activation, arena};
    return in_tx(db, register_step, &ctx);
}

struct create_ctx {
    struct rl_user *u;
    const char *const *codes;
    size_t n;
    struct rl_arena *arena;
};

static enum rl_err
create_step(struct rl_conn *c, void *arg)
{
    struct create_ctx *ctx = arg;
    enum rl_err e = insert_on(c, ctx->u);
    if (e == RL_OK && ctx->n > 0) {
        e = rl_permission_grant_on(c, ctx->arena, ctx->u->id, ctx->codes,
                                   ctx->n);
    }
    return e;
}

enum rl_err
rl_user_create(struct rl_db *db, struct rl_arena *arena, struct rl_user *u,
               const char *const *codes, size_t n)
{
    struct create_ctx ctx = {u, codes, n, arena};
    return in_tx(db, create_step, &ctx);
}

enum rl_err
rl_user_list(struct rl_db *db, struct rl_arena *arena,
             struct rl_user_summary **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    PGresult *r;
    enum rl_err e = rl_db_run(db, RL_STMT_USER_LIST, NULL, &r);
    if (e != RL_OK) {
        return e;
    }
    size_t rows = (size_t)PQntuples(r);
    struct rl_user_summary *list =
        rows > 0 ? rl_arena_calloc(arena, rows, sizeof(*list)) : NULL;
    if (rows > 0 && list == NULL) {
        e = RL_ERR_NOMEM;
    }
    for (size_t i = 0; e == RL_OK && i < rows; i++) {
        list[i].email = rl_arena_strdup(arena, PQgetvalue(r, (int)i, 0));
        list[i].activated = PQgetvalue(r, (int)i, 1)[0] == 't';
        list[i].permissions = rl_arena_strdup(arena, PQgetvalue(r, (int)i, 2));
        if (list[i].email == NULL || list[i].permissions == NULL) {
            e = RL_ERR_NOMEM;
        }
    }
    PQclear(r);
    if (e == RL_OK) {
        *out = list;
        *n = rows;
    }
    return e;
}

static enum rl_err
activate_step(struct rl_conn *c, void *arg)
{
    struct rl_user *u = arg;
    enum rl_err e = update_on(c, u);
    if (e == RL_OK) {
        e = rl_token_delete_all_on(c, u->id, RL_SCOPE_ACTIVATION);
    }
    return e;
}

enum rl_err
rl_user_activate(struct rl_db *db, struct rl_user *u)
{
    struct rl_user copy = *u;
    copy.activated = true;
    enum rl_err e = in_tx(db, activate_step, &copy);
    if (e == RL_OK) {
        *u = copy;
    }
    return e;
}

/* Ends every JWT of user `id` issued before now() (auth.h). */
static enum rl_err
end_sessions_on(struct rl_conn *c, int64_t id)
{
    char idbuf[24];
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    const char *params[] = {idbuf};
    PGresult *r;
    enum rl_err e = rl_db_exec(c, RL_STMT_USER_END_SESSIONS, params, NULL, &r);
    if (e == RL_OK) {
        PQclear(r);
    }
    return e;
}

static enum rl_err
reset_step(struct rl_conn *c, void *arg)
{
    struct rl_user *u = arg;
    enum rl_err e = update_on(c, u);
    if (e == RL_OK) {
        e = rl_token_delete_all_on(c, u->id, RL_SCOPE_PASSWORD_RESET);
    }
    if (e == RL_OK) {
        e = rl_token_delete_all_on(c, u->id, RL_SCOPE_AUTHENTICATION);
    }
    if (e == RL_OK) {
        e = end_sessions_on(c, u->id);
    }
    return e;
}

enum rl_err
rl_user_reset_password(struct rl_db *db, struct rl_user *u,
                       const char *new_hash)
{
    struct rl_user copy = *u;
    copy.password_hash = new_hash;
    enum rl_err e = in_tx(db, reset_step, &copy);
    if (e == RL_OK) {
        *u = copy;
    }
    return e;
}

struct mail_token_ctx {
    const struct rl_user *u;
    const char *scope;
    int64_t ttl;
    const char *tmpl;
    const char *token_key; /* the data key the template reads */
};

static enum rl_err
mail_token_step(struct rl_conn *c, void *arg)
{
    struct mail_token_ctx *ctx = arg;
    struct rl_token t;
    enum rl_err e = rl_token_insert_on(c, ctx->u->id, ctx->scope, ctx->ttl, &t);
    if (e == RL_OK) {
        e = enqueue(c, ctx->tmpl, ctx->u->email,
                    json_pack("{s:s, s:s}", "name", ctx->u->name,
                              ctx->token_key, t.plaintext));
    }
    return e;
}

enum rl_err
rl_user_send_activation(struct rl_db *db, const struct rl_user *u)
{
    struct mail_token_ctx ctx = {u, RL_SCOPE_ACTIVATION, RL_TTL_ACTIVATION,
                                 RL_MAIL_TOKEN_ACTIVATION, "activation_token"};
    return in_tx(db, mail_token_step, &ctx);
}

enum rl_err
rl_user_send_password_reset(struct rl_db *db, const struct rl_user *u)
{
    struct mail_token_ctx ctx = {u, RL_SCOPE_PASSWORD_RESET,
                                 RL_TTL_PASSWORD_RESET, RL_MAIL_PASSWORD_RESET,
                                 "password_reset_token"};
    return in_tx(db, mail_token_step, &ctx);
}
