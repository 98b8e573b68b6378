/*
 * test_reply.c — failure containment in the reply helpers (cmd/api
 * helpers.c and errors.c, linked as they are in the server): when a
 * request's arena is exhausted (RL_ARENA_MAX) every reply path still ends in
 * the contract's 500 with Connection: close and a log line — no crash, no
 * recursion, no allocation — and the middleware's headers (CORS, Vary,
 * rate limit) survive while the handler's are dropped.
 *
 * The request is a bare struct api_req with its own arena, as server.c
 * builds it; the log goes to a temporary file the tests read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cmd/api/errors.h"
#include "cmd/api/helpers.h"
#include "internal/jsonlog/jsonlog.h"

/* What server.c's accessors would answer; helpers.c and errors.c do not
 * call them, but the header declares them. */
const char *
api_req_header(struct api_req *req, const char *name)
{
    (void)req;
    (void)name;
    return NULL;
}

static const char expected_500[] =
    "{\n    \"error\": \"the server encountered a problem and could not "
    "process your request\"\n}\n";

static FILE *logfile;

static int
setup(void **state)
{
    (void)state;
    logfile = tmpfile();
    assert_non_null(logfile);
    rl_log_init(fileno(logfile), RL_LOG_INFO);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    fclose(logfile);
    rl_log_init(1, RL_LOG_INFO);
    return 0;
}

/* Everything logged since the last call. */
static char *
logged(void)
{
    static char buf[8192];
    static long done;
    fflush(logfile);
    long end = lseek(fileno(logfile), 0, SEEK_END);
    size_t n = (size_t)(end - done) < sizeof(buf) - 1 ? (size_t)(end - done)
                                                      : sizeof(buf) - 1;
    ssize_t r = pread(fileno(logfile), buf, n, done);
    buf[r > 0 ? r : 0] = '\0';
    done = end;
    return buf;
}

static struct api_req *
new_req(void)
{
    struct rl_arena *a = rl_arena_create(8192);
    assert_non_null(a);
    struct api_req *req = rl_arena_calloc(a, 1, sizeof(*req));
    assert_non_null(req);
    req->arena = a;
    req->method = "GET";
    req->path = "/v1/movies/7";
    return req;
}

/* Allocates from the arena until it refuses even one byte. */
static void
exhaust(struct rl_arena *a)
{
    for (size_t size = (size_t)4 * 1024 * 1024; size >= 1; size /= 2) {
        while (rl_arena_alloc(a, size) != NULL) {
        }
    }
    assert_null(rl_arena_alloc(a, 1));
}

static void
assert_contract_500(const struct api_req *req)
{
    assert_int_equal(req->status, 500);
    assert_non_null(req->resp_body);
    assert_int_equal(req->resp_len, sizeof(expected_500) - 1);
    assert_memory_equal(req->resp_body, expected_500, req->resp_len);
    assert_true(req->close_conn);
    assert_null(req->content_type);
}

static void
static_500_matches_the_encoder(void **state)
{
    (void)state;
    /* The static body is byte for byte what api_reply_json makes. */
    struct api_req *req = new_req();
    json_t *body = json_pack("{s:s}", "error",
                             "the server encountered a problem and could not "
                             "process your request");
    assert_int_equal(api_reply_json(req, 500, body), 500);
    assert_int_equal(req->resp_len, sizeof(expected_500) - 1);
    assert_memory_equal(req->resp_body, expected_500, req->resp_len);
    assert_false(req->close_conn);
    rl_arena_destroy(req->arena);
}

static void
server_error_logs_and_closes(void **state)
{
    (void)state;
    struct api_req *req = new_req();
    (void)logged();
    assert_int_equal(api_reply_server_error(req, "database is on fire"), 500);
    assert_contract_500(req);
    const char *log = logged();
    assert_non_null(strstr(log, "\"level\":\"ERROR\""));
    assert_non_null(strstr(log, "\"message\":\"database is on fire\""));
    assert_non_null(strstr(log, "\"request_url\":\"/v1/movies/7\""));
    rl_arena_destroy(req->arena);
}

static void
middleware_headers_survive_handler_headers_do_not(void **state)
{
    (void)state;
    struct api_req *req = new_req();
    assert_true(api_add_header(req, "Vary", "Origin"));
    assert_true(
        api_add_header(req, "Access-Control-Allow-Origin", "http://a.example"));
    req->nbase_headers = req->nresp_headers;
    assert_true(api_add_header(req, "Location", "/v1/movies/7"));
    assert_true(api_add_header(req, "ETag", "\"3\""));
    req->content_type = "text/plain";
    assert_int_equal(api_reply_server_error(req, "late failure"), 500);
    assert_contract_500(req);
    assert_int_equal(req->nresp_headers, 2);
    assert_string_equal(req->resp_headers[1].name,
                        "Access-Control-Allow-Origin");
    (void)logged();
    rl_arena_destroy(req->arena);
}

static void
exhausted_arena_every_reply_is_a_500(void **state)
{
    (void)state;
    struct {
        const char *what;
        int kind;
    } cases[] = {
        {"not found", 0},          {"json object", 1}, {"error message", 2},
        {"method not allowed", 3}, {"bad request", 4}, {"read body", 5},
        {"rate limited", 6},       {"validation", 7},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_req *req = new_req();
        assert_true(api_add_header(req, "Vary", "Origin"));
        req->nbase_headers = req->nresp_headers;
        req->body = "{\"title\": \"x\"}";
        req->body_len = strlen(req->body);
        exhaust(req->arena);
        (void)logged();
        int st = 0;
        switch (cases[i].kind) {
        case 0:
            st = api_reply_not_found(req);
            break;
        case 1:
            st = api_reply_json(req, 200, json_pack("{s:i}", "n", 1));
            break;
        case 2:
            st = api_reply_error(req, 409, "conflict");
            break;
        case 3:
            st = api_reply_method_not_allowed(req, "GET, HEAD, OPTIONS");
            break;
        case 4:
            st = api_reply_bad_request(req, "body must not be empty");
            break;
        case 5: {
            struct rl_jin_field f[] = {
                {.name = "title", .kind = RL_JIN_STRING}};
            json_t *v = api_read_json(req, f, 1);
            assert_null(v);
            st = req->status;
            break;
        }
        case 6:
            st = api_reply_rate_limited(req, 3);
            break;
        case 7:
            st = api_reply_failed_validation(
                req, json_pack("{s:s}", "title", "must be provided"));
            break;
        }
        if (st != 500) {
            fail_msg("%s answered %d", cases[i].what, st);
        }
        assert_contract_500(req);
        assert_int_equal(req->nresp_headers, 1); /* Vary stayed */
        assert_non_null(strstr(logged(), "\"level\":\"ERROR\""));
        rl_arena_destroy(req->arena);
    }
}

static void
null_json_is_a_500(void **state)
{
    (void)state;
    /* A handler whose json_pack failed (malloc) passes NULL on. */
    struct api_req *req = new_req();
    assert_int_equal(api_reply_json(req, 201, NULL), 500);
    assert_contract_500(req);
    assert_int_equal(api_reply_envelope(req, 200, "movie", NULL), 500);
    assert_contract_500(req);
    (void)logged();
    rl_arena_destroy(req->arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_500_matches_the_encoder),
        cmocka_unit_test(server_error_logs_and_closes),
        cmocka_unit_test(middleware_headers_survive_handler_headers_do_not),
        cmocka_unit_test(exhausted_arena_every_reply_is_a_500),
        cmocka_unit_test(null_json_is_a_500),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
