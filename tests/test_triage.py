"""Request-body (JSON) triage, CONTRACT §1.2 and §12 #9–#11, #18, plus
Redlight's invalid-UTF-8 and NUL rules, on POST /v1/movies and on
PATCH /v1/movies/:id. Bodies are sent byte for byte with raw_http.

After every rejected body the server must still be healthy and nothing may
have been stored: no new row for POST, the movie unchanged for PATCH."""

import json

import pytest

from conftest import movie_body

LIMIT = 1048576

BADLY_FORMED = "body contains badly-formed JSON"
EMPTY = "body must not be empty"
TOO_LARGE = "body must not be larger than 1048576 bytes"
SINGLE = "body must only contain a single JSON value"
RUNTIME = "invalid runtime format"


def at(n):
    return f"{BADLY_FORMED} (at character {n})"


def wrong_type(field):
    return f'body contains incorrect JSON type for field "{field}"'


def top_type(n):
    return f"body contains incorrect JSON type (at character {n})"


def unknown(key):
    return f"body contains unknown key {key}"


def utf8(n):
    return f"body contains invalid UTF-8 (at character {n})"


def nul(n):
    return f"body contains a NUL character (at character {n})"


CASES = [
    # empty
    (b"", EMPTY),
    (b" ", EMPTY),
    (b"   \n\t\r\n  ", EMPTY),
    # syntax errors with the 1-based position of the offending byte
    (b'{"title": "Moana", }', at(20)),
    (b'<?xml version="1.0" encoding="UTF-8"?><note><to>Alex</to></note>',
     at(1)),
    (b'{"title":"a",}', at(14)),
    (b'{"title" "a"}', at(10)),
    (b"{'title': 'a'}", at(2)),
    (b'{"title": Moana}', at(11)),
    (b'{"year": 01}', at(11)),
    (b'{"title": "a"]', at(14)),
    (b'{"genres": ["a",]}', at(17)),
    (b'{"title": "a\\x"}', at(14)),
    (b'{"title": "a\x01"}', at(13)),
    (b'{"title": "a\x00"}', at(13)),
    (b'{"title": "a\nb"}', at(13)),
    (b"\xff", at(1)),
    (b"{\xff}", at(2)),
    # truncated
    (b'{"title": "Moana"', BADLY_FORMED),
    (b"{", BADLY_FORMED),
    (b"[1,2", BADLY_FORMED),
    (b'{"title": "Moa', BADLY_FORMED),
    (b'{"title":', BADLY_FORMED),
    (b'{"genres": ["a"', BADLY_FORMED),
    (b'  {"title": "a", ', BADLY_FORMED),
    # a field of the wrong JSON type
    (b'{"title": 123}', wrong_type("title")),
    (b'{"title": true}', wrong_type("title")),
    (b'{"title": ["Moana"]}', wrong_type("title")),
    (b'{"title": {"a": "b"}}', wrong_type("title")),
    (b'{"year": "2000"}', wrong_type("year")),
    (b'{"year": 2000.5}', wrong_type("year")),
    (b'{"year": 2000.0}', wrong_type("year")),
    (b'{"year": 1e3}', wrong_type("year")),
    (b'{"year": true}', wrong_type("year")),
    (b'{"year": 2147483648}', wrong_type("year")),
    (b'{"year": -2147483649}', wrong_type("year")),
    (b'{"year": 99999999999999999999999}', wrong_type("year")),
    (b'{"genres": "drama"}', wrong_type("genres")),
    (b'{"genres": [1]}', wrong_type("genres")),
    (b'{"genres": ["drama", 1]}', wrong_type("genres")),
    (b'{"genres": [["drama"]]}', wrong_type("genres")),
    (b'{"genres": {"drama": 1}}', wrong_type("genres")),
    # a top-level value of the wrong type (offsets as Go computes them)
    (b'["foo","bar"]', top_type(1)),
    (b"[]", top_type(1)),
    (b'"foo"', top_type(5)),
    (b"123", top_type(3)),
    (b"true", top_type(4)),
    # unknown keys; keys are case-sensitive
    (b'{"title":"x","rating":5}', unknown('"rating"')),
    (b'{"rating": 5}', unknown('"rating"')),
    (b'{"TITLE": "x"}', unknown('"TITLE"')),
    (b'{"Title": "x", "year": 2000}', unknown('"Title"')),
    (b'{"id": 7}', unknown('"id"')),
    (b'{"version": 7}', unknown('"version"')),
    (b'{"created_at": "2020-01-01T00:00:00Z"}', unknown('"created_at"')),
    (b'{"": 1}', unknown('""')),
    (b'{"ti\\"tle": 1}', unknown('"ti\\"tle"')),
    (b'{"caf\xc3\xa9": 1}', unknown('"caf\u00e9"')),
    # duplicate keys
    (b'{"title":"a","title":"b"}', 'body contains duplicate key "title"'),
    (b'{"genres":["a"],"year":2000,"genres":["b"]}',
     'body contains duplicate key "genres"'),
    (b'{"year": null, "year": 2000}', 'body contains duplicate key "year"'),
    # more than one JSON value
    (b'{"title":"a"}{"title":"b"}', SINGLE),
    (b'{"title":"a"} :~()', SINGLE),
    (b'{"title":"a"} 1', SINGLE),
    (b"{}{}", SINGLE),
    (b"null null", SINGLE),
    (b'{"title":"a"}\n{"title":"b"}\n', SINGLE),
    # runtime format
    (b'{"runtime": 107}', RUNTIME),
    (b'{"runtime": "107 minutes"}', RUNTIME),
    (b'{"runtime": "107"}', RUNTIME),
    (b'{"runtime": "abc mins"}', RUNTIME),
    (b'{"runtime": "107  mins"}', RUNTIME),
    (b'{"runtime": "1e2 mins"}', RUNTIME),
    (b'{"runtime": "99999999999 mins"}', RUNTIME),
    (b'{"runtime": "2147483648 mins"}', RUNTIME),
    (b'{"runtime": " 107 mins"}', RUNTIME),
    (b'{"runtime": "107 mins "}', RUNTIME),
    (b'{"runtime": "107 Mins"}', RUNTIME),
    (b'{"runtime": "107mins"}', RUNTIME),
    (b'{"runtime": "10.5 mins"}', RUNTIME),
    (b'{"runtime": " mins"}', RUNTIME),
    (b'{"runtime": "- mins"}', RUNTIME),
    (b'{"runtime": ""}', RUNTIME),
    (b'{"runtime": true}', RUNTIME),
    (b'{"runtime": ["107 mins"]}', RUNTIME),
    # invalid UTF-8 inside a string: position of the first byte of the bad
    # sequence
    (b'{"title": "\xff"}', utf8(12)),
    (b'{"title": "ab\xc3"}', utf8(14)),
    (b'{"title": "\xc0\xaf"}', utf8(12)),
    (b'{"title": "a\xed\xa0\x80"}', utf8(13)),
    (b'{"title": "\xf4\x90\x80\x80"}', utf8(12)),
    (b'{"title": "caf\xc3\xa9 \xe2\x82"}', utf8(18)),
    (b'{"genres": ["ok", "\x80"]}', utf8(20)),
    (b'{"ti\xfftle": "x"}', utf8(5)),
    # \u0000 anywhere in a string: position of its backslash
    (b'{"title": "a\\u0000b"}', nul(13)),
    (b'{"title": "\\u0000"}', nul(12)),
    (b'{"genres": ["drama", "x\\u0000"]}', nul(24)),
    (b'{"\\u0000": 1}', nul(3)),
]


