"""GET /v1/movies?q= (CONTRACT §13.2 "Search"): titles found by word
prefix or by similarity (typos), best match first unless sort is given,
combinable with genres, year, pagination and cursors; q and title together,
q too long or not valid text → 422.

Relevance runs on the demo movies (tests/fixtures/demo_movies.sql, what
`make run` loads) in a database of its own, created the way `make run`
creates one: owned by the application role, which runs the migrations (so
the pg_trgm extension of migration 000011 must be creatable by it), plus a
few more Star Wars films and near misses. The other tests use the shared
database with movies tagged by a fresh word."""

import os
import shlex
import subprocess
import time
import urllib.parse
import uuid
from urllib.parse import quote

import pytest
import requests

from conftest import Api, Psql, free_port, make_user
from test_cursors import listing
from test_movies_list import TEXT_MSG, invalid
from test_readme import demo_database, env_or_skip

STAR_WARS = [
    "Star Wars",  # in the demo movies
    "Star Wars: Episode V - The Empire Strikes Back",
    "Star Wars: The Force Awakens",
    "Rogue One: A Star Wars Story",
]
NEAR_MISSES = ["A Star Is Born", "Stardust", "War Horse", "The Warriors",
               "The Godfather Part II"]


def dsn_with_db(dsn, dbname):
    u = urllib.parse.urlsplit(dsn)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname,
                                    u.query, ""))


@pytest.fixture(scope="module")
def demo():
    """A server on a fresh database holding the demo movies and the extra
    titles above; an Api authenticated as a user with movies:read."""
    binary = env_or_skip("REDLIGHT_BIN")
    app_dsn = env_or_skip("REDLIGHT_DB_DSN")
    admin = Psql(env_or_skip("REDLIGHT_TEST_ADMIN_DSN"))
    cmd = shlex.split(env_or_skip("REDLIGHT_SERVER_CMD"))
    role = urllib.parse.urlsplit(app_dsn).username
    name = "rl_search_" + uuid.uuid4().hex[:12]
    admin(f'CREATE DATABASE "{name}" OWNER "{role}"')
    dsn = dsn_with_db(app_dsn, name)
    proc = None
    try:
        demo_database(binary, dsn)
        db = Psql(dsn)
        for i, title in enumerate(STAR_WARS[1:] + NEAR_MISSES):
            db("INSERT INTO movies (title, year, runtime, genres) VALUES "
               f"('{title}', {1980 + i}, 120, ARRAY['adventure'])")
        token = make_user(db, permissions=("movies:read",))[2]
        port = free_port()
        logdir = os.environ.get("REDLIGHT_TEST_TMP") or "/tmp"
        log_path = os.path.join(logdir, f"server-{port}.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd + ["-port", str(port), "-db-dsn", dsn],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        inst = Api(f"http://127.0.0.1:{port}",
                   {"Authorization": f"Bearer {token}"})
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if inst.get("/v1/healthcheck").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        assert proc.poll() is None, f"server exited {proc.returncode}"
        inst.db = db
        yield inst
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            assert proc.wait(timeout=30) == 0
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def titles(body):
    return [m["title"] for m in body["movies"]]


# ---- relevance on the demo movies -------------------------------------------

def test_typo_finds_the_godfather_first(demo):
    body = listing(demo, "q=godfathr")
    assert titles(body)[0] == "The Godfather"
    assert "The Godfather Part II" in titles(body)
    assert body["metadata"]["total_records"] == len(body["movies"])


def test_word_prefix_finds_the_godfather(demo):
    for q in ("godf", "GODF", "the godf", "godfa"):
        assert titles(listing(demo, "q=" + quote(q)))[0] == "The Godfather", q


def test_star_w_finds_the_star_wars_titles_first(demo):
    body = listing(demo, "q=" + quote("star w"))
    found = titles(body)
    assert set(found[:len(STAR_WARS)]) == set(STAR_WARS), found
    # Near misses match only by similarity, so they rank after every
    # title whose words all start with the ones asked for.
    for miss in ("A Star Is Born", "Stardust"):
        if miss in found:
            assert found.index(miss) >= len(STAR_WARS)
    assert body["metadata"]["total_records"] == len(found)


