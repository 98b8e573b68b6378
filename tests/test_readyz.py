"""GET /readyz and -drain-delay (CONTRACT §13.2 Readiness, README Shutdown).

Readiness is for load balancers: no authentication, not rate-limited, 200
{"status": "ready"} while the node can serve, 503 {"status": "not ready",
"reason": ...} when its database is unreachable (internal/data/probe.h: a
background probe, so the route itself never waits on the database) or from
the moment SIGTERM arrives. With -drain-delay the node keeps serving for
that long after the signal, readiness saying 503, then shuts down as before.

The outage is a real one: this run's PostgreSQL frozen with SIGSTOP
(conftest.frozen_cluster, SIGCONT always), the case where TCP stays up and
nothing answers, which only a deadline can detect.
"""

import os
import signal
import time

import pytest
import requests

from conftest import frozen_cluster, make_user, movie_body, Psql, unique

READY = b'{\n    "status": "ready"\n}\n'
NOT_READY = ('{{\n    "status": "not ready",\n    "reason": "{}"\n}}\n'
             .format)
# RL_DB_PROBE_INTERVAL_MS + RL_DB_PROBE_TIMEOUT_MS is the documented bound
# for a frozen database (3 s); polled generously.
PROBE_BOUND = 3.0
SLACK = 7.0


def wait_for(fn, seconds):
    """Calls fn every 50 ms until it returns True, for up to `seconds`;
    returns whether it did."""
    deadline = time.monotonic() + seconds
    while not fn():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def wait_status(client, path, status, seconds):
    """GET path until it answers `status` (up to `seconds`): that response,
    or None. (A 503 requests.Response is falsy: hence not wait_for.)"""
    got = []
    wait_for(lambda: got.append(client.get(path)) or
             got[-1].status_code == status, seconds)
    return got[-1] if got[-1].status_code == status else None


