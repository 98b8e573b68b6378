/*
 * users.c — POST /v1/users (register), PUT /v1/users/activated and
 * PUT /v1/users/password (CONTRACT §4.3). Input is read with api_read_body
 * against one field table per endpoint; the rules and the transactions live
 * in internal/data/users.c. Passwords are hashed here, on the request's
 * thread (the routes are blocking) and before any transaction opens, so no
 * pooled connection waits on Argon2id. No state.
 */
#include <string.h>

#include "cmd/api/errors.h"
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"
#include "internal/authcache/authcache.h"
#include "internal/bearertoken/bearertoken.h"
#include "internal/data/users.h"
#include "internal/password/password.h"
#include "internal/validator/validator.h"

static const struct rl_jin_field register_fields[] = {
    {"name", RL_JIN_STRING, NULL, NULL, 0},
    {"email", RL_JIN_STRING, NULL, NULL, 0},
    {"password", RL_JIN_STRING, NULL, NULL, 0},
};

static const struct rl_jin_field activate_fields[] = {
    {"token", RL_JIN_STRING, NULL, NULL, 0},
};

static const struct rl_jin_field password_fields[] = {
    {"password", RL_JIN_STRING, NULL, NULL, 0},
    {"token", RL_JIN_STRING, NULL, NULL, 0},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* The string under key, or NULL when absent (the reader dropped nulls and
 * checked the type). */
static const char *
input(const json_t *in, const char *key)
{
    return json_string_value(json_object_get(in, key));
}

/* The user object of CONTRACT §4.1: no hash, no version. */
static json_t *
user_json(const struct rl_user *u)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)u->id,
                     "created_at", u->created_at, "name", u->name, "email",
                     u->email, "activated", u->activated);
}

int
api_user_register(struct api_app *app, struct api_req *req)
{
    json_t *in;
    int status =
        api_read_body(req, register_fields, NFIELDS(register_fields), &in);
    if (status != API_CONTINUE) {
        return status;
    }
    struct rl_user u = {0};
    u.name = input(in, "name");
    u.email = input(in, "email");
    const char *password = input(in, "password");

    struct rl_validator v = {0};
    rl_user_validate_name(&v, u.name);
    rl_user_validate_email(&v, u.email);
    rl_user_validate_password(&v, password);
    status = api_reply_validation(req, &v);
    if (status != API_CONTINUE) {
        return status;
    }

    char hash[RL_PASSWORD_HASH_MAX];
    enum rl_err e = rl_password_hash(password, strlen(password), hash);
    if (e != RL_OK) {
        return api_reply_server_error(req, "hashing password failed");
    }
    u.password_hash = hash;
    struct rl_token activation = {0};
    e = rl_user_register(app->db, req->arena, &u, &activation);
    if (e == RL_ERR_DUPLICATE_EMAIL) {
        return api_reply_field_error(req, "email",
                                     "a user with this email address already "
                                     "exists");
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    return api_reply_envelope(req, 202, "user", user_json(&u));
}

int
api_user_activate(struct api_app *app, struct api_req *req)
{
    json_t *in;
    int status =
        api_read_body(req, activate_fields, NFIELDS(activate_fields), &in);
    if (status != API_CONTINUE) {
        return status;
    }
    const char *token = input(in, "token");
    struct rl_validator v = {0};
    rl_user_validate_token(&v, token);
    status = api_reply_validation(req, &v);
    if (status != API_CONTINUE) {
        return status;
    }

    struct rl_user u = {0};
    enum rl_err e = rl_user_get_for_token(app->db, RL_SCOPE_ACTIVATION, token,
                                          strlen(token), req->arena, &u);
    if (e == RL_ERR_NOT_FOUND) {
        return api_reply_field_error(req, "token",
                                     "invalid or expired activation token");
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    e = rl_user_activate(app->db, &u);
    if (e == RL_ERR_EDIT_CONFLICT) {
        return api_reply_edit_conflict(req);
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    rl_authcache_evict_user(app->authcache, u.id); /* committed: now here */
    return api_reply_envelope(req, 200, "user", user_json(&u));
}

int
api_user_reset_password(struct api_app *app, struct api_req *req)
{
    json_t *in;
    int status =
        api_read_body(req, password_fields, NFIELDS(password_fields), &in);
    if (status != API_CONTINUE) {
        return status;
    }
    const char *password = input(in, "password");
    const char *token = input(in, "token");
    struct rl_validator v = {0};
    rl_user_validate_password(&v, password);
    rl_user_validate_token(&v, token);
    status = api_reply_validation(req, &v);
    if (status != API_CONTINUE) {
        return status;
    }

    struct rl_user u = {0};
    enum rl_err e = rl_user_get_for_token(app->db, RL_SCOPE_PASSWORD_RESET,
                                          token, strlen(token), req->arena, &u);
    if (e == RL_ERR_NOT_FOUND) {
        return api_reply_field_error(req, "token",
                                     "invalid or expired password reset token");
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    char hash[RL_PASSWORD_HASH_MAX];
    e = rl_password_hash(password, strlen(password), hash);
    if (e != RL_OK) {
        return api_reply_server_error(req, "hashing password failed");
    }
    e = rl_user_reset_password(app->db, &u, hash);
    if (e == RL_ERR_EDIT_CONFLICT) {
        return api_reply_edit_conflict(req);
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    /* Committed: the user's tokens and older JWTs end here before the
     * reply; other processes hear the triggers' NOTIFY. */
    rl_authcache_evict_user(app->authcache, u.id);
    return api_reply_envelope(req, 200, "message",
                              json_string("your password was successfully "
                                          "reset"));
}