def case_id(case):
    body = case[0]
    text = body[:40].decode("ascii", "backslashreplace")
    return text + ("..." if len(body) > 40 else "")


@pytest.fixture(params=["POST", "PATCH"])
def target(request, api, make_movie, db):
    """The endpoint under test plus a check that nothing was stored."""
    if request.param == "POST":
        before = db("SELECT count(*) FROM movies")

        def unchanged():
            assert db("SELECT count(*) FROM movies") == before

        return "POST", "/v1/movies", unchanged

    movie = make_movie(title="Triage target", year=2001, runtime="90 mins",
                       genres=["drama", "comedy"])
    path = f"/v1/movies/{movie['id']}"

    def unchanged():
        r = api.get(path)
        assert r.status_code == 200
        assert r.json() == {"movie": movie}

    return "PATCH", path, unchanged


def assert_healthy(api):
    r = api.get("/v1/healthcheck")
    assert r.status_code == 200
    assert r.json()["status"] == "available"


def send(raw_http, method, path, body):
    status, headers, raw = raw_http(method, path, body,
                                    {"Content-Type": "application/json"})
    assert headers.get("Content-Type", "").split(";")[0] == "application/json"
    assert raw.endswith(b"\n")
    return status, json.loads(raw)


@pytest.mark.parametrize("body,message", CASES,
                         ids=[case_id(c) for c in CASES])
