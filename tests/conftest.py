"""The one shared helper of Redlight's black-box HTTP tests.

tests/tools/run-tests.sh starts the server under test and exports where it is
(REDLIGHT_API_URL, REDLIGHT_DB_DSN, ... — see that script).  Without
REDLIGHT_API_URL every test that uses `api` is skipped.

Fixtures:
  api          Api client: api.get/post/patch/put/delete/head/options(path, ...)
               and api.request(method, path, json=None, data=None,
               headers=None) -> requests.Response; no redirects followed,
               10 s timeout, a fresh connection per call.
  raw_http     raw_http(method, path, body_bytes, headers) -> (status,
               headers, body) with the body sent byte for byte.
  db           db(sql) -> psql's output (unaligned, tuples only) as the app
               role; admin_db(sql) the same as the superuser.
  unique       unique(prefix) -> a string no other test uses.
  spawn_server spawn_server(*flags) -> Api of another server instance with
               extra flags; stopped with SIGTERM (must exit 0) after the test.
  make_movie   make_movie(**fields) -> a movie created with POST /v1/movies
               from movie_body(**fields) (a valid body, unique title).
  mailbox      Mailbox of the SMTP sink's Maildir: mailbox.wait(address,
               count=1) -> the first `count` mails to address (parsed
               email.message.EmailMessage, oldest first), polling up to 10 s;
               mailbox.messages(address) -> what is there now;
               mail_text(msg) / mail_token(msg) -> the text/plain body / the
               26-character token of its {"token": "..."} line.

Raw connections (the edge tests, tests/test_edge_*.py): connect(inst,
source=...) a socket from any 127/8 address; read_response(sock) one
response off it; wait_closed(socks, deadline) when the server closed each;
probe_latency(inst, paths, ...) a well-behaved client's request times;
percentile(samples, q).

Database outages (tests/test_db_freeze.py, tests/test_readyz.py):
frozen_cluster() SIGSTOPs this run's PostgreSQL (postmaster and children, by
PID) for the `with` block and always SIGCONTs them.

Every test makes its own data with unique(); tests must not depend on order.
"""

import contextlib
import email
import email.policy
import errno
import hashlib
import http.client
import itertools
import os
import secrets
import re
import selectors
import shlex
import signal
import socket
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from ports import free_port  # noqa: F401 (tests import it from here)

TIMEOUT = 10


def unique(prefix="x"):
    """A string that no other call returns: `prefix-<12 hex digits>`."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Api:
    """Client for one server instance at base_url (http://127.0.0.1:PORT)."""

    def __init__(self, base_url, default_headers=None):
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.host = parts.hostname
        self.port = parts.port or 80
        # Sent with every request unless the call names the same header
        # (a value of None there removes it: anonymous).
        self.default_headers = dict(default_headers or {})

    def _headers(self, headers):
        merged = CaseInsensitiveDict(self.default_headers)
        for name, value in (headers or {}).items():
            merged[name] = value
        return {k: v for k, v in merged.items() if v is not None}

    def anonymous(self):
        """The same server without the default headers."""
        return Api(self.base_url)

    def with_token(self, token):
        """The same server as the holder of bearer token `token`."""
        return Api(self.base_url, {"Authorization": f"Bearer {token}"})

    def url(self, path):
        return self.base_url + path

    def request(self, method, path, json=None, data=None, headers=None,
                **kwargs):
        """Send one request on a new connection; returns requests.Response.

        json= sends a JSON body, data= sends bytes/str as they are; extra
        keyword arguments (params=...) go to requests.
        """
        return requests.request(
            method, self.url(path), json=json, data=data,
            headers=self._headers(headers), timeout=TIMEOUT,
            allow_redirects=False, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def head(self, path, **kwargs):
        return self.request("HEAD", path, **kwargs)

    def options(self, path, **kwargs):
        return self.request("OPTIONS", path, **kwargs)

    def raw_http(self, method, path, body_bytes=None, headers=None):
        """Send exactly body_bytes (no re-encoding) with http.client.

        Content-Length is added when a body is given and headers lack it;
        nothing else is added but Host.  Returns (status, headers, body bytes);
        headers is case-insensitive, repeated headers joined with ", ".
        """
        headers = self._headers(headers)
        if body_bytes is not None and not any(
                k.lower() in ("content-length", "transfer-encoding")
                for k in headers):
            headers["Content-Length"] = str(len(body_bytes))
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=TIMEOUT)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders(body_bytes)
            resp = conn.getresponse()
            body = resp.read()
            out = CaseInsensitiveDict()
            for name, value in resp.getheaders():
                out[name] = f"{out[name]}, {value}" if name in out else value
            return resp.status, out, body
        finally:
            conn.close()

    def raw_bytes(self, request_bytes):
        """Write request_bytes as they are to a new connection and return
        everything the server sends until it closes (or 10 s pass)."""
        with socket.create_connection((self.host, self.port),
                                      timeout=TIMEOUT) as sock:
            sock.sendall(request_bytes)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)


