"""The rate limit shared across nodes in Redis (CONTRACT §13.2 "Shared rate
limit", README "Shared across nodes (Redis)"), black-box: a real
redis-server started here (a free port on 127.0.0.1, its own directory,
stopped by PID) and server processes started with -limiter-redis.

Every node trusts 127.0.0.1 as a proxy, so each test names its clients with
X-Forwarded-For (addresses from the documentation ranges, one set per
test) and the readiness probes and /metrics reads, which come from
127.0.0.1 itself or from a fresh address each, never spend their tokens.
Refill is slow (-limiter-rps 0.01: one token every 100 s) so the counts
are exact. Bounds like "within 15 s" are generous polls for documented
behaviour (the reconnect backoff tops out at 5 s), not timings.
"""

import itertools
import shlex
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import free_port, stop_process

BUSY = {"error": "the server is busy, please try again later"}
LIMITED = {"error": "rate limit exceeded"}
BURST = 5
SLOW = ("-limiter-enabled=true", "-limiter-rps", "0.01", "-limiter-burst",
        str(BURST), "-trusted-proxies", "127.0.0.1", "-metrics-allow",
        "127.0.0.0/8 203.0.0.0/16")
HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
           "Retry-After")

_fresh = itertools.count(1)


def fresh_ip():
    """A client address no other request of this run has used."""
    n = next(_fresh)
    return f"203.0.{113 + n // 250}.{n % 250 + 1}"


class Redis:
    """A redis-server of this test's own: no persistence, its own dir."""

    def __init__(self, password=None):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (make deps)"
        self.binary = binary
        self.password = password
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-",
                                    dir=os.environ.get("REDLIGHT_TEST_TMP"))
        self.proc = None

    @property
    def url(self):
        return self.url_db(0)

    def url_db(self, db):
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def start(self):
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "no",
                "--daemonize", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        with open(os.path.join(self.dir, "redis.log"), "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "redis-server exited"
            try:
                if self.cmd("PING") == "PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("redis-server did not answer PING")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc)
        self.proc = None

    def cmd(self, *args, db=0):
        """One command over RESP in database db; returns a str, an int,
        None or a list."""
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=5) as sock:
            f = sock.makefile("rb")
            if self.password:
                sock.sendall(_resp("AUTH", self.password))
                _read(f)
            if db:
                sock.sendall(_resp("SELECT", db))
                _read(f)
            sock.sendall(_resp(*args))
            return _read(f)


