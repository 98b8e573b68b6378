/*
 * test_routes.c — the router (cmd/api/routes.c) and the handlers' checks
 * that answer before any database call, driven through the fake request
 * source (fakereq.c): no socket, no database. Statuses, bodies and headers
 * are the contract's (CONTRACT §1.1, §2, §3.3, §12 #12, #13, #16, #22).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/api/routes.h"
#include "internal/data/auth.h"
#include "tests/unit/fakereq.h"

static struct api_app app;

/* {"error": msg} as api_reply_json writes it. */
static void
assert_error_body(const struct api_req *req, const char *msg)
{
    char want[512];
    snprintf(want, sizeof(want), "{\n    \"error\": \"%s\"\n}\n", msg);
    assert_string_equal(fake_resp_body(req), want);
}

static struct api_req *
route(const char *method, const char *target)
{
    struct api_req *req = fake_req_new(&app, method, target, NULL);
    int status = api_route(&app, req);
    assert_int_equal(status, req->status);
    return req;
}

/* A request by an activated user holding `perm` (auth.c has run). */
static struct api_req *
route_as(const char *perm, const char *method, const char *target)
{
    struct api_req *req = fake_req_new(&app, method, target, NULL);
    req->authenticated = true;
    req->user.activated = true;
    req->user.perms = rl_perm_bit(perm);
    int status = api_route(&app, req);
    assert_int_equal(status, req->status);
    return req;
}

static void
test_unknown_paths_404(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/",
        "/v1",
        "/v1/nope",
        "/V1/healthcheck",     /* no case fixing (§12 #13) */
        "/v1/healthcheck%00",  /* a decoded NUL matches nothing (§12 #22) */
        "/v1/healthcheck%00/", /* ... not even to redirect */
        "/v1/movies/%01",      /* nor a control byte in a capture */
        "/v1/movies/1/2",
        "/v1/movies//",
        "/v1/nope/",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct api_req *req = route("GET", paths[i]);
        assert_int_equal(req->status, 404);
        assert_error_body(req, "the requested resource could not be found");
        assert_null(fake_resp_header(req, "Allow", NULL));
        assert_null(req->route);
        fake_req_free(req);
    }
}

static void
test_wrong_method_405_with_allow(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *allow, *route;
    } cases[] = {
        {"PUT", "/v1/healthcheck", "GET, HEAD, OPTIONS", "/v1/healthcheck"},
        {"PUT", "/v1/movies", "GET, HEAD, OPTIONS, POST", "/v1/movies"},
        {"POST", "/v1/movies/5", "DELETE, GET, HEAD, OPTIONS, PATCH",
         "/v1/movies/:id"},
        {"GET", "/v1/users", "OPTIONS, POST", "/v1/users"},
        {"HEAD", "/v1/users", "OPTIONS, POST", "/v1/users"},
        {"GET", "/v1/tokens/authentication", "DELETE, OPTIONS, POST",
         "/v1/tokens/authentication"},
        {"PATCH", "/v1/users/activated", "OPTIONS, PUT", "/v1/users/activated"},
        {"BREW", "/v1/openapi.json", "GET, HEAD, OPTIONS", "/v1/openapi.json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_req *req = route(cases[i].method, cases[i].path);
        assert_int_equal(req->status, 405);
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "the %s method is not supported for this resource",
                 cases[i].method);
        assert_error_body(req, msg);
        int n = 0;
        assert_string_equal(fake_resp_header(req, "Allow", &n), cases[i].allow);
        assert_int_equal(n, 1);
        assert_string_equal(req->route, cases[i].route);
        fake_req_free(req);
    }
}

static void
test_options_200_with_allow(void **state)
{
    (void)state;
    struct api_req *req = route("OPTIONS", "/v1/movies/42");
    assert_int_equal(req->status, 200);
    assert_null(req->resp_body);
    assert_int_equal(req->resp_len, 0);
    assert_string_equal(fake_resp_header(req, "Allow", NULL),
                        "DELETE, GET, HEAD, OPTIONS, PATCH");
    assert_string_equal(req->route, "/v1/movies/:id");
    fake_req_free(req);

    req = route("OPTIONS", "/v1/tokens/jwt");
    assert_int_equal(req->status, 200);
    assert_string_equal(fake_resp_header(req, "Allow", NULL), "OPTIONS, POST");
    fake_req_free(req);

    /* An unknown path stays unknown. */
    req = route("OPTIONS", "/v1/nope");
    assert_int_equal(req->status, 404);
    fake_req_free(req);
}

