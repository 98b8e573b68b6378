/*
 * headcheck.h — what the server checks of a request's head once it has
 * arrived, before the body: the size limits of CONTRACT §12 #25 and the
 * syntax and framing rules libmicrohttpd does not enforce (§12 #24).
 *
 * Reads the request through its accessors (request.h), so it runs without
 * a socket; one request, one thread.
 */
#ifndef REDLIGHT_CMD_API_HEADCHECK_H
#define REDLIGHT_CMD_API_HEADCHECK_H

#include <stddef.h>

#include "cmd/api/request.h"

/* A request line and headers of up to API_MAX_HEAD bytes in all, with up
 * to API_MAX_QUERY_PARAMS query parameters, are served; beyond, 414 or 431
 * (server.c sizes libmicrohttpd's per-connection pool from these). */
#define API_MAX_HEAD ((size_t)64 * 1024)
#define API_MAX_QUERY_PARAMS 1000

/* Checks req's head: its method and raw_uri, its headers, `version` as
 * the request line gave it ("HTTP/1.1"), head_size the bytes of its
 * header section (0 when unknown) and nparams its query parameters. On a
 * fault answers it (414, 431, 400 or 501, each with Connection: close) and
 * returns the status; otherwise returns 0, having set req->close_conn when
 * the connection must not be reused (Transfer-Encoding beside
 * Content-Length). */
int api_check_head(struct api_req *req, const char *version, size_t head_size,
                   int nparams);

#endif
