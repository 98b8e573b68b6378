#!/usr/bin/python3
"""http_fuzz.py — a raw-socket fuzzer of Redlight's HTTP layer.

It starts its own instance of the server under test (--server-cmd, the
shell-quoted command line run-tests.sh exports as REDLIGHT_SERVER_CMD; it
appends -port and short deadlines: -read-timeout 2s -idle-timeout 4s
-write-timeout 3s), loads a seed corpus of real requests (tests/fuzz/corpus,
one exact request per file), mutates them and writes the bytes to the server
over plain TCP, one case at a time, with a few slow cases (stalls, dribbles,
idle and unread connections) in the background.

Invariants, per case:
  answer     the server answers (a status < 500; 501/503/505 only as the
             contract's JSON errors) or closes, within the read timeout
             counted from the first byte sent (+ slack); a request the
             client completed is answered
  json       every 4xx/5xx the server writes has Content-Type
             application/json and a body that is one JSON object with an
             "error" key, followed by a newline (HEAD: no body)
  framing    where RFC 9112 says how the bytes divide into requests (the
             fuzzer's own strict parser, ref_parse), the server answers each
             of them once and no more, pipelined sentinels get their own
             responses, and a probe sent after the last response gets the
             healthcheck's 200 (the stream is in sync); where RFC 9112 or the
             contract prescribe an answer it is that answer: Transfer-Encoding
             other than chunked -> 501 JSON "unsupported transfer encoding";
             an invalid or conflicting Content-Length -> 400 and close; both
             Content-Length and Transfer-Encoding -> close after the
             response; whitespace before a colon -> 400; a request line and
             headers of up to 64 KiB are served, more -> 414/431 JSON with
             Connection: close; a decoded control byte in the path -> 404
  database   a request that got no 2xx changed nothing: a checksum of the
             movies, users, users_permissions and tokens tables (psql as the
             superuser) before and after each main-lane case
  health     GET /v1/healthcheck answers 200 after every batch; the server
             process is alive; no sanitizer report ("ERROR: AddressSanitizer",
             "runtime error:", LeakSanitizer) in its log or log_path files;
             it exits 0 on SIGTERM at the end

Deterministic: case i is generated from random.Random(f"{seed}/{i}") alone,
whatever the timing.  Bounded: --seconds and --cases.  Every failing case is
saved (bytes, what the server sent, the broken invariant) under --findings,
at most 3 per signature; `--replay DIR` reruns saved cases (*.json found
under DIR, e.g. tests/fuzz/regressions or a findings directory).
Regression cases whose name is listed in --known (tests/fuzz/regressions/
KNOWN), and fuzz findings with the signature of such a case, are reported as
known and do not fail the run.

Output ends with lines `http_fuzz: RESULT phase=<replay|fuzz> passed=N
failed=M known=K ...` that tests/tools/run-tests.sh adds up.  Exit status 0
when nothing new failed, 1 when something did, 2 on a set-up error.

Python 3 standard library only (tests/conftest.py imports pytest and
requests, so its helpers are not used here); psql for the database.
fuzz_wire.py holds the reference request parser, the response parser and
the per-response invariants; fuzz_mutate.py the seeds and mutations; this
file the server instance, the database, the exchanges and the run.
"""

import argparse
import errno
import hashlib
import json
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from ports import free_port  # noqa: E402
from fuzz_mutate import Generator, load_corpus  # noqa: E402
from fuzz_wire import (HEAD_LIMIT,  # noqa: E402
                       HEAD_MARGIN, IDLE_TIMEOUT, MAX_PARAMS,
                       ORIGIN, PROBE, READ_TIMEOUT, SLACK, WRITE_TIMEOUT,
                       Case, check_response, encode_bytes, error_json,
                       parse_responses, query_params, ref_parse, show)

HERE = os.path.dirname(os.path.abspath(__file__))

# --- the fixture: fixed names, tokens and movies, so saved cases replay ----
PASSWORD = "fuzz-password-1"
ADMIN = "fuzz-admin@fuzz.invalid"      # movies:read + movies:write
READER = "fuzz-reader@fuzz.invalid"    # movies:read
INACTIVE = "fuzz-inactive@fuzz.invalid"
# Plaintexts of tokens the fixture stores (base32 alphabet, 26 bytes).
TOKENS = [  # plaintext, user, scope
    ("FUZZADMINAUTHTOKENAAAAAAAA", ADMIN, "authentication"),
    ("FUZZREVOKEAUTHTOKENAAAAAAA", ADMIN, "authentication"),
    ("FUZZREADERAUTHTOKENAAAAAAA", READER, "authentication"),
    ("FUZZINACTIVEAUTHTOKENAAAAA", INACTIVE, "authentication"),
    ("FUZZACTIVATIONTOKENAAAAAAA", INACTIVE, "activation"),
    ("FUZZRESETTOKENAAAAAAAAAAAA", ADMIN, "password-reset"),
]
MOVIES = [  # id, title, year, runtime, genres
    (1000001, "Fuzz One", 2001, 101, "{drama}"),
    (1000002, "Fuzz Two", 2002, 102, "{drama,comedy}"),
    (1000003, "Fuzz Three", 2003, 103, "{fuzz}"),
]
JWT_SECRET = "fuzz-jwt-secret-0123456789abcdefghijklmnop"

SLOW_SLOTS = 6           # background connections at a time
BATCH = 50               # cases between health checks
SAVE_PER_SIGNATURE = 3


def log(*args):
    print("http_fuzz:", *args, flush=True)


# ===========================================================================
# The server instance and the database
# ===========================================================================

SANITIZER_PATTERNS = re.compile(
    rb"ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|"
    rb"SUMMARY: (?:Address|Undefined|Leak)Sanitizer")