def test_title_keeps_its_whole_word_meaning(demo):
    # title= is the contract's full-text match: whole words, all of them.
    assert titles(listing(demo, "title=godfathr")) == []
    assert titles(listing(demo, "title=godf")) == []
    assert "The Godfather" in titles(listing(demo, "title=godfather"))


def test_search_combines_with_genres_and_year(demo):
    assert titles(listing(demo, "q=godfathr&genres=crime"))[0] == \
        "The Godfather"
    assert titles(listing(demo, "q=godfathr&genres=crime,drama&year=1972")) \
        == ["The Godfather"]
    assert listing(demo, "q=godfathr&genres=comedy") == {
        "movies": [], "metadata": {}}
    assert listing(demo, "q=godfathr&year=1990-2000") == {
        "movies": [], "metadata": {}}
    sw = titles(listing(demo, "q=" + quote("star w") + "&year=1977"))
    assert sw == ["Star Wars"]


def test_sort_replaces_relevance(demo):
    body = listing(demo, "q=" + quote("star w") + "&sort=-year")
    years = [m["year"] for m in body["movies"]]
    assert years == sorted(years, reverse=True)
    body = listing(demo, "q=" + quote("star w") + "&sort=title")
    assert titles(body) == sorted(titles(body))


def test_relevance_pages_by_number_and_by_cursor_agree(demo):
    """The relevance order is total (score, then id), so numbered pages
    and cursor pages give the same rows, each once."""
    for q in ("the", "star w", "godf", "a"):
        query = "q=" + quote(q) + "&page_size=2"
        numbered = []
        page = 1
        while True:
            body = listing(demo, f"{query}&page={page}")
            if not body["movies"]:
                break
            numbered += [m["id"] for m in body["movies"]]
            page += 1
        walked = []
        body = listing(demo, query)
        total = body["metadata"].get("total_records", 0)
        while True:
            walked += [m["id"] for m in body["movies"]]
            cursor = body["metadata"].get("next_cursor")
            if cursor is None:
                break
            body = listing(demo, f"{query}&cursor={cursor}")
        assert walked == numbered, q
        assert len(set(walked)) == len(walked) == total, q


def test_no_word_in_q_matches_nothing(demo):
    assert listing(demo, "q=" + quote("!!! ---")) == {"movies": [],
                                                        "metadata": {}}


# ---- on the shared database -------------------------------------------------

def test_search_finds_a_new_movie_by_prefix_and_typo(api, make_movie):
    tok = "zs" + uuid.uuid4().hex[:10]
    movie = make_movie(title=f"Qwertyuiop {tok}", year=1999,
                       runtime="99 mins", genres=["drama"])
    for q in (tok, tok[:8], f"qwertyu {tok[:6]}", f"qwertyuop {tok}"):
        body = listing(api, "q=" + quote(q))
        assert body["movies"][0] == movie, q


# ---- validation ---------------------------------------------------------------

def test_q_with_title_is_refused(api):
    invalid(api, "q=godfather&title=godfather",
            {"q": "cannot be combined with title"})
    # Empty values are no filter at all.
    assert listing(api, "q=&title=" + uuid.uuid4().hex) == {
        "movies": [], "metadata": {}}
    listing(api, "q=zzzzzz&title=")


def test_q_length(api):
    listing(api, "q=" + "a" * 500)
    listing(api, "q=" + quote("é" * 250))
    invalid(api, "q=" + "a" * 501,
            {"q": "must not be more than 500 bytes long"})
    invalid(api, "q=" + quote("é" * 251),
            {"q": "must not be more than 500 bytes long"})


@pytest.mark.parametrize("raw", ["%FF", "ab%C3", "%00", "a%00b", "%ED%A0%80"])
def test_q_must_be_text(api, raw):
    invalid(api, "q=" + raw, {"q": TEXT_MSG})


def test_q_errors_join_the_others(api):
    invalid(api, "q=%FF&page=0&sort=bogus", {
        "q": TEXT_MSG, "page": "must be greater than zero",
        "sort": "invalid sort value"})
