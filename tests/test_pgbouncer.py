"""The server behind a real PgBouncer in transaction mode
(tests/tools/pgbouncer.sh: round-robin server connections, so a session SET
made on one of them is soon missed on another).

- statement_timeout holds for every statement and every transaction: a GET
  and a PATCH that wait on a lock are cut by the server's own 3 s timeout
  (57014 -> the generic 500), not by the client-side deadline that drops the
  connection;
- LISTEN: without -db-listen-dsn the auth cache stays off and the mail
  worker polls; -db-listen-dsn with a direct DSN turns LISTEN back on; a
  -db-listen-dsn that goes through the pooler is refused by the listener;
  -db-listen-dsn=none turns LISTEN off on a direct DSN.

tests/tools/run-tests.sh also runs test_movies.py, test_auth.py and
test_users.py a second time against an instance behind PgBouncer
(REDLIGHT_PGBOUNCER_DSN is then set, and reused here).
"""

import os
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest

from conftest import unique
from test_pool import GENERIC_500, hold_movies_lock

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "tests", "tools", "pgbouncer.sh")
DEADLINE_LOG = "did not answer before the deadline"


def pgbouncer_dsn(port):
    return (f"postgres://redlight:redlight@127.0.0.1:{port}/redlight"
            "?sslmode=disable")


@pytest.fixture(scope="module")
def pgbouncer():
    """The DSN of a PgBouncer in front of the test cluster: the one
    run-tests.sh started, or one of this module's own."""
    given = os.environ.get("REDLIGHT_PGBOUNCER_DSN")
    if given:
        yield given
        return
    from conftest import free_port
    pg_port = urlsplit(os.environ["REDLIGHT_DB_DSN"]).port
    tmp = os.environ.get("REDLIGHT_TEST_TMP") or "/tmp"
    workdir = os.path.join(tmp, unique("pgbouncer"))
    port = free_port()
    out = subprocess.run([SCRIPT, "start", workdir, str(port), str(pg_port)],
                         capture_output=True, text=True, timeout=30,
                         check=False)
    assert out.returncode == 0, out.stderr
    try:
        yield pgbouncer_dsn(port)
    finally:
        subprocess.run([SCRIPT, "stop", workdir], timeout=30, check=False)


def debug_vars(inst):
    r = inst.anonymous().get("/debug/vars")
    assert r.status_code == 200, r.text
    return r.json()


def log_text(inst):
    with open(inst.log, encoding="utf-8", errors="replace") as f:
        return f.read()


def test_statement_timeout_holds_for_every_statement(
        spawn_server, pgbouncer, make_movie, admin_db):
    srv = spawn_server("-db-dsn", pgbouncer, "-db-prepared=false",
                       "-db-max-open-conns", "4", "-db-max-idle-conns", "4")
    assert "connected through a pooler" in log_text(srv)
    movie = make_movie()
    # Several server connections behind PgBouncer, used round robin.
    for _ in range(8):
        assert srv.get(f"/v1/movies/{movie['id']}").status_code == 200
    locker = hold_movies_lock(admin_db, 5)
    results = {}

    def call(i):
        t0 = time.monotonic()
        if i == 0:  # a write: BEGIN; SET LOCAL ...; the UPDATE waits
            r = srv.patch(f"/v1/movies/{movie['id']}", json={"runtime": "99 mins"})
        else:
            r = srv.get(f"/v1/movies/{movie['id']}")
        results[i] = (r, time.monotonic() - t0)

    try:
        threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=15)
    finally:
        locker.wait(timeout=15)
    assert len(results) == 3
    for r, elapsed in results.values():
        assert r.status_code == 500, r.text
        assert r.json() == GENERIC_500
        # Cut within the bound: statement_timeout (3 s), well before the
        # lock would have been released.
        assert elapsed < 4.8, elapsed
    # The server's own timeout ended them: no connection was dropped by the
    # client-side deadline (which is what a lost session SET leads to).
    assert DEADLINE_LOG not in log_text(srv)
    for _ in range(4):
        r = srv.get(f"/v1/movies/{movie['id']}")
        assert r.status_code == 200, r.text
    assert srv.get(f"/v1/movies/{movie['id']}").json()["movie"]["version"] == 1


def test_without_a_listen_dsn_auth_cache_is_off_and_mail_polls(
        spawn_server, pgbouncer, api, unique, mailbox):
    srv = spawn_server("-db-dsn", pgbouncer, "-db-prepared=false")
    assert "no LISTEN connection" in log_text(srv)
    assert debug_vars(srv)["auth_cache"]["enabled"] is False
    # Writes that enqueue a mail work through the pooler; the mail goes out
    # (the worker of some instance polls or hears it).
    email = unique("pgb") + "@example.com"
    r = srv.post("/v1/users", json={"name": "Pat", "email": email,
                                    "password": "pa55word1234"})
    assert r.status_code == 202, r.text
    assert mailbox.wait(email, timeout=10)
    # This instance's own mail worker runs its statements through the
    # pooler without an error.
    time.sleep(1.5)
    assert "mailer: query failed" not in log_text(srv)
    assert "mailer: database connection failed" not in log_text(srv)


def wait_listening(inst, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if debug_vars(inst)["auth_cache"]["listening"] == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"listening != {want}: {debug_vars(inst)}")


def test_a_direct_listen_dsn_turns_listen_on(spawn_server, pgbouncer):
    srv = spawn_server("-db-dsn", pgbouncer, "-db-prepared=false",
                       "-db-listen-dsn", os.environ["REDLIGHT_DB_DSN"])
    assert debug_vars(srv)["auth_cache"]["enabled"] is True
    wait_listening(srv, True)


def test_a_listen_dsn_through_the_pooler_is_refused(spawn_server, pgbouncer):
    srv = spawn_server("-db-dsn", pgbouncer, "-db-prepared=false",
                       "-db-listen-dsn", pgbouncer)
    deadline = time.monotonic() + 10
    while "goes through a pooler, where LISTEN" not in log_text(srv):
        assert time.monotonic() < deadline, log_text(srv)
        time.sleep(0.05)
    assert debug_vars(srv)["auth_cache"]["listening"] is False


def test_listen_none_turns_listen_off_on_a_direct_dsn(spawn_server):
    srv = spawn_server("-db-listen-dsn=none")
    assert "no LISTEN connection" in log_text(srv)
    assert debug_vars(srv)["auth_cache"]["enabled"] is False