class Server:
    """The fuzzer's own instance: cmd + -port + flags, log in log_dir."""

    def __init__(self, cmd, log_dir):
        self.cmd = shlex.split(cmd)
        self.log_dir = log_dir
        self.san_prefixes = []
        for tok in self.cmd:
            m = re.match(r"(?:ASAN|UBSAN|LSAN)_OPTIONS=(.*)", tok)
            if m:
                for opt in m.group(1).split(":"):
                    if opt.startswith("log_path="):
                        self.san_prefixes.append(opt[len("log_path="):])
        self.proc = None
        self.port = None
        self.log_path = None
        self.log_off = 0
        self.last_log = ""      # log lines of the last sanitizer_report()
        self.deadline_flags = ["-read-timeout", f"{READ_TIMEOUT:g}s",
                               "-idle-timeout", f"{IDLE_TIMEOUT:g}s",
                               "-write-timeout", f"{WRITE_TIMEOUT:g}s"]
        self.flags = ["-cors-trusted-origins", ORIGIN,
                      "-limiter-enabled=false", "-jwt-secret", JWT_SECRET,
                      "-shutdown-timeout", "5s"]
        self.notes = []

    def start(self):
        for _ in range(2):
            self.port = free_port()
            self.log_path = os.path.join(self.log_dir,
                                         f"fuzz-server-{self.port}.log")
            log_file = open(self.log_path, "wb")
            self.proc = subprocess.Popen(
                self.cmd + ["-port", str(self.port)] + self.flags +
                self.deadline_flags,
                stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT)
            log_file.close()
            self.log_off = 0
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.healthy(timeout=2):
                    return
                time.sleep(0.1)
            text = self.log_text()
            if self.proc.poll() == 2 and self.deadline_flags:
                # Flags this server does not know yet: run without them.
                self.notes.append(
                    "the server refused the deadline flags (" +
                    (text.strip().splitlines() or [""])[-1] + "); running "
                    "with its defaults, timeouts are checked against 2 s "
                    "anyway")
                self.deadline_flags = []
                continue
            self.stop(check=False)
            raise SystemExit(f"http_fuzz: the server did not start:\n{text}")
        raise SystemExit("http_fuzz: the server did not start")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def healthy(self, timeout=5.0):
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall(PROBE)
                buf = b""
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    buf += c
            return buf.startswith(b"HTTP/1.1 200 ")
        except OSError:
            return False

    def sanitizer_report(self):
        """New sanitizer output since the last call, or None."""
        found = []
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_off)
                chunk = f.read()
            # Keep a partial last line for the next call.
            cut = chunk.rfind(b"\n") + 1
            self.log_off += cut
            self.last_log = chunk[:cut].decode("utf-8", "replace")
            if SANITIZER_PATTERNS.search(chunk[:cut]):
                found.append(chunk[:cut].decode("utf-8", "replace"))
        except OSError:
            pass
        pid = self.proc.pid if self.proc else None
        for prefix in self.san_prefixes:
            path = f"{prefix}.{pid}"
            if os.path.exists(path):
                with open(path, "rb") as f:
                    found.append(f.read().decode("utf-8", "replace"))
                # Out of the way of run-tests.sh's own check of prefix.*:
                # the fuzzer reports its instance's findings itself.
                os.rename(path, os.path.join(
                    self.log_dir, "fuzz-" + os.path.basename(path)))
        return "\n".join(found) if found else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True):
        """SIGTERM; -> problems [(signature, detail)]."""
        if self.proc is None:
            return []
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append(("shutdown:ignored-sigterm",
                                 "did not exit within 30 s of SIGTERM"))
        rc = self.proc.returncode
        if check and rc != 0 and not problems:
            problems.append((f"shutdown:exit-{rc}",
                             f"exited {rc} after SIGTERM (want 0)"))
        if check and "shutdown timeout: abandoning requests" in \
                self.log_text():
            line = [x for x in self.log_text().splitlines()
                    if "shutdown timeout: abandoning" in x][-1]
            problems.append(("shutdown:abandoned-requests",
                             "requests were still in flight 5 s after "
                             f"SIGTERM though every client had gone: {line}"))
        if check:
            rep = self.sanitizer_report()
            if rep:
                problems.append((sanitizer_signature(rep), rep[-3000:]))
        self.proc = None
        return problems


def sanitizer_signature(report):
    m = re.search(r"SUMMARY: (\w+Sanitizer): ([^\n]*)", report)
    if m:
        summary = re.sub(r"\S*/", "", m.group(2))  # no directories
        return f"sanitizer:{m.group(1)}:{summary[:100]}"
    m = re.search(r"runtime error: ([^\n]*)", report)
    return "sanitizer:" + (m.group(1)[:100] if m else "report")


class Db:
    """A long-lived psql on the superuser DSN: a checksum costs ~1 ms."""

    # Any INSERT or UPDATE leaves a row version with a newer xmin, and a
    # DELETE lowers the count: (count, newest xmin) per table tells whether
    # a table changed, without reading the rows' contents.
    SUM = "SELECT concat_ws(' ', " + ", ".join(
        f"(SELECT count(*) || '/' || coalesce(max(xmin::text::bigint), 0) "
        f"FROM {t})" for t in ("movies", "users", "users_permissions",
                               "tokens")) + ");"

    def __init__(self, dsn):
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["psql", dsn, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, bufsize=0)

    def query(self, sql):
        """-> psql's output lines; SystemExit on an error."""
        with self.lock:
            self.proc.stdin.write(sql.encode() + b"\n\\echo __fuzz_end__\n")
            lines = []
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    raise SystemExit("http_fuzz: psql exited: " +
                                     b"".join(lines).decode())
                if line.strip() == b"__fuzz_end__":
                    break
                lines.append(line.decode("utf-8", "replace").rstrip("\n"))
        if any(re.match(r"(psql:|ERROR:|FATAL:)", x) for x in lines):
            raise SystemExit("http_fuzz: SQL failed: " + "\n".join(lines))
        return lines

    def checksum(self):
        return "".join(self.query(self.SUM))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def fixture_sql():
    toks = ", ".join(f"('{p}', '{u}', '{s}')" for p, u, s in TOKENS)
    movies = ", ".join(f"({i}, '{t}', {y}, {r}, '{g}', 1)"
                       for i, t, y, r, g in MOVIES)
    return f"""
BEGIN;
-- The other users share the admin's (real, Argon2id) password hash.
INSERT INTO users (name, email, password_hash, activated)
    SELECT v.name, v.email, a.password_hash, v.activated
    FROM (VALUES ('Fuzz Reader', '{READER}', true),
                 ('Fuzz Inactive', '{INACTIVE}', false))
         AS v(name, email, activated),
         users a WHERE a.email = '{ADMIN}'
    ON CONFLICT (email) DO NOTHING;
UPDATE users SET password_hash = a.password_hash
    FROM users a WHERE a.email = '{ADMIN}'
    AND users.email IN ('{READER}', '{INACTIVE}')
    AND users.password_hash <> a.password_hash;
UPDATE users SET activated = (email <> '{INACTIVE}')
    WHERE email IN ('{ADMIN}', '{READER}', '{INACTIVE}')
    AND activated <> (email <> '{INACTIVE}');
INSERT INTO users_permissions
    SELECT u.id, p.id FROM users u, permissions p
    WHERE u.email = '{ADMIN}'
       OR (u.email IN ('{READER}', '{INACTIVE}') AND p.code = 'movies:read')
    ON CONFLICT DO NOTHING;
INSERT INTO tokens (hash, user_id, expiry, scope)
    SELECT sha256(convert_to(t.plain, 'UTF8')), u.id,
           now() + interval '30 days', t.scope
    FROM (VALUES {toks}) AS t(plain, email, scope)
    JOIN users u ON u.email = t.email
    ON CONFLICT (hash) DO NOTHING;
INSERT INTO movies (id, title, year, runtime, genres, version) VALUES
    {movies}
    ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title,
        year = EXCLUDED.year, runtime = EXCLUDED.runtime,
        genres = EXCLUDED.genres, version = 1
    WHERE (movies.title, movies.year, movies.runtime, movies.genres,
           movies.version) IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.year,
           EXCLUDED.runtime, EXCLUDED.genres, 1);
COMMIT;
"""


