/*
 * auth.c — authentication (CONTRACT §5, §13 JWT and logout): the
 * middleware that turns an Authorization header into a user, the route
 * guards, and the token endpoints POST /v1/tokens/authentication,
 * POST /v1/tokens/jwt and DELETE /v1/tokens/authentication.
 *
 * No state of its own: the JWT key is read-only configuration in
 * struct api_app, the user lives in the request, and users are looked up
 * through the authentication cache (internal/authcache) when it is on.
 */
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd/api/auth.h"
#include "cmd/api/errors.h"
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"
#include "internal/authcache/authcache.h"
#include "internal/bearertoken/bearertoken.h"
#include "internal/data/auth.h"
#include "internal/data/tokens.h"
#include "internal/data/users.h"
#include "internal/jsonlog/jsonlog.h"
#include "internal/jwt/jwt.h"
#include "internal/password/password.h"
#include "internal/validator/validator.h"

/* Clock-skew allowance for a JWT's exp, nbf and iat, in seconds. */
#define JWT_SKEW 30

int
api_authenticate(struct api_app *app, struct api_req *req)
{
    const char *h = api_req_header(req, "Authorization");
    if (h == NULL || h[0] == '\0') {
        return API_CONTINUE; /* anonymous (Go's Header.Get: "" for both) */
    }
    /* Exactly "<scheme> <token>": one space, nothing else. */
    const char *sp = strchr(h, ' ');
    if (sp == NULL || sp - h != 6 || strncasecmp(h, "Bearer", 6) != 0 ||
        sp[1] == '\0' || strchr(sp + 1, ' ') != NULL) {
        return api_reply_invalid_auth_token(req);
    }
    const char *token = sp + 1;
    size_t len = strlen(token);
    enum rl_err e;
    if (rl_jwt_looks_like(token, len)) {
        struct rl_jwt_claims claims;
        if (app->jwt.n == 0 ||
            rl_jwt_verify(&app->jwt, token, len, (int64_t)time(NULL), JWT_SKEW,
                          &claims) != RL_JWT_OK) {
            return api_reply_invalid_auth_token(req);
        }
        e = rl_authcache_by_id(app->authcache, app->db, claims.sub, req->arena,
                               &req->user);
        /* Issued before the user's last password reset (CONTRACT §13.2):
         * refused like any invalid token, from the row just loaded. */
        if (e == RL_OK && !rl_auth_session_current(&req->user, claims.iat)) {
            e = RL_ERR_NOT_FOUND;
        }
        req->via_jwt = true;
    } else {
        if (len != RL_TOKEN_LEN) {
            return api_reply_invalid_auth_token(req);
        }
        e = rl_authcache_by_token(app->authcache, app->db, token, len,
                                  req->arena, &req->user);
    }
    if (e == RL_ERR_NOT_FOUND) {
        return api_reply_invalid_auth_token(req);
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    req->authenticated = true;
    req->token = token;
    return API_CONTINUE;
}

int
api_require_authenticated(struct api_req *req)
{
    return req->authenticated ? API_CONTINUE : api_reply_auth_required(req);
}

int
api_require_permission(struct api_req *req, const char *code)
{
    if (!req->authenticated) {
        return api_reply_auth_required(req);
    }
    if (!req->user.activated) {
        return api_reply_inactive_account(req);
    }
    unsigned bit = rl_perm_bit(code);
    if (bit == 0 || (req->user.perms & bit) == 0) {
        return api_reply_not_permitted(req);
    }
    return API_CONTINUE;
}

static const struct rl_jin_field credential_fields[] = {
    {"email", RL_JIN_STRING, NULL, NULL, 0},
    {"password", RL_JIN_STRING, NULL, NULL, 0},
};
#define NCREDENTIAL_FIELDS                                                     \
    (sizeof(credential_fields) / sizeof(credential_fields[0]))

/* Reads and checks email + password. Returns API_CONTINUE and the user in
 * *u, or the status of the response it set: 400/422 for bad input, 401 for
 * unknown e-mail or wrong password — both after one Argon2id verification, so
 * the two cases take the same time (CONTRACT §12 #5). */
static int
check_credentials(struct api_app *app, struct api_req *req, struct rl_user *u)
{
    json_t *in;
    int status = api_read_body(req, credential_fields, NCREDENTIAL_FIELDS, &in);
    if (status != API_CONTINUE) {
        return status;
    }
    const char *email = json_string_value(json_object_get(in, "email"));
    const char *password = json_string_value(json_object_get(in, "password"));
    struct rl_validator v = {0};
    rl_user_validate_email(&v, email);
    rl_user_validate_password(&v, password);
    status = api_reply_validation(req, &v);
    if (status != API_CONTINUE) {
        return status;
    }
    size_t plen = strlen(password);
    enum rl_err e = rl_user_get_by_email(app->db, email, req->arena, u);
    if (e == RL_ERR_NOT_FOUND) {
        (void)rl_password_verify_dummy(password, plen);
        return api_reply_invalid_credentials(req);
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    if (!rl_password_verify(u->password_hash, password, plen)) {
        return api_reply_invalid_credentials(req);
    }
    if (rl_password_needs_rehash(u->password_hash)) {
        /* Best effort: a failure here must not refuse a correct login. */
        char hash[RL_PASSWORD_HASH_MAX];
        if (rl_password_hash(password, plen, hash) == RL_OK) {
            struct rl_user copy = *u;
            copy.password_hash = hash;
            if (rl_user_update(app->db, &copy) != RL_OK) {
                rl_log_props(RL_LOG_ERROR, "password rehash failed", NULL);
            }
        }
    }
    return API_CONTINUE;
}

static int
reply_token(struct api_req *req, const char *token, const char *expiry)
{
    json_t *t = json_pack("{s:s, s:s}", "token", token, "expiry", expiry);
    return api_reply_envelope(req, 201, "authentication_token", t);
}

int
api_token_authentication(struct api_app *app, struct api_req *req)
{
    struct rl_user u = {0};
    int status = check_credentials(app, req, &u);
    if (status != API_CONTINUE) {
        return status;
    }
    struct rl_token t;
    enum rl_err e = rl_token_insert(app->db, u.id, RL_SCOPE_AUTHENTICATION,
                                    RL_TTL_AUTHENTICATION, &t);
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    status = reply_token(req, t.plaintext, t.expiry);
    sodium_memzero(t.plaintext, sizeof(t.plaintext));
    return status;
}

int
api_token_jwt(struct api_app *app, struct api_req *req)
{
    if (app->jwt.n == 0) {
        return api_reply_not_found(req);
    }
    struct rl_user u = {0};
    int status = check_credentials(app, req, &u);
    if (status != API_CONTINUE) {
        return status;
    }
    time_t now = time(NULL);
    char jwt[RL_JWT_MAX_LEN];
    if (rl_jwt_sign(&app->jwt, u.id, (int64_t)now, RL_TTL_AUTHENTICATION, jwt,
                    sizeof(jwt)) != RL_OK) {
        return api_reply_server_error(req, "signing a JWT failed");
    }
    time_t exp = now + RL_TTL_AUTHENTICATION;
    struct tm tm;
    char expiry[32];
    gmtime_r(&exp, &tm);
    strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return reply_token(req, jwt, expiry);
}

int
api_token_revoke(struct api_app *app, struct api_req *req)
{
    int status = api_require_authenticated(req);
    if (status != API_CONTINUE) {
        return status;
    }
    if (req->via_jwt) {
        return api_reply_bad_request(
            req, "JWTs cannot be revoked; they expire on their own");
    }
    enum rl_err e = rl_auth_revoke(app->db, req->token, strlen(req->token));
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    /* Committed: the token stops working here before the reply (other
     * processes hear the trigger's NOTIFY). */
    rl_authcache_evict_user(app->authcache, req->user.id);
    return api_reply_envelope(req, 200, "message",
                              json_string("authentication token revoked"));
}
