"""GET /v1/movies cursors (CONTRACT §13.2 "Cursors"): metadata.next_cursor
and ?cursor=, keyset pagination for every sort.

Every test seeds its own movies, tagged with a fresh genre or title word,
and filters on it, so other data in the database never matters. Walking a
list by cursor must give exactly the rows and metadata that page numbers
give; while rows are inserted it must still give every original row once,
in order, and never a row twice. A cursor is tamper-proof and bound to its
query (filters, sort, page_size): anything else is 422
{"cursor": "invalid cursor"}."""

import random
import uuid
from urllib.parse import quote

import pytest

SORTS = ["id", "title", "year", "runtime", "-id", "-title", "-year",
         "-runtime"]
INVALID = {"error": {"cursor": "invalid cursor"}}


def token():
    return "zc" + uuid.uuid4().hex[:12]


def listing(api, query):
    r = api.get("/v1/movies?" + query)
    assert r.status_code == 200, f"{query}: {r.status_code} {r.text!r}"
    body = r.json()
    assert set(body) == {"movies", "metadata"}
    return body


def invalid_cursor(api, query):
    r = api.get("/v1/movies?" + query)
    assert r.status_code == 422, f"{query}: {r.status_code} {r.text!r}"
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    assert r.json() == INVALID, query


def ids(body):
    return [m["id"] for m in body["movies"]]


def seed(make_movie, tok, n=23):
    """n movies tagged with genre tok and title word tok, with ties in
    every sort column (repeated titles, years and runtimes)."""
    rng = random.Random(tok)
    words = ["alpha", "beta", "gamma", "delta"]
    out = []
    for _ in range(n):
        out.append(make_movie(
            title=f"{tok} {rng.choice(words)}",
            year=rng.choice([1950, 1977, 1977, 2001, 2020]),
            runtime=f"{rng.choice([90, 95, 95, 120])} mins",
            genres=[tok, "drama"]))
    return out


def by_pages(api, query, page_size):
    """Every page by number: [(ids, metadata without next_cursor), ...]."""
    pages = []
    page = 1
    while True:
        body = listing(api, f"{query}&page_size={page_size}&page={page}")
        if not body["movies"]:
            return pages
        meta = dict(body["metadata"])
        meta.pop("next_cursor", None)
        pages.append((ids(body), meta))
        page += 1


def by_cursor(api, query, page_size, between=None):
    """Every page by cursor from the first: [(ids, metadata without
    next_cursor), ...]; between(pages so far) runs after each page."""
    pages = []
    body = listing(api, f"{query}&page_size={page_size}")
    while True:
        meta = dict(body["metadata"])
        cursor = meta.pop("next_cursor", None)
        pages.append((ids(body), meta))
        if between is not None:
            between(pages)
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor
        body = listing(api, f"{query}&page_size={page_size}&cursor={cursor}")


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("filt", ["genres", "title"])
def test_cursor_walk_equals_page_numbers(api, make_movie, sort, filt):
    """Both query shapes (an indexed filter, and a full-text one) and every
    sort: the same pages, the same metadata, no duplicates, no gaps, and
    next_cursor on every page but the last."""
    tok = token()
    made = seed(make_movie, tok)
    query = f"{filt}={tok}&sort={sort}"
    numbered = by_pages(api, query, 4)
    walked = by_cursor(api, query, 4)
    assert walked == numbered
    seen = [i for page, _ in walked for i in page]
    assert sorted(seen) == sorted(m["id"] for m in made)
    assert len(walked) == 6 and walked[-1][1]["current_page"] == 6
    last = listing(api, f"{query}&page_size=4&page=6")
    assert "next_cursor" not in last["metadata"]
    assert "next_cursor" in listing(api, f"{query}&page_size=4&page=5")[
        "metadata"]


def test_cursor_from_a_numbered_page_continues_it(api, make_movie):
    tok = token()
    seed(make_movie, tok, n=12)
    query = f"genres={tok}&sort=-year&page_size=3"
    page2 = listing(api, query + "&page=2")
    page3 = listing(api, query + "&page=3")
    nxt = listing(api, query + "&cursor=" + page2["metadata"]["next_cursor"])
    assert nxt == page3


def test_page_is_ignored_with_a_cursor_and_empty_cursor_is_none(api,
                                                                  make_movie):
    tok = token()
    seed(make_movie, tok, n=6)
    query = f"genres={tok}&sort=title&page_size=2"
    first = listing(api, query)
    assert listing(api, query + "&cursor=") == first
    cursor = first["metadata"]["next_cursor"]
    second = listing(api, query + "&cursor=" + cursor)
    assert second["metadata"]["current_page"] == 2
    for page in ("5", "abc", "0", "-1"):
        assert listing(api, f"{query}&page={page}&cursor={cursor}") == second


@pytest.mark.parametrize("sort", SORTS)
def test_cursor_walk_while_rows_are_inserted(api, make_movie, sort):
    """Keyset pagination: rows inserted during the walk never make an
    original row appear twice or go missing (page numbers would shift)."""
    tok = token()
    made = seed(make_movie, tok, n=15)
    query = f"genres={tok}&sort={sort}"
    before = [i for page, _ in by_pages(api, query, 4) for i in page]
    rng = random.Random(tok + "x")
    added = []

    def insert(_pages):
        for _ in range(2):
            added.append(make_movie(
                title=f"{tok} {rng.choice(['aaa', 'mmm', 'zzz'])}",
                year=rng.choice([1950, 1977, 2020]),
                runtime=f"{rng.choice([90, 95, 120])} mins",
                genres=[tok])["id"])

    walked = [i for page, _ in by_cursor(api, query, 4, insert) for i in page]
    assert len(walked) == len(set(walked)), "a row came twice"
    originals = [i for i in walked if i not in set(added)]
    assert originals == before == [i for i in before
                                   if i in {m["id"] for m in made}]
    assert set(walked) - set(before) <= set(added)


