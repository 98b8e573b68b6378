"""CORS (CONTRACT §6, §1 Vary, §12 #16, §12 #21), at the HTTP level.  The same rules in
a real browser: tests/test_cors_browser.py.

The shared server trusts no origin, so the trusted-origin tests start an
instance with -cors-trusted-origins.
"""

import os
import subprocess

import pytest

TRUSTED_A = "http://a.example"
TRUSTED_B = "https://b.example:8443"
ORIGINS = f"{TRUSTED_A} {TRUSTED_B}"
PREFLIGHT_METHODS = "OPTIONS, PUT, PATCH, DELETE"
PREFLIGHT_HEADERS = ("Authorization, Content-Type, If-Match, If-None-Match, "
                     "X-Expected-Version")
EXPOSE_HEADERS = ("ETag, Location, RateLimit-Limit, RateLimit-Remaining, "
                  "RateLimit-Reset, Retry-After")
NOT_FOUND = {"error": "the requested resource could not be found"}


def vary(r):
    return [v.strip() for v in r.headers.get("Vary", "").split(",") if v]


def allow_headers(r):
    return {k for k in r.headers if k.lower().startswith("access-control-")}


@pytest.fixture
def cors_api(spawn_server):
    return spawn_server("-cors-trusted-origins", ORIGINS)


# ---- Vary on every response --------------------------------------------------

def responses_of_every_kind(api, anon, unique):
    """(name, response) for a 200, 201, 301, 400, 401, 404, 405 and 422."""
    return [
        ("200", anon.get("/v1/healthcheck")),
        ("201", api.post("/v1/movies", json={
            "title": unique("cors"), "year": 2001, "runtime": "90 mins",
            "genres": ["drama"]})),
        ("301", anon.get("/v1/healthcheck/")),
        ("400", api.post("/v1/movies", data=b"{")),
        ("401", anon.get("/v1/healthcheck",
                         headers={"Authorization": "Bearer x"})),
        ("401 required", anon.get("/v1/movies")),
        ("404", anon.get("/nowhere")),
        ("405", anon.delete("/v1/healthcheck")),
        ("422", api.post("/v1/movies", json={})),
        ("OPTIONS", anon.options("/v1/movies")),
    ]


def test_vary_on_every_response(api, anon_api, unique):
    for name, r in responses_of_every_kind(api, anon_api, unique):
        v = vary(r)
        assert "Origin" in v, (name, r.headers)
        assert "Access-Control-Request-Method" in v, (name, r.headers)
        assert "Authorization" in v, (name, r.headers)
        assert not allow_headers(r), (name, r.headers)


def test_trusted_origin_on_every_response(cors_api, unique):
    anon = cors_api.anonymous()
    with_origin = {"Origin": TRUSTED_B}
    for name, r in [
            ("200", anon.get("/v1/healthcheck", headers=with_origin)),
            ("201", cors_api.post("/v1/movies", headers=with_origin, json={
                "title": unique("cors"), "year": 2001, "runtime": "90 mins",
                "genres": ["drama"]})),
            ("400", cors_api.post("/v1/movies", headers=with_origin,
                                  data=b"{")),
            ("401", anon.get("/v1/healthcheck", headers={
                **with_origin, "Authorization": "Bearer x"})),
            ("404", anon.get("/nowhere", headers=with_origin)),
            ("405", anon.delete("/v1/healthcheck", headers=with_origin)),
            ("422", cors_api.post("/v1/movies", headers=with_origin,
                                  json={}))]:
        assert r.headers.get("Access-Control-Allow-Origin") == TRUSTED_B, \
            (name, r.status_code, r.headers)
        assert allow_headers(r) == {"Access-Control-Allow-Origin",
                                    "Access-Control-Expose-Headers"}, name
        assert r.headers["Access-Control-Expose-Headers"] == \
            EXPOSE_HEADERS, name
        assert {"Origin", "Access-Control-Request-Method",
                "Authorization"} <= set(vary(r)), name
        assert r.status_code == int(name), (name, r.text)
    r = anon.get("/nowhere", headers=with_origin)
    assert r.json() == NOT_FOUND


@pytest.mark.parametrize("origin", [
    "http://evil.example",
    "HTTP://A.EXAMPLE",            # exact, case-sensitive
    "http://a.example/",           # not the same string
    "http://a.example:80",
    "http://a.example.evil.example",
    "https://a.example",
    "null",
    "",
    f"{TRUSTED_A} {TRUSTED_B}",    # the whole list is not an origin
    "*",
])
def test_untrusted_origin_gets_no_cors_headers(cors_api, origin):
    r = cors_api.anonymous().get("/v1/healthcheck", headers={"Origin": origin})
    assert r.status_code == 200
    assert not allow_headers(r), r.headers
    assert {"Origin", "Access-Control-Request-Method"} <= set(vary(r))