class Psql:
    """Runs SQL with psql on one DSN; calling it returns psql's stdout."""

    def __init__(self, dsn):
        self.dsn = dsn

    def __call__(self, sql):
        """Returns the output (-A -t: unaligned, no headers) without its final
        newline; raises AssertionError with psql's stderr on any error."""
        proc = subprocess.run(
            ["psql", self.dsn, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-c", sql],
            capture_output=True, text=True, timeout=60,
            stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            raise AssertionError(
                f"psql failed ({proc.returncode}): {proc.stderr.strip()}\n"
                f"SQL: {sql}")
        return proc.stdout.rstrip("\n")


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set (run the tests with make test)")
    return value


def make_user(db, activated=True, permissions=("movies:read",
                                                "movies:write")):
    """A user made straight in the database (no Argon2id, no mail), with a
    24-hour authentication token. Returns (user id, email, token)."""
    email = f"{unique('user')}@example.com"
    uid = int(db(
        "INSERT INTO users (name, email, password_hash, activated) "
        f"VALUES ('Test User', '{email}', '\\x00', {str(activated).lower()}) "
        "RETURNING id").split()[0])
    if permissions:
        codes = ",".join(f"'{c}'" for c in permissions)
        db("INSERT INTO users_permissions SELECT "
           f"{uid}, id FROM permissions WHERE code IN ({codes})")
    token = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                    for _ in range(26))
    digest = hashlib.sha256(token.encode()).hexdigest()
    db("INSERT INTO tokens (hash, user_id, expiry, scope) VALUES "
       f"('\\x{digest}', {uid}, now() + interval '24 hours', "
       "'authentication')")
    return uid, email, token


@pytest.fixture(scope="session")
def admin_token():
    """The bearer token of an activated user holding movies:read and
    movies:write: what the `api` client sends by default."""
    return make_user(Psql(_env("REDLIGHT_DB_DSN")))[2]


@pytest.fixture(scope="session")
def api(admin_token):
    """Client of the server under test, authenticated as a user with every
    movie permission (api.anonymous() for a client without a token)."""
    return Api(_env("REDLIGHT_API_URL"),
               {"Authorization": f"Bearer {admin_token}"})


@pytest.fixture(scope="session")
def anon_api():
    return Api(_env("REDLIGHT_API_URL"))


@pytest.fixture(scope="session")
def raw_http(api):
    return api.raw_http


@pytest.fixture(scope="session")
def db():
    return Psql(_env("REDLIGHT_DB_DSN"))


@pytest.fixture(scope="session")
def admin_db():
    return Psql(_env("REDLIGHT_TEST_ADMIN_DSN"))


@pytest.fixture(name="unique")
def unique_fixture():
    return unique


@pytest.fixture
def spawn_server(admin_token):
    """spawn_server(*flags) starts another sanitized server with
    REDLIGHT_SERVER_CMD + -port <free port> + flags, waits for its healthcheck
    and returns an Api for it (api.proc is the Popen, api.log its log path).
    After the test it gets SIGTERM and must exit 0 within 30 s; a test that
    stops or kills an instance on purpose sets api.check_exit = False."""
    cmd = shlex.split(_env("REDLIGHT_SERVER_CMD"))
    # Instances share the database, so the `api` user's token works there.
    token_headers = {"Authorization": f"Bearer {admin_token}"}
    logdir = os.environ.get("REDLIGHT_TEST_TMP") or "/tmp"
    started = []

    def spawn(*flags):
        port = free_port()
        log_path = os.path.join(logdir, f"server-{port}.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd + ["-port", str(port), *map(str, flags)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        inst = Api(f"http://127.0.0.1:{port}", token_headers)
        started.append(inst)
        inst.proc, inst.log, inst.check_exit = proc, log_path, True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                # Anonymous: an instance on another database does not
                # know the `api` user's token.
                if inst.anonymous().get("/v1/healthcheck").status_code == 200:
                    return inst
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        with open(log_path, encoding="utf-8", errors="replace") as f:
            log_text = f.read()
        raise AssertionError(
            f"server with {flags} did not become healthy "
            f"(exit {proc.poll()}):\n{log_text}")

    yield spawn

    problems = []
    for inst in started:
        proc = inst.proc
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                problems.append(f"PID {proc.pid} ignored SIGTERM for 30 s")
                continue
        if inst.check_exit and proc.returncode != 0:
            problems.append(f"PID {proc.pid} exited {proc.returncode}")
    assert not problems, "; ".join(problems)


def movie_body(**fields):
    """A valid POST /v1/movies body with a unique title; keyword arguments
    replace keys (a value of ... drops the key)."""
    body = {"title": unique("movie"), "year": 2016, "runtime": "107 mins",
            "genres": ["drama"]}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.fixture
def make_movie(api):
    """make_movie(**fields) -> the created movie object (POST /v1/movies must
    answer 201); fields as for movie_body()."""
    def make(**fields):
        r = api.post("/v1/movies", json=movie_body(**fields))
        assert r.status_code == 201, f"{r.status_code} {r.text}"
        return r.json()["movie"]
    return make


class Mailbox:
    """The SMTP sink's Maildir (aiosmtpd's Mailbox handler writes one file
    per mail into new/).  Mail delivery is asynchronous: use wait()."""

    def __init__(self, path):
        self.path = path

    def _files(self):
        out = []
        for sub in ("new", "cur"):
            folder = os.path.join(self.path, sub)
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue
            for name in names:
                full = os.path.join(folder, name)
                try:
                    out.append((os.stat(full).st_mtime_ns, name, full))
                except FileNotFoundError:
                    pass  # moved between listdir and stat
        return sorted(out)

    def messages(self, address):
        """Mails whose To header names address (case-insensitive), oldest
        first."""
        want = address.lower()
        found = []
        for _, _, full in self._files():
            with open(full, "rb") as f:
                msg = email.message_from_binary_file(
                    f, policy=email.policy.default)
            to = [a.addr_spec.lower()
                  for h in msg.get_all("To", []) for a in h.addresses]
            if want in to:
                found.append(msg)
        return found

    def wait(self, address, count=1, timeout=10.0):
        """The first `count` mails to address, once they have all arrived;
        AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(address)
            if len(found) >= count:
                return found[:count]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(found)} of {count} mail(s) to {address} arrived "
                    f"in {timeout} s (Maildir {self.path})")
            time.sleep(0.1)


def mail_text(msg):
    """The text/plain part of msg as a str."""
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None, "mail has no text/plain part"
    return part.get_content()


TOKEN_LINE = re.compile(r'"token": "([A-Z2-7]{26})"')


def mail_token(msg):
    """The 26-character token of the mail's {"token": "..."} line."""
    m = TOKEN_LINE.search(mail_text(msg))
    assert m, f"no token in mail:\n{mail_text(msg)}"
    return m.group(1)


@pytest.fixture(scope="session")
def mailbox():
    return Mailbox(_env("REDLIGHT_MAILDIR"))


def ok_json(r, status):
    """The JSON body of r after checking the status, the JSON content type
    and the closing newline every API response has."""
    assert r.status_code == status, f"{r.status_code} {r.text!r}"
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    assert r.content.endswith(b"\n")
    return r.json()


def invalid(r, errors):
    """422 with exactly these field errors."""
    assert ok_json(r, 422) == {"error": errors}


# --- raw connections ---------------------------------------------------------


# Local ports of connections from a chosen address, taken in turn from below
# the kernel's ephemeral range (32768 up): a port the kernel gave 127.0.0.2
# would still look free to free_port(), which asks about 127.0.0.1 only, and
# would then stop a server from listening on it.
_SOURCE_PORTS = itertools.cycle(range(10000, 32768))
for _ in range(secrets.randbelow(22768)):
    next(_SOURCE_PORTS)


def connect(inst, source=None, timeout=TIMEOUT, rcvbuf=None):
    """A TCP connection to inst's server (an Api).  source: the local
    address (any 127/8 address works on loopback, so one machine can be many
    clients); rcvbuf: SO_RCVBUF, set before connecting so the window stays
    small."""
    for _ in range(200):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(timeout)
            if source is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((source, next(_SOURCE_PORTS)))
            sock.connect((inst.host, inst.port))
            return sock
        except OSError as e:
            sock.close()
            # That port is taken (or its last connection to this server
            # is in TIME_WAIT): the next one.
            if source is None or e.errno not in (errno.EADDRINUSE,
                                                 errno.EADDRNOTAVAIL):
                raise
        except BaseException:
            sock.close()
            raise
    raise AssertionError(f"no free local port on {source}")


def read_response(sock, head=False):
    """One HTTP/1.1 response (with a Content-Length body, as every Redlight
    response has; none after HEAD) off a blocking socket: (status, headers,
    body).  ConnectionError when the peer closes before it is complete; the
    socket's timeout applies to each read."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} bytes: "
                                  f"{buf[:300]!r}")
        buf += chunk
    head_bytes, _, body = buf.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = CaseInsensitiveDict()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        headers[name] = (f"{headers[name]}, {value}" if name in headers
                         else value)
    length = 0 if head else int(headers.get("Content-Length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed {len(body)} bytes into a "
                                  f"{length}-byte body")
        body += chunk
    return status, headers, body[:length]


def wait_closed(socks, deadline):
    """Reads every socket of socks (without blocking) until the server has
    closed each one (end of stream or reset) or time.monotonic() passes
    deadline.  Returns {sock: (monotonic time it closed or None, the bytes
    it sent before)}."""
    got = {sock: [None, b""] for sock in socks}
    sel = selectors.DefaultSelector()
    try:
        for sock in socks:
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ)
        left = len(socks)
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                break
            for key, _ in sel.select(timeout=min(wait, 0.5)):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:  # reset
                    data = b""
                if data:
                    got[sock][1] += data
                    continue
                got[sock][0] = time.monotonic()
                sel.unregister(sock)
                left -= 1
    finally:
        sel.close()
    return {sock: tuple(v) for sock, v in got.items()}


def percentile(samples, q):
    """The q-th percentile (0 < q <= 100) of samples, nearest rank."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def probe_latency(inst, paths, count=200, seconds=0.0, pause=0.005,
                  max_seconds=30.0):
    """A well-behaved client: GETs paths in turn (inst's default headers, a
    new connection each), pausing `pause` s between requests, until it has
    made `count` requests and `seconds` have passed, or max_seconds have
    passed.  Returns (the time each request took from connect() to the last
    byte, in seconds, [problems]): a status other than 200 or a failed
    request is a problem (and its time counts too)."""
    times, problems = [], []
    start = time.monotonic()
    i = 0
    while ((i < count or time.monotonic() - start < seconds) and
           time.monotonic() - start < max_seconds):
        path = paths[i % len(paths)]
        i += 1
        conn = http.client.HTTPConnection(inst.host, inst.port,
                                          timeout=TIMEOUT)
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers=inst.default_headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                problems.append(f"GET {path}: {resp.status}")
        except (OSError, http.client.HTTPException) as e:
            problems.append(f"GET {path}: {e!r}")
        finally:
            times.append(time.perf_counter() - t0)
            conn.close()
        if pause:
            time.sleep(pause)
    return times, problems


def stop_process(proc, timeout=10):
    """SIGTERM to proc (a Popen), SIGKILL after timeout seconds; reaps it.
    True when it stopped on SIGTERM."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def _postmaster_pid():
    tmp = os.environ.get("REDLIGHT_TEST_TMP")
    if not tmp:
        pytest.skip("REDLIGHT_TEST_TMP is not set (run the tests with "
                    "make test)")
    with open(os.path.join(tmp, "pgdata", "postmaster.pid"),
              encoding="ascii") as f:
        return int(f.readline())


def _stat(pid):
    """(state, ppid) of /proc/<pid>/stat, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii",
                  errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[0], int(fields[1])


def _children(ppid):
    """PIDs whose parent is ppid (this kernel has no /proc/*/children)."""
    kids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None and st[1] == ppid:
                kids.append(int(name))
    return kids


@contextlib.contextmanager
def frozen_cluster():
    """SIGSTOPs the postmaster (first, so it forks nothing more) and every
    child it has, waits until they are all stopped, and always SIGCONTs
    them on the way out. Yields the list of stopped PIDs."""
    postmaster = _postmaster_pid()
    stopped = []
    try:
        os.kill(postmaster, signal.SIGSTOP)
        stopped.append(postmaster)
        for pid in _children(postmaster):
            try:
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            states = [_stat(pid) for pid in stopped]
            if all(st is None or st[0] in "Tt" for st in states):
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the cluster did not stop")
        yield stopped
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
