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

/* Parses route parameter `name` as a base-10 int64 >= 1 (no sign, no
 * spaces). Returns false when it is absent or not such a number. */
bool api_read_id(struct api_req *req, const char *name, int64_t *id);

/* Registers a jansson value to be released with the request and returns it
 * (NULL passes through). */
json_t *api_keep(struct api_req *req, json_t *v);

#endif
