/*
 * token_mail.c — the /v1/tokens endpoints that mail a token:
 * POST /v1/tokens/activation and POST /v1/tokens/password-reset
 * (CONTRACT §4.3). The token and its mail job commit in one transaction
 * (internal/data/users.c); the mail worker sends it. No state.
 */
#include "cmd/api/errors.h"
#include "cmd/api/handlers.h"
#include "cmd/api/helpers.h"
#include "internal/data/users.h"
#include "internal/validator/validator.h"

static const struct rl_jin_field email_fields[] = {
    {"email", RL_JIN_STRING, NULL, NULL, 0},
};
#define NEMAIL_FIELDS (sizeof(email_fields) / sizeof(email_fields[0]))

/* Reads {"email": ...}, validates it and loads its user into *u. Returns
 * API_CONTINUE, or the status of the response it set. */
static int
load_user_by_email(struct api_app *app, struct api_req *req, struct rl_user *u)
{
    json_t *in;
    int status = api_read_body(req, email_fields, NEMAIL_FIELDS, &in);
    if (status != API_CONTINUE) {
        return status;
    }
    const char *email = json_string_value(json_object_get(in, "email"));
    struct rl_validator v = {0};
    rl_user_validate_email(&v, email);
    status = api_reply_validation(req, &v);
    if (status != API_CONTINUE) {
        return status;
    }
    enum rl_err e = rl_user_get_by_email(app->db, email, req->arena, u);
    if (e == RL_ERR_NOT_FOUND) {
        return api_reply_field_error(req, "email",
                                     "no matching email address found");
    }
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    return API_CONTINUE;
}

/* What differs between the two endpoints: which accounts may ask, what the
 * others are told, which mail is queued and what the client is told. */
struct token_mail {
    bool want_activated;
    const char *refusal;
    enum rl_err (*send)(struct rl_db *db, const struct rl_user *u);
    const char *message;
};

static const struct token_mail activation_mail = {
    false, "user has already been activated", rl_user_send_activation,
    "an email will be sent to you containing activation instructions"};

static const struct token_mail reset_mail = {
    true, "user account must be activated", rl_user_send_password_reset,
    "an email will be sent to you containing password reset instructions"};

static int
send_token_mail(struct api_app *app, struct api_req *req,
                const struct token_mail *k)
{
    struct rl_user u = {0};
    int status = load_user_by_email(app, req, &u);
    if (status != API_CONTINUE) {
        return status;
    }
    if (u.activated != k->want_activated) {
        return api_reply_field_error(req, "email", k->refusal);
    }
    enum rl_err e = k->send(app->db, &u);
    if (e != RL_OK) {
        return api_reply_rl_err(req, e);
    }
    return api_reply_envelope(req, 202, "message", json_string(k->message));
}

int
api_token_activation(struct api_app *app, struct api_req *req)
{
    return send_token_mail(app, req, &activation_mail);
}

int
api_token_password_reset(struct api_app *app, struct api_req *req)
{
    return send_token_mail(app, req, &reset_mail);
}
