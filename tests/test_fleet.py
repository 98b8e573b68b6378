"""Three Redlight nodes behind Caddy, sharing PostgreSQL and Redis (issue 14).

One fleet (tests/fleet.py) serves the whole module: redis-server, three
sanitized nodes (REDLIGHT_SERVER_CMD) on a database of their own and an SMTP
sink of their own, and Caddy running remote/fleet/Caddyfile as shipped. Every
test puts the fleet back in the state it needs (all nodes up, base flags)
first, so the order does not matter.

Clients are told apart by their source address (tests/fleet.py
fresh_source()): Caddy writes it into X-Forwarded-For and the nodes trust
127.0.0.1, Caddy's address, so each test's client has buckets of its own
and the load generators, a fresh address per request, are never limited.

The counts each test measures are printed (pytest -s shows them) and written
to REDLIGHT_TEST_TMP/fleet-report.txt.
"""

import base64
import json
import os
import shlex
import subprocess
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import Psql, make_user, movie_body, _env
from fleet import Fleet, Load, Paced, free_port, fresh_source, request
from test_mail import Sink, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RPS, BURST = 10, 10
DRAIN = 2  # seconds; Caddy asks /readyz every second
KEY1 = "fleet-key-one-" + "1" * 32
KEY2 = "fleet-key-two-" + "2" * 32
BASE_FLAGS = [
    "-trusted-proxies", "127.0.0.1/32",
    "-limiter-enabled=true", "-limiter-rps", RPS, "-limiter-burst", BURST,
    "-drain-delay", f"{DRAIN}s",
    "-jwt-secret", KEY1,
]


def report(line):
    print(line)
    path = os.path.join(os.environ.get("REDLIGHT_TEST_TMP") or "/tmp",
                        "fleet-report.txt")
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


