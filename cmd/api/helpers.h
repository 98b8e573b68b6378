/*
 * helpers.h — what every handler uses to read a request: the JSON body and
 * the :id parameter. Both answer the request themselves when it is bad
 * (the convention: reply.h, which this header includes).
 */
#ifndef REDLIGHT_CMD_API_HELPERS_H
#define REDLIGHT_CMD_API_HELPERS_H

#include <jansson.h>
#include <stdbool.h>

#include "cmd/api/reply.h"
#include "cmd/api/request.h"
#include "internal/jsonin/jsonin.h"

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

#endif
