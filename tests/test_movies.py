"""Movies: create, show, update (PATCH), delete, validation, edit conflicts
and conditional requests (CONTRACT §2, §3.1–§3.4, §12 #1, #3, §13)."""

import datetime
import http.client
import json
import threading

import pytest

from conftest import invalid, movie_body, ok_json

NOT_FOUND = {"error": "the requested resource could not be found"}
CONFLICT = {"error": "unable to update the record due to an edit conflict, "
                     "please try again"}
PRECONDITION = {"error": "the resource has been modified since you last "
                         "fetched it"}
DELETED = {"message": "movie successfully deleted"}
MOVIE_KEYS = {"id", "title", "year", "runtime", "genres", "version"}


def this_year():
    return datetime.datetime.now(datetime.timezone.utc).year


def path_of(movie):
    return f"/v1/movies/{movie['id']}"


def stored(api, movie):
    r = api.get(path_of(movie))
    return ok_json(r, 200)["movie"]


# ---- create -----------------------------------------------------------------

def test_create_returns_201_location_and_movie(api, unique):
    title = unique("Moana")
    r = api.post("/v1/movies", json={"title": title, "year": 2016,
                                      "runtime": "107 mins",
                                      "genres": ["animation", "adventure"]})
    body = ok_json(r, 201)
    assert set(body) == {"movie"}
    movie = body["movie"]
    assert set(movie) == MOVIE_KEYS
    assert isinstance(movie["id"], int) and movie["id"] >= 1
    assert movie == {"id": movie["id"], "title": title, "year": 2016,
                     "runtime": "107 mins",
                     "genres": ["animation", "adventure"], "version": 1}
    assert r.headers["Location"] == f"/v1/movies/{movie['id']}"
    assert "created_at" not in movie


def test_created_movie_can_be_shown(api, make_movie):
    movie = make_movie(genres=["b", "a", "c"])
    assert ok_json(api.get(path_of(movie)), 200) == {"movie": movie}
    assert movie["genres"] == ["b", "a", "c"]  # order kept


def test_created_movie_is_in_the_database(api, db, make_movie):
    movie = make_movie(title="Db check", year=1999, runtime="88 mins",
                       genres=["x", "y"])
    row = db(f"SELECT title, year, runtime, array_to_string(genres, ','), "
             f"version FROM movies WHERE id = {movie['id']}")
    assert row == "Db check|1999|88|x,y|1"


def test_ids_increase(make_movie):
    a, b = make_movie(), make_movie()
    assert b["id"] > a["id"]


def test_identical_movies_are_separate_records(api):
    body = movie_body()
    a = ok_json(api.post("/v1/movies", json=body), 201)["movie"]
    b = ok_json(api.post("/v1/movies", json=body), 201)["movie"]
    assert a["id"] != b["id"]


def test_create_with_null_fields_is_validation(api):
    r = api.post("/v1/movies", json={"title": "x", "year": None,
                                      "runtime": None, "genres": None})
    invalid(r, {"year": "must be provided", "runtime": "must be provided",
                "genres": "must be provided"})


@pytest.mark.parametrize("runtime,shown", [
    ("1 mins", "1 mins"),
    ("+107 mins", "107 mins"),
    ("0107 mins", "107 mins"),
    ("2147483647 mins", "2147483647 mins"),
])
def test_runtime_forms(api, make_movie, runtime, shown):
    movie = make_movie(runtime=runtime)
    assert movie["runtime"] == shown
    assert stored(api, movie)["runtime"] == shown


def test_unicode_title_round_trips(api, make_movie):
    title = "Am\u00e9lie \u2014 \u6c34\u306e\u97f3 \U0001F3AC \"q\" \\ /"
    movie = make_movie(title=title)
    assert movie["title"] == title
    assert stored(api, movie)["title"] == title


# ---- validation -------------------------------------------------------------