/* HEAD runs the GET route: same status, headers and body (libmicrohttpd
 * sends no body for HEAD), same guards (§12 #12). */
static void
test_head_runs_get(void **state)
{
    (void)state;
    static const char want[] = "{\n    \"status\": \"available\",\n"
                               "    \"system_info\": {\n"
                               "        \"environment\": \"development\",\n"
                               "        \"version\": \"" RL_VERSION "\"\n"
                               "    }\n}\n";
    struct api_req *get = route("GET", "/v1/healthcheck");
    struct api_req *head = route("HEAD", "/v1/healthcheck");
    assert_int_equal(get->status, 200);
    assert_int_equal(head->status, 200);
    assert_string_equal(fake_resp_body(get), want);
    assert_string_equal(fake_resp_body(head), want);
    assert_string_equal(head->route, "/v1/healthcheck");
    assert_null(head->content_type); /* application/json */
    fake_req_free(get);
    fake_req_free(head);

    head = route("HEAD", "/v1/movies/1");
    assert_int_equal(head->status, 401);
    assert_error_body(head,
                      "you must be authenticated to access this resource");
    assert_string_equal(head->route, "/v1/movies/:id");
    fake_req_free(head);
}

/* A trailing slash on a known path redirects: 301 for GET and HEAD, 308
 * otherwise, the query string kept as sent (§12 #13). */
static void
test_trailing_slash_redirects(void **state)
{
    (void)state;
    static const struct {
        const char *method, *target;
        int status;
        const char *location;
    } cases[] = {
        {"GET", "/v1/movies/", 301, "/v1/movies"},
        {"HEAD", "/v1/movies/", 301, "/v1/movies"},
        {"POST", "/v1/movies/", 308, "/v1/movies"},
        {"DELETE", "/v1/movies/7/", 308, "/v1/movies/7"},
        {"GET", "/v1/healthcheck/?a=1&b=%20x", 301,
         "/v1/healthcheck?a=1&b=%20x"},
        {"GET", "/v1/healthcheck/?", 301, "/v1/healthcheck"},
        /* Any method, even one the route does not take. */
        {"PUT", "/v1/healthcheck/", 308, "/v1/healthcheck"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_req *req = route(cases[i].method, cases[i].target);
        assert_int_equal(req->status, cases[i].status);
        assert_string_equal(fake_resp_header(req, "Location", NULL),
                            cases[i].location);
        assert_string_equal(fake_resp_body(req),
                            "{\n    \"message\": \"the resource has moved "
                            "permanently\"\n}\n");
        fake_req_free(req);
    }
}

/* The route's guard runs before the handler reads :id (§2). */
static void
test_permission_then_id(void **state)
{
    (void)state;
    struct api_req *req = route("GET", "/v1/movies/abc");
    assert_int_equal(req->status, 401);
    assert_null(fake_resp_header(req, "WWW-Authenticate", NULL));
    fake_req_free(req);

    req = fake_req_new(&app, "GET", "/v1/movies/abc", NULL);
    req->authenticated = true; /* not activated */
    assert_int_equal(api_route(&app, req), 403);
    assert_error_body(
        req, "your user account must be activated to access this resource");
    fake_req_free(req);

    req = route_as("movies:read", "DELETE", "/v1/movies/abc");
    assert_int_equal(req->status, 403);
    assert_error_body(req, "your user account doesn't have the necessary "
                           "permissions to access this resource");
    fake_req_free(req);

    static const char *const bad_ids[] = {
        "/v1/movies/abc", "/v1/movies/0",  "/v1/movies/-1",
        "/v1/movies/1.5", "/v1/movies/+1", "/v1/movies/9223372036854775808",
    };
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        req = route_as("movies:read", "GET", bad_ids[i]);
        assert_int_equal(req->status, 404);
        assert_error_body(req, "the requested resource could not be found");
        assert_string_equal(req->param_names[0], "id");
        fake_req_free(req);
    }
}

