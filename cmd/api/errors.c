/*
 * errors.c — the contract's error responses, in one place, so every message
 * string exists exactly once.
 */
#include "cmd/api/errors.h"

#include <stdio.h>

#include "cmd/api/reply.h"
#include "internal/jsonlog/jsonlog.h"

int
api_reply_error(struct api_req *req, int status, const char *msg)
{
    json_t *v = json_string(msg);
    if (v == NULL) {
        /* Invalid UTF-8 would be a bug in the caller; never echo it. */
        return api_reply_server_error(req, "error message is not UTF-8");
    }
    return api_reply_envelope(req, status, "error", v);
}

int
api_reply_not_found(struct api_req *req)
{
    return api_reply_error(req, 404,
                           "the requested resource could not be found");
}

int
api_reply_method_not_allowed(struct api_req *req, const char *allow)
{
    char *msg = rl_arena_printf(
        req->arena, "the %s method is not supported for this resource",
        req->method);
    if (msg == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    if (!api_add_header(req, "Allow", allow)) {
        return api_reply_headers_full(req);
    }
    return api_reply_error(req, 405, msg);
}

int
api_reply_bad_request(struct api_req *req, const char *msg)
{
    char *copy = rl_arena_strdup(req->arena, msg);
    if (copy == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    return api_reply_error(req, 400, copy);
}

int
api_reply_failed_validation(struct api_req *req, json_t *errors)
{
    return api_reply_envelope(req, 422, "error", errors);
}

int
api_reply_validation(struct api_req *req, struct rl_validator *v)
{
    if (v->nomem) {
        rl_validator_free(v);
        return api_reply_server_error(req, "validation: out of memory");
    }
    if (!rl_valid(v)) {
        json_t *errors = v->errors;
        v->errors = NULL;
        return api_reply_failed_validation(req, errors);
    }
    return API_CONTINUE;
}

int
api_reply_field_error(struct api_req *req, const char *key, const char *message)
{
    struct rl_validator v = {0};
    rl_check(&v, false, key, message);
    return api_reply_validation(req, &v);
}

int
api_reply_edit_conflict(struct api_req *req)
{
    return api_reply_error(req, 409,
                           "unable to update the record due to an edit "
                           "conflict, please try again");
}

int
api_reply_precondition_failed(struct api_req *req)
{
    return api_reply_error(
        req, 412, "the resource has been modified since you last fetched it");
}

int
api_reply_invalid_credentials(struct api_req *req)
{
    return api_reply_error(req, 401, "invalid authentication credentials");
}

int
api_reply_invalid_auth_token(struct api_req *req)
{
    if (!api_add_header(req, "WWW-Authenticate", "Bearer")) {
        return api_reply_headers_full(req);
    }
    return api_reply_error(req, 401, "invalid or missing authentication token");
}

int
api_reply_auth_required(struct api_req *req)
{
    return api_reply_error(req, 401,
                           "you must be authenticated to access this resource");
}

int
api_reply_inactive_account(struct api_req *req)
{
    return api_reply_error(
        req, 403,
        "your user account must be activated to access this resource");
}

int
api_reply_not_permitted(struct api_req *req)
{
    return api_reply_error(req, 403,
                           "your user account doesn't have the necessary "
                           "permissions to access this resource");
}

int
api_reply_rate_limited(struct api_req *req, int64_t retry_after_s)
{
    char *v = rl_arena_printf(req->arena, "%lld", (long long)retry_after_s);
    if (v == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    if (!api_add_header(req, "Retry-After", v)) {
        return api_reply_headers_full(req);
    }
    return api_reply_error(req, 429, "rate limit exceeded");
}

int
api_reply_busy(struct api_req *req, int64_t retry_after_s)
{
    char *v = rl_arena_printf(
        req->arena, "%lld", (long long)(retry_after_s < 1 ? 1 : retry_after_s));
    if (v == NULL) {
        return api_reply_server_error(req, "out of memory");
    }
    if (!api_add_header(req, "Retry-After", v)) {
        return api_reply_headers_full(req);
    }
    return api_reply_error(req, 503,
                           "the server is busy, please try again later");
}
