"""systemd integration: Type=notify (sd_notify datagrams), the watchdog,
socket activation (LISTEN_FDS), and the unit files in remote/production.

No systemd needs to run: a Python AF_UNIX datagram socket stands in for
$NOTIFY_SOCKET, and Debian's systemd-socket-activate passes a listening
socket the way redlight.socket does.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import free_port
from test_mail import mail_db  # noqa: F401 (a fixture: a fresh database)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = os.path.join(ROOT, "remote", "production")


def server_cmd():
    cmd = os.environ.get("REDLIGHT_SERVER_CMD")
    if not cmd:
        pytest.skip("REDLIGHT_SERVER_CMD is not set (run the tests with "
                    "make test)")
    argv = shlex.split(cmd)
    argv[0] = shutil.which(argv[0]) or argv[0]  # `env`, by absolute path
    return argv


class NotifySocket:
    """A datagram socket in a temp dir (or the abstract namespace) that
    collects what the server sends with sd_notify."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"redlight-test-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
            self.dir = None
        else:
            self.dir = tempfile.mkdtemp(prefix="notify-")
            self.address = os.path.join(self.dir, "notify.sock")
            self.sock.bind(self.address)
        self.messages = []

    def wait_for(self, line, timeout=30.0):
        """Waits until a datagram containing the line `line` arrives;
        returns every datagram so far."""
        deadline = time.monotonic() + timeout
        while not any(line in m.split("\n") for m in self.messages):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no {line!r} within {timeout} s; got {self.messages}")
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        return self.messages

    def close(self):
        self.sock.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def log_path(name):
    logdir = os.environ.get("REDLIGHT_TEST_TMP") or tempfile.gettempdir()
    return os.path.join(logdir, f"{name}-{time.monotonic_ns()}.log")