class Fixture:
    """Users, tokens and movies the corpus names (see the constants)."""

    def __init__(self, db, server):
        self.db = db
        self.server = server
        self.sql = fixture_sql()

    def ensure(self):
        if self.db.query(f"SELECT count(*) FROM users WHERE email = "
                         f"'{ADMIN}';") == ["0"]:
            # The admin logs in with a password: register it through the
            # API so the hash is the server's own.
            body = json.dumps({"name": "Fuzz Admin", "email": ADMIN,
                               "password": PASSWORD}).encode()
            req = (b"POST /v1/users HTTP/1.1\r\nHost: fuzz\r\n"
                   b"Content-Type: application/json\r\nConnection: close\r\n"
                   b"Content-Length: " + str(len(body)).encode() +
                   b"\r\n\r\n" + body)
            with socket.create_connection(("127.0.0.1", self.server.port),
                                          timeout=30) as s:
                s.sendall(req)
                reply = b""
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    reply += c
            if not reply.startswith(b"HTTP/1.1 202 "):
                raise SystemExit("http_fuzz: could not register the fuzz "
                                 f"admin: {show(reply)}")
        self.db.query(self.sql)

# ===========================================================================
# Talking to the server
# ===========================================================================


class Exchange:
    """One case on one connection: start() sends (and waits briefly);
    finish() waits up to the case's deadline, probes, and checks."""

    def __init__(self, case, port, baseline=None):
        self.case = case
        self.port = port
        self.baseline = baseline or {}
        self.data = case.data
        self.ref = ref_parse(self.data)
        # The methods, to know which responses have no body (HEAD): the
        # first word of each request the case put together, else of each
        # request the reference parser found.
        starts = case.params.get("starts") or self.ref.starts or [0]
        self.methods = [self.data[k:k + 64].lstrip(b"\r\n").split(b" ", 1)[0]
                        for k in starts]
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        self.send_error = None
        self.t0 = None
        self.t_last = None
        self.closed_at = None
        self.sock = None
        self.resps = []
        self.parse_error = None
        self.probe_sent = False
        self.violations = []   # (invariant, signature, detail)
        self.connect_error = None
        self.timed_out = False

    def wait_class(self):
        """Cases the server treats alike while it keeps them waiting."""
        ref = self.ref
        why = ref.why if ref.verdict in ("invalid", "incomplete") else ""
        return f"{ref.verdict}/{why}/{self.case.expect.get('what', '')}"

    # -- plumbing -----------------------------------------------------------
    def connect(self, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", self.port))
        except OSError as e:
            s.close()
            self.connect_error = str(e)
            return False
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        return True

    def send(self, data, deadline):
        if self.send_error or not data:
            return
        if self.t0 is None:
            self.t0 = time.monotonic()
        self.sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            self.sock.sendall(data)
        except socket.timeout:
            self.send_error = "the server stopped reading"
        except OSError as e:
            self.send_error = errno.errorcode.get(e.errno, str(e))
        self.t_last = time.monotonic()

    def pump(self, until):
        """Read once (up to `until`); False when nothing more can come."""
        if self.eof:
            return False
        left = until - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            return False
        except OSError:
            chunk = b""
            self.reset = True
        if not chunk:
            self.eof = True
            self.closed_at = time.monotonic()
            return False
        self.buf += chunk
        return True

    def parse(self, methods=None):
        self.resps, _, self.parse_error = parse_responses(
            bytes(self.buf), methods or self.methods, self.eof)
        return self.resps

    def wait(self, want, until, methods=None):
        """Read until `want` responses, EOF, a parse error or `until`."""
        while True:
            self.parse(methods)
            if len(self.resps) >= want or self.parse_error or self.eof:
                return
            if not self.pump(until):
                self.parse(methods)
                return

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    # -- what to expect -----------------------------------------------------
    def want(self):
        ref = self.ref
        if ref.verdict in ("ok", "dup-cl"):
            n = len(ref.requests)
            if ref.closes_after is not None:
                n = ref.closes_after + 1
            return max(n, 1)
        return 1

    def read_deadline(self):
        return (self.t0 or time.monotonic()) + READ_TIMEOUT + SLACK

    def answer_deadline(self):
        """A complete request must be answered by then."""
        seed_time = self.baseline.get("time", 0.2)
        return (self.t_last or time.monotonic()) + max(10.0, 5 * seed_time)

    # -- running ------------------------------------------------------------
    def start(self, quick):
        """Connect, send, wait `quick` seconds for the answers. Returns
        True when finish() would have to wait longer (the server is silent
        so far)."""
        c = self.case
        if not self.connect(c.params.get("rcvbuf")):
            return False
        for data, pause in c.segments:
            self.send(data, time.monotonic() + 10)
            if pause:
                self.sleep_watching(pause)
        if c.shut_wr and not self.send_error:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if quick <= 0:
            return True
        self.wait(self.want(), time.monotonic() + quick)
        return not self.buf and not self.eof

    def sleep_watching(self, pause):
        """Sleep, noticing if the server closes meanwhile."""
        until = time.monotonic() + pause
        while time.monotonic() < until and not self.eof:
            self.pump(until)

    def finish(self):
        c = self.case
        if self.sock is None:
            self.violations.append(
                ("health", "connect-failed", f"connect: {self.connect_error}"))
            return self.violations
        try:
            if c.kind == "slowloris":
                self.run_slowloris()
            elif c.kind == "idle":
                self.run_idle()
            elif c.kind == "write":
                self.run_write()
            else:
                self.run_answer()
        finally:
            self.close()
        return self.violations

    # Verdicts for which RFC 9112 or the contract name the answer.
    PRESCRIBED = ("te", "bad-cl", "ws-colon", "too-large")

    def run_answer(self):
        ref, c = self.ref, self.case
        if ref.verdict in ("ok", "dup-cl") and ref.complete:
            until = self.answer_deadline()
        else:
            until = self.read_deadline()
        self.wait(self.want(), until)
        prescribed = (ref.verdict in self.PRESCRIBED and ref.index == 0) or \
            bool(c.expect)
        if not self.resps and not self.eof and not self.parse_error:
            self.timed_out = True
            if prescribed:
                pass  # check_responses names what was due
            elif not ref.complete:
                phase = ref.why if ref.verdict == "incomplete" else \
                    ref.verdict
                self.v("answer", f"read-timeout:{phase}",
                       f"the connection was still open and silent "
                       f"{until - self.t0:.1f} s after the first byte of an "
                       f"unfinished request (-read-timeout "
                       f"{READ_TIMEOUT:g}s)")
            elif ref.verdict in ("ok", "dup-cl"):
                self.v("answer", "unanswered:complete-request",
                       f"no answer {until - self.t_last:.0f} s after a "
                       "complete request")
            else:
                why = ":" + ref.why if ref.verdict == "invalid" else ""
                self.v("answer", f"read-timeout:{ref.verdict}{why}",
                       f"the connection was still open and silent "
                       f"{until - self.t0:.1f} s after the first byte of a "
                       f"request RFC 9112 calls {ref.verdict} ({ref.why})")
        elif self.eof and not self.resps and ref.verdict == "ok" and \
                ref.complete and ref.requests and not c.shut_wr and \
                not self.send_error and not prescribed:
            # (ref.requests empty: nothing was sent — a mutation cut the
            # request at byte 0 — so there was nothing to answer.)
            # More parameters than libmicrohttpd's connection pool holds:
            # it never answers, and the read deadline closes the connection
            # (README, "Sizes"): a signature of its own, so KNOWN can name
            # it without hiding other unanswered requests.
            many = bool(ref.requests) and \
                query_params(ref.requests[0][1]) > MAX_PARAMS
            self.v("answer", "closed-without-answer" +
                   (":pool-params" if many else ""),
                   "the server closed the connection without answering a "
                   "well-formed request")
        self.check_responses()
        if not self.violations:
            self.probe()

    def probe(self):
        """After a keep-alive exchange whose framing is known, the stream
        must be in sync: a probe gets the healthcheck's 200 and nothing
        else comes before it."""
        ref = self.ref
        want = self.want()
        if ref.verdict not in ("ok", "dup-cl") or not ref.complete or \
                ref.closes_after is not None or self.eof or \
                self.send_error or self.case.shut_wr or \
                len(self.resps) != want or self.resps[-1].closes():
            return
        self.probe_sent = True
        self.send(PROBE, time.monotonic() + 5)
        if self.send_error:
            return
        methods = self.methods + [b"GET"]
        self.wait(want + 1, time.monotonic() + 5, methods)
        if len(self.resps) <= want:
            if not self.eof and not self.parse_error:
                self.v("framing", "desync:probe-unanswered",
                       "a healthcheck sent after the last response got no "
                       "answer (the server still reads the previous "
                       "request?)")
            return
        # Read to the end: the probe said Connection: close.
        while self.pump(time.monotonic() + 2):
            pass
        self.parse(methods)
        extra = len(self.resps) - (want + 1)
        probe = self.resps[want]
        if probe.status != 200 or b'"available"' not in probe.body:
            self.v("framing", f"desync:probe-got-{probe.status}",
                   f"a healthcheck sent after the last response got "
                   f"{probe.status}: {show(probe.raw, 200)}")
        elif extra > 0:
            self.v("framing", "desync:extra-response",
                   f"{extra} response(s) more than requests were sent")

    def check_responses(self):
        ref, c = self.ref, self.case
        if self.parse_error:
            what = re.sub(r"[^A-Za-z ]", "", self.parse_error.split(":")[0]
                          .split(" b'")[0].split(' b"')[0]).strip()
            self.v("answer", f"malformed-response:{what}",
                   f"unparsable response stream: {self.parse_error}")
        for i, r in enumerate(self.resps):
            m = self.methods[i] if i < len(self.methods) else b"GET"
            for inv, sig, detail in check_response(r, m):
                self.v(inv, sig, detail)
        framed = ref.verdict in ("ok", "dup-cl") and ref.complete
        if framed and len(self.resps) > len(ref.requests):
            self.v("framing", "desync:extra-response",
                   f"{len(self.resps)} responses to {len(ref.requests)} "
                   "request(s)")
        first = self.resps[0] if self.resps else None
        # Pipelined sentinels get their own answers (when the requests are
        # the ones the case put together).
        if framed and ref.starts == c.params.get("starts", [0]) and \
                self.resps:
            for idx, status in sorted(c.sentinels.items()):
                if idx < len(self.resps):
                    got = self.resps[idx].status
                    if got != status:
                        self.v("framing", "pipeline:sentinel-status",
                               f"pipelined request #{idx + 1} got {got}, "
                               f"alone it gets {status}")
                elif not self.eof:
                    self.v("framing", "pipeline:sentinel-unanswered",
                           f"pipelined request #{idx + 1} got no answer")
        # What RFC 9112 and the contract prescribe.
        v = ref.verdict if ref.index == 0 else None
        head = bool(self.methods) and self.methods[0] == b"HEAD"
        if v == "te":
            # A response to HEAD has no body (RFC 9110 §9.3.2).
            if first is None or first.status != 501 or (
                    error_json(first) != "unsupported transfer encoding"
                    if not head else bool(first.body)):
                self.v("framing", "te-not-501:" + self.got_class(first),
                       f"Transfer-Encoding: {ref.why} must get 501 "
                       "{\"error\": \"unsupported transfer encoding\"}, got "
                       + self.got(first, True))
        elif v == "bad-cl":
            if first is None or first.status != 400:
                self.v("framing", "bad-content-length-not-400:" +
                       self.got_class(first),
                       f"Content-Length: {ref.why} must get 400 and a close, "
                       "got " + self.got(first, True))
            elif not self.closed_after(first):
                self.v("framing", "bad-content-length-kept-open",
                       "400 for an invalid Content-Length, but the "
                       "connection stayed open")
        elif v == "cl+te":
            if first is not None and not self.closed_after(first):
                self.v("framing", "cl+te-kept-open:" + self.got_class(first),
                       "a request with Content-Length and Transfer-Encoding "
                       f"got {first.status} and the connection stayed open "
                       "(RFC 9112 §6.3: MUST close)")
        elif v == "ws-colon":
            if first is None or first.status not in (400, 414, 431):
                self.v("framing", "ws-before-colon-not-400:" +
                       self.got_class(first),
                       f"whitespace before the colon of {ref.why!r} must "
                       "get a 400 (RFC 9112 §5.1), got " +
                       self.got(first, True))
        elif v == "too-large":
            want_err = {414: "the request URI is too long",
                        431: "the request header fields are too large"}
            # A response to HEAD has no body (RFC 9110 §9.3.2): its
            # status and Connection: close are what can be checked.
            if first is None or first.status not in want_err or \
                    (not head and
                     error_json(first) != want_err[first.status]) or \
                    (head and first.body) or not first.closes():
                self.v("framing", "too-large-not-414-431:" +
                       self.got_class(first),
                       f"a request head of {ref.why} must get 414/431 JSON "
                       "with Connection: close, got " + self.got(first, True))
        if framed and first is not None and "served" not in c.expect:
            head_len = ref.requests[0][2]
            params = query_params(ref.requests[0][1])
            if head_len <= HEAD_LIMIT - HEAD_MARGIN and \
                    params <= MAX_PARAMS and first.status in (413, 414, 431):
                self.v("framing", "head-within-limit-refused:" +
                       self.got_class(first),
                       f"a request head of {head_len} bytes with {params} "
                       f"query parameters got {first.status} (up to 64 KiB "
                       "and 1,000 parameters are served)")
        # Targeted expectations.
        e = c.expect
        what = e.get("what", "expect")
        if "status_in" in e:
            if first is None or first.status not in e["status_in"]:
                self.v("expect", f"{what}:" + self.got_class(first),
                       f"expected {e['status_in']} ({e.get('why', '')}), got "
                       + self.got(first, True))
        elif "served" in e:
            if first is None or first.status != e["served"]:
                self.v("expect", f"{what}:" + self.got_class(first),
                       f"expected {e['served']} as without the mutation "
                       f"({e.get('why', '')}), got " + self.got(first, True))
        elif e.get("refused"):
            if first is not None and first.status < 400:
                self.v("expect", f"{what}:" + self.got_class(first),
                       f"{e.get('why', 'a malformed request')} was accepted: "
                       f"{first.status}")

    def closed_after(self, resp):
        if resp.closes():
            return True
        if not self.eof:
            self.pump(time.monotonic() + 1.0)
        return self.eof

    def got_class(self, resp):
        """What happened, coarsely enough that one server behaviour gives
        one signature whatever the seed: open, closed, mhd-<status> (an
        error page the HTTP library wrote, not JSON), app-<class> (the
        application answered: the request went through), or app-error-
        <status> for a JSON error this layer could have written."""
        if resp is None:
            # More parameters than libmicrohttpd's connection pool holds
            # go unanswered whatever else is wrong with the request
            # (README, "Sizes"): that cause gets a signature of its own.
            many = bool(self.ref.requests) and \
                query_params(self.ref.requests[0][1]) > MAX_PARAMS
            return ("closed" if self.eof else "open") + \
                (":pool-params" if many else "")
        ctype = (resp.header(b"content-type") or b"").lower()
        if resp.status >= 400 and not ctype.startswith(b"application/json"):
            return f"mhd-{resp.status}"
        if resp.status in (400, 413, 414, 431, 501, 505):
            return f"app-error-{resp.status}"
        return f"app-{resp.status // 100}xx"

    def got(self, resp, long=False):
        if resp is None:
            if self.eof:
                return "closed without a response" if long else "closed"
            return (f"no response, connection open after "
                    f"{time.monotonic() - self.t0:.1f} s") if long else "open"
        if not long:
            return str(resp.status)
        return f"{resp.status} {show(resp.body, 120)}"

    def v(self, invariant, signature, detail):
        self.violations.append((invariant, signature, detail))

    # -- slow kinds ----------------------------------------------------------
    def run_slowloris(self):
        """A header byte every 0.5 s, for ever: the server must close by
        the read deadline, counted from the first byte."""
        give_up = self.read_deadline() + 1.0
        while time.monotonic() < give_up and not self.eof:
            self.send(b"a", give_up)
            if self.send_error:
                break
            self.sleep_watching(0.5)
        end = self.closed_at or time.monotonic()
        self.parse()
        if not self.eof and not self.send_error:
            self.v("answer", "slowloris:kept-open",
                   f"a request trickling one header byte every 0.5 s was "
                   f"still open {end - self.t0:.1f} s after its first byte "
                   f"(-read-timeout {READ_TIMEOUT:g}s)")
        self.check_responses()

    def run_idle(self):
        """A served request, then silence: closed by the idle timeout."""
        self.wait(1, time.monotonic() + 10)
        self.check_responses()
        if not self.resps or self.eof:
            return
        t_resp = time.monotonic()
        while self.pump(t_resp + IDLE_TIMEOUT + SLACK):
            pass
        if not self.eof:
            self.v("answer", "idle-timeout:kept-open",
                   f"an idle keep-alive connection was still open "
                   f"{IDLE_TIMEOUT + SLACK:g} s after its last response "
                   f"(-idle-timeout {IDLE_TIMEOUT:g}s)")

    def run_write(self):
        """Pipelined requests for a big document and no reading: the
        server must give up writing after the write timeout."""
        n = self.case.params["count"]
        time.sleep(WRITE_TIMEOUT + SLACK)
        self.methods = [b"GET"] * n
        while self.pump(time.monotonic() + 3):
            pass
        self.parse()
        if len(self.resps) >= n and not self.eof:
            self.v("answer", "write-timeout:kept-writing",
                   f"a client that read nothing for "
                   f"{WRITE_TIMEOUT + SLACK:g} s still got all {n} "
                   f"responses ({len(self.buf)} bytes) and the connection "
                   f"stayed open (-write-timeout {WRITE_TIMEOUT:g}s)")
        # Responses cut short by the server are expected here.
        self.parse_error = None
        for r in self.resps:
            for inv, sig, detail in check_response(r, b"GET"):
                self.v(inv, sig, detail)

# ===========================================================================
# The run
# ===========================================================================


class Findings:
    """Violations by signature; cases saved under `root`."""

    def __init__(self, root, known_sigs, quiet=False):
        self.root = root
        self.known_sigs = known_sigs
        self.quiet = quiet
        self.by_sig = {}   # sig -> {"count", "invariant", "examples"}
        self.lock = threading.Lock()
        os.makedirs(root, exist_ok=True)

    def record(self, case, violations, x=None, extra=None):
        saved = []
        with self.lock:
            for inv, sig, detail in violations:
                ent = self.by_sig.setdefault(
                    sig, {"count": 0, "invariant": inv, "examples": []})
                ent["count"] += 1
                new = ent["count"] == 1
                if len(ent["examples"]) < SAVE_PER_SIGNATURE:
                    path = self.save(sig, ent["count"], inv, detail, case, x,
                                     extra)
                    ent["examples"].append(path)
                    saved.append(path)
                if new and not self.quiet:
                    tag = "known" if self.known(sig) else "NEW"
                    log(f"finding ({tag}) [{sig}] {inv}: {detail}")
                    if case is not None:
                        log(f"  case {case.name} from {case.seed}: "
                            f"{'; '.join(case.mutators)}")
                        log(f"  sent {show(case.data, 300)}")
                    if x is not None and x.buf:
                        log(f"  got  {show(bytes(x.buf), 300)}")
        return saved

    def save(self, sig, n, inv, detail, case, x, extra):
        slug = re.sub(r"[^A-Za-z0-9.-]+", "-", sig).strip("-")[:60] + "-" + \
            hashlib.sha1(sig.encode()).hexdigest()[:6]
        d = os.path.join(self.root, slug)
        os.makedirs(d, exist_ok=True)
        name = f"{slug}-{n}"
        obj = {"name": name, "signature": sig, "invariant": inv,
               "expect": detail, "case": case.to_json() if case else None}
        if x is not None:
            obj["observed"] = {"response": encode_bytes(bytes(x.buf)[:65536]),
                               "closed": x.eof,
                               "seconds": round((x.closed_at or
                                                 time.monotonic()) -
                                                (x.t0 or time.monotonic()),
                                                2)}
        if extra:
            obj["extra"] = extra
        with open(os.path.join(d, f"{n}.json"), "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
        if case is not None:
            with open(os.path.join(d, f"{n}.request.bin"), "wb") as f:
                f.write(case.data)
        if x is not None:
            with open(os.path.join(d, f"{n}.response.bin"), "wb") as f:
                f.write(bytes(x.buf))
        return os.path.join(d, f"{n}.json")

    def known(self, sig):
        """sig is listed, or matches a listed "prefix*" pattern."""
        return any(sig == k or (k.endswith("*") and sig.startswith(k[:-1]))
                   for k in self.known_sigs)

    def new_sigs(self):
        return sorted(s for s in self.by_sig if not self.known(s))

    def summary(self):
        lines = []
        for sig in sorted(self.by_sig):
            e = self.by_sig[sig]
            tag = "known" if self.known(sig) else "NEW  "
            lines.append(f"{tag} {e['count']:6d}  {sig}  "
                         f"({e['examples'][0] if e['examples'] else '-'})")
        with open(os.path.join(self.root, "summary.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return lines


class Runner:
    def __init__(self, args):
        self.args = args
        self.log_dir = args.log_dir or args.findings
        os.makedirs(self.log_dir, exist_ok=True)
        self.server = Server(args.server_cmd, self.log_dir)
        self.db = None
        self.fixture = None
        self.slow_sem = threading.Semaphore(SLOW_SLOTS)
        self.slow_threads = []
        self.generation = 0  # bumped at each server restart
        self.dirty = False
        self.lock = threading.Lock()
        self.waits = {}      # wait class -> cases that waited in vain
        self.skipped = 0
        self.blocked = 0.0   # seconds the main lane waited for a slot

    # -- server life ----------------------------------------------------------
    def start(self):
        self.server.start()
        for note in self.server.notes:
            log("note:", note)
        self.db = Db(self.args.admin_dsn)
        self.fixture = Fixture(self.db, self.server)
        self.fixture.ensure()

    def restart(self):
        self.drain()
        self.server.stop(check=False)
        self.generation += 1
        self.server.start()

    def drain(self):
        for t in self.slow_threads:
            t.join()
        self.slow_threads = []

    def check_server(self, findings, case, x=None):
        """Alive and no sanitizer report; restarts it when it died.
        -> True when something was wrong."""
        rep = self.server.sanitizer_report()
        alive = self.server.alive()
        if rep is None and alive:
            return False
        inflight = [t.case.to_json() for t in self.slow_threads
                    if t.is_alive()]
        viol = []
        if rep:
            viol.append(("health", sanitizer_signature(rep), rep[-3000:]))
        if not alive:
            rc = self.server.proc.poll()
            viol.append(("health", f"crash:exit-{rc}",
                         f"the server exited {rc}; last log lines: " +
                         "\n".join(self.server.log_text().splitlines()[-15:])))
        findings.record(case, viol, x, {"in_flight_background_cases":
                                        inflight})
        if not alive:
            self.restart()
            self.fixture.ensure()
        return True

    # -- one case ------------------------------------------------------------
    def run_case(self, case, findings, background=True, baseline=None):
        """Runs case. Main-lane cases (kind fast or stall) are sent here and
        checked against the database when the server answers (or closes)
        at once; when it keeps quiet, the deadline is watched in the
        background, unless (background=True) two cases of the same kind
        already waited in vain: then the connection is dropped and counted
        in self.skipped, so an unenforced deadline cannot eat the budget."""
        if case.kind == "shutdown":
            self.run_shutdown(case, findings)
            return
        if case.kind not in ("fast", "stall"):
            if background:
                self.run_background(case, findings, baseline)
                return
            x = Exchange(case, self.server.port, baseline)
            x.start(0)
            self.finish(case, x, findings)
            self.check_server(findings, case, x)
            return
        before = self.db.checksum()
        x = Exchange(case, self.server.port, baseline)
        if x.ref.complete:
            quick = max(0.4, 5 * (baseline or {}).get("time", 0.1))
        else:
            quick = 0.15
        silent = x.start(quick)
        if silent and background:
            with self.lock:
                saturated = self.waits.get(x.wait_class(), 0) >= 2
            if saturated:
                x.close()
                self.skipped += 1
            else:
                self.run_background(case, findings, baseline, x)
            self.check_server(findings, case)
            return
        viol = x.finish()
        after = self.db.checksum()
        if after != before:
            self.dirty = True
            if not any(200 <= r.status < 300 for i, r in enumerate(x.resps)
                       if i not in case.sentinels):
                method = (x.methods[0] if x.methods else b"?")[:16]
                viol.append(("database",
                             "db-changed-without-2xx:" +
                             method.decode("latin-1"),
                             "the movies/users/tokens tables changed though "
                             "no request got a 2xx (statuses: "
                             f"{[r.status for r in x.resps]})"))
        self.check_server(findings, case, x)
        if viol:
            findings.record(case, self.explain(viol), x,
                            {"server_log": self.server.last_log[-4000:]})

    def explain(self, viol):
        """A 500 whose cause the server logged: say which in the
        signature (a statement timeout comes from a loaded machine or a
        locked row, not from the bytes)."""
        causes = []
        for line in self.server.last_log.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") == "ERROR" \
                    and entry.get("message") != "http server":
                causes.append(str(entry.get("message"))[:60])
        out = []
        for inv, sig, detail in viol:
            if sig.startswith("status-500:") and causes:
                sig = "status-500:" + causes[0]
            out.append((inv, sig, detail))
        return out

    def run_shutdown(self, case, findings):
        """SIGTERM while a client holds a connection with case's bytes:
        the server must exit 0 with no sanitizer report, within its
        -shutdown-timeout (+ slack); then it is started again."""
        self.drain()
        x = Exchange(case, self.server.port)
        x.start(0)
        time.sleep(0.3)
        t = time.monotonic()
        problems = self.server.stop()
        took = time.monotonic() - t
        x.close()
        if took > 5 + SLACK + 1 and not problems:
            problems.append(("shutdown:slow", f"took {took:.1f} s"))
        if problems:
            findings.record(case, [("health", sig, detail)
                                   for sig, detail in problems], x,
                            {"server_log": self.server.log_text()[-4000:]})
        self.generation += 1
        self.server.start()

    def finish(self, case, x, findings):
        viol = x.finish()
        if viol:
            findings.record(case, viol, x)

    def run_background(self, case, findings, baseline, x=None):
        t = time.monotonic()
        self.slow_sem.acquire()
        self.blocked += time.monotonic() - t
        gen = self.generation
        port = self.server.port

        def job():
            try:
                ex = x or Exchange(case, port, baseline)
                if x is None:
                    ex.start(0)
                viol = ex.finish()
                if ex.timed_out:
                    with self.lock:
                        cls = ex.wait_class()
                        self.waits[cls] = self.waits.get(cls, 0) + 1
                if viol and gen == self.generation:
                    findings.record(case, viol, ex)
            except Exception as e:  # a bug here must not hang the run
                findings.record(case, [("fuzzer", "fuzzer-error",
                                        repr(e))])
            finally:
                self.slow_sem.release()

        t = threading.Thread(target=job, daemon=True)
        t.case = case
        t.start()
        self.slow_threads = [s for s in self.slow_threads if s.is_alive()]
        self.slow_threads.append(t)

    def health(self, findings, last_case):
        if self.server.healthy(timeout=5):
            return
        if self.check_server(findings, last_case):
            return
        findings.record(last_case, [(
            "health", "unhealthy",
            "GET /v1/healthcheck on a fresh connection did not answer 200 "
            "within 5 s after this batch")])

    # -- phases --------------------------------------------------------------
    def baseline(self, seeds, findings):
        """Each seed alone, unchanged: its status and time."""
        for s in seeds:
            self.fixture.ensure()
            case = Case("fast", [(s.data, 0)], name=f"seed-{s.name}",
                        seed=s.name, readonly=s.readonly)
            before = self.db.checksum()
            x = Exchange(case, self.server.port)
            t = time.monotonic()
            x.start(30)
            viol = x.finish()
            s.time = time.monotonic() - t
            s.status = x.resps[0].status if x.resps else None
            s.weight = 1.0 / max(1.0, s.time / 0.1)
            if s.readonly and self.db.checksum() != before:
                viol.append(("database", "db-changed-by-read",
                             f"{s.name} changed the database"))
            if viol:
                findings.record(case, viol, x)
            self.check_server(findings, case, x)
            log(f"seed {s.name}: {s.status} in {s.time * 1000:.0f} ms")
        self.fixture.ensure()

    def fuzz(self, seeds, findings):
        a = self.args
        gen = Generator(a.seed, seeds)
        baselines = {s.name: {"time": s.time, "status": s.status}
                     for s in seeds}
        t_end = time.monotonic() + a.seconds
        # A tour first: each slow kind once, whatever the budget.
        tour = [gen.slow(random.Random(f"{a.seed}/tour/{k}"), k)
                for k in ("slowloris", "idle", "write", "stall", "dribble",
                          "pause")]
        for k, c in enumerate(tour):
            c.name = f"s{a.seed}-tour{k}-{c.kind}"
            self.run_case(c, findings, baseline=baselines.get(c.seed))
        n = 0
        last = tour[-1]
        while n < a.cases and time.monotonic() < t_end:
            if n % BATCH == 0 or self.dirty:
                self.fixture.ensure()
                self.dirty = False
            case = gen.case(n)
            last = case
            self.run_case(case, findings, baseline=baselines.get(case.seed))
            n += 1
            if n % BATCH == 0:
                self.health(findings, last)
            if n % 500 == 0:
                log(f"{n} cases, {len(findings.by_sig)} signatures, "
                    f"{t_end - time.monotonic():.0f} s left")
        self.drain()
        self.health(findings, last)
        # Last, a shutdown with a client still connected.
        c = gen.slow(random.Random(f"{a.seed}/shutdown"), "shutdown")
        c.name = f"s{a.seed}-shutdown"
        self.run_case(c, findings)
        return n

    def replay(self, paths, findings, known_names):
        """-> (passed, failed, known, fixed) over the saved cases."""
        results = [0, 0, 0, 0]
        for path in paths:
            with open(path) as f:
                obj = json.load(f)
            name = obj.get("name") or os.path.basename(path)[:-5]
            case = Case.from_json(obj["case"], name)
            self.fixture.ensure()
            sub = Findings(os.path.join(findings.root, "replay", name),
                           set(), quiet=True)
            self.run_case(case, sub, background=False)
            self.check_server(sub, case)
            failed = list(sub.by_sig)
            if not self.server.healthy(timeout=5):
                failed.append("unhealthy")
            is_known = name in known_names
            if failed and is_known:
                results[2] += 1
                log(f"replay {name}: known failure ({', '.join(failed)})")
            elif failed:
                results[1] += 1
                log(f"replay {name}: FAILED ({', '.join(failed)}) — "
                    f"expected: {obj.get('expect', '')}")
                for sig, ent in sub.by_sig.items():
                    log(f"  {sig}: see {ent['examples'][0]}"
                        if ent["examples"] else f"  {sig}")
                findings.record(case, [("replay", s, f"replay of {path}")
                                       for s in failed])
            elif is_known:
                results[0] += 1
                results[3] += 1
                log(f"replay {name}: passes now; remove it from KNOWN")
            else:
                results[0] += 1
                log(f"replay {name}: ok")
        return results


def find_cases(root):
    """Saved cases: root itself (a .json file) or the *.json under it."""
    if os.path.isfile(root):
        return [root]
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".json"):
                p = os.path.join(d, f)
                try:
                    with open(p) as fh:
                        obj = json.load(fh)
                except ValueError:
                    continue
                if isinstance(obj, dict) and obj.get("case"):
                    out.append(p)
    return sorted(out)


def read_known(path, regressions):
    """KNOWN lists regression case names; -> (names, their signatures)."""
    names = set()
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    names.add(line)
    sigs = set()
    for p in find_cases(regressions) if regressions else []:
        with open(p) as f:
            obj = json.load(f)
        if obj.get("name") in names:
            # "signatures": more ways the same bug shows in a fuzz run.
            sigs.update(obj.get("signatures") or [obj.get("signature")])
    sigs.discard(None)
    return names, sigs


def main():
    ap = argparse.ArgumentParser(
        description="Raw-socket fuzzer of Redlight's HTTP layer.")
    ap.add_argument("--server-cmd", default=os.environ.get(
        "REDLIGHT_SERVER_CMD"), help="shell-quoted command that starts the "
        "server (without -port); default $REDLIGHT_SERVER_CMD")
    ap.add_argument("--admin-dsn", default=os.environ.get(
        "REDLIGHT_TEST_ADMIN_DSN"), help="superuser DSN of the server's "
        "database; default $REDLIGHT_TEST_ADMIN_DSN")
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--seed", type=int, default=None,
                    help="default: random (printed)")
    ap.add_argument("--seconds", type=float, default=0,
                    help="fuzz this long (0: no fuzzing)")
    ap.add_argument("--cases", type=int, default=10 ** 9,
                    help="at most this many cases")
    ap.add_argument("--findings", default="build/fuzz-http",
                    help="where failing cases are saved")
    ap.add_argument("--log-dir", help="server logs (default: --findings)")
    ap.add_argument("--replay", action="append", default=[],
                    help="rerun the saved cases (*.json) under DIR (or the "
                    "file DIR) first")
    ap.add_argument("--known", help="file of known-failing regression "
                    "names (tests/fuzz/regressions/KNOWN)")
    ap.add_argument("--regressions", default=os.path.join(HERE,
                                                          "regressions"),
                    help="where the names in --known are")
    args = ap.parse_args()
    if not args.server_cmd or not args.admin_dsn:
        ap.error("--server-cmd and --admin-dsn (or REDLIGHT_SERVER_CMD and "
                 "REDLIGHT_TEST_ADMIN_DSN) are required")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 10 ** 6)
    known_names, known_sigs = read_known(args.known, args.regressions)
    findings = Findings(args.findings, known_sigs)
    runner = Runner(args)
    runner.start()
    status = 0
    try:
        if args.replay:
            paths = [p for d in args.replay for p in find_cases(d)]
            p, f, k, fixed = runner.replay(paths, findings, known_names)
            log(f"RESULT phase=replay passed={p} failed={f} known={k} "
                f"fixed={fixed}")
            status |= f > 0
        if args.seconds > 0:
            seeds = load_corpus(args.corpus)
            log(f"seed {args.seed}: {len(seeds)} corpus requests, up to "
                f"{args.seconds:g} s / {args.cases} cases, findings in "
                f"{args.findings}")
            before = set(findings.by_sig)
            runner.baseline(seeds, findings)
            t = time.monotonic()
            n = runner.fuzz(seeds, findings)
            elapsed = time.monotonic() - t
            for sig, detail in runner.server.stop():
                findings.record(None, [("health", sig, detail)])
            new = [s for s in findings.new_sigs() if s not in before]
            known = [s for s in findings.by_sig if findings.known(s)]
            for line in findings.summary():
                log(line)
            if runner.skipped:
                log(f"{runner.skipped} cases were dropped unwatched: two "
                    "of their kind had already waited past their deadline "
                    f"({', '.join(sorted(runner.waits))})")
            log(f"the main lane waited {runner.blocked:.0f} s for a "
                "background slot")
            log(f"seed {args.seed}: {n} cases in {elapsed:.0f} s "
                f"({n / max(elapsed, 1e-9):.1f}/s), "
                f"{len(findings.by_sig)} signatures, {len(new)} new")
            log(f"RESULT phase=fuzz passed={int(not new)} "
                f"failed={int(bool(new))} known={len(known)} cases={n} "
                f"seed={args.seed}")
            status |= bool(new)
    finally:
        runner.drain()
        problems = runner.server.stop()
        for sig, detail in problems:
            log(f"finding [{sig}]: {detail}")
        if runner.db:
            runner.db.close()
    return 1 if status or problems else 0


if __name__ == "__main__":
    sys.exit(main())
