/*
 * headcheck.c — the checks of a request's head (headcheck.h).
 */
#include "cmd/api/headcheck.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "cmd/api/errors.h"
#include "cmd/api/httpsyntax.h"

static bool
check_field(void *cls, const char *name, size_t nlen, const char *value,
            size_t vlen)
{
    bool *bad = cls;
    if (!api_http_field_ok(name, nlen, value, vlen)) {
        *bad = true;
        return false;
    }
    return true;
}

int
api_check_head(struct api_req *req, const char *version, size_t head_size,
               int nparams)
{
    size_t line = strlen(req->method) + strlen(req->raw_uri) + 11;
    if (line > API_MAX_HEAD || nparams > API_MAX_QUERY_PARAMS) {
        req->close_conn = true;
        return api_reply_error(req, 414, "the request URI is too long");
    }
    if (head_size > API_MAX_HEAD) {
        req->close_conn = true;
        return api_reply_error(req, 431,
                               "the request header fields are too large");
    }
    if (!api_http_is_token(req->method, strlen(req->method))) {
        req->close_conn = true;
        return api_reply_error(req, 400, "malformed request line");
    }
    bool bad = false;
    api_req_each_header(req, check_field, &bad);
    if (bad) {
        req->close_conn = true;
        return api_reply_error(req, 400, "malformed request header");
    }
    /* RFC 9112 §6: several Content-Lengths that disagree, or any framing
     * header in an HTTP/1.0 request with Transfer-Encoding, leave the body's
     * end uncertain (request smuggling behind a proxy): refuse and close.
     * Content-Length beside Transfer-Encoding: the latter wins, and the
     * connection closes after the response. */
    const char *te = api_req_header_all(req, "Transfer-Encoding");
    const char *cl = api_req_header_all(req, "Content-Length");
    if ((cl != NULL && !api_http_content_length_ok(cl)) ||
        (te != NULL && strcmp(version, "HTTP/1.1") != 0)) {
        req->close_conn = true;
        return api_reply_error(req, 400, "malformed request header");
    }
    if (te != NULL && strcasecmp(te, "chunked") != 0) {
        req->close_conn = true;
        return api_reply_error(req, 501, "unsupported transfer encoding");
    }
    if (te != NULL && cl != NULL) {
        req->close_conn = true;
    }
    return 0;
}
