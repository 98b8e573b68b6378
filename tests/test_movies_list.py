"""GET /v1/movies: filters, sorting, pagination and their validation
(CONTRACT §3.5, §12 #2, §13 year filter and query-text rule).

Every test seeds its own movies whose titles contain a fresh random word
(the "token"), and filters on it, so other data in the database never
matters."""

import datetime
import uuid
from urllib.parse import quote

import pytest

EMPTY = {"movies": [], "metadata": {}}
MOVIE_KEYS = {"id", "title", "year", "runtime", "genres", "version"}
YEAR_MSG = "must be a year or a range of years such as 1990-1999"
TEXT_MSG = "must be valid UTF-8 without NUL characters"
SORTS = ["id", "title", "year", "runtime", "-id", "-title", "-year",
         "-runtime"]


def this_year():
    return datetime.datetime.now(datetime.timezone.utc).year


def token():
    """A word no other movie title contains (letters and digits only, so
    PostgreSQL's parser keeps it as one word)."""
    return "zq" + uuid.uuid4().hex[:12]


def listing(api, query):
    """GET /v1/movies?<query> (query passed as it is); returns the parsed
    200 body after checking the envelope."""
    r = api.get("/v1/movies" + ("?" + query if query else ""))
    assert r.status_code == 200, f"{query}: {r.status_code} {r.text!r}"
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    body = r.json()
    assert set(body) == {"movies", "metadata"}
    assert isinstance(body["movies"], list)
    assert isinstance(body["metadata"], dict)
    for m in body["movies"]:
        assert set(m) <= MOVIE_KEYS and {"id", "title", "version"} <= set(m)
    # metadata.next_cursor (§13.2, tests/test_cursors.py) is there exactly
    # when rows follow this page; the checks here compare the rest.
    md = body["metadata"]
    cursor = md.pop("next_cursor", None)
    more = bool(md) and bool(body["movies"]) and \
        md["current_page"] * md["page_size"] < md["total_records"]
    assert (cursor is not None) == more, f"{query}: next_cursor {cursor!r}"
    return body


def ids(body):
    return [m["id"] for m in body["movies"]]


def meta(page, page_size, last_page, total):
    return {"current_page": page, "page_size": page_size, "first_page": 1,
            "last_page": last_page, "total_records": total}


def invalid(api, query, errors):
    r = api.get("/v1/movies?" + query)
    assert r.status_code == 422, f"{query}: {r.status_code} {r.text!r}"
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    assert r.json() == {"error": errors}, query


def minutes(m):
    return int(m["runtime"].split()[0])


# ---- envelope and defaults --------------------------------------------------

def test_one_match_full_body(api, make_movie):
    tok = token()
    movie = make_movie(title=f"{tok} solo", year=2004, runtime="99 mins",
                       genres=["a", "b"])
    assert listing(api, f"title={tok}&sort=id") == {
        "movies": [movie], "metadata": meta(1, 20, 1, 1)}


def test_no_match_is_empty_list_and_empty_metadata(api):
    assert listing(api, f"title={token()}&sort=id") == EMPTY
    assert listing(api, f"title={token()}") == EMPTY


def test_no_match_past_page_one_is_still_empty_metadata(api):
    assert listing(api, f"title={token()}&page=2&sort=id") == EMPTY
    assert listing(api, f"title={token()}&page=10000000&page_size=100") \
        == EMPTY