def test_each_trusted_origin_is_echoed(cors_api):
    for origin in (TRUSTED_A, TRUSTED_B):
        r = cors_api.anonymous().get("/v1/healthcheck",
                                     headers={"Origin": origin})
        assert r.headers["Access-Control-Allow-Origin"] == origin


# ---- preflight -------------------------------------------------------------

def preflight(api, path, origin, method="PUT", **extra):
    return api.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": method, **extra})


@pytest.mark.parametrize("path", ["/v1/movies/1", "/v1/movies",
                                  "/v1/healthcheck", "/no/such/path"])
def test_trusted_preflight(cors_api, path):
    r = preflight(cors_api.anonymous(), path, TRUSTED_A, "DELETE",
                  **{"Access-Control-Request-Headers": "authorization"})
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Access-Control-Allow-Origin"] == TRUSTED_A
    assert r.headers["Access-Control-Allow-Methods"] == PREFLIGHT_METHODS
    assert r.headers["Access-Control-Allow-Headers"] == PREFLIGHT_HEADERS
    assert "Access-Control-Allow-Credentials" not in r.headers
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert r.headers["Access-Control-Expose-Headers"] == EXPOSE_HEADERS
    assert "Allow" not in r.headers  # answered before the router
    assert "Content-Type" not in r.headers
    assert {"Origin", "Access-Control-Request-Method"} <= set(vary(r))
    assert "Authorization" not in vary(r)  # never reached authentication


def test_trusted_preflight_performs_no_authentication(cors_api):
    r = preflight(cors_api.anonymous(), "/v1/movies", TRUSTED_A, "POST",
                  Authorization="Bearer not-a-valid-token")
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Methods"] == PREFLIGHT_METHODS
    assert "WWW-Authenticate" not in r.headers


def test_untrusted_preflight_is_an_ordinary_options(cors_api):
    r = preflight(cors_api.anonymous(), "/v1/movies", "http://evil.example")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert not allow_headers(r)


def test_options_without_request_method_is_ordinary(cors_api):
    anon = cors_api.anonymous()
    for extra in ({}, {"Access-Control-Request-Method": ""}):
        r = anon.options("/v1/movies/1", headers={"Origin": TRUSTED_A,
                                                  **extra})
        assert r.status_code == 200
        assert r.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
        assert r.headers["Access-Control-Allow-Origin"] == TRUSTED_A
        assert "Access-Control-Allow-Methods" not in r.headers
    # An ordinary OPTIONS of an unknown path is the router's 404.
    r = anon.options("/nowhere", headers={"Origin": TRUSTED_A})
    assert r.status_code == 404
    assert r.headers["Access-Control-Allow-Origin"] == TRUSTED_A


def test_preflight_with_other_method_than_options(cors_api):
    # Access-Control-Request-Method on a GET is just a header.
    r = cors_api.anonymous().get("/v1/healthcheck", headers={
        "Origin": TRUSTED_A, "Access-Control-Request-Method": "PUT"})
    assert r.status_code == 200
    assert r.json()["status"] == "available"
    assert "Access-Control-Allow-Methods" not in r.headers


def test_no_origins_trusted_by_default(anon_api):
    r = preflight(anon_api, "/v1/movies", "http://localhost:3000")
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert not allow_headers(r)


# ---- CORS runs before the rate limiter ---------------------------------------

def test_cors_and_the_rate_limiter(spawn_server):
    api = spawn_server("-cors-trusted-origins", TRUSTED_A,
                       "-limiter-enabled=true", "-limiter-rps", "0.01",
                       "-limiter-burst", "1").anonymous()
    # spawn_server's probe took the only token.
    r = api.get("/v1/healthcheck", headers={"Origin": TRUSTED_A})
    assert r.status_code == 429
    assert r.headers["Access-Control-Allow-Origin"] == TRUSTED_A
    assert {"Origin", "Access-Control-Request-Method"} <= set(vary(r))
    # A trusted preflight is answered before the limiter: never limited,
    # and it carries no RateLimit headers.
    for _ in range(3):
        r = preflight(api, "/v1/movies", TRUSTED_A)
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Methods"] == PREFLIGHT_METHODS
        assert "RateLimit-Limit" not in r.headers
    # An untrusted one is limited.
    r = preflight(api, "/v1/movies", "http://evil.example")
    assert r.status_code == 429
    assert not allow_headers(r)


# ---- the list of trusted origins: spaces, commas, validation -----------------

