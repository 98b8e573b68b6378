/*
 * request.c — the request accessors, over the source the transport filled
 * in (request.h). What the HTTP rules ask of a header or query value
 * (trailing whitespace, repeated lines joined, "?name" without a value) is
 * decided here, once, whatever the source.
 */
#include "cmd/api/request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *
api_req_header(struct api_req *req, const char *name)
{
    if (req->src == NULL) {
        return NULL;
    }
    const char *v = req->src->header(req->src_ctx, name);
    if (v == NULL) {
        return NULL;
    }
    /* RFC 9110 §5.5: surrounding whitespace is not part of a field value;
     * libmicrohttpd strips only the leading part. */
    size_t len = strlen(v);
    if (len == 0 || (v[len - 1] != ' ' && v[len - 1] != '\t')) {
        return v;
    }
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }
    const char *trimmed = rl_arena_strndup(req->arena, v, len);
    return trimmed != NULL ? trimmed : v;
}

void
api_req_each_header(struct api_req *req, api_req_field_fn fn, void *cls)
{
    if (req->src != NULL) {
        req->src->each_header(req->src_ctx, fn, cls);
    }
}

struct header_join {
    struct api_req *req;
    const char *name;
    char *out;
    bool failed;
};

static bool
join_header(void *cls, const char *key, size_t klen, const char *value,
            size_t vlen)
{
    (void)klen;
    (void)vlen;
    struct header_join *j = cls;
    if (key == NULL || strcasecmp(key, j->name) != 0) {
        return true;
    }
    const char *v = value ? value : "";
    j->out = j->out == NULL
                 ? rl_arena_strdup(j->req->arena, v)
                 : rl_arena_printf(j->req->arena, "%s, %s", j->out, v);
    if (j->out == NULL) {
        j->failed = true;
        return false;
    }
    return true;
}

const char *
api_req_header_all(struct api_req *req, const char *name)
{
    struct header_join j = {.req = req, .name = name};
    api_req_each_header(req, join_header, &j);
    return j.failed ? NULL : j.out;
}

const char *
api_req_query(struct api_req *req, const char *name, size_t *len)
{
    const char *v = NULL;
    size_t vlen = 0;
    if (req->src == NULL || !req->src->query(req->src_ctx, name, &v, &vlen)) {
        return NULL;
    }
    if (v == NULL) {
        v = ""; /* "?title" without '=' */
        vlen = 0;
    }
    if (len != NULL) {
        *len = vlen;
    }
    return v;
}

const char *
api_req_query_string(struct api_req *req)
{
    const char *q = req->raw_uri ? strchr(req->raw_uri, '?') : NULL;
    return q ? q + 1 : NULL;
}

bool
api_req_peer_ip(struct api_req *req, struct rl_ip *out)
{
    return req->src != NULL &&
           rl_ip_from_sockaddr(req->src->peer(req->src_ctx), out);
}

const char *
api_req_peer(struct api_req *req)
{
    if (req->peer[0] != '\0') {
        return req->peer;
    }
    struct rl_ip ip;
    if (api_req_peer_ip(req, &ip)) {
        /* An IPv4-mapped IPv6 peer (dual-stack socket) reads as IPv4. */
        rl_ip_format(&ip, req->peer, sizeof(req->peer));
    }
    if (req->peer[0] == '\0') {
        snprintf(req->peer, sizeof(req->peer), "unknown");
    }
    return req->peer;
}
