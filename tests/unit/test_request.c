/*
 * test_request.c — the request accessors of cmd/api/request.c and the head
 * checks of cmd/api/headcheck.c, driven through the array-backed source of
 * fakereq.c: what server.c's libmicrohttpd source hands them, without a
 * socket. Each accessor's contract (request.h) with the values the
 * contract's tests send over the wire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/api/headcheck.h"
#include "tests/unit/fakereq.h"

static struct api_app app;

static void
test_header_case_and_trim(void **state)
{
    (void)state;
    static const char *const h[] = {"Content-Type",
                                    "application/json",
                                    "If-Match",
                                    "\"v3\" \t",
                                    "X-Empty",
                                    "",
                                    "X-Blank",
                                    " \t",
                                    NULL};
    struct api_req *req = fake_req_new(&app, "GET", "/v1/movies", h);
    assert_string_equal(api_req_header(req, "content-type"),
                        "application/json");
    assert_string_equal(api_req_header(req, "CONTENT-TYPE"),
                        "application/json");
    /* RFC 9110 §5.5: trailing spaces and tabs are not part of the value. */
    assert_string_equal(api_req_header(req, "if-match"), "\"v3\"");
    assert_string_equal(api_req_header(req, "X-Empty"), "");
    assert_string_equal(api_req_header(req, "X-Blank"), "");
    assert_null(api_req_header(req, "Authorization"));
    fake_req_free(req);
}

static void
test_header_all_joins_lines(void **state)
{
    (void)state;
    static const char *const h[] = {
        "X-Forwarded-For", "203.0.113.9",        "Accept", "*/*",
        "x-forwarded-for", "10.0.0.1, 10.0.0.2", NULL};
    struct api_req *req = fake_req_new(&app, "GET", "/", h);
    assert_string_equal(api_req_header_all(req, "X-Forwarded-For"),
                        "203.0.113.9, 10.0.0.1, 10.0.0.2");
    /* The first line only, for the single-value accessor. */
    assert_string_equal(api_req_header(req, "X-Forwarded-For"), "203.0.113.9");
    assert_string_equal(api_req_header_all(req, "accept"), "*/*");
    assert_null(api_req_header_all(req, "X-Real-IP"));
    fake_req_free(req);
}

static void
test_query_values(void **state)
{
    (void)state;
    struct api_req *req = fake_req_new(
        &app, "GET",
        "/v1/movies?title=a%00b&title=second&genres&page=&sort=-year", NULL);
    size_t len = 99;
    const char *t = api_req_query(req, "title", &len);
    assert_non_null(t);
    assert_int_equal(len, 3); /* the NUL a client sent as %00 counts */
    assert_memory_equal(t, "a\0b", 3);
    /* "?genres" without '=' is present and empty. */
    len = 99;
    assert_string_equal(api_req_query(req, "genres", &len), "");
    assert_int_equal(len, 0);
    assert_string_equal(api_req_query(req, "page", &len), "");
    assert_int_equal(len, 0);
    assert_string_equal(api_req_query(req, "sort", NULL), "-year");
    assert_null(api_req_query(req, "year", &len));
    assert_string_equal(api_req_query_string(req),
                        "title=a%00b&title=second&genres&page=&sort=-year");
    fake_req_free(req);

    req = fake_req_new(&app, "GET", "/v1/movies", NULL);
    assert_null(api_req_query_string(req));
    assert_null(api_req_query(req, "title", &len));
    fake_req_free(req);

    req = fake_req_new(&app, "GET", "/v1/movies?", NULL);
    assert_string_equal(api_req_query_string(req), "");
    fake_req_free(req);
}

static void
test_peer_text(void **state)
{
    (void)state;
    struct api_req *req = fake_req_new(&app, "GET", "/", NULL);
    assert_string_equal(api_req_peer(req), "127.0.0.1");
    fake_req_peer(req, "2001:db8::7");
    assert_string_equal(api_req_peer(req), "2001:db8::7");
    /* A dual-stack socket's IPv4 client reads as IPv4. */
    fake_req_peer(req, "::ffff:192.0.2.5");
    assert_string_equal(api_req_peer(req), "192.0.2.5");
    struct rl_ip ip;
    assert_true(api_req_peer_ip(req, &ip));
    assert_true(rl_ip_is_v4(&ip));
    fake_req_peer(req, NULL);
    assert_string_equal(api_req_peer(req), "unknown");
    assert_false(api_req_peer_ip(req, &ip));
    fake_req_free(req);
}

/* A request built by hand, as before a transport fills anything in. */
static void
test_no_source(void **state)
{
    (void)state;
    struct api_req req = {0};
    struct rl_ip ip;
    assert_null(api_req_header(&req, "Host"));
    assert_null(api_req_header_all(&req, "Host"));
    assert_null(api_req_query(&req, "page", NULL));
    assert_null(api_req_query_string(&req));
    assert_false(api_req_peer_ip(&req, &ip));
    assert_string_equal(api_req_peer(&req), "unknown");
}