def test_each_rule_message(api):
    next_year = this_year() + 1
    cases = [
        ({"title": ""}, {"title": "must be provided"}),
        ({"title": ...}, {"title": "must be provided"}),
        ({"title": "a" * 501}, {"title": "must not be more than 500 bytes long"}),
        ({"year": 0}, {"year": "must be provided"}),
        ({"year": ...}, {"year": "must be provided"}),
        ({"year": 1887}, {"year": "must be greater than 1888"}),
        ({"year": -2016}, {"year": "must be greater than 1888"}),
        ({"year": -2147483648}, {"year": "must be greater than 1888"}),
        ({"year": next_year}, {"year": "must not be in the future"}),
        ({"year": 2147483647}, {"year": "must not be in the future"}),
        ({"runtime": ...}, {"runtime": "must be provided"}),
        ({"runtime": "0 mins"}, {"runtime": "must be provided"}),
        ({"runtime": "-0 mins"}, {"runtime": "must be provided"}),
        ({"runtime": "-5 mins"}, {"runtime": "must be a positive integer"}),
        ({"runtime": "-2147483648 mins"},
         {"runtime": "must be a positive integer"}),
        ({"genres": ...}, {"genres": "must be provided"}),
        ({"genres": None}, {"genres": "must be provided"}),
        ({"genres": []}, {"genres": "must contain at least 1 genre"}),
        ({"genres": ["a", "b", "c", "d", "e", "f"]},
         {"genres": "must not contain more than 5 genres"}),
        ({"genres": ["a", "a", "b", "c", "d", "e"]},
         {"genres": "must not contain more than 5 genres"}),
        ({"genres": ["drama", "drama"]},
         {"genres": "must not contain duplicate values"}),
        ({"genres": ["a", "b", "c", "d", "a"]},
         {"genres": "must not contain duplicate values"}),
        ({"genres": ["", ""]}, {"genres": "must not contain duplicate values"}),
        ({"genres": ["x" * 501]},
         {"genres": "must not contain a genre more than 500 bytes long"}),
        ({"genres": ["drama", "\u00e9" * 250 + "x"]},
         {"genres": "must not contain a genre more than 500 bytes long"}),
    ]
    for fields, errors in cases:
        r = api.post("/v1/movies", json=movie_body(**fields))
        assert r.status_code == 422, (fields, r.text)
        assert r.json() == {"error": errors}, fields


def test_all_failing_fields_reported_together(api):
    r = api.post("/v1/movies", json={"title": "", "year": 1887,
                                      "runtime": "-1 mins",
                                      "genres": ["a", "a"]})
    invalid(r, {"title": "must be provided",
                "year": "must be greater than 1888",
                "runtime": "must be a positive integer",
                "genres": "must not contain duplicate values"})


def test_empty_object_reports_every_field(api):
    invalid(api.post("/v1/movies", json={}),
            {"title": "must be provided", "year": "must be provided",
             "runtime": "must be provided", "genres": "must be provided"})


def test_two_fields_wrong_others_fine(api):
    invalid(api.post("/v1/movies",
                     json=movie_body(year=this_year() + 1, genres=[])),
            {"year": "must not be in the future",
             "genres": "must contain at least 1 genre"})


def test_invalid_movie_is_not_stored(api, db, unique):
    title = unique("never")
    for fields in ({"year": 1887}, {"genres": []}, {"runtime": "-1 mins"}):
        r = api.post("/v1/movies", json=movie_body(title=title, **fields))
        assert r.status_code == 422
    assert db(f"SELECT count(*) FROM movies WHERE title = '{title}'") == "0"


def test_year_bounds(api, make_movie):
    assert make_movie(year=1888)["year"] == 1888
    assert make_movie(year=this_year())["year"] == this_year()
    invalid(api.post("/v1/movies", json=movie_body(year=1887)),
            {"year": "must be greater than 1888"})
    invalid(api.post("/v1/movies", json=movie_body(year=this_year() + 1)),
            {"year": "must not be in the future"})


def test_title_limit_counts_bytes_not_characters(api, make_movie):
    two = "\u00e9" * 250                       # 250 characters, 500 bytes
    four = "\U0001F600" * 125                 # 125 characters, 500 bytes
    assert len(two.encode()) == len(four.encode()) == 500
    for title in (two, four, "a" * 500, "a" * 497 + "\u20ac"):
        movie = make_movie(title=title)
        assert movie["title"] == title
        assert stored(api, movie)["title"] == title
    too_long = [
        two + "a",                             # 251 characters, 501 bytes
        "\u20ac" * 167,                        # 167 characters, 501 bytes
        "a" * 498 + "\u20ac",                  # 499 characters, 501 bytes
        "\u20ac" * 200,                        # 200 characters, 600 bytes
        "a" * 501,
    ]
    for title in too_long:
        assert len(title) < 502 and len(title.encode()) > 500
        invalid(api.post("/v1/movies", json=movie_body(title=title)),
                {"title": "must not be more than 500 bytes long"})