def assert_logged(inst, *messages):
    """Each of messages is in the log of spawned instance inst."""
    with open(inst.log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    for message in messages:
        assert message in log, message


def test_ready_head_and_no_authentication(anon_api):
    r = anon_api.get("/readyz")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.content == READY
    assert "RateLimit-Limit" not in r.headers
    # Not authenticated: a bad or unknown token changes nothing.
    for auth in ("Bearer " + "A" * 26, "Bearer x", "Basic Zm9vOmJhcg=="):
        r = anon_api.get("/readyz", headers={"Authorization": auth})
        assert r.status_code == 200, (auth, r.text)
        assert r.content == READY
        assert "WWW-Authenticate" not in r.headers
    r = anon_api.head("/readyz")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Content-Length"] == str(len(READY))


def test_wrong_method_is_the_usual_405(anon_api):
    for method in ("POST", "PUT", "DELETE"):
        r = anon_api.request(method, "/readyz")
        assert r.status_code == 405, method
        assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
        assert r.json() == {"error": f"the {method} method is not supported "
                                     "for this resource"}
    r = anon_api.options("/readyz")
    assert r.status_code == 200
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    # The edge's checks come first, as on every path (the 431 openapi.json
    # declares).
    r = anon_api.get("/readyz", headers={"X-Big": "a" * 70000})
    assert r.status_code == 431
    assert r.json() == {"error": "the request header fields are too large"}


def test_not_rate_limited(spawn_server):
    """One address, a limiter of one request and then one per 1000 s: the
    healthcheck is refused at once, readiness never."""
    inst = spawn_server("-limiter-enabled=true", "-limiter-rps", "0.001",
                        "-limiter-burst", "1").anonymous()
    statuses = [inst.get("/readyz").status_code for _ in range(50)]
    assert statuses == [200] * 50
    health = [inst.get("/v1/healthcheck").status_code for _ in range(3)]
    assert 429 in health, health
    assert inst.head("/readyz").status_code == 200
    assert inst.post("/readyz").status_code == 405


def test_database_unreachable_then_back(spawn_server):
    # An application_name of its own tells this instance's sessions apart.
    app_name = unique("readyz").replace("-", "_")
    dsn = os.environ["REDLIGHT_DB_DSN"]
    dsn += ("&" if "?" in dsn else "?") + "application_name=" + app_name
    inst = spawn_server("-db-dsn", dsn)
    srv = inst.anonymous()
    assert srv.get("/readyz").content == READY

    # A probe connection ended on its own (every session of this instance
    # terminated) is replaced without calling the database down.
    admin = Psql(os.environ["REDLIGHT_TEST_ADMIN_DSN"])
    killed = admin("SELECT count(pg_terminate_backend(pid)) FROM "
                   f"pg_stat_activity WHERE application_name = '{app_name}'")
    assert int(killed) >= 1
    end = time.monotonic() + 2
    while time.monotonic() < end:
        assert srv.get("/readyz").content == READY
        time.sleep(0.05)

    down = NOT_READY("database unreachable").encode()
    with frozen_cluster():
        frozen_at = time.monotonic()
        r = wait_status(srv, "/readyz", 503, PROBE_BOUND + SLACK)
        assert r is not None, "readiness still 200 with the database frozen"
        noticed = time.monotonic() - frozen_at
        assert r.content == down
        assert r.headers["Content-Type"] == "application/json"
        # Answered at once, from the probe's state; liveness unchanged.
        t0 = time.monotonic()
        assert srv.get("/readyz").content == down
        assert srv.head("/readyz").status_code == 503
        assert srv.get("/v1/healthcheck").status_code == 200
        assert time.monotonic() - t0 < 2.0
    resumed = time.monotonic()
    assert wait_for(lambda: srv.get("/readyz").status_code == 200,
                    PROBE_BOUND + SLACK), "not ready again after SIGCONT"
    back = time.monotonic() - resumed
    print(f"readiness: 503 {noticed:.2f} s after the freeze, "
          f"200 {back:.2f} s after SIGCONT")
    assert_logged(inst, "database probe: unreachable",
                  "database probe: reachable again")


def test_sigterm_drains_for_the_delay_then_exits_0(spawn_server, db,
                                                   make_movie):
    inst = spawn_server("-drain-delay", "2s")
    anon = inst.anonymous()
    movie = make_movie()
    token = make_user(db)[2]
    assert anon.get("/readyz").content == READY
    inst.check_exit = False  # stopped here
    proc = inst.proc
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    r = wait_status(anon, "/readyz", 503, 1.0)
    assert r is not None, "readiness still 200 after SIGTERM"
    assert r.content == NOT_READY("shutting down").encode()
    # Still serving, new connections included: liveness, a database read,
    # a write.
    assert anon.get("/v1/healthcheck").status_code == 200
    assert inst.with_token(token).get(
        f"/v1/movies/{movie['id']}").status_code == 200
    assert inst.post("/v1/movies", json=movie_body()).status_code == 201
    served = time.monotonic() - signalled
    assert proc.poll() is None, "exited during the drain delay"
    assert proc.wait(timeout=2 + 30) == 0
    stopped = time.monotonic() - signalled
    assert stopped >= 2.0, f"exited {stopped:.2f} s after SIGTERM"
    print(f"drain: served for {served:.2f} s, exited {stopped:.2f} s "
          "after SIGTERM")
    assert_logged(inst, "draining: /readyz answers 503, still serving",
                  "stopped server")
    with pytest.raises(requests.ConnectionError):
        anon.get("/v1/healthcheck")


def test_second_signal_cuts_the_drain_delay_short(spawn_server):
    inst = spawn_server("-drain-delay", "60s")
    inst.check_exit = False  # stopped here
    anon = inst.anonymous()
    proc = inst.proc
    proc.send_signal(signal.SIGTERM)
    assert wait_for(lambda: anon.get("/readyz").status_code == 503, 1.0)
    assert anon.get("/v1/healthcheck").status_code == 200
    signalled = time.monotonic()
    proc.send_signal(signal.SIGINT)
    # The usual shutdown follows at once (well within the 60 s delay),
    # and a clean one: status 0.
    assert proc.wait(timeout=20) == 0
    print(f"second signal: exited {time.monotonic() - signalled:.2f} s "
          "after it")
    assert_logged(inst, "second signal: drain delay cut short",
                  "stopped server")