def test_bad_body_is_400(api, raw_http, target, body, message):
    method, path, unchanged = target
    status, parsed = send(raw_http, method, path, body)
    assert (status, parsed) == (400, {"error": message})
    assert_healthy(api)
    unchanged()


def test_content_type_is_not_checked(api, raw_http, target):
    method, path, unchanged = target
    for ctype in ("text/plain", "application/xml", None):
        headers = {"Content-Type": ctype} if ctype else {}
        status, _, raw = raw_http(method, path, b'{"rating": 1}', headers)
        assert (status, json.loads(raw)) == (400,
                                             {"error": unknown('"rating"')})
    unchanged()


# ---- size limit -------------------------------------------------------------

def padded_title_body(total):
    """A valid movie body of exactly `total` bytes but for its long title."""
    head = (b'{"year": 2000, "runtime": "90 mins", "genres": ["drama"], '
            b'"title": "')
    tail = b'"}'
    return head + b"a" * (total - len(head) - len(tail)) + tail


def test_body_far_over_the_limit_is_too_large(api, raw_http, target):
    method, path, unchanged = target
    body = padded_title_body(1_100_000)
    status, parsed = send(raw_http, method, path, body)
    assert (status, parsed) == (400, {"error": TOO_LARGE})
    assert_healthy(api)
    unchanged()


def test_value_one_byte_over_the_limit_is_too_large(api, raw_http, target):
    method, path, unchanged = target
    body = padded_title_body(LIMIT + 1)
    status, parsed = send(raw_http, method, path, body)
    assert (status, parsed) == (400, {"error": TOO_LARGE})
    unchanged()


def test_unterminated_value_past_the_limit_is_too_large(api, raw_http,
                                                        target):
    method, path, unchanged = target
    body = b'{"title": "' + b"a" * (LIMIT + 1000)
    status, parsed = send(raw_http, method, path, body)
    assert (status, parsed) == (400, {"error": TOO_LARGE})
    unchanged()


def test_array_past_the_limit_is_too_large(api, raw_http, target):
    method, path, unchanged = target
    body = b'{"genres": [' + b'"a",' * 300_000 + b'"a"]}'
    assert len(body) > LIMIT
    status, parsed = send(raw_http, method, path, body)
    assert (status, parsed) == (400, {"error": TOO_LARGE})
    unchanged()


def test_body_of_exactly_the_limit_is_decoded(api, raw_http, target):
    """A value of exactly 1,048,576 bytes is read and then validated."""
    method, path, unchanged = target
    status, parsed = send(raw_http, method, path, padded_title_body(LIMIT))
    assert (status, parsed) == (
        422, {"error": {"title": "must not be more than 500 bytes long"}})
    unchanged()


def test_trailing_whitespace_past_the_limit(api, raw_http, target):
    """§12 #11: either message is acceptable."""
    method, path, unchanged = target
    body = b'{"title": "x"}' + b" " * LIMIT
    status, parsed = send(raw_http, method, path, body)
    assert status == 400
    assert parsed in ({"error": TOO_LARGE}, {"error": SINGLE})
    unchanged()


# ---- accepted by the decoder: null, {}, null fields -------------------------

ALL_MISSING = {"title": "must be provided", "year": "must be provided",
               "runtime": "must be provided", "genres": "must be provided"}


@pytest.mark.parametrize("body", [b"null", b"{}", b"  {  }  \n", b" null\n",
                                  b'{"title": null, "year": null, '
                                  b'"runtime": null, "genres": null}'])