def test_tampered_cursor_is_refused(api, make_movie):
    tok = token()
    seed(make_movie, tok, n=5)
    query = f"genres={tok}&sort=year&page_size=2"
    cursor = listing(api, query)["metadata"]["next_cursor"]
    assert listing(api, query + "&cursor=" + cursor)["movies"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for pos in range(len(cursor)):
        c = cursor[pos]
        other = alphabet[(alphabet.index(c) + 1) % len(alphabet)]
        invalid_cursor(api, query + "&cursor=" + cursor[:pos] + other
                       + cursor[pos + 1:])
    for bad in (cursor[:-1], cursor + "A", cursor[1:], "x", "!!!!",
                quote(cursor + "\0"), "%00", "%FF%FE", "A" * 20000,
                cursor + "=", quote(" " + cursor)):
        invalid_cursor(api, query + "&cursor=" + bad)


def test_foreign_cursor_is_refused(api, make_movie):
    """A cursor answers only the query that made it."""
    tok, tok2 = token(), token()
    seed(make_movie, tok, n=5)
    seed(make_movie, tok2, n=5)
    base = f"genres={tok}&sort=year&page_size=2"
    cursor = listing(api, base)["metadata"]["next_cursor"]
    for query in (f"genres={tok2}&sort=year&page_size=2",
                  f"genres={tok},drama&sort=year&page_size=2",
                  f"genres={tok}&sort=-year&page_size=2",
                  f"genres={tok}&sort=runtime&page_size=2",
                  f"genres={tok}&sort=year&page_size=3",
                  f"genres={tok}&sort=year",
                  f"genres={tok}&sort=year&page_size=2&year=1950-2020",
                  f"genres={tok}&sort=year&page_size=2&title={tok}",
                  f"genres={tok}&sort=year&page_size=2&q={tok}",
                  f"sort=year&page_size=2"):
        invalid_cursor(api, query + "&cursor=" + cursor)
    # The same query, the parameters in another order: accepted.
    assert listing(api, f"page_size=2&sort=year&cursor={cursor}&genres={tok}")


def test_cursor_errors_join_the_other_validation_errors(api):
    r = api.get("/v1/movies?page_size=0&cursor=abc")
    assert r.status_code == 422
    assert r.json() == {"error": {"page_size": "must be greater than zero"}}
    r = api.get("/v1/movies?q=x&title=y&cursor=abc")
    assert r.json() == {"error": {"q": "cannot be combined with title"}}


def test_cursor_of_another_key_is_refused_and_a_shared_key_works(
        api, make_movie, spawn_server):
    """Cursors open on every node that shares the key (-cursor-secret, or
    one derived from a shared -jwt-secret), and nowhere else."""
    tok = token()
    seed(make_movie, tok, n=5)
    query = f"genres={tok}&sort=id&page_size=2"
    secret = "c" * 40
    a = spawn_server("-cursor-secret", secret)
    b = spawn_server("-cursor-secret", secret)
    c = spawn_server("-cursor-secret", "d" * 40)
    cursor = listing(a, query)["metadata"]["next_cursor"]
    assert listing(b, query + "&cursor=" + cursor) == \
        listing(a, query + "&cursor=" + cursor)
    invalid_cursor(c, query + "&cursor=" + cursor)
    invalid_cursor(api, query + "&cursor=" + cursor)

    jwt = "j" * 40
    d = spawn_server("-jwt-secret", jwt)
    e = spawn_server("-jwt-secret", jwt)
    cursor = listing(d, query)["metadata"]["next_cursor"]
    assert listing(e, query + "&cursor=" + cursor)["movies"]
    invalid_cursor(a, query + "&cursor=" + cursor)


def test_cursor_of_a_query_as_long_as_allowed(api, make_movie):
    """30,000 one-letter genres (a query string near the 64 KiB limit):
    the cursor still binds them all."""
    tok = token()
    for _ in range(3):
        make_movie(title=f"{tok} long", genres=["a"])
    query = f"title={tok}&page_size=2&genres=" + ",".join(["a"] * 30000)
    first = listing(api, query)
    assert first["metadata"]["total_records"] == 3
    second = listing(api, query + "&cursor=" + first["metadata"]["next_cursor"])
    assert len(second["movies"]) == 1 and "next_cursor" not in second["metadata"]
    invalid_cursor(api, query + ",a&cursor=" + first["metadata"]["next_cursor"])


def test_past_the_end_by_cursor_keeps_the_metadata(api, make_movie):
    """Rows deleted after a cursor was made: the next page is empty, with
    the real metadata (§12 #2), and no next_cursor."""
    tok = token()
    made = seed(make_movie, tok, n=4)
    query = f"genres={tok}&sort=id&page_size=2"
    cursor = listing(api, query)["metadata"]["next_cursor"]
    for m in made[2:]:
        assert api.delete(f"/v1/movies/{m['id']}").status_code == 200
    assert listing(api, query + "&cursor=" + cursor) == {
        "movies": [], "metadata": {
            "current_page": 2, "page_size": 2, "first_page": 1,
            "last_page": 1, "total_records": 2}}
    for m in made[:2]:
        assert api.delete(f"/v1/movies/{m['id']}").status_code == 200
    assert listing(api, query + "&cursor=" + cursor) == {
        "movies": [], "metadata": {}}
