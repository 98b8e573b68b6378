"""Healthcheck, router and general response rules (CONTRACT §1, §1.1, §2, §9,
§12 #12, #13, #16)."""

import json

import pytest

NOT_FOUND = {"error": "the requested resource could not be found"}

# Every registered path (one concrete example each) and its exact Allow value.
ALLOW = {
    "/v1/healthcheck": "GET, HEAD, OPTIONS",
    "/v1/movies": "GET, HEAD, OPTIONS, POST",
    "/v1/movies/1": "DELETE, GET, HEAD, OPTIONS, PATCH",
}
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def content_type(headers):
    return headers.get("Content-Type", "").split(";")[0].strip().lower()


def assert_json(r, status, body=None):
    """Exact status, Content-Type application/json, body one JSON object
    followed by a newline, equal to body when given. Returns the parsed body."""
    assert r.status_code == status, f"{r.status_code} {r.text!r}"
    assert content_type(r.headers) == "application/json", r.headers
    assert r.content.endswith(b"\n"), r.content
    parsed = json.loads(r.content)
    assert isinstance(parsed, dict)
    if body is not None:
        assert parsed == body
    return parsed


# ---- healthcheck ------------------------------------------------------------

def test_healthcheck_body(api):
    body = assert_json(api.get("/v1/healthcheck"), 200)
    assert set(body) == {"status", "system_info"}
    assert body["status"] == "available"
    assert set(body["system_info"]) == {"environment", "version"}
    # run-tests.sh starts the server with -env staging
    assert body["system_info"]["environment"] == "staging"
    version = body["system_info"]["version"]
    assert isinstance(version, str) and version.strip() == version != ""


def test_healthcheck_is_stable(api):
    first = api.get("/v1/healthcheck").json()
    for _ in range(3):
        assert api.get("/v1/healthcheck").json() == first


def test_healthcheck_ignores_query_string(api):
    assert_json(api.get("/v1/healthcheck?verbose=1&x=%FF"), 200)


# ---- HEAD -------------------------------------------------------------------

def headers_without_date(headers):
    return {k.lower(): v for k, v in headers.items() if k.lower() != "date"}


@pytest.mark.parametrize("path", [
    "/v1/healthcheck",
    "/v1/movies?sort=id&page_size=1",
    "/v1/movies",
    "/v1/movies/{id}",
])
def test_head_mirrors_get(api, make_movie, path):
    path = path.format(id=make_movie()["id"])
    g = api.get(path)
    h = api.head(path)
    assert h.status_code == g.status_code
    assert h.content == b""
    assert headers_without_date(h.headers) == headers_without_date(g.headers)


@pytest.mark.parametrize("path", ["/v1/movies/999999999999", "/v1/movies/abc",
                                  "/nope", "/V1/healthcheck"])
def test_head_on_missing_resource_is_404_without_body(api, path):
    g = api.get(path)
    h = api.head(path)
    assert_json(g, 404, NOT_FOUND)
    assert h.status_code == 404
    assert h.content == b""
    assert content_type(h.headers) == "application/json"
    assert headers_without_date(h.headers) == headers_without_date(g.headers)


def test_head_with_raw_http_has_no_body(raw_http):
    status, headers, body = raw_http("HEAD", "/v1/healthcheck")
    assert status == 200
    assert body == b""
    assert content_type(headers) == "application/json"


# ---- 404 --------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/",
    "/nope",
    "/v1",
    "/v1/",
    "/v2/healthcheck",
    "/V1/healthcheck",
    "/v1/Healthcheck",
    "/v1/HEALTHCHECK",
    "/V1/MOVIES",
    "/v1/Movies",
    "/v1/movies/1/extra",
    "/v1/healthcheck/extra",
    "/v1/healthcheckx",
    "/v1/moviesx",
    "/nope/",
])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_path_is_404(api, method, path):
    assert_json(api.request(method, path), 404, NOT_FOUND)


def test_options_on_unknown_path_is_404(api):
    assert_json(api.options("/nope"), 404, NOT_FOUND)
    assert_json(api.options("/V1/healthcheck"), 404, NOT_FOUND)


# ---- 405 --------------------------------------------------------------------

def not_allowed_cases():
    for path, allow in ALLOW.items():
        allowed = allow.split(", ")
        for method in ALL_METHODS:
            if method not in allowed:
                yield path, method, allow


@pytest.mark.parametrize("path,method,allow", list(not_allowed_cases()))
def test_wrong_method_is_405_with_allow(api, path, method, allow):
    r = api.request(method, path)
    assert_json(r, 405, {
        "error": f"the {method} method is not supported for this resource"})
    assert r.headers["Allow"] == allow


