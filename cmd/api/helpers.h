/*
 * helpers.h — what every handler uses: write a JSON response, read the JSON
 * body, read the :id parameter, read query values, add headers.
 *
 * All functions work on one request and allocate from its arena; none is
 * shared between threads.
 */
#ifndef REDLIGHT_CMD_API_HELPERS_H
#define REDLIGHT_CMD_API_HELPERS_H

#include <jansson.h>
#include <stdbool.h>

#include "cmd/api/app.h"
#include "internal/jsonin/jsonin.h"

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

/* Adds a response header; both strings must live as long as the request
 * (literals or arena copies). Returns false when the table is full. */
bool api_add_header(struct api_req *req, const char *name, const char *value);

/* Reads the body against `fields` with the contract's triage. Returns the
 * object (owned by the request: do not decref) or NULL after answering 400
 * (or 500) — then return req->status from the handler. */
json_t *api_read_json(struct api_req *req, const struct rl_jin_field *fields,
                      size_t nfields);

/* Parses route parameter `name` with api_parse_id. Returns false when it
 * is absent or not such a number. (The router hands over each segment as a
 * NUL-terminated copy, so its length is strlen; a path holding a NUL never
 * reaches a route, CONTRACT §12 #22.) */
bool api_read_id(struct api_req *req, const char *name, int64_t *id);

/* Parses exactly len bytes of s as an :id (CONTRACT §2): ASCII digits only
 * (no sign, space or NUL), at least one, value 1..INT64_MAX. Returns false
 * otherwise (*id untouched). Pure. */
bool api_parse_id(const char *s, size_t len, int64_t *id);

/* Registers a jansson value to be released with the request and returns it
 * (NULL passes through). */
json_t *api_keep(struct api_req *req, json_t *v);

#endif