def test_without_any_parameter(api, make_movie):
    make_movie()
    body = listing(api, "")
    assert 1 <= len(body["movies"]) <= 20
    md = body["metadata"]
    assert md["current_page"] == 1 and md["page_size"] == 20
    assert md["first_page"] == 1 and md["total_records"] >= 1
    assert md["last_page"] == -(-md["total_records"] // 20)
    assert ids(body) == sorted(ids(body))


def test_default_sort_is_id_ascending(api, make_movie):
    tok = token()
    seeded = [make_movie(title=f"{tok} {w}", year=y)
              for w, y in (("zulu", 1990), ("alpha", 2010), ("mike", 2000))]
    want = {"movies": seeded, "metadata": meta(1, 20, 1, 3)}
    assert listing(api, f"title={tok}") == want
    assert listing(api, f"title={tok}&sort=") == want
    assert listing(api, f"title={tok}&sort=id") == want


def test_empty_parameters_mean_defaults(api, make_movie):
    tok = token()
    movie = make_movie(title=f"{tok} x")
    body = listing(api, f"title={tok}&genres=&year=&page=&page_size=&sort=id")
    assert body == {"movies": [movie], "metadata": meta(1, 20, 1, 1)}


def test_page_size_default_is_20(api, make_movie):
    tok = token()
    seeded = [make_movie(title=f"{tok} n{i}") for i in range(21)]
    first = listing(api, f"title={tok}&sort=id")
    assert first["movies"] == seeded[:20]
    assert first["metadata"] == meta(1, 20, 2, 21)
    second = listing(api, f"title={tok}&sort=id&page=2")
    assert second["movies"] == seeded[20:]
    assert second["metadata"] == meta(2, 20, 2, 21)


# ---- full-text title search -------------------------------------------------

@pytest.fixture
def titled(make_movie):
    tok = token()
    movies = {
        "lb": make_movie(title=f"{tok} Lightning Bolt"),
        "b": make_movie(title=f"Bolt {tok}"),
        "t": make_movie(title=f"{tok} thunder-struck"),
        "other": make_movie(title=f"{tok}x Lightning Bolt"),
    }
    return tok, movies


def title_ids(api, q):
    return ids(listing(api, f"title={q}&sort=id"))


def test_title_single_word(api, titled):
    tok, m = titled
    assert title_ids(api, tok) == [m["lb"]["id"], m["b"]["id"], m["t"]["id"]]


def test_title_all_words_any_order(api, titled):
    tok, m = titled
    assert title_ids(api, f"{tok}+lightning+bolt") == [m["lb"]["id"]]
    assert title_ids(api, f"bolt+lightning+{tok}") == [m["lb"]["id"]]
    assert title_ids(api, f"bolt%20{tok}") == [m["lb"]["id"], m["b"]["id"]]


def test_title_every_word_must_match(api, titled):
    tok, _ = titled
    assert listing(api, f"title={tok}+lightning+storm&sort=id") == EMPTY


def test_title_case_insensitive(api, titled):
    tok, m = titled
    assert title_ids(api, f"{tok.upper()}+LIGHTNING") == [m["lb"]["id"]]
    assert title_ids(api, f"{tok}+lIgHtNiNg+BoLt") == [m["lb"]["id"]]


def test_title_whole_words_only(api, titled):
    tok, m = titled
    assert listing(api, f"title={tok}+light&sort=id") == EMPTY
    assert listing(api, f"title={tok}+bol&sort=id") == EMPTY
    assert listing(api, f"title={tok[:-1]}&sort=id") == EMPTY
    assert title_ids(api, f"{tok}+thunder") == [m["t"]["id"]]
    assert title_ids(api, f"{tok}x") == [m["other"]["id"]]


def test_title_punctuation_is_ignored(api, titled):
    tok, m = titled
    assert title_ids(api, f"{tok}%2C+bolt%21") == [m["lb"]["id"],
                                                   m["b"]["id"]]


def test_title_total_records_counts_matches(api, titled):
    tok, _ = titled
    body = listing(api, f"title={tok}&sort=id&page_size=2")
    assert body["metadata"] == meta(1, 2, 2, 3)


# ---- genres -----------------------------------------------------------------

@pytest.fixture
def genred(make_movie):
    tok = token()
    g1, g2, g3 = f"{tok}g1", f"{tok}g2", f"{tok}g3"
    movies = {
        "12": make_movie(title=f"{tok} one two", genres=[g1, g2]),
        "1": make_movie(title=f"{tok} one", genres=[g1]),
        "23": make_movie(title=f"{tok} two three", genres=[g2, g3]),
        "123": make_movie(title=f"{tok} all", genres=[g3, g2, g1]),
    }
    return tok, (g1, g2, g3), movies


def genre_ids(api, q):
    return ids(listing(api, q + "&sort=id"))


def test_genres_single(api, genred):
    _, (g1, _, _), m = genred
    assert genre_ids(api, f"genres={g1}") == [
        m["12"]["id"], m["1"]["id"], m["123"]["id"]]


def test_genres_must_contain_all_listed(api, genred):
    _, (g1, g2, g3), m = genred
    assert genre_ids(api, f"genres={g1},{g2}") == [m["12"]["id"],
                                                   m["123"]["id"]]
    assert genre_ids(api, f"genres={g2},{g1}") == [m["12"]["id"],
                                                   m["123"]["id"]]
    assert genre_ids(api, f"genres={g3},{g1},{g2}") == [m["123"]["id"]]
    assert listing(api, f"genres={g1},{token()}&sort=id") == EMPTY


def test_genres_case_sensitive_and_exact(api, genred):
    _, (g1, _, _), _ = genred
    assert listing(api, f"genres={g1.upper()}&sort=id") == EMPTY
    assert listing(api, f"genres={g1[:-1]}&sort=id") == EMPTY
    assert listing(api, f"genres={g1}x&sort=id") == EMPTY
    assert listing(api, f"genres=%20{g1}&sort=id") == EMPTY


def test_genres_combined_with_title(api, genred):
    tok, (g1, g2, _), m = genred
    assert genre_ids(api, f"title={tok}+one&genres={g1}") == [
        m["12"]["id"], m["1"]["id"]]
    assert genre_ids(api, f"title={tok}+two&genres={g1},{g2}") == [
        m["12"]["id"]]
    assert listing(api, f"title={tok}+three&genres={g1}&sort=id") == EMPTY
    body = listing(api, f"title={tok}&genres={g2}&sort=id&page_size=1")
    assert body["metadata"] == meta(1, 1, 3, 3)


def test_genres_with_special_characters(api, make_movie):
    tok = token()
    genre = f'{tok} "sci" {{fi}}\\'
    movie = make_movie(title=f"{tok} special", genres=[genre, "plain"])
    body = listing(api, f"genres={quote(genre)}&sort=id")
    assert body == {"movies": [movie], "metadata": meta(1, 20, 1, 1)}


# ---- year filter ------------------------------------------------------------

@pytest.fixture
def yeared(make_movie):
    tok = token()
    movies = {y: make_movie(title=f"{tok} y{y}", year=y, genres=[f"{tok}g"])
              for y in (1888, 1990, 1995, 1999, 2000, 2016)}
    return tok, movies


def year_ids(api, tok, years):
    return ids(listing(api, f"title={tok}&year={years}&sort=id"))


def test_year_exact(api, yeared):
    tok, m = yeared
    assert year_ids(api, tok, "1995") == [m[1995]["id"]]
    assert year_ids(api, tok, "1888") == [m[1888]["id"]]
    assert listing(api, f"title={tok}&year=1996&sort=id") == EMPTY
    assert listing(api, f"title={tok}&year={this_year()}&sort=id") == EMPTY


def test_year_range_inclusive(api, yeared):
    tok, m = yeared
    assert year_ids(api, tok, "1990-1999") == [m[y]["id"]
                                               for y in (1990, 1995, 1999)]
    assert year_ids(api, tok, "1995-1995") == [m[1995]["id"]]
    assert year_ids(api, tok, "1996-2000") == [m[1999]["id"], m[2000]["id"]]
    assert year_ids(api, tok, f"1888-{this_year()}") == [
        m[y]["id"] for y in sorted(m)]
    assert listing(api, f"title={tok}&year=1991-1994&sort=id") == EMPTY


def test_year_is_reflected_in_total_records(api, yeared):
    tok, m = yeared
    body = listing(api, f"title={tok}&year=1990-2000&sort=-year&page_size=3")
    assert ids(body) == [m[2000]["id"], m[1999]["id"], m[1995]["id"]]
    assert body["metadata"] == meta(1, 3, 2, 4)
    body = listing(api, f"title={tok}&year=1990-2000&sort=-year&page_size=3"
                        f"&page=2")
    assert ids(body) == [m[1990]["id"]]
    assert body["metadata"] == meta(2, 3, 2, 4)


def test_year_combined_with_genres(api, yeared):
    tok, m = yeared
    body = listing(api, f"genres={tok}g&year=1999-2016&sort=id")
    assert ids(body) == [m[1999]["id"], m[2000]["id"], m[2016]["id"]]
    assert body["metadata"]["total_records"] == 3


@pytest.mark.parametrize("value", [
    "abc", "1887", "next", "2000-1990", "1990-", "-1990", "1887-1990",
    "1990-next", "1990-abc", "1990-2000-2010", "19.5", "0", "-", "1990--1999",
    "99999999999999999999", "1990-99999999999999999999",
])
def test_year_bad_values(api, value):
    value = value.replace("next", str(this_year() + 1))
    invalid(api, f"year={value}", {"year": YEAR_MSG})
    invalid(api, f"year={value}&title={token()}&sort=id", {"year": YEAR_MSG})


# ---- sorting ----------------------------------------------------------------

@pytest.fixture
def sortable(make_movie):
    """Movies with ties in title, year and runtime."""
    tok = token()
    spec = [("bravo", 2000, 100), ("alpha", 1990, 120), ("charlie", 2000, 90),
            ("alpha", 2010, 100), ("delta", 1990, 120), ("bravo", 2005, 90)]
    movies = [make_movie(title=f"{tok} {w}", year=y, runtime=f"{r} mins")
              for w, y, r in spec]
    return tok, movies


def expected_order(movies, sort):
    key = sort.lstrip("-")
    keyf = {"id": lambda m: m["id"], "title": lambda m: m["title"],
            "year": lambda m: m["year"], "runtime": minutes}[key]
    by_id = sorted(movies, key=lambda m: m["id"])
    # Python's sort is stable also with reverse=True: ties stay by id asc.
    return [m["id"] for m in sorted(by_id, key=keyf,
                                    reverse=sort.startswith("-"))]


@pytest.mark.parametrize("sort", SORTS)
def test_sort_orders_and_breaks_ties_by_id(api, sortable, sort):
    tok, movies = sortable
    body = listing(api, f"title={tok}&sort={sort}")
    assert ids(body) == expected_order(movies, sort)
    assert body["metadata"] == meta(1, 20, 1, len(movies))


@pytest.mark.parametrize("sort", SORTS)
def test_sort_is_stable_across_pages(api, sortable, sort):
    tok, movies = sortable
    got = []
    for page in (1, 2, 3):
        body = listing(api, f"title={tok}&sort={sort}&page_size=2&page={page}")
        assert body["metadata"] == meta(page, 2, 3, len(movies))
        got += ids(body)
    assert got == expected_order(movies, sort)


def test_sort_ties_explicitly(api, sortable):
    tok, m = sortable
    # year 2000 twice, 1990 twice: ids ascending inside each group, also
    # when the year order is descending
    years = [(x["year"], x["id"]) for x in
             listing(api, f"title={tok}&sort=-year")["movies"]]
    assert years == sorted(years, key=lambda t: (-t[0], t[1]))
    assert years[2][0] == years[3][0] == 2000 and years[2][1] < years[3][1]


@pytest.mark.parametrize("value", ["name", "ID", "Title", "-", "+id", "id ",
                                   "%20id", "title,year", "--id", "-created_at",
                                   "genres", "version", "id%00"])
def test_invalid_sort_value(api, value):
    invalid(api, f"sort={value}", {"sort": "invalid sort value"})


# ---- page and page_size validation ------------------------------------------

@pytest.mark.parametrize("param,value,message", [
    ("page", "abc", "must be an integer value"),
    ("page", "1.5", "must be an integer value"),
    ("page", "1e3", "must be an integer value"),
    ("page", "%201", "must be an integer value"),
    ("page", "99999999999999999999", "must be an integer value"),
    ("page", "0", "must be greater than zero"),
    ("page", "-1", "must be greater than zero"),
    ("page", "-9223372036854775808", "must be greater than zero"),
    ("page", "10000001", "must be a maximum of 10 million"),
    ("page", "9223372036854775807", "must be a maximum of 10 million"),
    ("page_size", "abc", "must be an integer value"),
    ("page_size", "2.0", "must be an integer value"),
    ("page_size", "0", "must be greater than zero"),
    ("page_size", "-5", "must be greater than zero"),
    ("page_size", "101", "must be a maximum of 100"),
    ("page_size", "100000", "must be a maximum of 100"),
])
def test_page_params_validation(api, param, value, message):
    invalid(api, f"{param}={value}", {param: message})
    invalid(api, f"{param}={value}&sort=id&title={token()}", {param: message})


def test_several_invalid_params_reported_together(api):
    invalid(api, "page=0&page_size=101&sort=name&year=abc",
            {"page": "must be greater than zero",
             "page_size": "must be a maximum of 100",
             "sort": "invalid sort value", "year": YEAR_MSG})
    invalid(api, "page=x&page_size=y",
            {"page": "must be an integer value",
             "page_size": "must be an integer value"})
    invalid(api, "page=10000001&page_size=0&title=%00&genres=%FF",
            {"page": "must be a maximum of 10 million",
             "page_size": "must be greater than zero",
             "title": TEXT_MSG, "genres": TEXT_MSG})


def test_page_bounds_accepted(api, make_movie):
    tok = token()
    movie = make_movie(title=f"{tok} bounds")
    assert listing(api, f"title={tok}&page_size=100&sort=id") == {
        "movies": [movie], "metadata": meta(1, 100, 1, 1)}
    assert listing(api, f"title={tok}&page_size=1&sort=id") == {
        "movies": [movie], "metadata": meta(1, 1, 1, 1)}
    assert listing(api, f"title={tok}&page=10000000&page_size=100&sort=id") \
        == {"movies": [], "metadata": meta(10000000, 100, 1, 1)}
    assert listing(api, f"title={tok}&page=%2B1&sort=id")["movies"] == [movie]


# ---- pagination metadata ----------------------------------------------------

@pytest.fixture
def seven(make_movie):
    tok = token()
    return tok, [make_movie(title=f"{tok} p{i}") for i in range(7)]


@pytest.mark.parametrize("page,slice_", [(1, slice(0, 3)), (2, slice(3, 6)),
                                         (3, slice(6, 7))])
def test_pages_first_middle_last(api, seven, page, slice_):
    tok, movies = seven
    body = listing(api, f"title={tok}&sort=id&page_size=3&page={page}")
    assert body == {"movies": movies[slice_], "metadata": meta(page, 3, 3, 7)}


@pytest.mark.parametrize("page", [4, 5, 100, 10000000])
def test_past_the_last_page_keeps_real_metadata(api, seven, page):
    """§12 #2: movies [] with the real metadata."""
    tok, _ = seven
    body = listing(api, f"title={tok}&sort=id&page_size=3&page={page}")
    assert body == {"movies": [], "metadata": meta(page, 3, 3, 7)}


@pytest.mark.parametrize("page_size,last", [(1, 7), (2, 4), (6, 2), (7, 1),
                                            (8, 1), (100, 1)])
def test_last_page_arithmetic(api, seven, page_size, last):
    tok, movies = seven
    body = listing(api, f"title={tok}&sort=id&page_size={page_size}"
                        f"&page={last}")
    start = (last - 1) * page_size
    assert body == {"movies": movies[start:start + page_size],
                    "metadata": meta(last, page_size, last, 7)}


def test_descending_pages(api, seven):
    tok, movies = seven
    want = [m["id"] for m in reversed(movies)]
    got = []
    for page in (1, 2, 3):
        got += ids(listing(api, f"title={tok}&sort=-id&page_size=3"
                                f"&page={page}"))
    assert got == want


def test_deleted_and_updated_movies_are_reflected(api, seven):
    tok, movies = seven
    api.delete(f"/v1/movies/{movies[0]['id']}")
    api.patch(f"/v1/movies/{movies[1]['id']}", json={"title": "renamed"})
    r = api.patch(f"/v1/movies/{movies[2]['id']}", json={"year": 1999})
    updated = r.json()["movie"]
    body = listing(api, f"title={tok}&sort=id&page_size=3")
    assert body == {"movies": [updated] + movies[3:5],
                    "metadata": meta(1, 3, 2, 5)}


# ---- query text that cannot reach PostgreSQL --------------------------------

@pytest.mark.parametrize("param", ["title", "genres"])
@pytest.mark.parametrize("value", ["%00", "%FF", "a%00b", "abc%C3", "%C0%AF",
                                   "%ED%A0%80", "ok,%FF", "%F4%90%80%80"])
def test_query_text_invalid_utf8_or_nul(api, param, value):
    invalid(api, f"{param}={value}", {param: TEXT_MSG})
    invalid(api, f"{param}={value}&sort=id", {param: TEXT_MSG})


def test_query_text_both_invalid(api):
    invalid(api, "title=%FF&genres=%00",
            {"title": TEXT_MSG, "genres": TEXT_MSG})


def test_query_text_valid_utf8_is_fine(api, make_movie):
    tok = token()
    movie = make_movie(title=f"{tok} caf\u00e9", genres=[f"{tok}-\u00e9t\u00e9"])
    assert listing(api, f"genres={tok}-%C3%A9t%C3%A9&sort=id")["movies"] == [
        movie]
    assert listing(api, f"title={tok}+%E6%B0%B4&sort=id") == EMPTY


def test_server_healthy_after_bad_queries(api):
    for q in ("title=%00", "genres=%FF", "page=x", "year=abc", "sort=%00"):
        api.get("/v1/movies?" + q)
    r = api.get("/v1/healthcheck")
    assert r.status_code == 200
