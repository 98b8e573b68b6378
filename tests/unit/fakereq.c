/*
 * fakereq.c — the array-backed request source of the unit tests
 * (fakereq.h).
 */
#include "tests/unit/fakereq.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "internal/base/percent.h"

struct fake_field {
    const char *name;
    size_t nlen;
    const char *value; /* NULL: a query parameter without '=' */
    size_t vlen;
};

/* The request comes first, so the source's ctx and the request are one
 * allocation. */
struct fake {
    struct api_req req;
    struct fake_field headers[FAKE_REQ_MAX_FIELDS];
    int nheaders;
    struct fake_field query[FAKE_REQ_MAX_FIELDS];
    int nquery;
    struct sockaddr_storage peer;
    bool has_peer;
};

static const char *
src_header(void *ctx, const char *name)
{
    const struct fake *f = ctx;
    for (int i = 0; i < f->nheaders; i++) {
        if (strcasecmp(f->headers[i].name, name) == 0) {
            return f->headers[i].value;
        }
    }
    return NULL;
}

static void
src_each_header(void *ctx, api_req_field_fn fn, void *cls)
{
    const struct fake *f = ctx;
    for (int i = 0; i < f->nheaders; i++) {
        const struct fake_field *h = &f->headers[i];
        if (!fn(cls, h->name, h->nlen, h->value, h->vlen)) {
            return;
        }
    }
}

static bool
src_query(void *ctx, const char *name, const char **value, size_t *len)
{
    const struct fake *f = ctx;
    size_t nlen = strlen(name);
    for (int i = 0; i < f->nquery; i++) {
        const struct fake_field *q = &f->query[i];
        if (q->nlen == nlen && strncasecmp(q->name, name, nlen) == 0) {
            *value = q->value;
            *len = q->vlen;
            return true;
        }
    }
    return false;
}

static const struct sockaddr *
src_peer(void *ctx)
{
    const struct fake *f = ctx;
    return f->has_peer ? (const struct sockaddr *)&f->peer : NULL;
}

static const struct api_req_source fake_source = {
    .header = src_header,
    .each_header = src_each_header,
    .query = src_query,
    .peer = src_peer,
};

/* Percent-decodes len bytes of s into a NUL-terminated arena copy. */
static char *
decode(struct rl_arena *a, const char *s, size_t len, size_t *out_len)
{
    char *out = rl_arena_alloc(a, len + 1);
    assert_non_null(out);
    *out_len = rl_percent_decode(s, len, out);
    out[*out_len] = '\0';
    return out;
}

static void
split_query(struct fake *f, const char *q)
{
    while (*q != '\0') {
        size_t plen = strcspn(q, "&");
        const char *eq = memchr(q, '=', plen);
        size_t klen = eq != NULL ? (size_t)(eq - q) : plen;
        if (plen > 0) {
            assert_true(f->nquery < FAKE_REQ_MAX_FIELDS);
            struct fake_field *p = &f->query[f->nquery++];
            p->name = decode(f->req.arena, q, klen, &p->nlen);
            p->value = NULL;
            p->vlen = 0;
            if (eq != NULL) {
                p->value =
                    decode(f->req.arena, eq + 1, plen - klen - 1, &p->vlen);
            }
        }
        q += plen;
        if (*q == '&') {
            q++;
        }
    }
}

struct api_req *
fake_req_new(struct api_app *app, const char *method, const char *target,
             const char *const *headers)
{
    struct rl_arena *a = rl_arena_create(8192);
    assert_non_null(a);
    struct fake *f = rl_arena_calloc(a, 1, sizeof(*f));
    assert_non_null(f);
    struct api_req *req = &f->req;
    req->app = app;
    req->arena = a;
    req->src = &fake_source;
    req->src_ctx = f;
    req->method = method;
    req->raw_uri = rl_arena_strdup(a, target);
    assert_non_null(req->raw_uri);
    size_t plen = strcspn(target, "?");
    req->path = decode(a, target, plen, &req->path_len);
    if (target[plen] == '?') {
        split_query(f, target + plen + 1);
    }
    for (int i = 0; headers != NULL && headers[i] != NULL; i += 2) {
        assert_true(f->nheaders < FAKE_REQ_MAX_FIELDS);
        struct fake_field *h = &f->headers[f->nheaders++];
        h->name = headers[i];
        h->nlen = strlen(headers[i]);
        h->value = headers[i + 1];
        h->vlen = strlen(headers[i + 1]);
    }
    fake_req_peer(req, "127.0.0.1");
    return req;
}

void
fake_req_peer(struct api_req *req, const char *ip)
{
    struct fake *f = (struct fake *)req;
    memset(&f->peer, 0, sizeof(f->peer));
    memset(req->peer, 0, sizeof(req->peer));
    f->has_peer = false;
    if (ip == NULL) {
        return;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)&f->peer;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&f->peer;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
    }
    f->has_peer = true;
    assert_true(api_req_peer_ip(req, &req->client));
}

void
fake_req_body(struct api_req *req, const char *body)
{
    req->body_len = strlen(body);
    req->body = rl_arena_strdup(req->arena, body);
    assert_non_null(req->body);
}

const char *
fake_resp_header(const struct api_req *req, const char *name, int *count)
{
    const char *first = NULL;
    int n = 0;
    for (int i = 0; i < req->nresp_headers; i++) {
        if (strcmp(req->resp_headers[i].name, name) == 0) {
            if (n++ == 0) {
                first = req->resp_headers[i].value;
            }
        }
    }
    if (count != NULL) {
        *count = n;
    }
    return first;
}

const char *
fake_resp_body(const struct api_req *req)
{
    if (req->resp_body == NULL) {
        return "";
    }
    char *s = rl_arena_strndup(req->arena, req->resp_body, req->resp_len);
    assert_non_null(s);
    return s;
}

void
fake_req_free(struct api_req *req)
{
    rl_arena_destroy(req->arena);
}
