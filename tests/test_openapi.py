"""GET /v1/openapi.json: the OpenAPI 3.1 document is complete and true.

Complete: every route of the router's table (cmd/api/routes.c) is an
operation of the document, HEAD beside every GET and OPTIONS on every path,
and every path's operations are exactly the methods its Allow header names.
True: real responses validate against the schemas the document declares
for their path, method and status (python3-jsonschema, JSON Schema 2020-12,
the dialect of OpenAPI 3.1), and HEAD and OPTIONS answers carry the headers
the document declares, with no body. The served document is
cmd/api/openapi.json with info.version set to the build's version (the
Makefile's build/gen/openapi.json), the one bin/api -version prints.
tests/test_openapi_prism.py replays the README's flows through Prism.
"""

import json
import os
import re
import subprocess

import jsonschema
import pytest

from conftest import connect, make_user, movie_body, read_response, unique

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ("get", "head", "options", "put", "post", "delete", "patch")
# What the committed document says in info.version; the build replaces it.
SOURCE_VERSION = "0.0.0-source"
# Paths answered before the rate limiter and authentication (routes.c
# api_route_unguarded): no 401 or 429, no RateLimit-* headers.
UNGUARDED = {"/readyz"}


@pytest.fixture(scope="module")
def doc(anon_api):
    r = anon_api.get("/v1/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    with open(os.path.join(ROOT, "cmd", "api", "openapi.json"),
              encoding="utf-8") as f:
        source = json.load(f)
    assert source["info"]["version"] == SOURCE_VERSION
    source["info"]["version"] = body["info"]["version"]
    assert body == source, \
        "served document != cmd/api/openapi.json (but for info.version)"
    return body


def test_version_is_the_builds(doc, anon_api):
    """info.version is what the binary says it is, not the placeholder."""
    out = subprocess.run([os.environ["REDLIGHT_BIN"], "-version"],
                         capture_output=True, text=True, timeout=30,
                         check=True).stdout
    m = re.search(r"^Version:\s*(\S+)$", out, re.M)
    assert m, out
    assert doc["info"]["version"] == m.group(1) != SOURCE_VERSION
    health = anon_api.get("/v1/healthcheck").json()
    assert health["system_info"]["version"] == m.group(1)


def router_table():
    """(METHOD, OpenAPI path) of every entry of api_routes[]."""
    with open(os.path.join(ROOT, "cmd", "api", "routes.c"),
              encoding="utf-8") as f:
        src = f.read()
    table = src[src.index("api_routes[] = {"):]
    table = table[:table.index("{NULL, NULL")]
    routes = re.findall(r'\{"([A-Z]+)",\s*"(/[^"]*)"', table)
    assert len(routes) >= 15, routes
    return [(m, re.sub(r":([a-z_]+)", r"{\1}", p)) for m, p in routes]


def test_document_shape(doc):
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "Redlight"
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_route_is_documented(doc):
    table = router_table()
    missing = [(m, p) for m, p in table
               if m.lower() not in doc["paths"].get(p, {})]
    # HEAD wherever GET is (CONTRACT §12 #12), OPTIONS on every path.
    missing += [("HEAD", p) for m, p in table
                if m == "GET" and "head" not in doc["paths"].get(p, {})]
    missing += [("OPTIONS", p) for _, p in table
                if "options" not in doc["paths"].get(p, {})]
    assert not missing, f"routes missing from openapi.json: {missing}"


def test_every_documented_operation_exists(doc, anon_api):
    """A path's operations are exactly the methods its Allow names."""
    table = set(router_table())
    for path, item in doc["paths"].items():
        documented = {m.upper() for m in METHODS if m in item}
        for method in documented - {"HEAD", "OPTIONS"}:
            assert (method, path) in table, (method, path)
        r = anon_api.options(path.replace("{id}", "1"))
        assert r.status_code == 200, (path, r.status_code)
        assert set(r.headers["Allow"].split(", ")) == documented, \
            (path, r.headers["Allow"], documented)