def test_genres_limits(api, make_movie):
    five = ["a", "b", "c", "d", "e"]
    assert make_movie(genres=five)["genres"] == five
    assert make_movie(genres=["x"])["genres"] == ["x"]
    # exact comparison: case and spacing make different values
    assert make_movie(genres=["Drama", "drama", "drama "])["genres"] == [
        "Drama", "drama", "drama "]
    long_genre = "g" * 500
    assert make_movie(genres=[long_genre])["genres"] == [long_genre]
    assert make_movie(genres=["\u00e9" * 250])["genres"] == ["\u00e9" * 250]
    invalid(api.post("/v1/movies",
                     json=movie_body(genres=five + ["f"])),
            {"genres": "must not contain more than 5 genres"})
    invalid(api.post("/v1/movies", json=movie_body(genres=[])),
            {"genres": "must contain at least 1 genre"})
    invalid(api.post("/v1/movies", json=movie_body(genres=["a", "b", "a"])),
            {"genres": "must not contain duplicate values"})


def test_genres_with_odd_characters_round_trip(api, make_movie):
    genres = ['sci-fi, "hard"', "a\\b", "{x}", "NULL", " "]
    movie = make_movie(genres=genres)
    assert movie["genres"] == genres
    assert stored(api, movie)["genres"] == genres


# ---- show -------------------------------------------------------------------

def test_show_has_etag(api, make_movie):
    movie = make_movie()
    r = api.get(path_of(movie))
    assert ok_json(r, 200) == {"movie": movie}
    assert r.headers["ETag"] == '"1"'


def test_show_missing_is_404(api, make_movie):
    movie = make_movie()
    assert ok_json(api.delete(path_of(movie)), 200) == DELETED
    assert ok_json(api.get(path_of(movie)), 404) == NOT_FOUND
    assert ok_json(api.get("/v1/movies/9223372036854775807"), 404) == NOT_FOUND