def test_null_and_empty_object_reach_validation(api, raw_http, target, body):
    """Top-level null means {}: POST fails validation (422, not 400); PATCH
    merges nothing and succeeds with version + 1."""
    method, path, unchanged = target
    status, parsed = send(raw_http, method, path, body)
    if method == "POST":
        assert (status, parsed) == (422, {"error": ALL_MISSING})
        unchanged()
    else:
        assert status == 200
        assert parsed["movie"]["version"] == 2
        assert api.get(path).json() == parsed
        assert {k: v for k, v in parsed["movie"].items() if k != "version"} \
            == {"id": int(path.rsplit("/", 1)[1]), "title": "Triage target",
                "year": 2001, "runtime": "90 mins",
                "genres": ["drama", "comedy"]}


# ---- valid bodies with unusual but legal JSON -------------------------------

def test_escapes_and_whitespace_are_decoded(api, raw_http, target):
    method, path, _ = target
    body = (b' \r\n\t{ "title" : "Caf\\u00e9 \\"Noir\\" \\/ \\ud83d\\ude00" ,'
            b'"year":1999 , "runtime" : "+95 mins", '
            b'"genres" : [ "drama" , "d\\u0072ama2" ] } \n\t ')
    status, parsed = send(raw_http, method, path, body)
    assert status == (201 if method == "POST" else 200)
    movie = parsed["movie"]
    assert movie["title"] == 'Caf\u00e9 "Noir" / \U0001F600'
    assert movie["year"] == 1999
    assert movie["runtime"] == "95 mins"
    assert movie["genres"] == ["drama", "drama2"]


def test_raw_utf8_is_accepted(api, raw_http, target):
    method, path, _ = target
    title = "Le fabuleux destin d\u2019Am\u00e9lie Poulain \u6c34 \U0001F3AC"
    body = json.dumps(movie_body(title=title), ensure_ascii=False).encode()
    status, parsed = send(raw_http, method, path, body)
    assert status == (201 if method == "POST" else 200)
    assert parsed["movie"]["title"] == title


def test_custom_runtime_error_beats_earlier_unknown_key(raw_http, target):
    """As in Go: an UnmarshalJSON error aborts decoding at once, while
    unknown keys are only remembered."""
    method, path, unchanged = target
    status, parsed = send(raw_http, method, path,
                          b'{"rating": 1, "runtime": "107"}')
    assert (status, parsed) == (400, {"error": RUNTIME})
    unchanged()


def test_first_wrong_type_wins(raw_http, target):
    method, path, unchanged = target
    status, parsed = send(raw_http, method, path,
                          b'{"year": "x", "title": 1}')
    assert (status, parsed) == (400, {"error": wrong_type("year")})
    unchanged()


def test_deep_nesting_is_rejected_without_crashing(api, raw_http, target):
    method, path, unchanged = target
    body = b'{"genres": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, parsed = send(raw_http, method, path, body)
    assert status == 400
    assert isinstance(parsed.get("error"), str)
    assert_healthy(api)
    unchanged()


# ---- chunked transfer encoding: the same rules ------------------------------

def chunked(body, size=65536):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def send_chunked(raw_http, method, path, body):
    status, headers, raw = raw_http(method, path, chunked(body),
                                    {"Transfer-Encoding": "chunked"})
    assert headers.get("Content-Type", "").split(";")[0] == "application/json"
    return status, json.loads(raw)


def test_chunked_valid_body(raw_http, target):
    method, path, _ = target
    body = json.dumps(movie_body(title="Chunked")).encode()
    status, parsed = send_chunked(raw_http, method, path, body)
    assert status == (201 if method == "POST" else 200)
    assert parsed["movie"]["title"] == "Chunked"


@pytest.mark.parametrize("body,message", [
    (b"", EMPTY),
    (b'{"title": "Moana", }', at(20)),
    (b'{"rating": 5}', unknown('"rating"')),
    (b'{"title":"a"} 1', SINGLE),
])
def test_chunked_bad_body(api, raw_http, target, body, message):
    method, path, unchanged = target
    status, parsed = send_chunked(raw_http, method, path, body)
    assert (status, parsed) == (400, {"error": message})
    assert_healthy(api)
    unchanged()


def test_chunked_body_over_the_limit_is_too_large(api, raw_http, target):
    method, path, unchanged = target
    status, parsed = send_chunked(raw_http, method, path,
                                  padded_title_body(1_100_000))
    assert (status, parsed) == (400, {"error": TOO_LARGE})
    assert_healthy(api)
    unchanged()
