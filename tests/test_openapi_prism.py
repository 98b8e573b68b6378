"""The README's flows through an independent OpenAPI validator.

Stoplight's Prism (@stoplight/prism-cli, pinned in tests/tools/npm/prism,
run by tests/tools/npm-tool.sh) proxies to a server instance with the
document that instance serves (GET /v1/openapi.json); with --errors, a
request or a response that the document does not describe is answered by
Prism itself with an application/problem+json error, and Prism logs it as a
violation. The flows: register, activate (token from the mail), log in,
create / show / conditional show / list / update / delete movies, log out,
and the errors a client meets on the way (422, 401, 403, 404, 409, 412),
OPTIONS and a CORS preflight, the system routes.

The instance runs the rate limiter (a burst no test reaches) and trusts one
CORS origin, so RateLimit-* and the CORS grant are checked too. HEAD is not
sent through Prism: Prism 5.14.2 parses the upstream body by its
Content-Type and fails on HEAD's empty application/json body (a FetchError
of the proxy, not a violation); tests/test_openapi.py checks HEAD against
the document.
"""

import json
import os
import subprocess
import time

import pytest
import requests

from conftest import (Api, free_port, mail_token, movie_body, stop_process,
                      unique)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRUSTED = "http://app.test"
START_TIMEOUT = 120  # the first run installs Prism (npm ci) first


@pytest.fixture
def prism(spawn_server, tmp_path):
    """(Api through Prism, the instance behind it, Prism's log path)."""
    inst = spawn_server("-limiter-enabled=true", "-limiter-rps", "1000",
                        "-limiter-burst", "1000",
                        "-cors-trusted-origins", TRUSTED)
    r = inst.anonymous().get("/v1/openapi.json")
    assert r.status_code == 200
    doc = tmp_path / "openapi.json"
    doc.write_bytes(r.content)
    port = free_port()
    log_path = tmp_path / "prism.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [os.path.join(ROOT, "tests", "tools", "npm-tool.sh"), "prism",
             "proxy", "--errors", "--cors=false", "-h", "127.0.0.1",
             "-p", str(port), str(doc), inst.base_url],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    px = Api(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            try:
                px.get("/v1/healthcheck")
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, \
                    "Prism did not start:\n" + log_path.read_text(
                        errors="replace")
                time.sleep(0.2)
        yield px, inst, log_path
    finally:
        stop_process(proc)


class Replay:
    """Sends requests through Prism and checks each answer is the server's,
    unchanged by a violation."""

    def __init__(self, px):
        self.px = px
        self.seen = []

    def __call__(self, status, method, path, token=None, **kwargs):
        client = self.px.with_token(token) if token else self.px
        r = client.request(method, path, **kwargs)
        self.seen.append((method, path, r.status_code))
        ctype = r.headers.get("Content-Type", "")
        assert "problem+json" not in ctype, \
            f"Prism: {method} {path}: {r.status_code} {r.text}"
        assert "sl-violations" not in r.headers, (method, path)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return r


def test_readme_flows_have_no_violations(prism, db, mailbox):
    px, inst, log_path = prism
    call = Replay(px)

    call(200, "GET", "/v1/healthcheck")
    call(200, "GET", "/v1/openapi.json")

    # Register, activate, log in (README: Users and tokens).
    email = f"{unique('prism')}@example.com"
    user = {"name": "Prism User", "email": email, "password": "pa55word-pr"}
    r = call(202, "POST", "/v1/users", json=user)
    assert r.json()["user"]["activated"] is False
    call(422, "POST", "/v1/users", json=user)  # e-mail taken
    call(422, "POST", "/v1/users",
         json={"name": "", "email": "not an address", "password": "short"})
    token = mail_token(mailbox.wait(email)[0])
    call(422, "PUT", "/v1/users/activated", json={"token": "A" * 26})
    r = call(200, "PUT", "/v1/users/activated", json={"token": token})
    assert r.json()["user"]["activated"] is True
    call(422, "POST", "/v1/tokens/activation", json={"email": email})
    call(401, "POST", "/v1/tokens/authentication",
         json={"email": email, "password": "wrong-password"})
    r = call(201, "POST", "/v1/tokens/authentication",
             json={"email": email, "password": "pa55word-pr"})
    auth = r.json()["authentication_token"]["token"]

    # A new user reads movies; writing needs movies:write (README: the
    # operator's `bin/api users grant`, here in SQL).
    call(200, "GET", "/v1/movies", token=auth)
    call(403, "POST", "/v1/movies", token=auth, json=movie_body())
    db("INSERT INTO users_permissions SELECT u.id, p.id FROM users u, "
       f"permissions p WHERE u.email = '{email}' AND p.code = 'movies:write'")

    # Movies: create, show, conditional show, list, update, delete.
    r = call(201, "POST", "/v1/movies", token=auth, json=movie_body())
    movie = r.json()["movie"]
    path = f"/v1/movies/{movie['id']}"
    assert r.headers["Location"] == path
    r = call(200, "GET", path, token=auth)
    etag = r.headers["ETag"]
    call(304, "GET", path, token=auth, headers={"If-None-Match": etag})
    r = call(200, "GET", "/v1/movies", token=auth,
             params={"title": movie["title"], "sort": "-year",
                     "page_size": "5"})
    assert r.json()["metadata"]["total_records"] == 1
    call(200, "GET", "/v1/movies", token=auth,
         params={"genres": "drama", "year": "1990-1999", "page": "2"})
    call(200, "GET", "/v1/movies", token=auth,
         params={"title": unique("nothing")})
    r = call(200, "PATCH", path, token=auth, json={"year": 2001},
             headers={"If-Match": etag})
    assert r.json()["movie"]["version"] == 2
    call(412, "PATCH", path, token=auth, json={"year": 2002},
         headers={"If-Match": etag})
    call(409, "PATCH", path, token=auth, json={"year": 2002},
         headers={"X-Expected-Version": "1"})
    call(422, "PATCH", path, token=auth, json={"year": 1500})
    call(422, "POST", "/v1/movies", token=auth,
         json=movie_body(genres=["a", "a"]))
    call(412, "DELETE", path, token=auth, headers={"If-Match": etag})
    call(200, "DELETE", path, token=auth)
    call(404, "GET", path, token=auth)
    call(404, "DELETE", path, token=auth)
    call(404, "PATCH", path, token=auth, json={"year": 2003})

    # A bad token, OPTIONS, a preflight, the operator routes.
    call(401, "GET", "/v1/movies", token="A" * 26)
    r = call(200, "OPTIONS", "/v1/movies")
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    r = call(200, "OPTIONS", path, headers={
        "Origin": TRUSTED, "Access-Control-Request-Method": "PATCH"})
    assert r.headers["Access-Control-Allow-Origin"] == TRUSTED
    call(200, "GET", "/debug/vars")
    call(200, "GET", "/metrics")

    # Password reset mail, log out; the token is gone.
    call(202, "POST", "/v1/tokens/password-reset", json={"email": email})
    call(200, "DELETE", "/v1/tokens/authentication", token=auth)
    call(401, "GET", "/v1/movies", token=auth)

    log = log_path.read_text(errors="replace")
    assert "Violation" not in log and "✖" not in log, log
    # Prism saw every request: one "Request received" line each.
    assert log.count("Request received") >= len(call.seen), log
    print(json.dumps({"requests": len(call.seen)}))