def test_operations_declare_errors_and_parameters(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (method, path)
            assert {"500", "503"} <= codes, (method, path)
            if path in UNGUARDED:
                assert not {"401", "429"} & codes, (method, path)
            else:
                assert {"401", "429"} <= codes, (method, path)
            if "requestBody" in op:
                assert {"400", "422"} <= codes, (method, path)
            if method == "head":
                # The GET's statuses, none with a body.
                assert codes == set(item["get"]["responses"]), path
                assert not any("content" in r
                               for r in op["responses"].values()), path
            if "{id}" in path:
                assert any(p.get("$ref", "").endswith("/id")
                           for p in item.get("parameters", [])), path


class Checker:
    """Validates responses against the document's declared schemas."""

    def __init__(self, doc):
        self.doc = doc

    def schema_for(self, path, method, status):
        op = self.doc["paths"][path][method.lower()]
        resp = op["responses"].get(str(status))
        assert resp is not None, f"{method} {path}: {status} not documented"
        if "$ref" in resp:
            resp = self.doc["components"]["responses"][
                resp["$ref"].rsplit("/", 1)[1]]
        return resp["content"]["application/json"]["schema"]

    def check(self, path, method, r):
        schema = dict(self.schema_for(path, method, r.status_code))
        # Resolve #/components/... against the whole document.
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": self.doc["components"], "allOf": [schema]}
        jsonschema.Draft202012Validator(
            root, format_checker=jsonschema.FormatChecker()).validate(
                r.json())
        return r


@pytest.fixture(scope="module")
def checker(doc):
    return Checker(doc)


def test_responses_validate(api, anon_api, db, checker):
    c = checker.check
    c("/v1/healthcheck", "GET", anon_api.get("/v1/healthcheck"))
    c("/readyz", "GET", anon_api.get("/readyz"))

    # movies: create, show, list, update, delete
    r = c("/v1/movies", "POST", api.post("/v1/movies", json=movie_body()))
    assert r.status_code == 201
    movie = r.json()["movie"]
    path = f"/v1/movies/{movie['id']}"
    assert c("/v1/movies/{id}", "GET", api.get(path)).status_code == 200
    r = c("/v1/movies", "GET",
          api.get("/v1/movies", params={"title": movie["title"]}))
    assert r.json()["metadata"]["total_records"] == 1
    r = c("/v1/movies", "GET",
          api.get("/v1/movies", params={"title": unique("none")}))
    assert r.json() == {"movies": [], "metadata": {}}
    assert c("/v1/movies/{id}", "PATCH",
             api.patch(path, json={"year": 2001})).status_code == 200
    assert c("/v1/movies/{id}", "PATCH",
             api.patch(path, json={"year": 2001},
                       headers={"X-Expected-Version": "1"})
             ).status_code == 409
    assert c("/v1/movies/{id}", "DELETE", api.delete(path)).status_code == 200

    # error shapes: string errors and the 422 object
    assert c("/v1/movies/{id}", "GET", api.get(path)).status_code == 404
    assert c("/v1/movies", "POST",
             api.post("/v1/movies", json={})).status_code == 422
    assert c("/v1/movies", "POST",
             api.post("/v1/movies", data=b"{")).status_code == 400
    assert c("/v1/movies", "GET",
             api.get("/v1/movies", params={"page": "0"})).status_code == 422
    assert c("/v1/movies", "GET",
             anon_api.get("/v1/movies")).status_code == 401
    assert c("/v1/healthcheck", "GET", anon_api.get(
        "/v1/healthcheck", headers={"Authorization": "Bearer x"})
    ).status_code == 401
    _, _, reader_token = make_user(db, permissions=("movies:read",))
    assert c("/v1/movies", "POST", anon_api.with_token(reader_token).post(
        "/v1/movies", json=movie_body())).status_code == 403

    # users and tokens
    email = f"{unique('oa')}@example.com"
    body = {"name": "Open Api", "email": email, "password": "pa55word-oa"}
    r = c("/v1/users", "POST", anon_api.post("/v1/users", json=body))
    assert r.status_code == 202
    assert c("/v1/users", "POST",
             anon_api.post("/v1/users", json=body)).status_code == 422
    r = c("/v1/tokens/authentication", "POST", anon_api.post(
        "/v1/tokens/authentication",
        json={"email": email, "password": "pa55word-oa"}))
    assert r.status_code == 201
    token = r.json()["authentication_token"]["token"]
    assert c("/v1/tokens/authentication", "POST", anon_api.post(
        "/v1/tokens/authentication",
        json={"email": email, "password": "wrong-password"})
    ).status_code == 401
    assert c("/v1/tokens/activation", "POST", anon_api.post(
        "/v1/tokens/activation", json={"email": email})).status_code == 202
    assert c("/v1/users/activated", "PUT", anon_api.put(
        "/v1/users/activated", json={"token": "A" * 26})).status_code == 422
    assert c("/v1/tokens/authentication", "DELETE",
             anon_api.with_token(token).delete(
                 "/v1/tokens/authentication")).status_code == 200


def test_method_not_allowed_shape(anon_api, checker):
    """405 is no operation's (an undeclared method): info.description
    tells its body (the Error schema) and Allow."""
    r = anon_api.request("PUT", "/v1/healthcheck")
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert "Allow" in checker.doc["info"]["description"]
    jsonschema.validate(r.json(), {
        "components": checker.doc["components"],
        "allOf": [{"$ref": "#/components/schemas/Error"}]})


def check_headers(doc, path, method, r, expect=()):
    """r answers with a status the operation declares, no body; every
    declared header present validates against its schema; the headers in
    expect are declared and present."""
    op = doc["paths"][path][method]
    resp = op["responses"].get(str(r.status_code))
    assert resp is not None, f"{method} {path}: {r.status_code} not declared"
    if "$ref" in resp:
        resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    assert "content" not in resp, (method, path, r.status_code)
    assert r.content == b"", (method, path)
    declared = {}
    for name, h in resp.get("headers", {}).items():
        if "$ref" in h:
            h = doc["components"]["headers"][h["$ref"].rsplit("/", 1)[1]]
        declared[name.lower()] = h["schema"]
    for name in expect:
        assert name.lower() in declared, (method, path, name)
        assert name in r.headers, (method, path, name, dict(r.headers))
    for name, schema in declared.items():
        if name in {k.lower() for k in r.headers}:
            value = r.headers[name]
            if schema.get("type") == "integer":
                assert re.fullmatch(r"[0-9]+", value), (name, value)
                value = int(value)
            jsonschema.validate(value, schema)


TRUSTED = "http://app.test"
RL = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def test_head_and_options_answer_as_declared(doc, spawn_server):
    """On an instance with the rate limiter on (a burst no test reaches)
    and a trusted CORS origin, so answers carry RateLimit-* and grants."""
    inst = spawn_server("-limiter-enabled=true", "-limiter-rps", "1000",
                        "-limiter-burst", "1000",
                        "-cors-trusted-origins", TRUSTED)
    anon = inst.anonymous()

    # HEAD: the GET's status and headers, no body.
    r = anon.head("/v1/healthcheck")
    assert r.status_code == 200
    check_headers(doc, "/v1/healthcheck", "head", r, RL)
    movie = inst.post("/v1/movies", json=movie_body()).json()["movie"]
    path = f"/v1/movies/{movie['id']}"
    r = inst.head(path)
    assert r.status_code == 200
    check_headers(doc, "/v1/movies/{id}", "head", r, RL + ("ETag",))
    assert r.headers["ETag"] == f'"{movie["version"]}"'
    r = inst.head(path, headers={"If-None-Match": r.headers["ETag"]})
    assert r.status_code == 304
    check_headers(doc, "/v1/movies/{id}", "head", r, RL + ("ETag",))
    assert inst.delete(path).status_code == 200
    r = inst.head(path)
    assert r.status_code == 404
    check_headers(doc, "/v1/movies/{id}", "head", r, RL)
    r = anon.head("/v1/movies")
    assert r.status_code == 401
    check_headers(doc, "/v1/movies", "head", r, RL)

    # OPTIONS on every path: Allow; a trusted preflight: the CORS grant,
    # answered before the limiter (so without RateLimit-*).
    for p in doc["paths"]:
        concrete = p.replace("{id}", "1")
        r = anon.options(concrete)
        assert r.status_code == 200, p
        check_headers(doc, p, "options", r,
                      ("Allow",) + (() if p in UNGUARDED else RL))
        if p in UNGUARDED:
            assert "RateLimit-Limit" not in r.headers, p
        r = anon.options(concrete, headers={
            "Origin": TRUSTED, "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization"})
        assert r.status_code == 200, p
        check_headers(doc, p, "options", r, (
            "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
            "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
            "Access-Control-Max-Age"))
        assert "RateLimit-Limit" not in r.headers, p
    r = anon.options("/v1/healthcheck", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_document_bytes_on_one_connection(anon_api):
    """The response borrows the embedded document instead of copying it:
    GET, HEAD and GET again on one keep-alive connection send exactly the
    built file (build/gen/openapi.json), and HEAD the same Content-Length
    with no body."""
    with open(os.path.join(ROOT, "build", "gen", "openapi.json"), "rb") as f:
        built = f.read()
    with connect(anon_api) as sock:
        for method in ("GET", "HEAD", "GET"):
            sock.sendall(f"{method} /v1/openapi.json HTTP/1.1\r\n"
                         f"Host: {anon_api.host}\r\n\r\n".encode())
            status, headers, body = read_response(sock,
                                                  head=method == "HEAD")
            assert status == 200, method
            assert headers["Content-Type"] == "application/json"
            assert headers["Content-Length"] == str(len(built)), method
            assert body == (b"" if method == "HEAD" else built), method
            assert "Connection" not in headers
