"""GET /v1/openapi.json: the OpenAPI 3.1 document is complete and true.

Complete: every route of the router's table (cmd/api/routes.c) is an
operation of the document, and every operation of the document is a route
the server answers (its Allow header names the method).
True: real responses validate against the schemas the document declares
for their path, method and status (python3-jsonschema, JSON Schema 2020-12,
the dialect of OpenAPI 3.1).
"""

import json
import os
import re

import jsonschema
import pytest

from conftest import make_user, movie_body, unique

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def doc(anon_api):
    r = anon_api.get("/v1/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    with open(os.path.join(ROOT, "cmd", "api", "openapi.json"),
              encoding="utf-8") as f:
        assert body == json.load(f), "served document != cmd/api/openapi.json"
    return body


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
    missing = [(m, p) for m, p in router_table()
               if m.lower() not in doc["paths"].get(p, {})]
    assert not missing, f"routes missing from openapi.json: {missing}"


def test_every_documented_operation_exists(doc, anon_api):
    table = set(router_table())
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            assert (method.upper(), path) in table, (method, path)
            concrete = path.replace("{id}", "1")
            r = anon_api.options(concrete)
            assert r.status_code == 200, (path, r.status_code)
            assert method.upper() in r.headers["Allow"].split(", "), \
                (path, r.headers["Allow"])


def test_operations_declare_errors_and_parameters(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (method, path)
            assert {"429", "500"} <= codes, (method, path)
            if "requestBody" in op:
                assert {"400", "422"} <= codes, (method, path)
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
    r = anon_api.request("PUT", "/v1/healthcheck")
    assert r.status_code == 405
    schema = checker.doc["components"]["responses"]["MethodNotAllowed"]
    jsonschema.validate(r.json(), {
        "components": checker.doc["components"],
        "allOf": [schema["content"]["application/json"]["schema"]]})
