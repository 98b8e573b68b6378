/*
 * helpers.h — what every handler uses: write a response, read the JSON
 * body, read the :id parameter, add headers.
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
 * Only helpers.c and errors.c write the response fields of struct api_req;
 * everything else sets a response through an api_reply_* function.
 *
 * All functions work on one request and allocate from its arena; none is
 * shared between threads.
 */
#ifndef REDLIGHT_CMD_API_HELPERS_H
#define REDLIGHT_CMD_API_HELPERS_H

#include <jansson.h>
#include <stdbool.h>

#include "cmd/api/request.h"
#include "internal/jsonin/jsonin.h"

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

/* Adds a response header; both strings must live as long as the request
 * (literals or arena copies). Returns false, adding nothing, when the table
 * (API_MAX_RESP_HEADERS) is full: the caller must not send the response
 * without the header — it answers api_reply_headers_full (errors.h). */
bool api_add_header(struct api_req *req, const char *name,
                    const char *value) RL_MUST_CHECK;

/* Reads the body against `fields` with the contract's triage into *in (an
 * object owned by the request: do not decref). Returns API_CONTINUE, or
 * the status of the 400 (or 500) it answered, *in then NULL. */
int api_read_body(struct api_req *req, const struct rl_jin_field *fields,
                  size_t nfields, json_t **in) RL_MUST_CHECK;

/* Parses route parameter `name` with api_parse_id into *id. Returns
 * API_CONTINUE, or 404 after answering it when the parameter is absent or
 * not such a number. (The router hands over each segment as a
 * NUL-terminated copy, so its length is strlen; a path holding a NUL never
 * reaches a route, CONTRACT §12 #22.) */
int api_read_id(struct api_req *req, const char *name,
                int64_t *id) RL_MUST_CHECK;

/* Parses exactly len bytes of s as an :id (CONTRACT §2): ASCII digits only
 * (no sign, space or NUL), at least one, value 1..INT64_MAX. Returns false
 * otherwise (*id untouched). Pure. */
bool api_parse_id(const char *s, size_t len, int64_t *id);

/* Registers a jansson value to be released with the request and returns it
 * (NULL passes through). */
json_t *api_keep(struct api_req *req, json_t *v);

#endif