/* The metrics endpoints do not exist for a client outside -metrics-allow,
 * whatever the method or slash (§12 #15). */
static void
test_metrics_hidden(void **state)
{
    (void)state;
    static const char *const hidden[][2] = {
        {"GET", "/debug/vars"},  {"PUT", "/debug/vars"},
        {"OPTIONS", "/metrics"}, {"GET", "/metrics/"},
        {"GET", "/debug/vars/"},
    };
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        struct api_req *req = route(hidden[i][0], hidden[i][1]);
        assert_int_equal(req->status, 404);
        assert_null(fake_resp_header(req, "Allow", NULL));
        assert_null(fake_resp_header(req, "Location", NULL));
        fake_req_free(req);
    }
    assert_int_equal(
        rl_ipset_parse("127.0.0.1", &app.metrics_allow, NULL, NULL), RL_OK);
    struct api_req *req = route("PUT", "/metrics");
    assert_int_equal(req->status, 405);
    assert_string_equal(fake_resp_header(req, "Allow", NULL),
                        "GET, HEAD, OPTIONS");
    fake_req_free(req);
    req = route("GET", "/metrics/");
    assert_int_equal(req->status, 301);
    assert_string_equal(fake_resp_header(req, "Location", NULL), "/metrics");
    fake_req_free(req);
    req = fake_req_new(&app, "GET", "/debug/vars", NULL);
    fake_req_peer(req, "127.0.0.2");
    assert_int_equal(api_route(&app, req), 404);
    fake_req_free(req);
    rl_ipset_free(app.metrics_allow);
    app.metrics_allow = NULL;
}

