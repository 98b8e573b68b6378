/*
 * test_reply.c — failure containment in the reply helpers (cmd/api
 * helpers.c and errors.c, linked as they are in the server): when a
 * request's arena is exhausted (RL_ARENA_MAX) every reply path still ends in
 * the contract's 500 with Connection: close and a log line — no crash, no
 * recursion, no allocation — and the middleware's headers (CORS, Vary,
 * rate limit) survive while the handler's are dropped.
 *
 * And the handler convention (helpers.h): steps that may answer return
 * API_CONTINUE, setting no response, or the status they answered;
 * api_reply_validation ends every validation; response bodies are
 * borrowed, not copied; a full header table is a 500, never a response
 * missing its header.
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
            json_t *v;
            st = api_read_body(req, f, 1, &v);
            assert_null(v);
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

static void
assert_body(const struct api_req *req, const char *want)
{
    assert_non_null(req->resp_body);
    assert_int_equal(req->resp_len, strlen(want));
    assert_memory_equal(req->resp_body, want, req->resp_len);
}

/* Fills the header table, the first nbase entries as the middleware's. */
static void
fill_headers(struct api_req *req, int nbase)
{
    for (int i = 0; i < API_MAX_RESP_HEADERS; i++) {
        assert_true(api_add_header(req, "X-Fill", "1"));
        if (i + 1 == nbase) {
            req->nbase_headers = req->nresp_headers;
        }
    }
}

static void
full_header_table_refuses_and_adds_nothing(void **state)
{
    (void)state;
    struct api_req *req = new_req();
    fill_headers(req, 3);
    assert_false(api_add_header(req, "ETag", "\"1\""));
    assert_int_equal(req->nresp_headers, API_MAX_RESP_HEADERS);
    for (int i = 0; i < req->nresp_headers; i++) {
        assert_string_equal(req->resp_headers[i].name, "X-Fill");
    }
    assert_int_equal(req->status, 0); /* api_add_header never answers */
    rl_arena_destroy(req->arena);
}

/* Every error reply that must carry a header answers the contract's 500
 * instead of going out without it, keeping the middleware's headers. */
static void
error_reply_without_room_for_its_header_is_a_500(void **state)
{
    (void)state;
    for (int kind = 0; kind < 4; kind++) {
        struct api_req *req = new_req();
        fill_headers(req, 2);
        (void)logged();
        int st = 0;
        switch (kind) {
        case 0:
            st = api_reply_invalid_auth_token(req); /* WWW-Authenticate */
            break;
        case 1:
            st = api_reply_rate_limited(req, 3); /* Retry-After */
            break;
        case 2:
            st = api_reply_busy(req, 1); /* Retry-After */
            break;
        case 3:
            st = api_reply_method_not_allowed(req, "GET, HEAD"); /* Allow */
            break;
        }
        if (st != 500) {
            fail_msg("kind %d answered %d", kind, st);
        }
        assert_contract_500(req);
        assert_int_equal(req->nresp_headers, 2);
        assert_non_null(strstr(logged(), "response header table full"));
        rl_arena_destroy(req->arena);
    }
}

static void
valid_validator_continues_without_a_response(void **state)
{
    (void)state;
    struct api_req *req = new_req();
    struct rl_validator v = {0};
    rl_check(&v, true, "title", "must be provided");
    assert_int_equal(api_reply_validation(req, &v), API_CONTINUE);
    assert_int_equal(req->status, 0);
    assert_null(req->resp_body);
    rl_arena_destroy(req->arena);
}

static void
failed_validator_answers_422_with_its_errors(void **state)
{
    (void)state;
    struct api_req *req = new_req();
    struct rl_validator v = {0};
    rl_check(&v, false, "title", "must be provided");
    rl_check(&v, false, "year", "must be provided");
    rl_check(&v, false, "title", "second failure is dropped");
    assert_int_equal(api_reply_validation(req, &v), 422);
    assert_null(v.errors); /* taken over by the response */
    assert_int_equal(req->status, 422);
    assert_body(req, "{\n    \"error\": {\n        \"title\": \"must be "
                     "provided\",\n        \"year\": \"must be provided\"\n"
                     "    }\n}\n");
    rl_arena_destroy(req->arena);
}

