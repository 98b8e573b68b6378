"""A fleet of Redlight nodes on one machine, for tests and benchmarks.

    fleet = Fleet(server_cmd, workdir, nodes=3, flags=[...])
    fleet.start()            # redis-server, the nodes, then Caddy
    fleet.url                # http://127.0.0.1:PORT of Caddy
    fleet.nodes[i].url       # one node directly
    fleet.stop_redis(); fleet.start_redis()     # same port, empty data
    fleet.restart(i, extra)  # SIGTERM (drains), start again with base
                             # flags + extra, wait for /readyz
    fleet.kill(i)            # SIGKILL
    fleet.close()            # everything, by PID

Everything listens on 127.0.0.1 on free ports and writes its logs into
workdir. server_cmd is the node's command line without -port (the tests
take REDLIGHT_SERVER_CMD, tests/tools/run-tests.sh: the sanitized binary;
make bench/fleet the release one); a node runs
server_cmd -port PORT <flags> [-limiter-redis redis://127.0.0.1:RPORT/0]
<extra>, the last value of a flag winning. Caddy runs the shipped
remote/fleet/Caddyfile unchanged (`caddy run --adapter caddyfile`, admin
endpoint off), on plain HTTP, with the nodes as REDLIGHT_UPSTREAMS.

Clients: request() sends one request on a new connection from a chosen
source address (any 127/8 address: Caddy puts it in X-Forwarded-For and the
nodes, trusting 127.0.0.1, count it as the client), so one machine can be
many rate-limit clients; Load runs threads of such requests and counts the
outcomes per method; Paced is one keep-alive client at a fixed rate.
"""

import collections
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from ports import free_port  # noqa: F401 (tests import it from here)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CADDYFILE = os.path.join(ROOT, "remote", "fleet", "Caddyfile")
# `caddy hash-password --plaintext fleet-metrics`: the file asks for basic
# auth on /metrics and /debug/vars; the harness reads them from the nodes.
METRICS_USER, METRICS_PASSWORD = "ops", "fleet-metrics"
METRICS_HASH = "$2a$14$Mo0DPbjESysDN7WvO1UO1OqDa9DouiwmhTOMLU9y8B9UMlGq1eaG2"
TIMEOUT = 10


def need(program, package):
    path = shutil.which(program)
    if path is None:
        raise AssertionError(f"{program} is missing (make deps installs "
                             f"Debian's {package})")
    return path


def accepting(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def stop_pid(proc, sig=signal.SIGTERM, timeout=30.0):
    """Sends sig to proc (a Popen) and reaps it; SIGKILL after timeout.
    Returns its exit status (negative: the signal that ended it)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def tail(path, lines=30):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"({path}: {e})"


# ---- one request --------------------------------------------------------

_SOURCES = itertools.count()
_SOURCES_LOCK = threading.Lock()


def fresh_source():
    """A 127/8 address no other call of this process returns (127.1.0.0
    upwards: 127.0.0.1 is the trusted proxy)."""
    with _SOURCES_LOCK:
        n = next(_SOURCES)
    return f"127.{1 + (n >> 16) % 254}.{(n >> 8) & 255}.{n & 255}"


def request(url_port, method, path, body=None, headers=None, source=None,
            timeout=TIMEOUT):
    """One request on a new connection to 127.0.0.1:url_port from source
    (default 127.0.0.1). Returns (status, headers dict lower-cased, body
    bytes); raises OSError / http.client.HTTPException on transport
    errors."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", url_port, timeout=timeout,
        source_address=(source, 0) if source else None)
    try:
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        out = resp.read()
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                out)
    finally:
        conn.close()


class Node:
    def __init__(self, index, port):
        self.index, self.port = index, port
        self.proc, self.log, self.extra = None, None, ()
        self.starts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def get(self, path, headers=None):
        """GET path from a fresh source address: a client of its own for
        the rate limiter (every 127/8 address may read the metrics)."""
        return request(self.port, "GET", path, headers=headers,
                       source=fresh_source())

    def ready(self):
        """Status of GET /readyz, or None when nothing answers."""
        try:
            return self.get("/readyz")[0]
        except (OSError, http.client.HTTPException):
            return None

    def metrics(self):
        """The node's /metrics text (Prometheus exposition)."""
        status, _, body = self.get("/metrics")
        assert status == 200, (status, body[:200])
        return body.decode()

    def vars(self):
        status, _, body = self.get("/debug/vars")
        assert status == 200, (status, body[:200])
        return json.loads(body)


