/*
 * helpers.c — response writing and request reading shared by all handlers.
 *
 * Response bodies are encoded straight into the request's arena, so nothing
 * here is freed by hand: jansson values are released by arena cleanups.
 */
#include "cmd/api/helpers.h"

#include <stdint.h>
#include <string.h>

#include "cmd/api/errors.h"
#include "internal/base/buf.h"
#include "internal/validator/validator.h"

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
    return status;
}

int
api_read_body(struct api_req *req, const struct rl_jin_field *fields,
              size_t nfields, json_t **in)
{
    *in = NULL;
    struct rl_jin_result r;
    enum rl_jin_status st =
        rl_jin_read(req->body ? req->body : "", req->body_len,
                    req->body_truncated, fields, nfields, &r);
    switch (st) {
    case RL_JIN_OK:
        if (api_keep(req, r.object) == NULL) {
            break;
        }
        *in = r.object;
        return API_CONTINUE;
    case RL_JIN_BAD:
        return api_reply_bad_request(req, r.message);
    case RL_JIN_NOMEM:
        break;
    }
    return api_reply_server_error(req, "reading body: out of memory");
}

int
api_read_id(struct api_req *req, const char *name, int64_t *id)
{
    for (int i = 0; i < req->nparams; i++) {
        if (strcmp(req->param_names[i], name) == 0) {
            const char *v = req->param_values[i];
            if (api_parse_id(v, strlen(v), id)) {
                return API_CONTINUE;
            }
            break;
        }
    }
    return api_reply_not_found(req);
}

bool
api_parse_id(const char *s, size_t len, int64_t *id)
{
    int64_t n;
    if (rl_parse_int64(s, len, false, &n) != RL_OK || n < 1) {
        return false;
    }
    *id = n;
    return true;
}
