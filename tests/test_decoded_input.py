"""Request data after decoding: nothing a client sends is read as a C string,
and nothing PostgreSQL cannot store or index reaches it (issue "Harden the
HTTP edge").

* Query values carry their length: a %00 or an ill-formed UTF-8 byte in any
  parameter of GET /v1/movies is that parameter's 422 (CONTRACT §3.5, §13),
  never a shorter value.
* JSON strings: \\u0000 and invalid UTF-8 are 400s from the body reader, in
  every field of every endpoint, so a token, e-mail or password can never be
  cut short at a NUL; the database is unchanged afterwards.
* :id is digits only, by length.
* Values past what PostgreSQL can index are the field's 422, not a 500.
* A 1 MiB body of empty genres gets the validator's 422, and errors later in
  such a body still win as before (the reader stops building genres past 6
  elements: tests/unit/test_jsonin.c measures that).
"""

import json

import pytest

from conftest import make_user, movie_body, ok_json, invalid
from test_users import PASSWORD, make_token, new_email, register, token_count

TEXT = "must be valid UTF-8 without NUL characters"
YEAR = "must be a year or a range of years such as 1990-1999"
INTEGER = "must be an integer value"
SORT = "invalid sort value"
NOT_FOUND = {"error": "the requested resource could not be found"}
LIMIT = 1048576
MORE_THAN_5 = {"genres": "must not contain more than 5 genres"}


def nul(n):
    return {"error": f"body contains a NUL character (at character {n})"}


def bad_utf8(n):
    return {"error": f"body contains invalid UTF-8 (at character {n})"}


def at(n):
    return {"error": f"body contains badly-formed JSON (at character {n})"}


def send(raw_http, method, path, body):
    """Sends body byte for byte; returns (status, parsed JSON body)."""
    status, headers, raw = raw_http(method, path, body,
                                    {"Content-Type": "application/json"})
    assert headers["Content-Type"].split(";")[0] == "application/json"
    assert raw.endswith(b"\n")
    return status, json.loads(raw)


def with_nul(obj, key):
    """obj as JSON bytes with "\\u0000x" appended to obj[key], and the
    1-based offset of that escape's backslash."""
    raw = json.dumps({**obj, key: obj[key] + "\x00x"}).encode()
    assert b"\\u0000" in raw
    return raw, raw.index(b"\\u0000") + 1


def with_byte(obj, key, byte=b"\xff"):
    """obj as JSON bytes with a raw ill-formed UTF-8 byte at the end of
    obj[key], and its 1-based offset."""
    marker = "\u2603MARK\u2603"
    raw = json.dumps({**obj, key: obj[key] + marker},
                     ensure_ascii=False).encode()
    pos = raw.index(marker.encode())
    return raw.replace(marker.encode(), byte), pos + 1


# ---- query values -------------------------------------------------------------

@pytest.mark.parametrize("query, errors", [
    ("title=a%00b", {"title": TEXT}),
    ("title=%ff", {"title": TEXT}),
    ("title=abc%00", {"title": TEXT}),
    ("genres=a%00", {"genres": TEXT}),
    ("genres=drama,%00", {"genres": TEXT}),
    ("genres=%ff", {"genres": TEXT}),
    ("sort=title%00x", {"sort": SORT}),
    ("sort=title%00", {"sort": SORT}),
    ("sort=-year%00", {"sort": SORT}),
    ("sort=%ff", {"sort": SORT}),
    ("sort=title%ff", {"sort": SORT}),
    ("page=1%00", {"page": INTEGER}),
    ("page=%001", {"page": INTEGER}),
    ("page=%ff", {"page": INTEGER}),
    ("page_size=5%002", {"page_size": INTEGER}),
    ("page_size=5%00", {"page_size": INTEGER}),
    ("page_size=%ff", {"page_size": INTEGER}),
    ("year=2000%00", {"year": YEAR}),
    ("year=1990%00-1999", {"year": YEAR}),
    ("year=1990-1999%00", {"year": YEAR}),
    ("year=%ff", {"year": YEAR}),
    ("year=2000%ff", {"year": YEAR}),
    ("title=%00&genres=%ff&sort=id%00&page=1%00&page_size=5%002"
     "&year=2000%00",
     {"title": TEXT, "genres": TEXT, "sort": SORT, "page": INTEGER,
      "page_size": INTEGER, "year": YEAR}),
])
def test_query_values_are_read_whole(api, query, errors):
    invalid(api.get("/v1/movies?" + query), errors)


def test_query_value_prefixes_stay_valid(api):
    """The same values without the bytes after the NUL are fine, so the
    422s above come from those bytes."""
    for query in ("title=a", "genres=a", "sort=title", "sort=-year",
                  "page=1", "page_size=5", "year=2000", "year=1990-1999"):
        r = api.get("/v1/movies?" + query)
        assert r.status_code == 200, f"{query}: {r.status_code} {r.text!r}"


