/*
 * mhdreq.c — struct api_req over libmicrohttpd (mhdreq.h). Nothing here
 * allocates beyond what MHD does for a response: the body is handed over
 * as is (MHD_RESPMEM_PERSISTENT), header strings are the request's.
 */
#include "cmd/api/mhdreq.h"

#include <stdatomic.h>
#include <string.h>

#include "cmd/api/app.h"
#include "cmd/api/reply.h"

static const char *
src_header(void *ctx, const char *name)
{
    struct MHD_Connection *con = ctx;
    return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

struct field_visit {
    api_req_field_fn fn;
    void *cls;
};

static enum MHD_Result
visit_field(void *cls, enum MHD_ValueKind kind, const char *key,
            size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    const struct field_visit *v = cls;
    return v->fn(v->cls, key, key != NULL ? key_size : 0, value,
                 value != NULL ? value_size : 0)
               ? MHD_YES
               : MHD_NO;
}

static void
src_each_header(void *ctx, api_req_field_fn fn, void *cls)
{
    struct MHD_Connection *con = ctx;
    struct field_visit v = {.fn = fn, .cls = cls};
    MHD_get_connection_values_n(con, MHD_HEADER_KIND, visit_field, &v);
}

static bool
src_query(void *ctx, const char *name, const char **value, size_t *len)
{
    struct MHD_Connection *con = ctx;
    return MHD_lookup_connection_value_n(con, MHD_GET_ARGUMENT_KIND, name,
                                         strlen(name), value, len) == MHD_YES;
}

static const struct sockaddr *
src_peer(void *ctx)
{
    struct MHD_Connection *con = ctx;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci != NULL ? ci->client_addr : NULL;
}

const struct api_req_source api_mhd_source = {
    .header = src_header,
    .each_header = src_each_header,
    .query = src_query,
    .peer = src_peer,
};

/* A response of len bytes at body (borrowed: static or arena memory, which
 * lives until the completion callback, after MHD has sent it) with a
 * Content-Type (none when NULL), the nh headers at h and Connection: close
 * when `close`. NULL when libmicrohttpd cannot make it or refuses a header
 * (out of memory): never a response without a header it should carry. */
static struct MHD_Response *
new_response(const char *body, size_t len, const char *content_type,
             const struct api_header *h, int nh, bool close)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        return NULL;
    }
    if (content_type != NULL &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type) != MHD_YES) {
        goto fail;
    }
    for (int i = 0; i < nh; i++) {
        if (MHD_add_response_header(resp, h[i].name, h[i].value) != MHD_YES) {
            goto fail;
        }
    }
    if (close && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
                                         "close") != MHD_YES) {
        goto fail;
    }
    return resp;
fail:
    MHD_destroy_response(resp);
    return NULL;
}

/* req's response for MHD. A request the chain left unanswered, or answered
 * 500 without a body, gets the static 500 (CORS and Vary stay). While
 * shutting down, every response ends its connection, so keep-alive clients
 * cannot hold the server open. */
static struct MHD_Response *
response_of(struct api_req *req)
{
    bool fallback =
        req->status == 0 || (req->resp_body == NULL && req->status == 500);
    if (fallback) {
        req->status = 500;
        req->close_conn = true;
        req->content_type = NULL;
    }
    const char *ctype = NULL;
    if (req->resp_body != NULL || fallback) {
        ctype =
            req->content_type != NULL ? req->content_type : "application/json";
    }
    bool close = req->close_conn || atomic_load(&req->app->shutting_down);
    if (fallback) {
        return new_response(api_server_error_body, api_server_error_len, ctype,
                            req->resp_headers, req->nbase_headers, close);
    }
    return new_response(req->resp_body != NULL ? req->resp_body : "",
                        req->resp_len, ctype, req->resp_headers,
                        req->nresp_headers, close);
}

/* Queues resp (NULL: MHD_NO, which closes the connection) and drops our
 * reference to it. */
static enum MHD_Result
send_response(struct MHD_Connection *con, unsigned status,
              struct MHD_Response *resp)
{
    if (resp == NULL) {
        return MHD_NO;
    }
    enum MHD_Result r = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result
api_mhd_queue(struct MHD_Connection *con, struct api_req *req, bool *made)
{
    struct MHD_Response *resp = response_of(req);
    if (resp == NULL && req->resp_body != api_server_error_body) {
        /* As when api_add_header's table is full (reply.h): the static
         * 500 rather than a response missing a header. */
        (void)api_reply_server_error(req, "adding a response header: "
                                          "out of memory");
        resp = response_of(req);
    }
    *made = resp != NULL;
    return send_response(con, (unsigned)req->status, resp);
}

enum MHD_Result
api_mhd_queue_500(struct MHD_Connection *con)
{
    return send_response(con, 500,
                         new_response(api_server_error_body,
                                      api_server_error_len, "application/json",
                                      NULL, 0, true));
}