# ---- the fleet ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet_db():
    """A database of the fleet's own, migrated (so only its nodes' mail
    workers see its outbox); dropped at the end."""
    admin = Psql(_env("REDLIGHT_TEST_ADMIN_DSN"))
    name = "fleet_" + uuid.uuid4().hex[:12]
    admin(f"CREATE DATABASE {name} OWNER redlight")
    dsn = urlunsplit(urlsplit(_env("REDLIGHT_DB_DSN"))._replace(
        path="/" + name))
    proc = subprocess.run([os.path.join(ROOT, "bin", "api"), "-db-dsn", dsn,
                           "migrate", "up"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield Psql(dsn)
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def fleet(fleet_db):
    tmp = os.path.join(os.environ.get("REDLIGHT_TEST_TMP") or "/tmp",
                       "fleet-" + uuid.uuid4().hex[:6])
    os.makedirs(tmp)
    sink = Sink(free_port(), os.path.join(tmp, "maildir"),
                os.path.join(tmp, "smtp.log"))
    f = Fleet(shlex.split(_env("REDLIGHT_SERVER_CMD")), tmp, nodes=3,
              flags=BASE_FLAGS + ["-db-dsn", fleet_db.dsn,
                                  "-smtp-host", "127.0.0.1",
                                  "-smtp-port", sink.port])
    f.sink = sink
    try:
        f.start()
        yield f
    finally:
        statuses = f.close()
        sink.stop()
    # Every node still running at the end stops cleanly on SIGTERM.
    assert all(s in (0, None) for s in statuses), statuses


def healthy(fleet):
    """Every node up with the base flags, Redis up, Caddy routing to all."""
    if fleet.redis_proc.poll() is not None:
        fleet.start_redis()
    for i, node in enumerate(fleet.nodes):
        if node.proc.poll() is not None or node.extra:
            if node.proc.poll() is None:
                fleet.stop_node(i)
            fleet.start_node(i, extra=())
    # Caddy asks /readyz every second: two intervals and every node is in.
    time.sleep(2.2)
    return fleet


@pytest.fixture
def auth(fleet_db):
    """Authorization headers of an activated user with every movie
    permission (a stateful token, in the fleet's database)."""
    _, _, token = make_user(fleet_db)
    return {"Authorization": f"Bearer {token}"}


def new_movie(fleet, headers):
    status, _, body = request(fleet.caddy_port, "POST", "/v1/movies",
                              movie_body(), headers, source=fresh_source())
    assert status == 201, (status, body)
    return json.loads(body)["movie"]["id"]


def requests_served(node):
    return node.vars()["total_requests_received"]


# ---- one rate limit across nodes ------------------------------------------------


def test_one_limit_across_three_nodes(fleet):
    """A client at 10x the rate for 5 s through Caddy is admitted
    burst + rate x time (+-10 %), however its requests are spread over the
    three nodes; with a bucket per node it would be about three times
    that."""
    healthy(fleet)
    before = [requests_served(n) for n in fleet.nodes]
    statuses, elapsed = Paced(fleet.caddy_port).run(rate=10 * RPS,
                                                    seconds=5)
    served = [requests_served(n) - b for n, b in zip(fleet.nodes, before)]
    admitted = statuses[200]
    expected = BURST + RPS * elapsed
    report(f"fleet rate limit: {sum(statuses.values())} requests in "
           f"{elapsed:.2f} s at {10 * RPS}/s, admitted {admitted}, "
           f"expected {expected:.1f} (burst {BURST} + {RPS}/s x time), "
           f"statuses {dict(statuses)}, per node {served}")
    assert set(statuses) <= {200, 429}, statuses
    assert abs(admitted - expected) <= 0.1 * expected, \
        (admitted, expected, statuses)
    # Caddy spread them: every node served part of the load.
    assert all(s > 0 for s in served), served


# ---- Redis goes away and comes back ----------------------------------------------

def metric(node, name):
    """The value of the unlabelled metric name in the node's /metrics."""
    for line in node.metrics().splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in /metrics of {node.url}")


def redis_up(node):
    """1 while the node's limiter uses Redis, 0 while it falls back to its
    own buckets."""
    return metric(node, "redlight_ratelimit_redis_up")


def fallbacks(fleet):
    """Each node's count of decisions its own buckets made for want of
    Redis."""
    return [metric(n, "redlight_ratelimit_redis_fallback_total")
            for n in fleet.nodes]


def burst_through(fleet, count):
    """count requests as fast as one keep-alive client can through Caddy
    from a fresh address: (admitted, seconds taken)."""
    statuses, elapsed = Paced(fleet.caddy_port).run(rate=1000,
                                                    seconds=count / 1000)
    assert set(statuses) <= {200, 429}, statuses
    return statuses[200], elapsed


def test_redis_outage_falls_back_and_recovers(fleet):
    healthy(fleet)
    assert all(redis_up(n) == 1 for n in fleet.nodes)
    before = fallbacks(fleet)

    stopped = {}

    def tick(t):
        if t >= 1.5 and not stopped:
            fleet.stop_redis()
            stopped["at"] = t
    statuses, elapsed = Paced(fleet.caddy_port).run(rate=10 * RPS,
                                                    seconds=4, on_tick=tick)
    report(f"fleet redis outage: Redis stopped at {stopped['at']:.1f} s of "
           f"{elapsed:.1f} s; statuses {dict(statuses)}")
    # Served throughout: answers, no 5xx, no dropped connection (the
    # fallback is open: the nodes' own buckets).
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[200] >= BURST
    wait_for("every node reports the fallback in /metrics",
             lambda: all(redis_up(n) == 0 for n in fleet.nodes))
    fell_back = [a - b for a, b in zip(fallbacks(fleet), before)]
    report(f"fleet redis outage: decisions by the nodes' own buckets "
           f"{fell_back}")
    assert sum(fell_back) > 0, fell_back
    # With a bucket per node a fresh client gets up to three bursts.
    local, _ = burst_through(fleet, 3 * BURST)

    fleet.start_redis()
    wait_for("every node back on Redis (no restart)",
             lambda: all(redis_up(n) == 1 for n in fleet.nodes), timeout=30)
    shared, took = burst_through(fleet, 3 * BURST)
    report(f"fleet redis back: {3 * BURST} quick requests admitted "
           f"{shared} in {took:.2f} s (during the outage: {local})")
    assert BURST <= shared <= BURST + RPS * took + 1, (shared, took)


# ---- rolling restart and a dead node ----------------------------------------------


def mixed_plan(headers, movie_id):
    """What the load generators send: healthchecks and GETs by id
    (idempotent) and POSTs creating movies (not)."""
    def plan(n):
        kind = n % 4
        if kind == 0:
            return "GET", "/v1/healthcheck", None, None
        if kind == 3:
            return "POST", "/v1/movies", movie_body(), headers
        return "GET", f"/v1/movies/{movie_id}", None, headers
    return plan


def test_rolling_restart_loses_nothing(fleet, auth):
    """SIGTERM one node at a time (it drains for -drain-delay while
    /readyz says 503), wait for the new process's /readyz, then the next:
    the client sees no failure, POSTs included."""
    healthy(fleet)
    movie = new_movie(fleet, auth)
    load = Load(fleet.caddy_port, mixed_plan(auth, movie), threads=4).start()
    try:
        time.sleep(1)
        started = time.monotonic()
        exits = fleet.roll()
        took = time.monotonic() - started
        time.sleep(1)
    finally:
        load.stop()
    report(f"fleet rolling restart ({took:.1f} s, drain {DRAIN} s): "
           f"{load.report()}; exits {exits}")
    assert exits == [0, 0, 0], exits
    assert load.total(kind="5xx") + load.total(kind="error") == 0, \
        load.failures
    assert load.total(kind="ok") > 0
    assert load.total(kind="429") == 0


def test_sigkill_idempotent_requests_are_retried(fleet, auth):
    """A node killed with SIGKILL under load: Caddy retries the GETs it
    held (and every request whose connection was refused) on another node;
    the POSTs it held fail with 502 (reported)."""
    healthy(fleet)
    movie = new_movie(fleet, auth)
    load = Load(fleet.caddy_port, mixed_plan(auth, movie), threads=4).start()
    try:
        time.sleep(1.5)
        status = fleet.kill(1)
        time.sleep(3)
    finally:
        load.stop()
    report(f"fleet SIGKILL of one node: {load.report()}; "
           f"failures {load.failures[:5]}")
    assert status == -9
    assert load.total("GET", "5xx") + load.total("GET", "error") == 0, \
        load.failures
    assert load.total("GET", "ok") > 0 and load.total("POST", "ok") > 0
    # Whatever failed is a POST the dead node held: a 502 from Caddy,
    # never a dropped connection to the client.
    assert load.total("POST", "error") == 0, load.failures
    assert load.total("POST", "5xx") <= 4 * 2, load.failures


# ---- mail ------------------------------------------------------------------------------


def test_each_mail_sent_once_by_three_workers(fleet, fleet_db):
    """Jobs queued at once, with three nodes' workers woken by the same
    NOTIFY, are each sent exactly once."""
    healthy(fleet)
    tag = uuid.uuid4().hex[:8]
    recipients = [f"fleet-{tag}-{i}@example.com" for i in range(30)]
    values = ", ".join(
        f"('user_welcome', '{r}', '{{\"user_id\": {i}, \"name\": \"F\", "
        f"\"activation_token\": \"ABCDEFGHIJKLMNOPQRSTUVWX23\"}}'::jsonb)"
        for i, r in enumerate(recipients))
    fleet_db("WITH j AS (INSERT INTO mail_outbox (template, recipient, "
             f"data) VALUES {values} RETURNING id) "
             "SELECT count(*) FROM j, pg_notify('mail_outbox', '')")
    # And a registration through Caddy (its mail comes from whichever node
    # took the job).
    extra = f"fleet-{tag}-reg@example.com"
    status, _, body = request(
        fleet.caddy_port, "POST", "/v1/users",
        {"name": "Fleet", "email": extra, "password": "pa55word-fleet"},
        source=fresh_source())
    assert status == 202, (status, body)
    recipients.append(extra)

    for r in recipients:
        fleet.sink.wait(r, timeout=30)
    time.sleep(1.5)  # anything sent twice would be here by now
    counts = {r: len(fleet.sink.messages(r)) for r in recipients}
    rows = fleet_db("SELECT status, attempts, count(*) FROM mail_outbox "
                    f"WHERE recipient LIKE 'fleet-{tag}-%' "
                    "GROUP BY 1, 2 ORDER BY 1, 2")
    report(f"fleet mail: {len(recipients)} jobs, mails per recipient "
           f"{sorted(set(counts.values()))}, outbox {rows!r}")
    assert all(c == 1 for c in counts.values()), counts
    assert rows == f"sent|1|{len(recipients)}", rows


# ---- JWT key rotation ----------------------------------------------------------------


def jwt_header(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def accepted(fleet, token):
    """For each node, directly: is the JWT accepted (200 on an
    authenticated route) or refused (401)?"""
    out = []
    for node in fleet.nodes:
        status = node.get("/v1/healthcheck",
                          {"Authorization": f"Bearer {token}"})[0]
        assert status in (200, 401), status
        out.append(status == 200)
    return out


def test_jwt_rolling_key_change(fleet, fleet_db):
    healthy(fleet)
    email = f"jwt-{uuid.uuid4().hex[:8]}@example.com"
    password = "pa55word-rotation"
    proc = subprocess.run(
        [os.path.join(ROOT, "bin", "api"), "-db-dsn", fleet_db.dsn, "users",
         "create", "-email", email, "-name", "Rot", "-password-stdin",
         "-activated", "-grant", "movies:read"],
        input=password + "\n", capture_output=True, text=True, timeout=60,
        check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def login():
        status, _, body = request(fleet.caddy_port, "POST",
                                  "/v1/tokens/jwt",
                                  {"email": email, "password": password},
                                  source=fresh_source())
        assert status == 201, (status, body)
        return json.loads(body)["authentication_token"]["token"]

    old = login()
    assert accepted(fleet, old) == [True] * 3
    # Step 1: the new key signs, the old one still verifies; the old token
    # works on every node during and after the roll.
    for i in range(3):
        fleet.restart(i, ["-jwt-secret", f"{KEY2},{KEY1}"])
        assert accepted(fleet, old) == [True] * 3, i
    new = login()
    k_old, k_new = jwt_header(old).get("kid"), jwt_header(new).get("kid")
    assert k_old and k_new and k_old != k_new, (k_old, k_new)
    assert KEY1 not in json.dumps(jwt_header(old))
    assert accepted(fleet, new) == [True] * 3
    # Step 2: the old key is removed; tokens signed by it are refused.
    fleet.roll(["-jwt-secret", KEY2])
    got_old, got_new = accepted(fleet, old), accepted(fleet, new)
    report(f"fleet JWT rotation: kid {k_old} -> {k_new}; old token after "
           f"removal accepted by {got_old}, new by {got_new}")
    assert got_new == [True] * 3
    assert got_old == [False] * 3
