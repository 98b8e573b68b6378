/*
 * fakereq.h — a request without a socket, for the unit tests of cmd/api:
 * a struct api_req whose source (request.h) reads plain arrays instead of
 * libmicrohttpd, set up as server.c sets up a real one (arena, raw target,
 * decoded path with its length, method).
 *
 * Headers are looked up case-insensitively, first match; query parameters
 * are split from the target's query string at '&' and '=' and
 * percent-decoded (keeping NULs, so the length counts), names compared
 * case-insensitively as libmicrohttpd compares them. Everything lives in
 * the request's arena; fake_req_free destroys it.
 */
#ifndef REDLIGHT_TESTS_UNIT_FAKEREQ_H
#define REDLIGHT_TESTS_UNIT_FAKEREQ_H

#include <stddef.h>

#include "cmd/api/app.h"
#include "cmd/api/request.h"

#define FAKE_REQ_MAX_FIELDS 32

/* A request for `method` on `target` (path and optional "?query") with
 * `headers`: name, value, name, value, ..., NULL (or NULL for none). The
 * peer is 127.0.0.1 (req->client too) until fake_req_peer changes it.
 * Fails the test when out of memory. */
struct api_req *fake_req_new(struct api_app *app, const char *method,
                             const char *target, const char *const *headers);

/* Sets the TCP peer (an IPv4 or IPv6 literal), or none with NULL. */
void fake_req_peer(struct api_req *req, const char *ip);

/* The body the client sent (copied into the arena). */
void fake_req_body(struct api_req *req, const char *body);

/* The value of response header `name` (exact case), the first one, or
 * NULL; *count (when not NULL) is how many there are. */
const char *fake_resp_header(const struct api_req *req, const char *name,
                             int *count);

/* The response body as a NUL-terminated arena copy ("" when none). */
const char *fake_resp_body(const struct api_req *req);

/* Frees the request and everything it allocated. */
void fake_req_free(struct api_req *req);

#endif