def test_long_query_text_reaches_postgresql_harmlessly(api, unique):
    """Words past what a text-search index holds (2047 bytes) and genres
    past any stored genre are just filters that match nothing."""
    word = "w" * 10000
    many = ",".join(unique("g") for _ in range(600))  # ~9 KB, 600 genres
    for query in (f"title={word}", f"title=a+{word}+b", f"genres={word}",
                  f"genres={many}", f"title={word}&genres={word}"):
        r = api.get("/v1/movies?" + query)
        assert ok_json(r, 200) == {"movies": [], "metadata": {}}, query[:40]


# ---- :id ----------------------------------------------------------------------

# "/v1/movies/36%00" matches no route (CONTRACT §12 #22): the decoded path
# is matched with its length.


@pytest.mark.parametrize("spelling", [
    "{id}%00", "{id}%002",
    "{id}%20", "%20{id}", "+{id}", "%2B{id}", "{id}.0", "{id}x", "{id}%ff",
    "-{id}", "0x{id}", "{id}e0", "%EF%BC%91{id}",
])
def test_id_must_be_all_digits(api, make_movie, spelling):
    movie = make_movie()
    path = "/v1/movies/" + spelling.format(id=movie["id"])
    assert ok_json(api.get(path), 404) == NOT_FOUND
    assert ok_json(api.patch(path, json={"title": "changed"}),
                   404) == NOT_FOUND
    assert ok_json(api.delete(path), 404) == NOT_FOUND
    r = api.get(f"/v1/movies/{movie['id']}")
    assert ok_json(r, 200) == {"movie": movie}


@pytest.mark.parametrize("spelling", [
    "0", "00", "9223372036854775807", "9223372036854775808",
    "99999999999999999999999999",
])
def test_id_out_of_range_is_404(api, spelling):
    assert ok_json(api.get("/v1/movies/" + spelling), 404) == NOT_FOUND


# ---- JSON strings: movies -----------------------------------------------------

@pytest.fixture(params=["POST", "PATCH"])
def movie_target(request, api, make_movie, db):
    """(method, path, unchanged): the movie endpoint under test and a check
    that nothing was stored or changed."""
    if request.param == "POST":
        before = db("SELECT count(*) FROM movies")
        return "POST", "/v1/movies", lambda: db(
            "SELECT count(*) FROM movies") == before
    movie = make_movie(genres=["drama", "comedy"])
    path = f"/v1/movies/{movie['id']}"
    return "PATCH", path, lambda: api.get(path).json() == {"movie": movie}


@pytest.mark.parametrize("key", ["title", "genres"])
def test_movie_strings_with_nul_or_bad_utf8_are_400(raw_http, movie_target,
                                                    key):
    method, path, unchanged = movie_target
    body = movie_body(genres=["drama", "comedy"])
    if key == "genres":
        raw = json.dumps(body).replace('"comedy"', '"com\\u0000edy"').encode()
        assert send(raw_http, method, path, raw) == (
            400, nul(raw.index(b"\\u0000") + 1))
        raw = json.dumps(body).replace('"comedy"', '"com\\u00ffedy"').encode()
        raw = raw.replace(b"\\u00ff", b"\xff")
        assert send(raw_http, method, path, raw) == (
            400, bad_utf8(raw.index(b"\xff") + 1))
    else:
        raw, pos = with_nul(body, key)
        assert send(raw_http, method, path, raw) == (400, nul(pos))
        for byte in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80"):
            raw, pos = with_byte(body, key, byte)
            assert send(raw_http, method, path, raw) == (400, bad_utf8(pos))
    assert unchanged()


def test_lone_surrogate_escape_is_stored_as_replacement_character(api,
                                                                  raw_http):
    """Go's decoder turns a lone surrogate into U+FFFD: valid UTF-8 that
    PostgreSQL stores."""
    raw = json.dumps(movie_body(genres=["g"])).replace(
        '"g"', '"a\\ud800b"').encode()
    status, body = send(raw_http, "POST", "/v1/movies", raw)
    assert status == 201, body
    assert body["movie"]["genres"] == ["a\ufffdb"]
    stored = api.get(f"/v1/movies/{body['movie']['id']}").json()
    assert stored == body


@pytest.mark.parametrize("fields, errors", [
    ({"title": "t" * 100000},
     {"title": "must not be more than 500 bytes long"}),
    ({"title": "\u00e9" * 251},
     {"title": "must not be more than 500 bytes long"}),
    ({"genres": ["g" * 100000]},
     {"genres": "must not contain a genre more than 500 bytes long"}),
    ({"genres": ["ok", "\u00e9" * 251]},
     {"genres": "must not contain a genre more than 500 bytes long"}),
])
def test_movie_values_past_index_limits_are_422(api, movie_target, fields,
                                                errors):
    method, path, unchanged = movie_target
    invalid(api.request(method, path, json=movie_body(**fields)), errors)
    assert unchanged()


