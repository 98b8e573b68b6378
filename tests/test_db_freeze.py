"""A frozen PostgreSQL must not hang the API.

SIGSTOP on the postmaster and its children is the nastiest database outage:
TCP stays up, connections are even accepted, but nothing ever answers, so
the server-side statement_timeout never fires. Every database call of the
API has a client-side deadline (internal/data/conn.h): statement_timeout
(3 s) + 0.5 s slack for a round trip, 3 s to connect. So a request that
needs the database gets the generic JSON 500 within that, and after SIGCONT
the pool, which dropped the connections that went quiet, serves again at
once without a restart.

Only this run's cluster is signalled: the postmaster named in
$REDLIGHT_TEST_TMP/pgdata/postmaster.pid and its children, by PID; a
`finally` always sends SIGCONT.
"""

import os
import threading
import time

import requests

from conftest import frozen_cluster

# statement_timeout (cmd/api/main.c) + RL_PG_SLACK_MS; connecting is bounded
# by RL_PG_CONNECT_TIMEOUT_MS (3 s), which is shorter.
DEADLINE = 3.5
# The mail worker's round trips wait up to statement_timeout 10 s + 0.5 s
# (internal/mailer/worker.c), its connects 10 s: the freeze lasts until it
# has given up on one of them, at most this long.
MAX_FREEZE = 20.0
GENERIC_500 = {"error": "the server encountered a problem and could not "
                        "process your request"}


def _mailer_gave_up(log_path, offset):
    """True once the mail worker logged, past byte `offset` of its log, a
    round trip (10.5 s) or a connect (10 s) that passed its deadline."""
    with open(log_path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    return any("mailer:" in line and (
        "no answer within 10500 ms" in line
        or '"error":"timeout: the database did not' in line)
        for line in text.splitlines())


class Prober(threading.Thread):
    """GET /v1/healthcheck (anonymous, no database) every 0.2 s; records
    each latency, or None for a failure."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv.anonymous()
        self.stop = threading.Event()
        self.latencies = []

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                ok = self.srv.get("/v1/healthcheck").status_code == 200
            except requests.RequestException:
                ok = False
            self.latencies.append(time.monotonic() - t0 if ok else None)
            self.stop.wait(0.2)


def test_frozen_database_gives_json_5xx_and_the_pool_recovers(
        spawn_server, make_movie, admin_db, unique):
    # An application_name of its own (the DSN's wins over the default) tells
    # this instance's sessions apart from every other instance's.
    app_name = unique("freeze").replace("-", "_")
    dsn = os.environ["REDLIGHT_DB_DSN"]
    dsn += ("&" if "?" in dsn else "?") + "application_name=" + app_name
    srv = spawn_server("-db-max-open-conns", "4", "-db-max-idle-conns", "4",
                       "-db-dsn", dsn)
    movie = make_movie()
    path = f"/v1/movies/{movie['id']}"
    for _ in range(3):
        assert srv.get(path).status_code == 200

    prober = Prober(srv)
    timings = []
    log_offset = os.path.getsize(srv.log)
    with frozen_cluster() as pids:
        frozen_at = time.monotonic()
        prober.start()
        # The first request finds an idle connection and times out on its
        # query; the pool drops that connection, so the next ones time out
        # connecting (the postmaster accepts TCP but never answers). The
        # freeze lasts until the mail worker has hit a deadline too.
        while (len(timings) < 3
               or not _mailer_gave_up(srv.log, log_offset)) and \
                time.monotonic() - frozen_at < MAX_FREEZE:
            t0 = time.monotonic()
            r = srv.get(path)
            elapsed = time.monotonic() - t0
            timings.append(elapsed)
            assert 500 <= r.status_code < 600, (r.status_code, r.text)
            assert r.headers["Content-Type"].startswith("application/json")
            assert r.json() == GENERIC_500
            assert elapsed < DEADLINE + 2, timings
        resumed = time.monotonic()
    prober.stop.set()
    prober.join(timeout=15)

    # The database is back: the very next requests are served.
    recovered, attempts = None, []
    while time.monotonic() - resumed < 5:
        t0 = time.monotonic()
        r = srv.get(path)
        attempts.append(f"{r.status_code} in {time.monotonic() - t0:.3f} s")
        if r.status_code == 200:
            recovered = time.monotonic() - resumed
            break
        time.sleep(0.05)
    assert recovered is not None, "no 200 within 5 s of SIGCONT"
    for _ in range(5):
        r = srv.get(path)
        assert r.status_code == 200, r.text
        assert r.json()["movie"]["id"] == movie["id"]

    # The mail worker gave up on its frozen connection by itself and is
    # back on a fresh one (its queries name mail_outbox).
    mailer_back = None
    while time.monotonic() - resumed < 10:
        fresh = admin_db(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
            f"'{app_name}' AND query LIKE '%mail_outbox%' AND backend_start "
            f"> now() - interval '{time.monotonic() - resumed + 0.5} s'")
        if int(fresh) >= 1:
            mailer_back = time.monotonic() - resumed
            break
        time.sleep(0.1)
    assert mailer_back is not None, "the mail worker did not reconnect"

    with open(srv.log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    assert "did not answer before the deadline" in log
    assert _mailer_gave_up(srv.log, log_offset), "\n".join(
        line for line in log.splitlines() if "mailer" in line)

    probes = prober.latencies
    ok = sorted(p for p in probes if p is not None)
    print(f"\nfrozen PIDs: {len(pids)}; frozen {resumed - frozen_at:.1f} s; "
          "time to 5xx (s): " + ", ".join(f"{t:.2f}" for t in timings)
          + f"; first 200 after SIGCONT: {recovered:.3f} s ("
          + ", ".join(attempts) + f"); mail worker reconnected after "
          f"{mailer_back:.2f} s")
    if ok:
        print(f"healthcheck during the freeze: {len(probes)} probes, "
              f"{len(probes) - len(ok)} failed, median "
              f"{ok[len(ok) // 2]:.3f} s, max {ok[-1]:.3f} s")
    assert recovered < 2.0, recovered
