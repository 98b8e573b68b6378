/*
 * mhdreq.c — struct api_req over libmicrohttpd (mhdreq.h). Nothing here
 * allocates beyond what MHD does for a response: the body is handed over
 * as is (MHD_RESPMEM_PERSISTENT), header strings are the request's.
 */
#include "cmd/api/mhdreq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
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
/* The last shared response (req->resp_shared) an I/O thread built, kept
 * for the next request that would get the same one: the same body and
 * content type (pointers to static data) and the same headers (compared
 * by value, copied into `text`). Building a response costs libmicrohttpd
 * a dozen mallocs and a mutex (one per header name and value); the
 * healthcheck sends the same one every time when no per-request header
 * (CORS origin, RateLimit-*) is added. Per thread, so no lock of ours:
 * only I/O threads queue responses. Freed at the thread's exit. */
#define SHARED_TEXT_MAX 512
struct shared_resp {
    struct MHD_Response *resp;
    const char *body;
    size_t len;
    const char *ctype;
    int nh;
    struct api_header h[API_MAX_RESP_HEADERS];
    char text[SHARED_TEXT_MAX];
};

/* This thread's entry; shared_key only registers it for freeing at the
 * thread's exit. */
static _Thread_local struct shared_resp *my_shared;
static pthread_key_t shared_key;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static bool shared_ok;

static void
shared_free(void *p)
{
    struct shared_resp *c = p;
    if (c != NULL) {
        MHD_destroy_response(c->resp);
        free(c);
    }
}

static void
shared_init(void)
{
    shared_ok = pthread_key_create(&shared_key, shared_free) == 0;
}

static bool
shared_matches(const struct shared_resp *c, const char *body, size_t len,
               const char *ctype, const struct api_header *h, int nh)
{
    if (c == NULL || c->body != body || c->len != len || c->ctype != ctype ||
        c->nh != nh) {
        return false;
    }
    for (int i = 0; i < nh; i++) {
        if (strcmp(c->h[i].name, h[i].name) != 0 ||
            strcmp(c->h[i].value, h[i].value) != 0) {
            return false;
        }
    }
    return true;
}

/* Keeps resp as this thread's shared response (it takes over the caller's
 * reference and drops the one it held before), when its headers fit in the
 * copy; else leaves everything as it was. */
static void
shared_keep(struct shared_resp *c, struct MHD_Response *resp, const char *body,
            size_t len, const char *ctype, const struct api_header *h, int nh)
{
    size_t need = 0;
    for (int i = 0; i < nh; i++) {
        need += strlen(h[i].name) + strlen(h[i].value) + 2;
    }
    if (need > SHARED_TEXT_MAX) {
        return; /* the entry kept so far stays whole */
    }
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            return;
        }
        my_shared = c;
        if (pthread_setspecific(shared_key, c) != 0) {
            my_shared = NULL;
            free(c);
            return;
        }
    }
    size_t pos = 0;
    for (int i = 0; i < nh; i++) {
        size_t n = strlen(h[i].name) + 1;
        size_t v = strlen(h[i].value) + 1;
        memcpy(c->text + pos, h[i].name, n);
        memcpy(c->text + pos + n, h[i].value, v);
        c->h[i].name = c->text + pos;
        c->h[i].value = c->text + pos + n;
        pos += n + v;
    }
    MHD_destroy_response(c->resp); /* NULL on the first: a no-op */
    c->resp = resp;
    c->body = body;
    c->len = len;
    c->ctype = ctype;
    c->nh = nh;
}

/* new_response, or this thread's shared one when it is the same. *owned:
 * the caller must destroy what it gets (true) or not (the shared one). */
static struct MHD_Response *
shared_response(const char *body, size_t len, const char *ctype,
                const struct api_header *h, int nh, bool *owned)
{
    *owned = true;
    if (pthread_once(&shared_once, shared_init) != 0 || !shared_ok) {
        return new_response(body, len, ctype, h, nh, false);
    }
    struct shared_resp *c = my_shared;
    if (shared_matches(c, body, len, ctype, h, nh)) {
        *owned = false;
        return c->resp;
    }
    struct MHD_Response *resp = new_response(body, len, ctype, h, nh, false);
    if (resp != NULL) {
        shared_keep(c, resp, body, len, ctype, h, nh);
        *owned = my_shared == NULL || my_shared->resp != resp;
    }
    return resp;
}

static struct MHD_Response *
response_of(struct api_req *req, bool *owned)
{
    *owned = true;
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
    if (req->resp_shared && req->resp_body != NULL && !close) {
        return shared_response(req->resp_body, req->resp_len, ctype,
                               req->resp_headers, req->nresp_headers, owned);
    }
    return new_response(req->resp_body != NULL ? req->resp_body : "",
                        req->resp_len, ctype, req->resp_headers,
                        req->nresp_headers, close);
}

static enum MHD_Result
send_response(struct MHD_Connection *con, unsigned status,
              struct MHD_Response *resp, bool owned)
{
    if (resp == NULL) {
        return MHD_NO;
    }
    enum MHD_Result r = MHD_queue_response(con, status, resp);
    if (owned) {
        MHD_destroy_response(resp);
    }
    return r;
}

enum MHD_Result
api_mhd_queue(struct MHD_Connection *con, struct api_req *req, bool *made)
{
    bool owned;
    struct MHD_Response *resp = response_of(req, &owned);
    if (resp == NULL && req->resp_body != api_server_error_body) {
        /* As when api_add_header's table is full (reply.h): the static
         * 500 rather than a response missing a header. */
        (void)api_reply_server_error(req, "adding a response header: "
                                          "out of memory");
        resp = response_of(req, &owned);
    }
    *made = resp != NULL;
    return send_response(con, (unsigned)req->status, resp, owned);
}

enum MHD_Result
api_mhd_queue_500(struct MHD_Connection *con)
{
    return send_response(con, 500,
                         new_response(api_server_error_body,
                                      api_server_error_len, "application/json",
                                      NULL, 0, true),
                         true);
}