# ---- genres: the cap and the rule order ---------------------------------------

@pytest.mark.parametrize("genres, errors", [
    ([""] * 6, MORE_THAN_5),
    (["a"] * 6, MORE_THAN_5),
    (["a", "b", "c", "d", "e", "f"], MORE_THAN_5),
    ([""] * 100, MORE_THAN_5),
    (["g" * 1000] * 6, MORE_THAN_5),
    (["a"] * 5, {"genres": "must not contain duplicate values"}),
    (["", ""], {"genres": "must not contain duplicate values"}),
    (["a", "b", "a"], {"genres": "must not contain duplicate values"}),
    (["g" * 501, "g" * 501],
     {"genres": "must not contain duplicate values"}),
    ([], {"genres": "must contain at least 1 genre"}),
])
def test_genre_rule_order(api, movie_target, genres, errors):
    method, path, unchanged = movie_target
    invalid(api.request(method, path, json=movie_body(genres=genres)), errors)
    assert unchanged()


def test_one_empty_genre_is_stored(api):
    """No rule of §3.2 refuses an empty string."""
    r = api.post("/v1/movies", json=movie_body(genres=[""]))
    movie = ok_json(r, 201)["movie"]
    assert movie["genres"] == [""]
    assert api.get(f"/v1/movies/{movie['id']}").json() == {"movie": movie}


def megabyte_of_empty_genres(tail=b"]}"):
    """{"genres": ["", "", ...]} of exactly 1 MiB (349,521 elements) when
    tail is "]}"; other tails replace the closing bytes."""
    head = b'{"genres": [""'
    n = (LIMIT - len(head) - 2) // 3
    body = head + b',""' * n
    return body + tail


def test_megabyte_of_empty_genres_is_the_validators_422(raw_http, api,
                                                        movie_target):
    method, path, unchanged = movie_target
    body = megabyte_of_empty_genres()
    assert len(body) == LIMIT
    errors = dict(MORE_THAN_5)
    if method == "POST":  # nothing else was sent
        errors.update({"title": "must be provided", "year": "must be provided",
                       "runtime": "must be provided"})
    assert send(raw_http, method, path, body) == (422, {"error": errors})
    assert unchanged()
    assert api.get("/v1/healthcheck").status_code == 200


@pytest.mark.parametrize("tail, expect", [
    # an element of the wrong type after the 349,521 strings
    (b",1]}", {"error": 'body contains incorrect JSON type for field '
                        '"genres"'}),
    (b"],\"rating\":1}", {"error": 'body contains unknown key "rating"'}),
    (b"],\"genres\":[]}", {"error": 'body contains duplicate key "genres"'}),
    (b"],\"runtime\":\"x\"}", {"error": "invalid runtime format"}),
    (b",\"a\\u0000\"]}", None),  # NUL: offset computed below
    (b",\"\xff\"]}", None),       # bad UTF-8: offset computed below
    (b",]}", None),               # syntax error: offset computed below
    (b"]} {}", {"error": "body must only contain a single JSON value"}),
    (b",\"\"", {"error": "body contains badly-formed JSON"}),
])
def test_errors_after_many_genres_still_win(raw_http, movie_target, tail,
                                            expect):
    method, path, unchanged = movie_target
    body = megabyte_of_empty_genres(tail)
    # keep it within the limit: drop elements from the front
    while len(body) > LIMIT:
        body = body.replace(b',""', b"", 1)
    if expect is None:
        if b"\\u0000" in tail:
            expect = nul(body.rindex(b"\\u0000") + 1)
        elif b"\xff" in tail:
            expect = bad_utf8(body.rindex(b"\xff") + 1)
        else:
            expect = at(body.rindex(b",]") + 2)
    assert send(raw_http, method, path, body) == (400, expect)
    assert unchanged()


# ---- JSON strings: users and tokens --------------------------------------------

def user_count(db, email):
    return int(db("SELECT count(*) FROM users WHERE email = "
                  + "'" + email.replace("'", "''") + "'"))


def outbox_jobs(db):
    return db("SELECT count(*) FROM mail_outbox")


@pytest.mark.parametrize("key", ["name", "email", "password"])
def test_register_strings_with_nul_or_bad_utf8_are_400(raw_http, db, unique,
                                                       key):
    email = new_email(unique)
    body = {"name": "Nul Tester", "email": email, "password": PASSWORD}
    jobs = outbox_jobs(db)
    raw, pos = with_nul(body, key)
    assert send(raw_http, "POST", "/v1/users", raw) == (400, nul(pos))
    raw, pos = with_byte(body, key)
    assert send(raw_http, "POST", "/v1/users", raw) == (400, bad_utf8(pos))
    assert user_count(db, email) == 0
    assert outbox_jobs(db) == jobs


