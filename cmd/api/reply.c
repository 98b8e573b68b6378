/*
 * reply.c — setting a request's response (reply.h). Response bodies are
 * encoded straight into the request's arena, so nothing here is freed by
 * hand: jansson values are released by arena cleanups.
 */
#include "cmd/api/reply.h"

#include <stdint.h>
#include <string.h>

#include "internal/base/buf.h"
#include "internal/jsonlog/jsonlog.h"

/* The generic 500 body, byte for byte what api_reply_json would encode, kept
 * static so that answering a server error never allocates: it must work
 * when the request's arena is exhausted (RL_ARENA_MAX) or malloc fails, and
 * building it through api_reply_json could fail the same way again. */
const char api_server_error_body[] =
    "{\n    \"error\": \"the server encountered a problem and could not "
    "process your request\"\n}\n";
const size_t api_server_error_len = sizeof(api_server_error_body) - 1;

int
api_reply_server_error(struct api_req *req, const char *why)
{
    rl_log_props(RL_LOG_ERROR, why, RL_LOG_STR("request_method", req->method),
                 RL_LOG_STR("request_url", req->path), NULL);
    (void)api_reply_body(req, 500, NULL, api_server_error_body,
                         api_server_error_len);
    /* The handler's headers (Location, ETag, ...) describe a response that
     * is not being sent; the middleware's (CORS, Vary, rate limit) stay. */
    req->nresp_headers = req->nbase_headers;
    /* Whatever failed may have left the connection in an unknown state
     * (half-read body, exhausted memory): end it after this response. */
    req->close_conn = true;
    return 500;
}

int
api_reply_rl_err(struct api_req *req, enum rl_err err)
{
    return api_reply_server_error(req, rl_err_str(err));
}

int
api_reply_headers_full(struct api_req *req)
{
    return api_reply_server_error(req, "response header table full");
}

static void
decref_cb(void *p)
{
    json_decref(p);
}

json_t *
api_keep(struct api_req *req, json_t *v)
{
    if (v != NULL && rl_arena_defer(req->arena, decref_cb, v) != 0) {
        return NULL; /* already released by rl_arena_defer */
    }
    return v;
}

bool
api_add_header(struct api_req *req, const char *name, const char *value)
{
    if (req->nresp_headers >= API_MAX_RESP_HEADERS) {
        return false;
    }
    req->resp_headers[req->nresp_headers].name = name;
    req->resp_headers[req->nresp_headers].value = value;
    req->nresp_headers++;
    return true;
}

/* jansson's dump callback into a struct rl_buf. */
static int
dump_cb(const char *buf, size_t size, void *data)
{
    return rl_buf_add(data, buf, size) == RL_OK ? 0 : -1;
}

int
api_reply_json(struct api_req *req, int status, json_t *body)
{
    if (body == NULL) {
        return api_reply_server_error(req, "building response: out of memory");
    }
    if (api_keep(req, body) == NULL) {
        return api_reply_server_error(req, "building response: out of memory");
    }
    struct rl_buf d;
    rl_buf_init(&d, SIZE_MAX, req->arena); /* the arena's cap is the cap */
    size_t len = 0;
    char *text = NULL;
    if (json_dump_callback(body, dump_cb, &d,
                           JSON_INDENT(4) | JSON_PRESERVE_ORDER) != 0 ||
        rl_buf_addc(&d, '\n') != RL_OK ||
        (text = rl_buf_take(&d, &len)) == NULL) {
        return api_reply_server_error(req, "encoding response failed");
    }
    return api_reply_body(req, status, NULL, text, len);
}

int
api_reply_envelope(struct api_req *req, int status, const char *key,
                   json_t *value)
{
    json_t *env = json_object();
    if (env == NULL || value == NULL ||
        json_object_set_new_nocheck(env, key, value) != 0) {
        json_decref(env);
        if (env == NULL) {
            json_decref(value);
        }
        return api_reply_server_error(req, "building response: out of memory");
    }
    return api_reply_json(req, status, env);
}

int
api_reply_empty(struct api_req *req, int status)
{
    return api_reply_body(req, status, NULL, NULL, 0);
}

int
api_reply_body(struct api_req *req, int status, const char *content_type,
               const char *body, size_t len)
{
    req->status = status;
    req->resp_body = body;
    req->resp_len = len;
    req->content_type = content_type;
    req->resp_shared = false;
    return status;
}

int
api_reply_static(struct api_req *req, int status, const char *content_type,
                 const char *body, size_t len)
{
    (void)api_reply_body(req, status, content_type, body, len);
    req->resp_shared = true;
    return status;
}
