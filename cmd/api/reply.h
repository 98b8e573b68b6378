/*
 * reply.h — setting a request's response: the bottom layer of cmd/api's
 * answering code, under errors.h (the contract's error responses) and
 * helpers.h (reading the body and the :id).
 *
 * The one convention of cmd/api for code that may answer a request:
 *
 *   - A handler (api_handler, handlers.h) always answers and returns the
 *     status of its response, normally as `return api_reply_...(...);`.
 *   - A step that may answer — a middleware layer, a route guard, or a
 *     helper such as api_read_body, api_read_id, api_reply_validation —
 *     returns int: API_CONTINUE when it set no response and the caller goes
 *     on, otherwise the status of the response it set, which the caller
 *     returns unchanged:
 *
 *         int status = api_read_body(req, fields, n, &in);
 *         if (status != API_CONTINUE) {
 *             return status;
 *         }
 *
 *     Results go in out-parameters. Statuses are 100..599, so API_CONTINUE
 *     (0) is never one.
 *   - Code that never answers returns what it computes (bool for a
 *     predicate, enum rl_err for a fallible step) and its caller answers.
 *
 * Only reply.c sets a response (status, body, content type, headers) in
 * struct api_req; everything else goes through an api_reply_* function.
 *
 * All functions work on one request and allocate from its arena; none is
 * shared between threads.
 */
#ifndef REDLIGHT_CMD_API_REPLY_H
#define REDLIGHT_CMD_API_REPLY_H

#include <jansson.h>
#include <stdbool.h>

#include "cmd/api/request.h"
#include "internal/base/err.h"

/* What a step that may answer returns when it did not (see above). */
#define API_CONTINUE 0

/* Sets the response to `body` (a JSON object, stolen: the reference is
 * released with the request) pretty-printed plus a newline, with
 * Content-Type: application/json. Returns status. If body is NULL or cannot
 * be encoded, answers the generic 500 instead and returns 500. */
int api_reply_json(struct api_req *req, int status, json_t *body);

/* api_reply_json with {key: value}; value is stolen. */
int api_reply_envelope(struct api_req *req, int status, const char *key,
                       json_t *value);

/* Sets an empty-bodied response (for 204/304/OPTIONS). Returns status. */
int api_reply_empty(struct api_req *req, int status);

/* Sets the response to the len bytes at body, borrowed, not copied: body
 * must stay unchanged until the request ends (static data, or memory of the
 * request's arena). content_type NULL means application/json; it must live
 * as long as the request too. server.c hands body to libmicrohttpd as is.
 * Returns status. */
int api_reply_body(struct api_req *req, int status, const char *content_type,
                   const char *body, size_t len);

/* api_reply_body for a body (and content type) that lives as long as the
 * process and is the same for every request of its route (the
 * healthcheck, the OpenAPI document): the transport may then reuse the
 * response it built for an earlier request with identical headers. */
int api_reply_static(struct api_req *req, int status, const char *content_type,
                     const char *body, size_t len);
/* Adds a response header; both strings must live as long as the request
 * (literals or arena copies). Returns false, adding nothing, when the table
 * (API_MAX_RESP_HEADERS) is full: the caller must not send the response
 * without the header — it answers api_reply_headers_full. */
bool api_add_header(struct api_req *req, const char *name,
                    const char *value) RL_MUST_CHECK;

/* Logs `why` with the method and URL at ERROR level and answers the generic
 * 500 message with Connection: close. Allocates nothing (the body is
 * static), so it works when the request's arena or malloc has run out.
 * Keeps the middleware's headers (req->nbase_headers), drops the
 * handler's. */
int api_reply_server_error(struct api_req *req, const char *why);

/* That generic 500 body (static), for the transport's own last-resort
 * answers (mhdreq.c), and its length. */
extern const char api_server_error_body[];
extern const size_t api_server_error_len;

/* api_reply_server_error for an rl_err from an internal package. */
int api_reply_rl_err(struct api_req *req, enum rl_err err);

/* api_reply_server_error for api_add_header's table being full (a bug:
 * API_MAX_RESP_HEADERS is above what any response carries): a response
 * must never go out without a header it should carry. */
int api_reply_headers_full(struct api_req *req);

/* Registers a jansson value to be released with the request and returns
 * it. NULL passes through; when registering fails (out of memory) v is
 * released at once and NULL is returned, so the caller never decrefs. */
json_t *api_keep(struct api_req *req, json_t *v);

#endif