class Fleet:
    def __init__(self, server_cmd, workdir, nodes=3, flags=(), redis=True,
                 health_interval="1s", caddy_env=None, caddy=True):
        self.server_cmd = list(server_cmd)
        self.workdir = workdir
        self.flags = [str(f) for f in flags]
        self.use_redis = redis
        self.health_interval = health_interval
        self.caddy_env = dict(caddy_env or {})
        self.nodes = [Node(i, free_port()) for i in range(nodes)]
        self.redis_port = free_port() if redis else None
        self.redis_proc = None
        self.caddy_port = free_port() if caddy else None
        self.caddy_proc = None
        os.makedirs(workdir, exist_ok=True)

    # -- Redis ------------------------------------------------------------

    @property
    def redis_url(self):
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start_redis(self):
        """redis-server on self.redis_port, no persistence (a restart
        starts empty, as after losing the machine)."""
        assert self.redis_proc is None or self.redis_proc.poll() is not None
        log = os.path.join(self.workdir, "redis.log")
        self.redis_proc = subprocess.Popen(
            [need("redis-server", "redis-server"), "--port",
             str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.workdir,
             "--logfile", log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        self._wait(f"redis-server on {self.redis_port}",
                   lambda: accepting(self.redis_port), self.redis_proc, log)

    def stop_redis(self):
        if self.redis_proc is not None:
            stop_pid(self.redis_proc, timeout=10)

    # -- nodes --------------------------------------------------------------

    def node_cmd(self, node):
        cmd = self.server_cmd + ["-port", str(node.port)] + self.flags
        if self.use_redis:
            cmd += ["-limiter-redis", self.redis_url]
        return cmd + [str(f) for f in node.extra]

    def start_node(self, i, extra=None, wait=True):
        node = self.nodes[i]
        if extra is not None:
            node.extra = tuple(str(f) for f in extra)
        node.starts += 1
        node.log = os.path.join(self.workdir,
                                f"node-{node.port}-{node.starts}.log")
        with open(node.log, "wb") as log:
            node.proc = subprocess.Popen(
                self.node_cmd(node), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(i)
        return node

    def wait_ready(self, i, timeout=30.0):
        node = self.nodes[i]
        self._wait(f"node {node.port} /readyz 200",
                   lambda: node.ready() == 200, node.proc, node.log,
                   timeout=timeout)

    def stop_node(self, i, sig=signal.SIGTERM, timeout=60.0):
        """Signals node i and waits for its exit; returns the status."""
        node = self.nodes[i]
        return stop_pid(node.proc, sig, timeout)

    def kill(self, i):
        return self.stop_node(i, signal.SIGKILL)

    def restart(self, i, extra=None):
        """SIGTERM (the node drains for its -drain-delay, then exits 0),
        start it again on its port, wait for /readyz. Returns the exit
        status of the old process."""
        status = self.stop_node(i)
        self.start_node(i, extra)
        return status

    def roll(self, extra=None):
        """A rolling restart: restart() each node in turn. Returns the
        exit statuses."""
        return [self.restart(i, extra) for i in range(len(self.nodes))]

    # -- Caddy ----------------------------------------------------------------

    @property
    def url(self):
        return f"http://127.0.0.1:{self.caddy_port}"

    def start_caddy(self):
        log = os.path.join(self.workdir, "caddy.log")
        home = os.path.join(self.workdir, "caddy-home")
        os.makedirs(home, exist_ok=True)
        env = dict(os.environ, HOME=home, XDG_DATA_HOME=home,
                   XDG_CONFIG_HOME=home,
                   REDLIGHT_DOMAIN=f"http://127.0.0.1:{self.caddy_port}",
                   REDLIGHT_ACME_EMAIL="ops@example.com",
                   REDLIGHT_CADDY_ADMIN="off",
                   REDLIGHT_METRICS_USER=METRICS_USER,
                   REDLIGHT_METRICS_HASH=METRICS_HASH,
                   REDLIGHT_HEALTH_INTERVAL=self.health_interval,
                   REDLIGHT_UPSTREAMS=" ".join(
                       f"127.0.0.1:{n.port}" for n in self.nodes))
        env.update(self.caddy_env)
        with open(log, "wb") as out:
            self.caddy_proc = subprocess.Popen(
                [need("caddy", "caddy"), "run", "--config", CADDYFILE,
                 "--adapter", "caddyfile"], env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT)

        def through():
            try:
                return request(self.caddy_port, "GET",
                               "/v1/healthcheck",
                               source=fresh_source())[0] == 200
            except (OSError, http.client.HTTPException):
                return False
        self._wait(f"caddy on {self.caddy_port}", through, self.caddy_proc,
                   log)

    # -- all of it --------------------------------------------------------------

    def start(self):
        try:
            if self.use_redis:
                self.start_redis()
            for i in range(len(self.nodes)):
                self.start_node(i, wait=False)
            for i in range(len(self.nodes)):
                self.wait_ready(i)
            if self.caddy_port is not None:
                self.start_caddy()
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        """Stops Caddy, the nodes (SIGTERM, SIGKILL after 60 s) and Redis.
        Returns the exit status of each node that was still running (None
        for one that was not)."""
        if self.caddy_proc is not None:
            stop_pid(self.caddy_proc, timeout=10)
        running = [n for n in self.nodes
                   if n.proc is not None and n.proc.poll() is None]
        for node in running:
            node.proc.terminate()
        statuses = [stop_pid(n.proc) if n in running else None
                    for n in self.nodes]
        self.stop_redis()
        return statuses

    @staticmethod
    def _wait(what, check, proc, log, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"{what}: exited {proc.returncode}\n"
                                     f"{tail(log)}")
            if check():
                return
            time.sleep(0.05)
        raise AssertionError(f"{what}: not within {timeout} s\n{tail(log)}")


# ---- load -----------------------------------------------------------------


class Load:
    """threads threads, each sending plan(i) -> (method, path, body,
    headers) requests through port, every request on a new connection from a
    fresh source address (so the rate limit never applies), until stop().
    Counts outcomes per method: ok (2xx/3xx/4xx but 429), 429, 5xx, error;
    keeps the first few failures for the report."""

    def __init__(self, port, plan, threads=4, pause=0.0):
        self.port, self.plan, self.pause = port, plan, pause
        self.counts = collections.defaultdict(collections.Counter)
        self.failures = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(t,),
                                         daemon=True)
                        for t in range(threads)]

    def _run(self, t):
        for n in itertools.count():
            if self.done.is_set():
                return
            method, path, body, headers = self.plan(t * 1000003 + n)
            try:
                status, _, out = request(self.port, method, path, body,
                                         headers, source=fresh_source(),
                                         timeout=30)
                kind = ("5xx" if status >= 500 else
                        "429" if status == 429 else "ok")
                what = f"{status} {out[:120]!r}"
            except (OSError, http.client.HTTPException) as e:
                kind, what = "error", repr(e)
            with self.lock:
                self.counts[method][kind] += 1
                if kind in ("5xx", "error") and len(self.failures) < 20:
                    self.failures.append(f"{method} {path}: {what}")
            if self.pause:
                time.sleep(self.pause)

    def start(self):
        for th in self.threads:
            th.start()
        return self

    def stop(self):
        self.done.set()
        for th in self.threads:
            th.join(timeout=60)
        return self

    def total(self, method=None, kind=None):
        with self.lock:
            rows = ([self.counts[method]] if method else
                    list(self.counts.values()))
            return sum(c[kind] if kind else sum(c.values()) for c in rows)

    def report(self):
        with self.lock:
            return {m: dict(c) for m, c in sorted(self.counts.items())}


class Paced:
    """One client (one source address, one keep-alive connection,
    reconnecting when it drops) sending GET path at rate requests a second
    for seconds; returns a Counter of statuses ('error' for transport
    errors) and the time from first to last request."""

    def __init__(self, port, path="/v1/healthcheck", source=None):
        self.port, self.path = port, path
        self.source = source or fresh_source()

    def run(self, rate, seconds, on_tick=None):
        statuses = collections.Counter()
        conn = None
        interval = 1.0 / rate
        start = time.monotonic()
        n = 0
        while True:
            due = start + n * interval
            now = time.monotonic()
            if due - start >= seconds:
                break
            if due > now:
                time.sleep(due - now)
            if on_tick is not None:
                on_tick(time.monotonic() - start)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=TIMEOUT,
                        source_address=(self.source, 0))
                conn.request("GET", self.path)
                resp = conn.getresponse()
                resp.read()
                statuses[resp.status] += 1
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                statuses["error"] += 1
                if conn is not None:
                    conn.close()
                conn = None
            n += 1
        elapsed = time.monotonic() - start
        if conn is not None:
            conn.close()
        return statuses, elapsed