static void
test_route_work(void **state)
{
    (void)state;
    static const char *const auth[] = {"Authorization", "Bearer x", NULL};
    static const char *const empty_auth[] = {"Authorization", "", NULL};
    static const struct {
        const char *method, *path;
        const char *const *headers;
        enum api_work work;
    } cases[] = {
        {"GET", "/v1/healthcheck", NULL, API_WORK_INLINE},
        {"HEAD", "/v1/openapi.json", NULL, API_WORK_INLINE},
        {"GET", "/v1/movies", NULL, API_WORK_DB_LIST},
        {"GET", "/v1/movies", auth, API_WORK_DB_LIST}, /* auth, still a list */
        {"HEAD", "/v1/movies/3", NULL, API_WORK_DB},
        {"GET", "/metrics", NULL, API_WORK_DB},
        {"POST", "/v1/users", NULL, API_WORK_HASH},
        {"PUT", "/v1/users/password", NULL, API_WORK_HASH},
        {"POST", "/v1/tokens/authentication", NULL, API_WORK_HASH},
        {"DELETE", "/v1/tokens/authentication", NULL, API_WORK_DB},
        {"PUT", "/v1/healthcheck", NULL, API_WORK_INLINE}, /* 405 */
        {"GET", "/v1/nope", NULL, API_WORK_INLINE},
        /* Authentication reads the database, whatever the route. */
        {"GET", "/v1/healthcheck", auth, API_WORK_DB},
        {"GET", "/v1/nope", auth, API_WORK_DB},
        {"POST", "/v1/users", auth, API_WORK_HASH},
        {"GET", "/v1/healthcheck", empty_auth, API_WORK_INLINE},
        /* Readiness is never authenticated: Authorization is ignored. */
        {"GET", "/readyz", auth, API_WORK_INLINE},
        {"POST", "/readyz", auth, API_WORK_INLINE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_req *req = fake_req_new(&app, cases[i].method, cases[i].path,
                                           cases[i].headers);
        assert_int_equal(api_route_work(req), cases[i].work);
        fake_req_free(req);
    }
}

static void
test_pattern_and_allow(void **state)
{
    (void)state;
    assert_string_equal(api_route_pattern("/v1/movies/12", 13),
                        "/v1/movies/:id");
    assert_string_equal(api_route_pattern("/v1/movies", 10), "/v1/movies");
    assert_null(api_route_pattern("/v1/movies/", 11));
    assert_null(api_route_pattern("/v1/movies/1\0", 13));
    struct api_req *req = fake_req_new(&app, "GET", "/", NULL);
    assert_string_equal(api_route_allow(req, "/v1/users/password", 18),
                        "OPTIONS, PUT");
    assert_null(api_route_allow(req, "/v1/users/x", 11));
    fake_req_free(req);
}

/* GET /v1/movies answers its filters' 422 before the database (§3.3). */
static void
test_movie_list_filters(void **state)
{
    (void)state;
    static const struct {
        const char *query;
        const char *errors; /* the "error" object's members, pretty */
    } cases[] = {
        {"?page=0&page_size=101&sort=bogus",
         "        \"page\": \"must be greater than zero\",\n"
         "        \"page_size\": \"must be a maximum of 100\",\n"
         "        \"sort\": \"invalid sort value\"\n"},
        {"?page=abc&page_size=-1",
         "        \"page\": \"must be an integer value\",\n"
         "        \"page_size\": \"must be greater than zero\"\n"},
        {"?page=10000001", "        \"page\": \"must be a maximum of 10 "
                           "million\"\n"},
        {"?page=1%00", "        \"page\": \"must be an integer value\"\n"},
        {"?year=1887", "        \"year\": \"must be a year or a range of years "
                       "such as 1990-1999\"\n"},
        {"?year=1999-1990", "        \"year\": \"must be a year or a range of "
                            "years such as 1990-1999\"\n"},
        {"?year=-1990", "        \"year\": \"must be a year or a range of "
                        "years such as 1990-1999\"\n"},
        {"?title=a%00b", "        \"title\": \"must be valid UTF-8 without "
                         "NUL characters\"\n"},
        {"?genres=%ff", "        \"genres\": \"must be valid UTF-8 without "
                        "NUL characters\"\n"},
        {"?sort=id%00x", "        \"sort\": \"invalid sort value\"\n"},
        {"?sort=-bogus", "        \"sort\": \"invalid sort value\"\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char target[128];
        snprintf(target, sizeof(target), "/v1/movies%s", cases[i].query);
        struct api_req *req = route_as("movies:read", "GET", target);
        assert_int_equal(req->status, 422);
        char want[512];
        snprintf(want, sizeof(want), "{\n    \"error\": {\n%s    }\n}\n",
                 cases[i].errors);
        assert_string_equal(fake_resp_body(req), want);
        fake_req_free(req);
    }
}

/* Bodies refused before any database call or password hash (§1.2, §4). */
static void
test_body_checks(void **state)
{
    (void)state;
    static const struct {
        const char *perm, *method, *path, *body;
        int status;
        const char *want;
    } cases[] = {
        {"movies:write", "POST", "/v1/movies", "", 400,
         "{\n    \"error\": \"body must not be empty\"\n}\n"},
        {"movies:write", "POST", "/v1/movies", "{\"title\": \"Moana\", }", 400,
         "{\n    \"error\": \"body contains badly-formed JSON (at character "
         "20)\"\n}\n"},
        {"movies:write", "POST", "/v1/movies", "{\"title\":\"x\",\"rating\":5}",
         400,
         "{\n    \"error\": \"body contains unknown key "
         "\\\"rating\\\"\"\n}\n"},
        {"movies:write", "POST", "/v1/movies",
         "{\"title\":\"\",\"year\":1887,\"runtime\":\"-5 mins\","
         "\"genres\":[]}",
         422,
         "{\n    \"error\": {\n"
         "        \"title\": \"must be provided\",\n"
         "        \"year\": \"must be greater than 1888\",\n"
         "        \"runtime\": \"must be a positive integer\",\n"
         "        \"genres\": \"must contain at least 1 genre\"\n    }\n}\n"},
        {NULL, "POST", "/v1/users",
         "{\"name\":\"\",\"email\":\"x\","
         "\"password\":\"short\"}",
         422,
         "{\n    \"error\": {\n"
         "        \"name\": \"must be provided\",\n"
         "        \"email\": \"must be a valid email address\",\n"
         "        \"password\": \"must be at least 8 bytes long\"\n    }\n}\n"},
        {NULL, "PUT", "/v1/users/activated", "{\"token\":\"abc\"}", 422,
         "{\n    \"error\": {\n"
         "        \"token\": \"must be 26 bytes long\"\n    }\n}\n"},
        {NULL, "POST", "/v1/tokens/activation", "{\"email\":\"\"}", 422,
         "{\n    \"error\": {\n"
         "        \"email\": \"must be provided\"\n    }\n}\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_req *req =
            fake_req_new(&app, cases[i].method, cases[i].path, NULL);
        fake_req_body(req, cases[i].body);
        if (cases[i].perm != NULL) {
            req->authenticated = true;
            req->user.activated = true;
            req->user.perms = rl_perm_bit(cases[i].perm);
        }
        assert_int_equal(api_route(&app, req), cases[i].status);
        assert_string_equal(fake_resp_body(req), cases[i].want);
        fake_req_free(req);
    }
}

/* body as api_reply_json encodes it: the bytes every other response
 * has. */
static void
assert_json_encoded(const struct api_req *req, json_t *body)
{
    char *want = json_dumps(body, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    assert_non_null(want);
    size_t n = strlen(want);
    assert_int_equal(req->resp_len, n + 1);
    assert_memory_equal(req->resp_body, want, n);
    assert_int_equal(req->resp_body[n], '\n');
    free(want);
    json_decref(body);
}

/* GET /readyz (CONTRACT §13.2): 200 ready; 503 shutting down from the
 * signal (draining) or the quiesce on; bodies byte for byte as every other
 * response is encoded, shared static bytes. (The database-unreachable body
 * needs the probe's thread: tests/test_readyz.py.) */
static void
test_readyz(void **state)
{
    (void)state;
    struct api_req *req = route("GET", "/readyz");
    assert_int_equal(req->status, 200);
    assert_true(req->resp_shared);
    assert_string_equal(req->route, "/readyz");
    assert_json_encoded(req, json_pack("{s:s}", "status", "ready"));
    fake_req_free(req);

    req = route("HEAD", "/readyz");
    assert_int_equal(req->status, 200);
    fake_req_free(req);

    atomic_store(&app.draining, true);
    req = route("GET", "/readyz");
    assert_int_equal(req->status, 503);
    assert_json_encoded(req, json_pack("{s:s, s:s}", "status", "not ready",
                                       "reason", "shutting down"));
    fake_req_free(req);
    atomic_store(&app.draining, false);
    atomic_store(&app.shutting_down, true);
    req = route("GET", "/readyz");
    assert_int_equal(req->status, 503);
    fake_req_free(req);
    atomic_store(&app.shutting_down, false);

    req = route("POST", "/readyz");
    assert_int_equal(req->status, 405);
    assert_string_equal(fake_resp_header(req, "Allow", NULL),
                        "GET, HEAD, OPTIONS");
    fake_req_free(req);

    static const char *const paths[] = {"/readyz", "/readyz?x=1"};
    for (size_t i = 0; i < 2; i++) {
        req = fake_req_new(&app, "GET", paths[i], NULL);
        assert_true(api_route_unguarded(req));
        fake_req_free(req);
    }
    static const char *const others[] = {"/readyz/", "/readyzz", "/ready",
                                         "/v1/readyz", "/readyz%00"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        req = fake_req_new(&app, "GET", others[i], NULL);
        assert_false(api_route_unguarded(req));
        fake_req_free(req);
    }
}

int
main(void)
{
    app.cfg.env = "development";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_paths_404),
        cmocka_unit_test(test_wrong_method_405_with_allow),
        cmocka_unit_test(test_options_200_with_allow),
        cmocka_unit_test(test_head_runs_get),
        cmocka_unit_test(test_trailing_slash_redirects),
        cmocka_unit_test(test_permission_then_id),
        cmocka_unit_test(test_metrics_hidden),
        cmocka_unit_test(test_route_work),
        cmocka_unit_test(test_pattern_and_allow),
        cmocka_unit_test(test_movie_list_filters),
        cmocka_unit_test(test_body_checks),
        cmocka_unit_test(test_readyz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