BAD_IDS = ["abc", "0", "-1", "1.5", "99999999999999999999",
           "9223372036854775808", "1e3", "0x10", "%201", "1%20", "1a"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_bad_id_is_404(api, method, bad_id):
    body = b'{"title": "x"}' if method == "PATCH" else None
    r = api.request(method, f"/v1/movies/{bad_id}", data=body)
    assert ok_json(r, 404) == NOT_FOUND


# ---- PATCH ------------------------------------------------------------------

@pytest.mark.parametrize("field,value,shown", [
    ("title", "A new title", "A new title"),
    ("year", 1888, 1888),
    ("runtime", "5 mins", "5 mins"),
    ("runtime", "+6 mins", "6 mins"),
    ("genres", ["x", "y", "z"], ["x", "y", "z"]),
])
def test_patch_one_field(api, make_movie, field, value, shown):
    movie = make_movie(title="Original", year=2000, runtime="90 mins",
                       genres=["drama"])
    r = api.patch(path_of(movie), json={field: value})
    want = dict(movie, version=2, **{field: shown})
    assert ok_json(r, 200) == {"movie": want}
    assert stored(api, movie) == want


def test_patch_every_field(api, make_movie):
    movie = make_movie()
    r = api.patch(path_of(movie), json={"title": "T", "year": 1999,
                                        "runtime": "1 mins",
                                        "genres": ["a", "b"]})
    want = {"id": movie["id"], "title": "T", "year": 1999,
            "runtime": "1 mins", "genres": ["a", "b"], "version": 2}
    assert ok_json(r, 200) == {"movie": want}
    assert stored(api, movie) == want


def test_patch_empty_object_bumps_version(api, make_movie):
    movie = make_movie()
    for version in (2, 3, 4):
        r = api.patch(path_of(movie), json={})
        assert ok_json(r, 200) == {"movie": dict(movie, version=version)}
    assert stored(api, movie) == dict(movie, version=4)


def test_patch_same_values_bumps_version(api, make_movie):
    movie = make_movie()
    body = {k: movie[k] for k in ("title", "year", "runtime", "genres")}
    r = api.patch(path_of(movie), json=body)
    assert ok_json(r, 200) == {"movie": dict(movie, version=2)}


def test_patch_null_fields_mean_absent(api, make_movie):
    movie = make_movie()
    r = api.patch(path_of(movie), json={"title": None, "year": None,
                                        "runtime": None, "genres": None})
    assert ok_json(r, 200) == {"movie": dict(movie, version=2)}
    r = api.patch(path_of(movie), json={"title": "Changed", "genres": None})
    assert ok_json(r, 200) == {"movie": dict(movie, title="Changed",
                                             version=3)}


@pytest.mark.parametrize("fields,errors", [
    ({"title": ""}, {"title": "must be provided"}),
    ({"title": "x" * 501}, {"title": "must not be more than 500 bytes long"}),
    ({"year": 0}, {"year": "must be provided"}),
    ({"year": 1887}, {"year": "must be greater than 1888"}),
    ({"year": "next"}, {"year": "must not be in the future"}),
    ({"runtime": "0 mins"}, {"runtime": "must be provided"}),
    ({"runtime": "-5 mins"}, {"runtime": "must be a positive integer"}),
    ({"genres": []}, {"genres": "must contain at least 1 genre"}),
    ({"genres": list("abcdef")}, {"genres": "must not contain more than 5 genres"}),
    ({"genres": ["a", "a"]}, {"genres": "must not contain duplicate values"}),
    ({"title": "", "year": 1, "genres": []},
     {"title": "must be provided", "year": "must be greater than 1888",
      "genres": "must contain at least 1 genre"}),
])
def test_patch_validation_leaves_record_unchanged(api, make_movie, fields,
                                                  errors):
    if fields.get("year") == "next":
        fields = dict(fields, year=this_year() + 1)
    movie = make_movie()
    invalid(api.patch(path_of(movie), json=fields), errors)
    assert stored(api, movie) == movie


def test_patch_bad_body_leaves_record_unchanged(api, make_movie):
    movie = make_movie()
    r = api.patch(path_of(movie), data=b'{"title": 5}')
    assert r.status_code == 400
    assert stored(api, movie) == movie


def test_patch_missing_movie_is_404(api, make_movie):
    movie = make_movie()
    api.delete(path_of(movie))
    assert ok_json(api.patch(path_of(movie), json={"title": "x"}),
                   404) == NOT_FOUND
    assert ok_json(api.patch("/v1/movies/9223372036854775807", json={}),
                   404) == NOT_FOUND


# ---- X-Expected-Version -----------------------------------------------------

@pytest.mark.parametrize("header", ["2", "0", "-1", "abc", "", "1.0",
                                    "99999999999999999999"])
def test_expected_version_mismatch_is_409(api, make_movie, header):
    movie = make_movie()
    r = api.patch(path_of(movie), json={"title": "Nope"},
                  headers={"X-Expected-Version": header})
    assert ok_json(r, 409) == CONFLICT
    assert stored(api, movie) == movie


def test_expected_version_match_succeeds(api, make_movie):
    movie = make_movie()
    r = api.patch(path_of(movie), json={"title": "Yes"},
                  headers={"X-Expected-Version": "1"})
    assert ok_json(r, 200) == {"movie": dict(movie, title="Yes", version=2)}
    # the same header again is now stale
    r = api.patch(path_of(movie), json={"title": "Again"},
                  headers={"X-Expected-Version": "1"})
    assert ok_json(r, 409) == CONFLICT
    r = api.patch(path_of(movie), json={"title": "Again"},
                  headers={"X-Expected-Version": "2"})
    assert ok_json(r, 200) == {"movie": dict(movie, title="Again",
                                             version=3)}
    assert stored(api, movie) == dict(movie, title="Again", version=3)


def test_expected_version_conflict_on_missing_movie_is_404(api):
    r = api.patch("/v1/movies/9223372036854775807", json={},
                  headers={"X-Expected-Version": "1"})
    assert ok_json(r, 404) == NOT_FOUND


# ---- a real race ------------------------------------------------------------

RACERS = 20


def race_patches(api, path, bodies, headers):
    """Sends one PATCH per body, each on its own connection, with the last
    byte of every request held back until all are connected; returns
    [(status, parsed body)]."""
    barrier = threading.Barrier(len(bodies))
    results = [None] * len(bodies)
    errors = []

    def run(i, body):
        try:
            raw = json.dumps(body).encode()
            conn = http.client.HTTPConnection(api.host, api.port, timeout=30)
            try:
                conn.putrequest("PATCH", path, skip_accept_encoding=True)
                conn.putheader("Content-Type", "application/json")
                conn.putheader("Content-Length", str(len(raw)))
                for k, v in api._headers(headers).items():
                    conn.putheader(k, v)
                conn.endheaders(raw[:-1])
                barrier.wait(timeout=30)
                conn.send(raw[-1:])
                resp = conn.getresponse()
                results[i] = (resp.status, json.loads(resp.read()))
            finally:
                conn.close()
        except Exception as exc:  # reported below, in the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i, b))
               for i, b in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert all(r is not None for r in results)
    return results


def test_race_with_expected_version_has_one_winner(api, make_movie):
    movie = make_movie(title="Race 0")
    bodies = [{"title": f"Race {i}"} for i in range(1, RACERS + 1)]
    results = race_patches(api, path_of(movie), bodies,
                           {"X-Expected-Version": "1"})
    winners = [(s, b) for s, b in results if s == 200]
    losers = [(s, b) for s, b in results if s != 200]
    assert len(winners) == 1, results
    assert all(s == 409 and b == CONFLICT for s, b in losers), losers
    won = winners[0][1]["movie"]
    assert won["version"] == 2
    assert stored(api, movie) == won
    assert won["title"] in {b["title"] for b in bodies}


def test_race_without_header_loses_no_update(api, make_movie):
    """Every PATCH that answers 200 took one version step; the others
    answer 409 and change nothing."""
    movie = make_movie(title="Free race 0")
    bodies = [{"title": f"Free race {i}"} for i in range(1, RACERS + 1)]
    results = race_patches(api, path_of(movie), bodies, {})
    winners = [b["movie"] for s, b in results if s == 200]
    losers = [(s, b) for s, b in results if s != 200]
    assert winners, results
    assert all(s == 409 and b == CONFLICT for s, b in losers), losers
    versions = sorted(m["version"] for m in winners)
    assert versions == list(range(2, 2 + len(winners)))
    final = stored(api, movie)
    assert final["version"] == 1 + len(winners)
    assert final == [m for m in winners if m["version"] == final["version"]][0]


# ---- ETag / If-None-Match / If-Match ----------------------------------------

def test_etag_follows_version(api, make_movie):
    movie = make_movie()
    assert api.get(path_of(movie)).headers["ETag"] == '"1"'
    api.patch(path_of(movie), json={})
    api.patch(path_of(movie), json={})
    assert api.get(path_of(movie)).headers["ETag"] == '"3"'


@pytest.mark.parametrize("value", ['"1"', 'W/"1"', '"7", "1"', "*"])
def test_if_none_match_current_is_304(api, make_movie, value):
    movie = make_movie()
    r = api.get(path_of(movie), headers={"If-None-Match": value})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["ETag"] == '"1"'


@pytest.mark.parametrize("value", ['"2"', '"0"', "1", '"1 "', 'W/"2"'])
def test_if_none_match_other_is_200(api, make_movie, value):
    movie = make_movie()
    r = api.get(path_of(movie), headers={"If-None-Match": value})
    assert ok_json(r, 200) == {"movie": movie}


def test_if_none_match_after_update_is_200(api, make_movie):
    movie = make_movie()
    api.patch(path_of(movie), json={"title": "Later"})
    r = api.get(path_of(movie), headers={"If-None-Match": '"1"'})
    assert ok_json(r, 200)["movie"]["title"] == "Later"
    assert r.headers["ETag"] == '"2"'
    r = api.get(path_of(movie), headers={"If-None-Match": '"2"'})
    assert r.status_code == 304


def test_head_with_if_none_match_is_304(api, make_movie):
    movie = make_movie()
    r = api.head(path_of(movie), headers={"If-None-Match": '"1"'})
    assert r.status_code == 304
    assert r.content == b""


def test_if_none_match_on_missing_movie_is_404(api):
    r = api.get("/v1/movies/9223372036854775807",
                headers={"If-None-Match": "*"})
    assert ok_json(r, 404) == NOT_FOUND


@pytest.mark.parametrize("value", ['"2"', '"0"', 'W/"1"', '"3", "4"'])
def test_if_match_stale_patch_is_412(api, make_movie, value):
    movie = make_movie()
    r = api.patch(path_of(movie), json={"title": "Nope"},
                  headers={"If-Match": value})
    assert ok_json(r, 412) == PRECONDITION
    assert stored(api, movie) == movie


def test_if_match_after_someone_else_updated_is_412(api, make_movie):
    movie = make_movie()
    tag = api.get(path_of(movie)).headers["ETag"]
    ok_json(api.patch(path_of(movie), json={"title": "Theirs"}), 200)
    r = api.patch(path_of(movie), json={"title": "Mine"},
                  headers={"If-Match": tag})
    assert ok_json(r, 412) == PRECONDITION
    assert stored(api, movie)["title"] == "Theirs"
    r = api.delete(path_of(movie), headers={"If-Match": tag})
    assert ok_json(r, 412) == PRECONDITION
    assert stored(api, movie)["version"] == 2


@pytest.mark.parametrize("value", ['"1"', '"9", "1"', "*"])
def test_if_match_current_patch_succeeds(api, make_movie, value):
    movie = make_movie()
    r = api.patch(path_of(movie), json={"title": "Yes"},
                  headers={"If-Match": value})
    assert ok_json(r, 200) == {"movie": dict(movie, title="Yes", version=2)}


def test_if_match_uses_the_etag_from_get(api, make_movie):
    movie = make_movie()
    api.patch(path_of(movie), json={})
    tag = api.get(path_of(movie)).headers["ETag"]
    r = api.patch(path_of(movie), json={"year": 2001},
                  headers={"If-Match": tag})
    assert ok_json(r, 200)["movie"]["version"] == 3


@pytest.mark.parametrize("value", ['"2"', 'W/"1"'])
def test_if_match_stale_delete_is_412(api, make_movie, value):
    movie = make_movie()
    r = api.delete(path_of(movie), headers={"If-Match": value})
    assert ok_json(r, 412) == PRECONDITION
    assert stored(api, movie) == movie


def test_if_match_current_delete_succeeds(api, make_movie):
    movie = make_movie()
    r = api.delete(path_of(movie), headers={"If-Match": '"1"'})
    assert ok_json(r, 200) == DELETED
    assert ok_json(api.get(path_of(movie)), 404) == NOT_FOUND


def test_if_match_on_missing_movie_is_404(api):
    for method in ("PATCH", "DELETE"):
        r = api.request(method, "/v1/movies/9223372036854775807",
                        data=b"{}", headers={"If-Match": '"1"'})
        assert ok_json(r, 404) == NOT_FOUND


# ---- DELETE -----------------------------------------------------------------

def test_delete_then_everything_is_404(api, db, make_movie):
    movie = make_movie()
    assert ok_json(api.delete(path_of(movie)), 200) == DELETED
    assert db(f"SELECT count(*) FROM movies WHERE id = {movie['id']}") == "0"
    assert ok_json(api.get(path_of(movie)), 404) == NOT_FOUND
    assert ok_json(api.patch(path_of(movie), json={"title": "x"}),
                   404) == NOT_FOUND
    assert ok_json(api.delete(path_of(movie)), 404) == NOT_FOUND
    r = api.head(path_of(movie))
    assert r.status_code == 404 and r.content == b""


def test_delete_only_that_movie(api, make_movie):
    a, b = make_movie(), make_movie()
    ok_json(api.delete(path_of(a)), 200)
    assert stored(api, b) == b


def test_delete_ignores_a_body(api, make_movie):
    movie = make_movie()
    r = api.delete(path_of(movie), data=b"this is not json")
    assert ok_json(r, 200) == DELETED
