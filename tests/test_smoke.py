"""Smoke tests: the server answers, and the shared helpers in conftest work."""


def test_healthcheck(api):
    r = api.get("/v1/healthcheck")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    body = r.json()
    assert set(body) == {"status", "system_info"}
    assert body["status"] == "available"
    assert body["system_info"]["environment"] == "staging"
    assert body["system_info"]["version"]


def test_unknown_path_is_404(api):
    r = api.get("/nope")
    assert r.status_code == 404
    assert r.json() == {"error": "the requested resource could not be found"}


def test_raw_http_sends_exact_bytes(raw_http):
    status, headers, body = raw_http("GET", "/v1/healthcheck", None, {})
    assert status == 200
    assert headers["content-type"].split(";")[0] == "application/json"
    assert body.endswith(b"\n")


def test_db_reaches_the_app_database(db):
    assert db("SELECT current_user, current_database()") == "redlight|redlight"


def test_unique_differs_per_call(unique):
    assert unique("movie") != unique("movie")
    assert unique("movie").startswith("movie-")
