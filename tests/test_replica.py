"""A read replica (-db-replica-dsn): a real streaming replica of the test
cluster (tests/tools/pgreplica.sh: pg_basebackup -R, on another port, in the
test's temp dir).

- lists read the replica while it is caught up: with its replay paused a
  new movie is missing from the instance's lists (they come from the
  replica) until the lag passes -db-replica-max-lag, and then the lists come
  from the primary; replay resumed, the replica is used again;
- a movie created on the primary shows up in lists within the bound;
- replica stopped -> lists are still answered, from the primary; started
  again -> used again;
- /debug/vars and /metrics show the state.
"""

import os
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import Psql, free_port, movie_body, unique

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "tests", "tools", "pgreplica.sh")


def with_port(dsn, port):
    u = urlsplit(dsn)
    netloc = u.netloc.rsplit(":", 1)[0] + f":{port}"
    return urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))


@pytest.fixture(scope="module")
def replica():
    """(app DSN, superuser Psql, stop(), start()) of a streaming replica."""
    pgdata = os.environ.get("REDLIGHT_TEST_PGDATA")
    if not pgdata:
        pytest.skip("REDLIGHT_TEST_PGDATA is not set (run through make test)")
    primary_port = urlsplit(os.environ["REDLIGHT_DB_DSN"]).port
    workdir = os.path.join(os.environ["REDLIGHT_TEST_TMP"], unique("replica"))
    port = free_port()

    def start():
        out = subprocess.run(
            [SCRIPT, "start", pgdata, str(primary_port), workdir, str(port)],
            capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stderr

    def stop():
        out = subprocess.run([SCRIPT, "stop", workdir], capture_output=True,
                             text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr

    start()
    try:
        yield (with_port(os.environ["REDLIGHT_DB_DSN"], port),
               Psql(with_port(os.environ["REDLIGHT_TEST_ADMIN_DSN"], port)),
               stop, start)
    finally:
        stop()


def state(inst):
    r = inst.anonymous().get("/debug/vars")
    assert r.status_code == 200, r.text
    return r.json()["replica"]


def wait_state(inst, usable, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = state(inst)
        if st["usable"] == usable:
            return st
        time.sleep(0.05)
    raise AssertionError(f"replica usable != {usable}: {state(inst)}")


def titles(inst, title):
    r = inst.get("/v1/movies", params={"title": title})
    assert r.status_code == 200, r.text
    return [m["title"] for m in r.json()["movies"]]


def test_lists_read_the_replica_until_it_lags(spawn_server, api, replica):
    dsn, admin, _, _ = replica
    srv = spawn_server("-db-replica-dsn", dsn, "-db-replica-max-lag", "4s")
    wait_state(srv, True)
    admin("SELECT pg_wal_replay_pause()")
    try:
        title = unique("Paused")
        t0 = time.monotonic()
        r = api.post("/v1/movies", json=movie_body(title=title))
        assert r.status_code == 201, r.text
        # Read from the replica, which has not replayed the insert (checked
        # well within the 4 s bound, so the replica is still in use).
        missing = titles(srv, title)
        assert time.monotonic() - t0 < 3.0, "too slow to tell"
        assert missing == []
        # Past the bound the replica is skipped: the primary answers.
        st = wait_state(srv, False, timeout=10)
        assert "lag" in st["reason"], st
        assert titles(srv, title) == [title]
        # Every other route reads the primary all along.
        movie_id = r.json()["movie"]["id"]
        assert srv.get(f"/v1/movies/{movie_id}").status_code == 200
    finally:
        admin("SELECT pg_wal_replay_resume()")
    wait_state(srv, True)
    assert titles(srv, title) == [title]
    metrics = srv.anonymous().get("/metrics").text
    assert "redlight_db_replica_usable 1" in metrics
    assert state(srv)["changes"] >= 3  # on, off, on


def test_a_new_movie_shows_up_within_the_bound(spawn_server, api, replica):
    dsn = replica[0]
    srv = spawn_server("-db-replica-dsn", dsn)  # -db-replica-max-lag 2s
    wait_state(srv, True)
    title = unique("Fresh")
    t0 = time.monotonic()
    assert api.post("/v1/movies", json=movie_body(title=title)).status_code \
        == 201
    while titles(srv, title) != [title]:
        assert time.monotonic() - t0 < 2.0 + 1.0, "not seen within the bound"
        time.sleep(0.05)


def test_a_stopped_replica_is_skipped_and_used_again(spawn_server, api,
                                                     replica):
    dsn, _, stop, start = replica
    srv = spawn_server("-db-replica-dsn", dsn)
    wait_state(srv, True)
    assert state(srv)["lag_ms"] >= 0
    title = unique("Down")
    assert api.post("/v1/movies", json=movie_body(title=title)).status_code \
        == 201
    stop()
    try:
        # Answered at once (a read that fails on the replica is retried on
        # the primary), and the checker skips it.
        assert titles(srv, title) == [title]
        st = wait_state(srv, False)
        assert st["lag_ms"] == -1
        for _ in range(3):
            assert titles(srv, title) == [title]
    finally:
        start()
    wait_state(srv, True, timeout=30)
    assert titles(srv, title) == [title]