@pytest.mark.parametrize("path", ["/v1/movies/abc", "/v1/movies/0",
                                  "/v1/movies/99999999999999999999"])
def test_405_for_any_id_segment(api, path):
    r = api.put(path)
    assert_json(r, 405, {
        "error": "the PUT method is not supported for this resource"})
    assert r.headers["Allow"] == ALLOW["/v1/movies/1"]


def test_405_names_an_unusual_method(raw_http):
    status, headers, body = raw_http("TRACE", "/v1/healthcheck")
    assert status == 405
    assert content_type(headers) == "application/json"
    assert json.loads(body) == {
        "error": "the TRACE method is not supported for this resource"}
    assert headers["Allow"] == ALLOW["/v1/healthcheck"]


# ---- OPTIONS ----------------------------------------------------------------

@pytest.mark.parametrize("path,allow", list(ALLOW.items()))
def test_options_lists_allowed_methods(api, path, allow):
    r = api.options(path)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Allow"] == allow


def test_options_without_any_cors_headers(api):
    r = api.options("/v1/movies", headers={"Origin": "https://example.com"})
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Allow"] == ALLOW["/v1/movies"]
    assert "Access-Control-Allow-Methods" not in r.headers
    assert "Access-Control-Allow-Origin" not in r.headers


# ---- trailing-slash redirects -----------------------------------------------

def redirect_cases():
    """Every method registered on each path: 301 for GET/HEAD, 308 else."""
    for path, allow in ALLOW.items():
        for method in allow.split(", "):
            if method != "OPTIONS":
                yield path, method, 301 if method in ("GET", "HEAD") else 308


@pytest.mark.parametrize("path,method,status", list(redirect_cases()))
def test_trailing_slash_redirects(api, path, method, status):
    r = api.request(method, path + "/")
    assert r.status_code == status
    assert r.headers["Location"] == path
    if method == "HEAD":
        assert r.content == b""
    else:
        assert_json(r, status)


@pytest.mark.parametrize("method,status", [("GET", 301), ("POST", 308)])
def test_trailing_slash_redirect_keeps_query(api, method, status):
    r = api.request(method, "/v1/movies/?title=moana&page=2&sort=-year")
    assert r.status_code == status
    assert r.headers["Location"] == "/v1/movies?title=moana&page=2&sort=-year"


def test_redirect_target_answers(api):
    r = api.get("/v1/movies/?sort=id")
    assert r.status_code == 301
    assert_json(api.get(r.headers["Location"]), 200)


def test_no_case_fixing_redirect(api):
    for path in ("/V1/movies", "/V1/movies/", "/v1/MOVIES/"):
        r = api.get(path)
        assert_json(r, 404, NOT_FOUND)
        assert "Location" not in r.headers


# ---- general response rules -------------------------------------------------

def response_cases():
    """(method, path, body) of requests that produce every kind of response."""
    return [
        ("GET", "/v1/healthcheck", None),
        ("GET", "/nope", None),
        ("PUT", "/v1/healthcheck", None),
        ("GET", "/v1/movies?sort=id&page_size=2", None),
        ("GET", "/v1/movies?page=0", None),
        ("GET", "/v1/movies/{id}", None),
        ("GET", "/v1/movies/abc", None),
        ("POST", "/v1/movies", b"{"),
        ("POST", "/v1/movies", b"{}"),
        ("POST", "/v1/movies", "create"),
        ("PATCH", "/v1/movies/{id}", b'{"year": 2000}'),
        ("PATCH", "/v1/movies/{id}", b'{"year": 1}'),
        ("PATCH", "/v1/movies/{id}", b'{"rating": 1}'),
        ("DELETE", "/v1/movies/{id}", None),
        ("DELETE", "/v1/movies/999999999999", None),
        ("GET", "/v1/movies/", None),
        ("POST", "/v1/movies/", None),
    ]


@pytest.mark.parametrize("method,path,body", response_cases())
def test_every_response_is_json_ending_in_newline(api, make_movie, method,
                                                  path, body):
    if body == "create":
        body = json.dumps({"title": "x", "year": 2000, "runtime": "1 mins",
                           "genres": ["x"]}).encode()
    path = path.format(id=make_movie()["id"])
    r = api.request(method, path, data=body)
    assert r.status_code not in (204, 304)
    assert r.content != b""
    assert_json(r, r.status_code)


def test_304_has_empty_body(api, make_movie):
    movie = make_movie()
    r = api.get(f"/v1/movies/{movie['id']}",
                headers={"If-None-Match": '"1"'})
    assert r.status_code == 304
    assert r.content == b""