@pytest.mark.parametrize("fields, errors", [
    ({"name": "n" * 100000}, {"name": "must not be more than 500 bytes long"}),
    ({"email": "a" * 100000 + "@example.com"},
     {"email": "must be a valid email address"}),
    # pattern-valid but 255+ bytes: past the unique index's reasonable size
    ({"email": "a" * 60 + "@" + ".".join(["d" * 60] * 4) + ".com"},
     {"email": "must be a valid email address"}),
    ({"password": "p" * 100000},
     {"password": "must not be more than 72 bytes long"}),
])
def test_register_values_past_limits_are_422(api, db, unique, fields, errors):
    body = {"name": "Big Tester", "email": new_email(unique),
            "password": PASSWORD, **fields}
    invalid(api.anonymous().post("/v1/users", json=body), errors)
    assert user_count(db, body["email"]) == 0


@pytest.mark.parametrize("scope, path", [
    ("activation", "/v1/users/activated"),
    ("password-reset", "/v1/users/password"),
])
def test_token_with_nul_is_400_and_not_cut_short(anon_api, raw_http, db,
                                                 scope, path):
    """A real token followed by \\u0000 must not be read as the token."""
    uid, _, _ = make_user(db, activated=(scope == "password-reset"),
                          permissions=())
    token = make_token(db, uid, scope)
    body = {"token": token}
    if scope == "password-reset":
        body["password"] = "new-pa55word"
    method = "PUT"
    raw, pos = with_nul(body, "token")
    assert send(raw_http, method, path, raw) == (400, nul(pos))
    raw, pos = with_byte(body, "token")
    assert send(raw_http, method, path, raw) == (400, bad_utf8(pos))
    if scope == "password-reset":
        raw, pos = with_nul(body, "password")
        assert send(raw_http, method, path, raw) == (400, nul(pos))
    assert token_count(db, uid, scope) == 1
    assert db(f"SELECT activated, password_hash = '\\x00' FROM users "
              f"WHERE id = {uid}") == (
        "t|t" if scope == "password-reset" else "f|t")
    # the token itself still works: nothing was consumed
    r = anon_api.put(path, json=body)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/v1/users/activated", "/v1/users/password"])
def test_huge_token_is_422(anon_api, path):
    body = {"token": "T" * 100000}
    errors = {"token": "must be 26 bytes long"}
    if path.endswith("password"):
        body["password"] = "new-pa55word"
    invalid(anon_api.put(path, json=body), errors)


@pytest.fixture
def registered(api, unique):
    """(email) of a user registered through the API with PASSWORD."""
    email = new_email(unique)
    register(api.anonymous(), email)
    return email


@pytest.mark.parametrize("key", ["email", "password"])
def test_login_strings_with_nul_are_400(raw_http, db, registered, key):
    body = {"email": registered, "password": PASSWORD}
    uid = db("SELECT id FROM users WHERE email = '" + registered + "'")
    raw, pos = with_nul(body, key)
    assert send(raw_http, "POST", "/v1/tokens/authentication", raw) == (
        400, nul(pos))
    raw, pos = with_byte(body, key)
    assert send(raw_http, "POST", "/v1/tokens/authentication", raw) == (
        400, bad_utf8(pos))
    assert token_count(db, uid, "authentication") == 0


def test_login_huge_values_are_422(anon_api, registered):
    invalid(anon_api.post("/v1/tokens/authentication",
                          json={"email": "a" * 100000 + "@example.com",
                                "password": PASSWORD}),
            {"email": "must be a valid email address"})
    invalid(anon_api.post("/v1/tokens/authentication",
                          json={"email": registered, "password": "p" * 100000}),
            {"password": "must not be more than 72 bytes long"})


@pytest.mark.parametrize("path", ["/v1/tokens/activation",
                                  "/v1/tokens/password-reset"])
def test_mail_token_email_with_nul_is_400(anon_api, raw_http, db, registered,
                                          path):
    jobs = outbox_jobs(db)
    raw, pos = with_nul({"email": registered}, "email")
    assert send(raw_http, "POST", path, raw) == (400, nul(pos))
    raw, pos = with_byte({"email": registered}, "email")
    assert send(raw_http, "POST", path, raw) == (400, bad_utf8(pos))
    invalid(anon_api.post(path, json={"email": "a" * 100000 + "@x.com"}),
            {"email": "must be a valid email address"})
    assert outbox_jobs(db) == jobs