@pytest.mark.parametrize("flag", [
    f"{TRUSTED_A},{TRUSTED_B}",
    f"{TRUSTED_A}, {TRUSTED_B}",
    f"  {TRUSTED_A} ,, {TRUSTED_B}  ",
    f"{TRUSTED_A}\t{TRUSTED_B}",
])
def test_origins_separated_by_commas_or_spaces(spawn_server, flag):
    anon = spawn_server("-cors-trusted-origins", flag).anonymous()
    for origin in (TRUSTED_A, TRUSTED_B):
        r = anon.get("/v1/healthcheck", headers={"Origin": origin})
        assert r.headers["Access-Control-Allow-Origin"] == origin, flag
        r = preflight(anon, "/v1/movies/1", origin, "PATCH")
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == origin, flag
    # Neither the joined list nor a piece of an item is an origin.
    for origin in (f"{TRUSTED_A},{TRUSTED_B}", f"{TRUSTED_A},",
                   "http://a", ","):
        r = anon.get("/v1/healthcheck", headers={"Origin": origin})
        assert not allow_headers(r), (flag, origin, r.headers)


def run_api(*flags):
    if "REDLIGHT_BIN" not in os.environ:
        pytest.skip("REDLIGHT_BIN is not set (run the tests with make test)")
    return subprocess.run([os.environ["REDLIGHT_BIN"], *flags],
                          capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)


@pytest.mark.parametrize("bad, flag", [
    ("http://a.example/", "http://a.example/"),
    ("https://a.example/app", "https://a.example/app"),
    ("a.example", "a.example"),
    ("*", "*"),
    ("null", "null"),
    ("HTTP://A.EXAMPLE", "HTTP://A.EXAMPLE"),
    ("http://a.example:0", "http://a.example:0"),
    ("http://a.example:65536", "http://a.example:65536"),
    ("http://a.example:", "http://a.example:"),
    ("http://user@a.example", "http://user@a.example"),
    ("http://", "http://"),
    ("http://a.example?x", f"{TRUSTED_A},http://a.example?x"),
    ("ftp:/a.example", f"{TRUSTED_A} ftp:/a.example {TRUSTED_B}"),
])
def test_invalid_origin_exits_2(bad, flag):
    proc = run_api("-cors-trusted-origins", flag)
    assert proc.returncode == 2, proc
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(
        f'invalid value "{flag}" for flag -cors-trusted-origins: '
        f'"{bad}" is not an origin (scheme://host[:port]'), proc.stderr


@pytest.mark.parametrize("good", [
    "http://localhost:3000", "https://app.example.com",
    "http://127.0.0.1:5173", "http://[::1]:8080", "https://xn--bcher-kva.example",
    "chrome-extension://abcdefghijklmnop", "",
    "http://password=visible.example",  # '=' may stand in a URL's host
])
def test_valid_origins_are_accepted(good):
    # A valid list gets as far as the subcommand, which is unknown.
    proc = run_api("-cors-trusted-origins", good, "no-such-command")
    assert proc.returncode == 2, proc
    assert proc.stderr == 'unknown command "no-such-command" (try -help)\n'


# ---- responses built once and sent again (cmd/api/mhdreq.c) ----------------

@pytest.mark.parametrize("path", ["/v1/healthcheck", "/v1/openapi.json"])
def test_reused_responses_follow_each_request(spawn_server, path):
    """The healthcheck and the OpenAPI document are static: an I/O thread
    keeps the response it built and sends it again while the headers are
    the same.  On one keep-alive connection (one I/O thread), alternating
    trusted, untrusted and no Origin, with the limiter on (RateLimit-Remaining
    changes each time) and off, every response carries its own request's
    headers, never the previous one's."""
    import http.client
    from urllib.parse import urlsplit
    for limiter in ("true", "false"):
        inst = spawn_server("-cors-trusted-origins", ORIGINS,
                            "-limiter-enabled=" + limiter,
                            "-limiter-rps", "0.5", "-limiter-burst", "100")
        u = urlsplit(inst.base_url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        bodies = set()
        remaining = []
        for i in range(30):
            origin = [None, TRUSTED_A, "http://evil.example", TRUSTED_B][i % 4]
            conn.request("GET", path,
                         headers={"Origin": origin} if origin else {})
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200
            bodies.add(body)
            names = [k.lower() for k, _ in r.getheaders()]
            want_acao = origin in (TRUSTED_A, TRUSTED_B)
            assert r.getheader("Access-Control-Allow-Origin") == (
                origin if want_acao else None), (i, r.getheaders())
            assert names.count("vary") == 3
            assert names.count("content-length") == 1
            assert int(r.getheader("Content-Length")) == len(body)
            if limiter == "true":
                remaining.append(int(r.getheader("RateLimit-Remaining")))
            else:
                assert r.getheader("RateLimit-Remaining") is None
        conn.close()
        assert len(bodies) == 1
        if remaining:
            # 30 requests from a bucket of 100 refilled at 0.5/s: each
            # response has its own count, so they are (nearly) all distinct.
            assert len(set(remaining)) >= 25, remaining
