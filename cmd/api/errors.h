/*
 * errors.h — one function per error response of the contract (§1.1).
 * Each sets req's response and returns the status, so a handler can
 * `return api_reply_not_found(req);` (the convention: reply.h). The
 * generic 500 (api_reply_server_error) is in reply.h.
 */
#ifndef REDLIGHT_CMD_API_ERRORS_H
#define REDLIGHT_CMD_API_ERRORS_H

#include <jansson.h>

#include "cmd/api/reply.h"
#include "cmd/api/request.h"
#include "internal/validator/validator.h"

/* {"error": msg} with `status`. msg must live as long as the request. */
int api_reply_error(struct api_req *req, int status, const char *msg);

int api_reply_not_found(struct api_req *req);
int api_reply_method_not_allowed(struct api_req *req, const char *allow);
int api_reply_bad_request(struct api_req *req, const char *msg);
/* 422 with {"error": errors}; errors (an object field → message) is
 * stolen. */
int api_reply_failed_validation(struct api_req *req, json_t *errors);
/* The end of every validation: API_CONTINUE when v recorded no failure;
 * otherwise answers 422 with v's errors (taken over) or, when v ran out of
 * memory, 500 (v freed), and returns that status. */
int api_reply_validation(struct api_req *req,
                         struct rl_validator *v) RL_MUST_CHECK;
/* 422 with {key: message}, both literals; 500 when out of memory. */
int api_reply_field_error(struct api_req *req, const char *key,
                          const char *message);
int api_reply_edit_conflict(struct api_req *req);
int api_reply_precondition_failed(struct api_req *req);
/* The authentication errors of §1.1: wrong e-mail/password (401);
 * a bad or absent bearer token where one was sent (401 +
 * WWW-Authenticate: Bearer); anonymous on a protected route (401);
 * not activated (403); missing permission (403). */
int api_reply_invalid_credentials(struct api_req *req);
int api_reply_invalid_auth_token(struct api_req *req);
int api_reply_auth_required(struct api_req *req);
int api_reply_inactive_account(struct api_req *req);
int api_reply_not_permitted(struct api_req *req);
/* 429 "rate limit exceeded" with Retry-After: retry_after_s (CONTRACT §7,
 * §13). */
int api_reply_rate_limited(struct api_req *req, int64_t retry_after_s);

/* 503 "the server is busy, please try again later" with Retry-After
 * (at least 1 s): no hashing slot or no place in the database queue within
 * its bound (CONTRACT §13.2 Overload). */
int api_reply_busy(struct api_req *req, int64_t retry_after_s);

#endif
