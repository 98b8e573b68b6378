"""The connection pool against a real PostgreSQL: dead connections are
replaced without restarting the API, and the 3-second statement timeout turns
into the generic 500 while the connection goes back to the pool healthy.

Each test runs its own server instance (spawn_server) with a small pool, so
killing its connections or holding its locks cannot disturb other tests.
"""

import os
import subprocess
import threading
import time

GENERIC_500 = {"error": "the server encountered a problem and could not "
                        "process your request"}


def _own_dsn(name):
    """The app DSN with an application_name of this test's own, so that
    killing its sessions leaves every other server instance alone."""
    dsn = os.environ["REDLIGHT_DB_DSN"]
    return dsn + ("&" if "?" in dsn else "?") + "application_name=" + name


def wait_for_lock(admin_db):
    """Until the locker psql holds its lock on movies (a fixed sleep is not
    enough on a loaded machine); at most 10 s."""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        held = admin_db(
            "SELECT count(*) FROM pg_locks WHERE relation = 'movies'::regclass"
            " AND mode = 'AccessExclusiveLock' AND granted")
        if held != "0":
            return
        time.sleep(0.05)
    raise AssertionError("the locker never took its lock")


def hold_movies_lock(admin_db, seconds):
    """A psql holding ACCESS EXCLUSIVE on movies for `seconds` (wait() it);
    returns once the lock is held."""
    locker = subprocess.Popen(
        ["psql", admin_db.dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         "BEGIN; LOCK TABLE movies IN ACCESS EXCLUSIVE MODE; "
         f"SELECT pg_sleep({seconds}); COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_lock(admin_db)
    except AssertionError:
        locker.kill()
        locker.wait()
        raise
    return locker


def test_dead_connections_are_replaced(spawn_server, make_movie, admin_db):
    srv = spawn_server("-db-max-open-conns", "4", "-db-max-idle-conns", "4",
                       "-db-dsn", _own_dsn("redlight-pooltest"))
    movie = make_movie()
    for _ in range(4):
        assert srv.get(f"/v1/movies/{movie['id']}").status_code == 200
    # What a PostgreSQL restart does to every session of the API.
    killed = admin_db(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = 'redlight-pooltest'")
    assert int(killed) >= 1
    # Reads go on at once: a dead idle connection is noticed and replaced.
    for _ in range(8):
        r = srv.get(f"/v1/movies/{movie['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["movie"]["id"] == movie["id"]
    # And so do writes.
    r = srv.patch(f"/v1/movies/{movie['id']}", json={"title": "After"})
    assert r.status_code == 200, r.text
    assert r.json()["movie"]["version"] == 2


def test_statement_timeout_is_a_500_and_the_pool_recovers(
        spawn_server, make_movie, admin_db):
    srv = spawn_server("-db-max-open-conns", "2", "-db-max-idle-conns", "2")
    movie = make_movie()
    assert srv.get(f"/v1/movies/{movie['id']}").status_code == 200
    # Hold a lock that the movie query must wait for, longer than 3 s.
    locker = hold_movies_lock(admin_db, 4.5)
    try:
        t0 = time.monotonic()
        r = srv.get(f"/v1/movies/{movie['id']}")
        elapsed = time.monotonic() - t0
        assert r.status_code == 500
        assert r.json() == GENERIC_500
        assert 2.5 < elapsed < 4.5, elapsed
    finally:
        locker.wait(timeout=15)
    # The same (small) pool serves again, at once and correctly.
    for _ in range(4):
        r = srv.get(f"/v1/movies/{movie['id']}")
        assert r.status_code == 200, r.text


def test_healthcheck_answers_while_the_database_is_stuck(
        spawn_server, make_movie, admin_db):
    """Requests waiting on a saturated database must not stall the server:
    once the pool has no idle connection, database requests are handed to
    worker threads and the I/O threads keep answering the healthcheck."""
    srv = spawn_server("-db-max-open-conns", "1", "-db-max-idle-conns", "1",
                       "-http-threads", "2")
    movie = make_movie()
    locker = hold_movies_lock(admin_db, 2.5)
    results = {}
    try:
        slow = [threading.Thread(target=lambda i=i: results.setdefault(
            i, srv.get(f"/v1/movies/{movie['id']}"))) for i in range(4)]
        for t in slow:
            t.start()
            time.sleep(0.1)
        for _ in range(5):
            t0 = time.monotonic()
            # An anonymous probe, as a load balancer sends it: a request
            # with a token needs the database to authenticate.
            r = srv.anonymous().get("/v1/healthcheck")
            assert r.status_code == 200
            assert time.monotonic() - t0 < 1.0
        for t in slow:
            t.join(timeout=10)
    finally:
        locker.wait(timeout=15)
    assert sorted(r.status_code for r in results.values()) == [200] * 4


def test_parallel_workers_reach_the_session(spawn_server, admin_db):
    """-db-parallel-workers N is set on the pool's direct sessions with
    statement_timeout (the first connection sets both once it knows it is
    direct: its last statement says so); -1 leaves PostgreSQL's setting."""
    for value, want in (("3", "'max_parallel_workers_per_gather', '3'"),
                        ("-1", None)):
        name = f"redlight-parallel{value}"
        srv = spawn_server("-db-parallel-workers", value,
                           "-db-dsn", _own_dsn(name))
        # spawn_server waited for an anonymous healthcheck (no query): the
        # pool's one connection has run nothing since its set-up.
        assert srv.proc.poll() is None
        query = admin_db("SELECT query FROM pg_stat_activity "
                         f"WHERE application_name = '{name}'")
        assert "statement_timeout" in query, query
        if want is None:
            assert "max_parallel_workers_per_gather" not in query, query
        else:
            assert want in query, query