def _resp(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _read(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise AssertionError(f"redis error: {rest}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        if rest == "-1":
            return None
        data = f.read(int(rest) + 2)
        return data[:-2].decode()
    if kind == b"*":
        return [_read(f) for _ in range(int(rest))]
    raise AssertionError(f"bad RESP line {line!r}")


@pytest.fixture
def redis():
    r = Redis()
    r.start()
    yield r
    r.stop()
    shutil.rmtree(r.dir, ignore_errors=True)


def as_client(inst, ip, path="/v1/healthcheck"):
    return inst.anonymous().get(path, headers={"X-Forwarded-For": ip})


def limit_headers(r):
    return tuple(r.headers.get(h) for h in HEADERS)


def metrics(inst):
    """/metrics samples by name (unlabelled ones), read as a fresh
    client."""
    r = as_client(inst, fresh_ip(), "/metrics")
    assert r.status_code == 200, r.text
    out = {}
    for line in r.text.splitlines():
        m = re.match(r"^([a-z_]+) (\d+)$", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def wait_for(pred, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"not {what} after {timeout} s")


def log_count(inst, text):
    with open(inst.log, encoding="utf-8", errors="replace") as f:
        return f.read().count(text)


def sequence(nodes, ip, count):
    """count requests from ip, round-robin over nodes: (status, headers)."""
    out = []
    for i in range(count):
        r = as_client(nodes[i % len(nodes)], ip)
        out.append((r.status_code, limit_headers(r)))
        if r.status_code == 429:
            assert r.json() == LIMITED
    return out


def test_two_nodes_share_one_bucket_with_the_local_headers(spawn_server,
                                                           redis):
    """A burst of 2 x BURST requests alternating over two nodes admits
    BURST (not 2 x BURST), with the same RateLimit-* and Retry-After
    headers, request by request, as a node with local buckets gives one
    client; each node's /metrics counts what Redis decided."""
    a = spawn_server(*SLOW, "-limiter-redis", redis.url)
    b = spawn_server(*SLOW, "-limiter-redis", redis.url)
    local = spawn_server(*SLOW)

    shared = sequence([a, b], fresh_ip(), 2 * BURST)
    alone = sequence([local], fresh_ip(), 2 * BURST)
    assert [s for s, _ in shared] == [200] * BURST + [429] * BURST
    assert shared == alone
    assert shared[0][1] == (str(BURST), str(BURST - 1), "100", None)
    assert shared[-1][1] == (str(BURST), "0", "100", "100")

    for inst in (a, b):
        m = metrics(inst)
        assert m["redlight_ratelimit_redis_up"] == 1
        assert m["redlight_ratelimit_redis_decisions_total"] >= BURST
        assert m["redlight_ratelimit_redis_fallback_total"] == 0
        assert m["redlight_ratelimit_rejected_total"] >= BURST // 2
        assert log_count(inst, "redis reachable, buckets shared") == 1


def test_keys_expire_when_the_bucket_is_full_again(spawn_server):
    """A bucket is one key, redlight:rl:<address>, whose TTL is the time
    until its bucket is full again: 100 s after one request at 0.01/s, and
    gone within a second at 20/s. Also: a password in the URL is used
    (requirepass) and shown nowhere."""
    r = Redis(password="s3cret-pw")
    r.start()
    try:
        slow = spawn_server(*SLOW, "-limiter-redis", r.url)
        ip = fresh_ip()
        assert as_client(slow, ip).status_code == 200
        ttl = r.cmd("PTTL", f"redlight:rl:{ip}")
        assert 90_000 < ttl <= 100_000, ttl
        as_client(slow, ip)
        assert r.cmd("PTTL", f"redlight:rl:{ip}") > 100_000  # two tokens out

        # Another database: nodes sharing buckets must share limits too
        # (127.0.0.1's bucket, the readiness probe's, would be read with
        # the other node's rate).
        fast = spawn_server("-limiter-enabled=true", "-limiter-rps", "20",
                            "-limiter-burst", "20", "-trusted-proxies",
                            "127.0.0.1", "-limiter-redis", r.url_db(1))
        ip2 = fresh_ip()
        assert as_client(fast, ip2).status_code == 200
        assert r.cmd("EXISTS", f"redlight:rl:{ip2}") == 0  # not in db 0
        assert r.cmd("EXISTS", f"redlight:rl:{ip2}", db=1) == 1
        wait_for(lambda: r.cmd("EXISTS", f"redlight:rl:{ip2}", db=1) == 0,
                 "expired", timeout=5)

        dv = as_client(slow, fresh_ip(), "/debug/vars").json()
        assert dv["rate_limiter"]["buckets"] == "redis"
        assert dv["rate_limiter"]["redis"]["up"] is True
        assert f"redis://:REDACTED@127.0.0.1:{r.port}/0" in dv["cmdline"]
        for inst in (slow, fast):
            assert log_count(inst, "s3cret-pw") == 0
    finally:
        r.stop()
        shutil.rmtree(r.dir, ignore_errors=True)


def test_redis_down_falls_back_then_shares_again(spawn_server, redis):
    """Redis stopped: every request is still served, decided by the node's
    own bucket; the state change is logged once however many requests
    follow, and /metrics says so. Redis back: the nodes find it on their
    own (no restart) and share one bucket again."""
    a = spawn_server(*SLOW, "-limiter-redis", redis.url)
    b = spawn_server(*SLOW, "-limiter-redis", redis.url)
    assert [s for s, _ in sequence([a, b], fresh_ip(), 2 * BURST)] == \
        [200] * BURST + [429] * BURST

    redis.stop()
    ip = fresh_ip()
    statuses = [s for s, h in sequence([a], ip, 2 * BURST)]
    # Local buckets now: this client's bucket on a is its own, full.
    assert statuses == [200] * BURST + [429] * BURST
    for _ in range(20):
        assert as_client(a, fresh_ip()).status_code == 200
    m = metrics(a)
    assert m["redlight_ratelimit_redis_up"] == 0
    assert m["redlight_ratelimit_redis_fallback_total"] >= 2 * BURST + 20
    assert m["redlight_ratelimit_redis_down_total"] == 1
    assert log_count(a, "redis unreachable, buckets not shared") == 1

    redis.start()
    for inst in (a, b):
        wait_for(lambda inst=inst: metrics(inst)[
            "redlight_ratelimit_redis_up"] == 1, "up again")
    # b, idle during the outage, may never have seen it (a connection it
    # had not made yet simply reaches the new Redis); a logs the way back.
    assert log_count(a, "redis reachable, buckets shared") == 2
    assert [s for s, _ in sequence([a, b], fresh_ip(), 2 * BURST)] == \
        [200] * BURST + [429] * BURST


def test_a_frozen_redis_costs_a_timeout_not_a_hang(spawn_server, redis):
    """Redis stopped with SIGSTOP (connections accepted by the kernel,
    nothing answered): each request is answered at once by the fallback,
    the first after the 50 ms command timeout; none waits for Redis. The
    bound below is a generous one for "not hung", not a timing."""
    a = spawn_server(*SLOW, "-limiter-redis", redis.url)
    assert as_client(a, fresh_ip()).status_code == 200
    os.kill(redis.proc.pid, signal.SIGSTOP)
    try:
        for _ in range(10):
            started = time.monotonic()
            r = as_client(a, fresh_ip())
            assert r.status_code == 200
            assert time.monotonic() - started < 2.0
        m = metrics(a)
        assert m["redlight_ratelimit_redis_up"] == 0
        assert m["redlight_ratelimit_redis_errors_total"] >= 1
    finally:
        os.kill(redis.proc.pid, signal.SIGCONT)
    wait_for(lambda: metrics(a)["redlight_ratelimit_redis_up"] == 1,
             "up again")


def test_closed_mode_answers_503_while_redis_is_down(spawn_server, redis):
    """-limiter-redis-fail closed: while Redis is unreachable each request
    gets the overload 503 with Retry-After; when it is back, requests pass
    again."""
    a = spawn_server(*SLOW, "-limiter-redis", redis.url,
                     "-limiter-redis-fail", "closed")
    assert as_client(a, fresh_ip()).status_code == 200
    redis.stop()
    for _ in range(5):
        r = as_client(a, fresh_ip())
        assert r.status_code == 503
        assert r.json() == BUSY
        assert int(r.headers["Retry-After"]) >= 1
        assert "RateLimit-Limit" not in r.headers
    redis.start()
    wait_for(lambda: as_client(a, fresh_ip()).status_code == 200,
             "serving again")
    assert log_count(a, "redis unreachable, buckets not shared") == 1


def test_a_bad_url_stops_the_start_without_showing_it():
    """A -limiter-redis that is not a valid URL: exit 2 at start-up with
    the reason, never the value (it may hold a password)."""
    cmd = shlex.split(os.environ["REDLIGHT_SERVER_CMD"])
    for url, reason in [
            ("redis://:hunter2@127.0.0.1:99999", "port must be a number"),
            ("rediss://:hunter2@127.0.0.1:6380", "TLS"),
            ("http://:hunter2@127.0.0.1", "must start with redis://"),
            ("unix://relative/hunter2.sock", "absolute path")]:
        p = subprocess.run(cmd + ["-port", "0", "-limiter-redis", url],
                           capture_output=True, text=True, timeout=30,
                           check=False)
        assert p.returncode == 2, (url, p.stderr)
        assert "invalid value for flag -limiter-redis: " in p.stderr
        assert reason in p.stderr
        assert "hunter2" not in p.stderr + p.stdout