static void
validator_out_of_memory_is_a_500(void **state)
{
    (void)state;
    struct api_req *req = new_req();
    struct rl_validator v = {0};
    rl_check(&v, false, "title", "must be provided");
    v.nomem = true; /* as rl_check leaves it when json_object fails */
    assert_int_equal(api_reply_validation(req, &v), 500);
    assert_null(v.errors); /* freed */
    assert_contract_500(req);
    (void)logged();
    rl_arena_destroy(req->arena);
}

static void
field_error_is_one_field_422(void **state)
{
    (void)state;
    struct api_req *req = new_req();
    assert_int_equal(
        api_reply_field_error(req, "email", "no matching email address found"),
        422);
    assert_body(req, "{\n    \"error\": {\n        \"email\": \"no matching "
                     "email address found\"\n    }\n}\n");
    rl_arena_destroy(req->arena);
}

static void
read_id_continues_or_answers_404(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *value;
        int want;
    } cases[] = {
        {"id", "7", API_CONTINUE}, {"id", "0", 404}, {"id", "-1", 404},
        {"id", "+7", 404},         {"id", "", 404},  {"id", "7x", 404},
        {"slug", "7", 404}, /* no :id parameter at all */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_req *req = new_req();
        req->param_names[0] = cases[i].name;
        req->param_values[0] = cases[i].value;
        req->nparams = 1;
        int64_t id = -5;
        int st = api_read_id(req, "id", &id);
        if (st != cases[i].want) {
            fail_msg("%s=%s answered %d", cases[i].name, cases[i].value, st);
        }
        if (st == API_CONTINUE) {
            assert_int_equal(id, 7);
            assert_int_equal(req->status, 0);
        } else {
            assert_int_equal(id, -5);
            assert_int_equal(req->status, 404);
            assert_body(req, "{\n    \"error\": \"the requested resource "
                             "could not be found\"\n}\n");
        }
        rl_arena_destroy(req->arena);
    }
}

static void
read_body_continues_or_answers_400(void **state)
{
    (void)state;
    static const struct rl_jin_field f[] = {
        {.name = "title", .kind = RL_JIN_STRING}};
    struct api_req *req = new_req();
    req->body = "{\"title\": \"Moana\"}";
    req->body_len = strlen(req->body);
    json_t *in = NULL;
    assert_int_equal(api_read_body(req, f, 1, &in), API_CONTINUE);
    assert_string_equal(json_string_value(json_object_get(in, "title")),
                        "Moana");
    assert_int_equal(req->status, 0);
    rl_arena_destroy(req->arena); /* releases in */

    req = new_req();
    req->body = "{\"title\": 1}";
    req->body_len = strlen(req->body);
    assert_int_equal(api_read_body(req, f, 1, &in), 400);
    assert_null(in);
    assert_int_equal(req->status, 400);
    assert_body(req, "{\n    \"error\": \"body contains incorrect JSON type "
                     "for field \\\"title\\\"\"\n}\n");
    rl_arena_destroy(req->arena);
}

/* The body is the caller's bytes, not a copy; a JSON reply afterwards
 * takes the default content type back. */
static void
reply_body_borrows(void **state)
{
    (void)state;
    static const char doc[] = "{\"openapi\": \"3.1.0\"}";
    struct api_req *req = new_req();
    assert_int_equal(api_reply_body(req, 200, "text/plain", doc, 5), 200);
    assert_ptr_equal(req->resp_body, doc);
    assert_int_equal(req->resp_len, 5);
    assert_string_equal(req->content_type, "text/plain");
    assert_int_equal(api_reply_empty(req, 304), 304);
    assert_null(req->resp_body);
    assert_int_equal(req->resp_len, 0);
    assert_null(req->content_type);
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
        cmocka_unit_test(full_header_table_refuses_and_adds_nothing),
        cmocka_unit_test(error_reply_without_room_for_its_header_is_a_500),
        cmocka_unit_test(valid_validator_continues_without_a_response),
        cmocka_unit_test(failed_validator_answers_422_with_its_errors),
        cmocka_unit_test(validator_out_of_memory_is_a_500),
        cmocka_unit_test(field_error_is_one_field_422),
        cmocka_unit_test(read_id_continues_or_answers_404),
        cmocka_unit_test(read_body_continues_or_answers_400),
        cmocka_unit_test(reply_body_borrows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