struct head_case {
    const char *method;
    const char *version;
    const char *const *headers;
    size_t head_size;
    int nparams;
    int status; /* 0: goes on */
    const char *body;
    bool close;
};

static void
run_head_case(const struct head_case *c)
{
    struct api_req *req =
        fake_req_new(&app, c->method, "/v1/movies?page=1", c->headers);
    int status = api_check_head(req, c->version, c->head_size, c->nparams);
    assert_int_equal(status, c->status);
    assert_int_equal(req->status, c->status);
    assert_int_equal(req->close_conn, c->close);
    if (c->body != NULL) {
        char want[256];
        snprintf(want, sizeof(want), "{\n    \"error\": \"%s\"\n}\n", c->body);
        assert_string_equal(fake_resp_body(req), want);
    } else {
        assert_null(req->resp_body);
    }
    fake_req_free(req);
}

static void
test_head_checks(void **state)
{
    (void)state;
    static const char *const plain[] = {"Host", "x", NULL};
    static const char *const te_chunked[] = {"Transfer-Encoding", "chunked",
                                             NULL};
    static const char *const te_cl[] = {"Transfer-Encoding", "chunked",
                                        "Content-Length", "5", NULL};
    static const char *const te_gzip[] = {"Transfer-Encoding", "gzip", NULL};
    static const char *const cl_same[] = {"Content-Length", "5",
                                          "Content-Length", "5", NULL};
    static const char *const cl_differ[] = {"Content-Length", "5",
                                            "Content-Length", "6", NULL};
    static const char *const ctl_value[] = {"X-Note", "a\x01z", NULL};
    static const char *const tab_value[] = {"X-Note", "a\tz", NULL};
    static const char *const bad_name[] = {"X Note", "a", NULL};
    const struct head_case cases[] = {
        {"GET", "HTTP/1.1", plain, 100, 1, 0, NULL, false},
        {"GET", "HTTP/1.1", plain, API_MAX_HEAD, API_MAX_QUERY_PARAMS, 0, NULL,
         false},
        {"GET", "HTTP/1.1", plain, 100, API_MAX_QUERY_PARAMS + 1, 414,
         "the request URI is too long", true},
        {"GET", "HTTP/1.1", plain, API_MAX_HEAD + 1, 1, 431,
         "the request header fields are too large", true},
        {"GE(T", "HTTP/1.1", plain, 100, 1, 400, "malformed request line",
         true},
        {"GET", "HTTP/1.1", ctl_value, 100, 1, 400, "malformed request header",
         true},
        {"GET", "HTTP/1.1", tab_value, 100, 1, 0, NULL, false},
        {"GET", "HTTP/1.1", bad_name, 100, 1, 400, "malformed request header",
         true},
        {"POST", "HTTP/1.1", te_chunked, 100, 1, 0, NULL, false},
        {"POST", "HTTP/1.0", te_chunked, 100, 1, 400,
         "malformed request header", true},
        {"POST", "HTTP/1.1", te_gzip, 100, 1, 501,
         "unsupported transfer encoding", true},
        /* Transfer-Encoding wins, and the connection is not reused. */
        {"POST", "HTTP/1.1", te_cl, 100, 1, 0, NULL, true},
        {"POST", "HTTP/1.1", cl_same, 100, 1, 0, NULL, false},
        {"POST", "HTTP/1.1", cl_differ, 100, 1, 400, "malformed request header",
         true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_head_case(&cases[i]);
    }
}

/* The request line alone past API_MAX_HEAD: "GET " + target + " HTTP/1.1"
 * and its CRLF, 11 bytes beside the method and target. */
static void
test_head_long_uri(void **state)
{
    (void)state;
    static char target[API_MAX_HEAD];
    size_t n = API_MAX_HEAD - strlen("GET") - 11;
    memset(target, 'a', n);
    target[0] = '/';
    target[n] = '\0';
    struct api_req *req = fake_req_new(&app, "GET", target, NULL);
    assert_int_equal(api_check_head(req, "HTTP/1.1", 0, 0), 0);
    fake_req_free(req);
    target[n] = 'a';
    target[n + 1] = '\0';
    req = fake_req_new(&app, "GET", target, NULL);
    assert_int_equal(api_check_head(req, "HTTP/1.1", 0, 0), 414);
    assert_true(req->close_conn);
    fake_req_free(req);
}

int
main(void)
{
    app.cfg.env = "development";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_case_and_trim),
        cmocka_unit_test(test_header_all_joins_lines),
        cmocka_unit_test(test_query_values),
        cmocka_unit_test(test_peer_text),
        cmocka_unit_test(test_no_source),
        cmocka_unit_test(test_head_checks),
        cmocka_unit_test(test_head_long_uri),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
