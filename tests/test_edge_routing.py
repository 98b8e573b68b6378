"""Decorated paths never reach a resource (CONTRACT §12 #22).

The path is matched after percent-decoding, as a whole, length and all: a
decoded NUL is an ordinary byte, not the end of the path, so
`/v1/movies/36%00` is not movie 36 and `/debug/vars%00` is not the metrics.
A path with any control character once decoded matches no route: 404
`{"error": "the requested resource could not be found"}`.  Against the
server under test with the `api` user (movies:read and movies:write), so
every refusal here is the router's, not the permission checks'.
"""

import json

import pytest

from conftest import ok_json

NOT_FOUND = {"error": "the requested resource could not be found"}

# Spellings of an id followed (or preceded) by a decoded control character,
# or by an encoded '%' that must not be decoded twice.
ID_DECORATIONS = [
    "{id}%00", "{id}%001", "{id}%00/", "{id}%00%00", "{id}%0a", "{id}%0A",
    "{id}%0d", "{id}%0d%0a", "{id}%09", "{id}%0b", "{id}%0c", "{id}%1f",
    "{id}%7f", "{id}%7F", "{id}%2500", "{id}%25", "%00{id}", "%09{id}",
    "%0a{id}", "%20{id}", "{id}%20",
]

CONTROLS = [f"%{c:02x}" for c in range(0x20)] + ["%7f"]


class Expect404:
    """Sends requests with raw_http and collects every answer that is not
    the contract's 404, so one failure lists them all."""

    def __init__(self, raw_http):
        self.raw_http = raw_http
        self.wrong = []

    def __call__(self, method, path, body=None, headers=None):
        status, got_headers, got = self.raw_http(method, path, body, headers)
        ctype = got_headers.get("Content-Type", "").split(";")[0]
        if method == "HEAD":  # the GET's status and headers, no body
            good = status == 404 and got == b""
        else:
            try:
                parsed = json.loads(got)
            except ValueError:
                parsed = None
            good = (status == 404 and parsed == NOT_FOUND and
                    ctype == "application/json" and got.endswith(b"\n"))
        if not good:
            self.wrong.append(f"{method} {path} -> {status} {ctype} "
                              f"{got[:120]!r}")

    def check(self):
        assert not self.wrong, "\n".join(self.wrong)


def assert_intact(api, movie, what):
    r = api.get(f"/v1/movies/{movie['id']}")
    assert r.status_code == 200, f"{what}: {r.status_code} {r.text}"
    assert ok_json(r, 200)["movie"] == movie, \
        f"{what}: the movie changed through a decorated path"


@pytest.mark.parametrize("decoration", ID_DECORATIONS)
def test_decorated_id_is_no_movie(api, raw_http, make_movie, decoration):
    movie = make_movie()
    path = "/v1/movies/" + decoration.format(id=movie["id"])
    expect = Expect404(raw_http)
    expect("GET", path)
    expect("HEAD", path)
    expect("PATCH", path, b'{"title": "renamed"}',
           {"Content-Type": "application/json"})
    assert_intact(api, movie, f"after PATCH {path} ({expect.wrong})")
    expect("DELETE", path)
    assert_intact(api, movie, f"after DELETE {path} ({expect.wrong})")
    expect.check()


@pytest.mark.parametrize("control", CONTROLS)
def test_control_character_anywhere_is_404(api, raw_http, make_movie,
                                           control):
    movie = make_movie()
    mid = movie["id"]
    expect = Expect404(raw_http)
    for path in (f"/v1/movies/{mid}{control}", f"/v1/movies/{control}{mid}",
                 f"/v1/movies{control}/{mid}", f"/v1{control}/movies/{mid}",
                 f"/{control}v1/movies/{mid}",
                 f"/v1/movies/{str(mid)[:1]}{control}{str(mid)[1:]}"):
        for method in ("GET", "DELETE"):
            expect(method, path)
    assert_intact(api, movie, f"after DELETEs ({expect.wrong})")
    for path in (f"/v1/healthcheck{control}", f"/v1/health{control}check",
                 f"/v1/movies{control}", f"/debug/vars{control}",
                 f"/metrics{control}", f"/v1/openapi.json{control}"):
        expect("GET", path)
    expect.check()


@pytest.mark.parametrize("path", [
    "/debug/vars%00", "/debug/vars%00x", "/debug/vars%00/", "/metrics%00",
    "/metrics%00x", "/metrics%0a", "/v1/healthcheck%00", "/v1/healthcheck%00x",
    "/v1/healthcheck%00/", "/v1/movies%00", "/v1/movies%00?page=1",
    "/v1/openapi.json%00", "/v1/users%00/activated",
    "/v1/tokens/authentication%00",
])
def test_nul_ends_no_known_path(raw_http, path):
    """A decoded NUL never turns an unknown path into a known one (the
    loopback client here may read the metrics, so a 200 would be real)."""
    expect = Expect404(raw_http)
    expect("GET", path)
    expect("HEAD", path)
    expect.check()


def test_nul_on_post_routes_creates_nothing(api, raw_http, unique, db):
    title = unique("nul-route")
    body = json.dumps({"title": title, "year": 2016, "runtime": "107 mins",
                       "genres": ["drama"]}).encode()
    expect = Expect404(raw_http)
    for path in ("/v1/movies%00", "/v1/movies%00x", "/v1/movies%0a"):
        expect("POST", path, body, {"Content-Type": "application/json"})
    assert db(f"SELECT count(*) FROM movies WHERE title = '{title}'") == "0", \
        expect.wrong
    expect.check()


def test_plain_paths_still_work(api, raw_http, make_movie):
    """The control: the same requests without the decoration succeed."""
    movie = make_movie()
    status, _, body = raw_http("GET", f"/v1/movies/{movie['id']}")
    assert status == 200 and json.loads(body)["movie"] == movie
    assert raw_http("GET", "/v1/healthcheck")[0] == 200
    status, _, body = raw_http("DELETE", f"/v1/movies/{movie['id']}")
    assert status == 200, body
    assert api.get(f"/v1/movies/{movie['id']}").status_code == 404