def start(argv, env_extra, name):
    path = log_path(name)
    env = dict(os.environ, **env_extra)
    with open(path, "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
    return proc, path


def stop(proc, path):
    """SIGTERM; the server must exit 0 within 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"PID {proc.pid} ignored SIGTERM for 30 s")
    with open(path, encoding="utf-8", errors="replace") as f:
        log = f.read()
    assert rc == 0, f"exit {rc}:\n{log}"
    return log


def wait_listening(port, timeout=10.0):
    """Waits until 127.0.0.1:port accepts a connection. Under
    systemd-socket-activate (like redlight.socket) that first connection
    starts the server; it waits in the backlog meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "never listened"
            time.sleep(0.05)


def get_health(port):
    return requests.get(f"http://127.0.0.1:{port}/v1/healthcheck",
                        timeout=10)


@pytest.mark.parametrize("abstract", [False, True],
                         ids=["path", "abstract"])
def test_notify_ready_then_stopping(abstract):
    """READY=1 arrives once the server answers; STOPPING=1 after SIGTERM;
    nothing is sent before the listener is up."""
    notify = NotifySocket(abstract=abstract)
    port = free_port()
    proc, path = start(server_cmd() + ["-port", str(port)],
                       {"NOTIFY_SOCKET": notify.address}, "notify")
    try:
        msgs = notify.wait_for("READY=1")
        # READY=1 means the listener is up: the very next request works.
        assert get_health(port).status_code == 200
        assert msgs[0].split("\n")[0] == "READY=1"
        proc.send_signal(signal.SIGTERM)
        msgs = notify.wait_for("STOPPING=1")
        # Let the shutdown run its course: a second SIGTERM (from stop()
        # below, were the process still alive) would force exit 1.
        proc.wait(timeout=30)
        ready = [i for i, m in enumerate(msgs) if "READY=1" in m.split("\n")]
        stopping = [i for i, m in enumerate(msgs)
                    if "STOPPING=1" in m.split("\n")]
        assert len(ready) == 1 and len(stopping) == 1
        assert ready[0] < stopping[0]
        assert not any("WATCHDOG=1" in m for m in msgs), \
            "watchdog pings without WATCHDOG_USEC"
    finally:
        stop(proc, path)
        notify.close()


def test_watchdog_pings_every_half_interval():
    """With WATCHDOG_USEC=400000 the server pings every 200 ms."""
    notify = NotifySocket()
    port = free_port()
    proc, path = start(server_cmd() + ["-port", str(port)],
                       {"NOTIFY_SOCKET": notify.address,
                        "WATCHDOG_USEC": "400000"}, "watchdog")
    try:
        notify.wait_for("READY=1")
        pings = []
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            notify.sock.settimeout(max(end - time.monotonic(), 0.01))
            try:
                if notify.sock.recv(4096) == b"WATCHDOG=1":
                    pings.append(time.monotonic())
            except socket.timeout:
                pass
        # 1.5 s at a 200 ms period: 7 pings. The median gap is the period
        # (a loaded test machine may delay a single ping).
        assert 5 <= len(pings) <= 9, pings
        gaps = sorted(b - a for a, b in zip(pings, pings[1:]))
        assert 0.15 < gaps[len(gaps) // 2] < 0.3, gaps
    finally:
        stop(proc, path)
        notify.close()


def test_watchdog_for_another_pid_is_ignored():
    notify = NotifySocket()
    port = free_port()
    proc, path = start(server_cmd() + ["-port", str(port)],
                       {"NOTIFY_SOCKET": notify.address,
                        "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"},
                       "watchdog-pid")
    try:
        notify.wait_for("READY=1")
        time.sleep(0.5)
        assert "WATCHDOG=1" not in notify.messages
    finally:
        stop(proc, path)
        notify.close()


def test_socket_activation_serves_on_the_inherited_socket():
    """systemd-socket-activate binds the port and passes it as fd 3; the
    server serves there and does not bind -port (held busy here, so a
    server that tried to bind it would fail to start)."""
    tool = shutil.which("systemd-socket-activate")
    if tool is None:
        pytest.fail("systemd-socket-activate is missing (package systemd)")
    port = free_port()
    notify = NotifySocket()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        busy_port = busy.getsockname()[1]
        argv = [tool, "-l", f"127.0.0.1:{port}",
                "-E", f"NOTIFY_SOCKET={notify.address}",
                *server_cmd(), "-port", str(busy_port)]
        proc, path = start(argv, {}, "socket-activate")
        try:
            wait_listening(port)
            r = requests.get(f"http://127.0.0.1:{port}/v1/healthcheck",
                             timeout=30)
            assert r.status_code == 200
            notify.wait_for("READY=1")
            for _ in range(3):
                r = get_health(port)
                assert r.status_code == 200
                assert r.json()["status"] == "available"
        finally:
            log = stop(proc, path)
            notify.close()
    assert "listening on the socket passed by systemd" in log


def test_listen_fds_for_another_pid_is_ignored(spawn_server):
    """LISTEN_PID names another process (a parent's variables leaked into
    a child): the server binds -port as usual."""
    os.environ["LISTEN_PID"] = "1"
    os.environ["LISTEN_FDS"] = "1"
    try:
        inst = spawn_server()
    finally:
        del os.environ["LISTEN_PID"]
        del os.environ["LISTEN_FDS"]
    assert inst.anonymous().get("/v1/healthcheck").status_code == 200


def verify_clean(tmp_path, checked):
    """systemd-analyze verify prints nothing for checked (unit names, run in
    tmp_path, where the caller put the files) and `systemd-analyze security`
    rates checked[0]'s sandbox "OK" or better (exposure <= 2.0)."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing (package systemd)")
    proc = subprocess.run([tool, "verify", *checked],
                          cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", \
        proc.stdout + proc.stderr
    sec = subprocess.run([tool, "security", "--offline=true",
                          "--no-pager", checked[0]],
                         cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, check=False)
    line = [ln for ln in sec.stdout.splitlines()
            if "Overall exposure level" in ln]
    assert line, sec.stdout + sec.stderr
    level = float(line[0].split(":")[1].split()[0])
    assert level <= 2.0, line[0]


def unit_with_built_binary(tmp_path, source, name):
    """Copies the unit file source to tmp_path/name with ExecStart pointed
    at the built bin/api (see below); returns the unit's text."""
    binary = os.path.join(ROOT, "bin", "api")
    assert os.access(binary, os.X_OK), "bin/api is not built"
    with open(source, encoding="utf-8") as f:
        text = f.read()
    (tmp_path / name).write_text(text.replace("/usr/bin/redlight-api",
                                              binary))
    return text


def test_unit_files_verify_clean(tmp_path):
    """systemd-analyze verify prints nothing for redlight.service and
    redlight.socket.

    The unit names the installed binary, /usr/bin/redlight-api, which only
    exists on a production host; verify checks that ExecStart is
    executable, so the copy verified here points at the built bin/api and
    is otherwise byte for byte the file in remote/production. (verify does
    not look up User=, so the missing `redlight` user is not an issue.)"""
    service = unit_with_built_binary(
        tmp_path, os.path.join(UNITS, "redlight.service"), "redlight.service")
    assert "ExecStart=/usr/bin/redlight-api " in service
    shutil.copy(os.path.join(UNITS, "redlight.socket"),
                tmp_path / "redlight.socket")
    verify_clean(tmp_path, ["redlight.service", "redlight.socket"])


def test_fleet_template_unit_verifies_clean(tmp_path):
    """remote/fleet/redlight@.service, as redlight@4001.service: verify
    prints nothing (ExecStart pointed at bin/api, as above), the sandbox is
    as tight as redlight.service's, and the instance is the port."""
    unit = unit_with_built_binary(
        tmp_path, os.path.join(ROOT, "remote", "fleet", "redlight@.service"),
        "redlight@.service")
    assert "ExecStart=/usr/bin/redlight-api -port %i " in unit
    assert "EnvironmentFile=/etc/redlight/redlight.env" in unit
    assert "EnvironmentFile=-/etc/redlight/redlight@%i.env" in unit
    verify_clean(tmp_path, ["redlight@4001.service"])


def test_unit_contract():
    """The settings the deployment relies on are present."""
    with open(os.path.join(UNITS, "redlight.service"), encoding="utf-8") as f:
        text = f.read()
    settings = {}
    for ln in text.splitlines():
        if "=" in ln and not ln.startswith(("#", " ")):
            k, v = ln.split("=", 1)
            settings.setdefault(k, v)
    want = {
        "Type": "notify", "User": "redlight",
        "EnvironmentFile": "/etc/redlight/redlight.env",
        "Restart": "on-failure", "NoNewPrivileges": "yes",
        "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet": "",
        "SystemCallFilter": "@system-service",
    }
    for k, v in want.items():
        assert settings.get(k) == v, (k, settings.get(k))
    assert "WatchdogSec" in settings
    # No secret flag on the command line.
    code = "\n".join(ln for ln in text.splitlines()
                     if not ln.startswith("#"))
    for flag in ("-db-dsn", "-smtp-password", "-jwt-secret"):
        assert flag not in code, flag


# ---- redlight.env: one REDLIGHT_<FLAG>=value a line, read as systemd does ----

ENV_GENERATOR = "/usr/lib/systemd/user-environment-generators/" \
    "30-systemd-environment-d-generator"


def parse_environment_file(text):
    """The assignments of an EnvironmentFile=, in order, by the state
    machine of systemd's parse_env_file_internal (src/basic/env-file.c,
    systemd 252): comments start with # or ; at the start of a line;
    unquoted values keep inner white space, lose it at both ends, and take
    a backslash as an escape (a backslash-newline continues the line);
    '...' is literal; "..." unescapes \\" \\\\ \\` \\$ and keeps any other
    backslash; quoted and unquoted pieces join. No $VARIABLE expansion (a
    difference from environment.d). Keys that are not valid names are
    skipped, as systemd does."""
    ws, nl = " \t\n\r", "\n\r"
    out = []
    state, key, value, key_ws, value_ws = "pre_key", "", "", None, None

    def push():
        k = key if key_ws is None else key[:key_ws]
        v = value if value_ws is None or state != "value" \
            else value[:value_ws]
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            out.append((k, v))

    for c in text:
        if state == "pre_key":
            if c in "#;":
                state = "comment"
            elif c not in ws:
                state, key, key_ws = "key", c, None
        elif state == "key":
            if c in nl:
                state, key = "pre_key", ""
            elif c == "=":
                state, value, value_ws = "pre_value", "", None
            else:
                if c not in ws:
                    key_ws = None
                elif key_ws is None:
                    key_ws = len(key)
                key += c
        elif state == "pre_value":
            if c in nl:
                push()
                state, key = "pre_key", ""
            elif c == "'":
                state = "single"
            elif c == '"':
                state = "double"
            elif c == "\\":
                state = "value_escape"
            elif c not in ws:
                state, value = "value", value + c
        elif state == "value":
            if c in nl:
                push()
                state, key = "pre_key", ""
            elif c == "\\":
                state, value_ws = "value_escape", None
            else:
                if c not in ws:
                    value_ws = None
                elif value_ws is None:
                    value_ws = len(value)
                value += c
        elif state == "value_escape":
            state = "value"
            if c not in nl:
                value += c
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value += c
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value += c
        elif state == "double_escape":
            state = "double"
            if c in '"\\`$':
                value += c
            elif c != "\n":
                value += "\\" + c
        elif state == "comment":
            if c == "\\":
                state = "comment_escape"
            elif c in nl:
                state = "pre_key"
        elif state == "comment_escape":
            state = "comment"
    if state in ("pre_value", "value", "value_escape", "single", "double",
                 "double_escape"):
        push()
    return out


SYSTEMD_SAMPLE = r"""# comment
 ; another comment
REDLIGHT_A=https://app.example.com http://localhost:5173
REDLIGHT_B=Redlight Team <no-reply@example.com>
REDLIGHT_C = "quoted  value"  
REDLIGHT_D='single \n quote'
REDLIGHT_E=trailing blanks   
REDLIGHT_F=a#b;c
REDLIGHT_G="esc \" \\ \x"
REDLIGHT_H=back\
slash continued
REDLIGHT_I=  leading
REDLIGHT_J="a"b'c'
no equals sign here
REDLIGHT_A=later wins
REDLIGHT_K=last line without newline"""


def test_environment_file_parser_matches_systemd(tmp_path):
    """The parser above reads a sample of the tricky cases as systemd's own
    code does: systemd-environment-d-generator runs the same
    parse_env_file_internal (its $ expansion and refusal of empty values
    are the only differences, and the sample has neither)."""
    if not os.access(ENV_GENERATOR, os.X_OK):
        pytest.fail(f"{ENV_GENERATOR} is missing (package systemd)")
    conf = tmp_path / "environment.d"
    conf.mkdir()
    (conf / "redlight.conf").write_text(SYSTEMD_SAMPLE)
    proc = subprocess.run([ENV_GENERATOR], capture_output=True, text=True,
                          env={"XDG_CONFIG_HOME": str(tmp_path)},
                          timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    # It prints KEY=VALUE, shell-quoted when needed.
    got = {}
    for line in proc.stdout.splitlines():
        k, v = line.split("=", 1)
        if k.startswith("REDLIGHT_"):
            got[k] = shlex.split(v)[0] if v else ""
    mine = dict(parse_environment_file(SYSTEMD_SAMPLE))
    assert mine == got, (mine, got)
    assert mine["REDLIGHT_A"] == "later wins"
    assert mine["REDLIGHT_B"] == "Redlight Team <no-reply@example.com>"
    assert mine["REDLIGHT_C"] == "quoted  value"
    assert mine["REDLIGHT_E"] == "trailing blanks"
    assert mine["REDLIGHT_H"] == "backslash continued"
    assert mine["REDLIGHT_J"] == "ab'c'"  # quotes count only at the start
    assert len(mine) == 11


def unit_environment():
    """Environment= of redlight.service, in order, and its ExecStart."""
    with open(os.path.join(UNITS, "redlight.service"), encoding="utf-8") as f:
        text = f.read()
    env, exec_start = {}, None
    for ln in text.splitlines():
        if ln.startswith("Environment="):
            for word in shlex.split(ln[len("Environment="):]):
                k, v = word.split("=", 1)
                env[k] = v
        elif ln.startswith("ExecStart="):
            exec_start = ln[len("ExecStart="):]
    return env, exec_start


def flag_variables():
    """Every variable `-help` names."""
    proc = subprocess.run([os.environ["REDLIGHT_BIN"], "-help"],
                          capture_output=True, text=True, timeout=30,
                          check=True)
    return set(re.findall(r"\[\$(REDLIGHT_[A-Z0-9_]+)\]", proc.stdout))


def test_env_file_starts_the_server_with_multi_value_settings(
        mail_db, tmp_path, unique):  # noqa: F811 (mail_db, the fixture)
    """remote/production/redlight.env with its example lines switched on,
    read by the rules of systemd's EnvironmentFile= over the unit's
    Environment= defaults, then ExecStart with $REDLIGHT_FLAGS split as
    systemd splits it: two CORS origins, a sender name with spaces and
    the rest reach the server, which starts and uses them. It has a
    database of its own, so that its mail worker alone sends the mail."""
    if "REDLIGHT_BIN" not in os.environ:
        pytest.skip("REDLIGHT_BIN is not set (run the tests with make test)")
    with open(os.path.join(UNITS, "redlight.env"), encoding="utf-8") as f:
        shipped = f.read()
    # Every variable the file names (set or as an example) is a flag's, or
    # the old REDLIGHT_FLAGS.
    named = set(re.findall(r"^#?(REDLIGHT_[A-Z0-9_]+)=", shipped, re.M))
    known = flag_variables()
    assert "REDLIGHT_CORS_TRUSTED_ORIGINS" in known
    assert named - known == {"REDLIGHT_FLAGS"}, named - known
    examples = re.sub(r"^#(REDLIGHT_[A-Z0-9_]+=)", r"\1", shipped,
                      flags=re.M)
    mail_dir = tmp_path / "mail"
    port = free_port()
    # What an operator appends for this host (later lines win).
    examples += "\n".join([
        "", f"REDLIGHT_DB_DSN={mail_db.dsn}",
        "REDLIGHT_SMTP_HOST=", f"REDLIGHT_MAIL_DIR={mail_dir}",
        f"REDLIGHT_PORT={port}", "REDLIGHT_FLAGS=-limiter-burst=7", ""])
    settings = dict(parse_environment_file(examples))
    assert settings["REDLIGHT_CORS_TRUSTED_ORIGINS"] == \
        "https://app.example.com https://admin.example.com"
    assert settings["REDLIGHT_SMTP_SENDER"] == \
        "Redlight Team <no-reply@example.com>"

    unit_env, exec_start = unit_environment()
    assert unit_env["REDLIGHT_ENV"] == "production"
    assert unit_env["REDLIGHT_TRUSTED_PROXIES"] == "127.0.0.1/32 ::1/128"
    assert exec_start == "/usr/bin/redlight-api $REDLIGHT_FLAGS"
    # The sanitizer settings of the harness, and nothing else inherited.
    env = {}
    for word in server_cmd()[1:]:  # env NAME=VALUE ... binary flags...
        if "=" not in word:
            break
        k, v = word.split("=", 1)
        env[k] = v
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    env.update(unit_env)   # Environment=
    env.update(settings)   # EnvironmentFile= overrides it
    # "$REDLIGHT_FLAGS" unquoted: split on white space.
    argv = [os.environ["REDLIGHT_BIN"], *env["REDLIGHT_FLAGS"].split()]
    path = log_path("envfile")
    with open(path, "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, open(path, encoding="utf-8").read()
            try:
                r = requests.get(f"http://127.0.0.1:{port}/v1/healthcheck",
                                 headers={"Origin": "https://admin.example.com"},
                                 timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "never answered"
                time.sleep(0.1)
        assert r.status_code == 200
        assert r.json()["system_info"]["environment"] == "production"
        # Both origins of the one variable are trusted, and no other.
        assert r.headers["Access-Control-Allow-Origin"] == \
            "https://admin.example.com"
        for origin, trusted in (("https://app.example.com", True),
                                ("https://evil.example", False)):
            r = requests.get(f"http://127.0.0.1:{port}/v1/healthcheck",
                             headers={"Origin": origin}, timeout=5)
            assert (r.headers.get("Access-Control-Allow-Origin") ==
                    origin) is trusted, (origin, r.headers)
        # REDLIGHT_FLAGS still works, and its flag wins over
        # REDLIGHT_LIMITER_BURST=20.
        assert r.headers["RateLimit-Limit"] == "7"
        # The sender with spaces heads the mail a registration sends.
        email = f"{unique('envfile')}@example.com"
        r = requests.post(f"http://127.0.0.1:{port}/v1/users", json={
            "name": "Env File", "email": email,
            "password": "pa55word-envfile"}, timeout=30)
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 30
        while not (mail_dir.exists() and any(mail_dir.iterdir())):
            assert time.monotonic() < deadline, "no mail written"
            time.sleep(0.1)
        time.sleep(0.2)
        mail = next(mail_dir.iterdir()).read_text(encoding="utf-8")
        assert "From: Redlight Team <no-reply@example.com>" in \
            mail.splitlines(), mail[:500]
    finally:
        stop(proc, path)
