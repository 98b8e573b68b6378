"""The JSON log lines on stdout: one object a line with "level", "time"
(RFC 3339 UTC with milliseconds), "message" and "properties" whose values are
JSON numbers where they are numbers (ids, attempts, counts, ports, fds) and
strings otherwise; and the start-up line naming the address the server
really listens on (-port 0, socket activation on a TCP or a Unix socket).
"""

import calendar
import json
import os
import re
import shutil
import socket
import time

import pytest
import requests

from conftest import free_port
from test_mail import (fast_retries, insert_job, job_row, log_text,  # noqa: F401
                       mail_db, mail_flags, smtp_sink, wait_for)
from test_systemd import server_cmd, start, stop, wait_listening

TIME_RE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse_lines(text):
    """Every line of a log, each checked: a JSON object with the four keys
    (properties only when there are some) and a millisecond UTC time."""
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        entry = json.loads(raw)
        assert set(entry) <= {"level", "time", "message", "properties"}, raw
        assert {"level", "time", "message"} <= set(entry), raw
        m = TIME_RE.fullmatch(entry["time"])
        assert m, f"line {n}: time {entry['time']!r}"
        entry["unix"] = calendar.timegm(
            time.strptime(m[1], "%Y-%m-%dT%H:%M:%S")) + int(m[2]) / 1000
        props = entry.get("properties", {})
        assert props != {} or "properties" not in entry, raw
        assert all(isinstance(v, (str, int)) and not isinstance(v, bool)
                   for v in props.values()), raw
        lines.append(entry)
    return lines


def find(lines, message):
    found = [e for e in lines if e["message"] == message]
    assert found, f"no {message!r} line in {[e['message'] for e in lines]}"
    return found


def test_lines_have_millisecond_times_and_typed_properties(spawn_server):
    before = time.time()
    inst = spawn_server()
    api = inst.anonymous()
    for _ in range(5):
        assert api.get("/v1/healthcheck").status_code == 200
    assert api.get("/nowhere").status_code == 404
    time.sleep(0.3)  # the request log is flushed every 100 ms
    inst.proc.terminate()
    assert inst.proc.wait(timeout=30) == 0
    after = time.time()
    lines = parse_lines(log_text(inst))
    # Times are now (request lines are buffered, so the file is not in
    # time order to the millisecond).
    for e in lines:
        assert before - 1 <= e["unix"] <= after + 1, e
    # Not all on whole seconds: the milliseconds are real.
    assert len({e["time"][-4:-1] for e in lines}) > 1
    # Numbers are numbers.
    worker = find(lines, "mail worker started")[0]["properties"]
    assert is_int(worker["threads"]) and worker["threads"] >= 1
    assert worker["delivery"] in ("smtp", "eml files")
    requests_ = find(lines, "request")
    assert len(requests_) >= 6
    for e in requests_:
        p = e["properties"]
        assert is_int(p["status"]) and is_int(p["bytes"])
        assert is_int(p["duration_us"])
        assert isinstance(p["method"], str) and isinstance(p["path"], str)
    assert {e["properties"]["status"] for e in requests_} >= {200, 404}
    # Start-up and stop name the real address (dual-stack [::] or IPv4).
    port = inst.port
    addr = find(lines, "starting server")[0]["properties"]["addr"]
    assert addr in (f"[::]:{port}", f"0.0.0.0:{port}"), addr
    assert find(lines, "stopped server")[0]["properties"]["addr"] == addr
    assert find(lines, "shutting down server")[0]["properties"]["signal"] \
        == "Terminated"


def test_mail_lines_carry_numeric_ids_and_attempts(
        mail_db, spawn_server, smtp_sink, fast_retries, unique):
    # Nothing listens on the SMTP port at first: a retry, then delivery.
    port = free_port()
    srv = spawn_server("-db-dsn", mail_db.dsn, *mail_flags(port))
    recipient = unique("logs") + "@example.com"
    job = insert_job(mail_db, recipient)
    wait_for("a failed attempt", lambda: job_row(mail_db, job)[1] >= 1)
    smtp_sink(port)
    wait_for("the job marked sent",
             lambda: job_row(mail_db, job)[0] == "sent", timeout=10)
    lines = parse_lines(log_text(srv))
    failed = find(lines, "mail failed: will retry")
    for n, e in enumerate(failed, 1):
        p = e["properties"]
        assert p["id"] == job and is_int(p["id"]), p
        assert p["attempt"] == n, p
        assert is_int(p["retry_in_ms"]) and p["retry_in_ms"] > 0, p
        assert p["template"] == "user_welcome"
        assert isinstance(p["error"], str) and p["error"].startswith("smtp: ")
        assert e["level"] == "ERROR"
    sent = find(lines, "mail sent")[0]["properties"]
    assert sent == {"id": job, "template": "user_welcome",
                    "attempt": len(failed) + 1}


def test_eml_line_has_a_numeric_id(mail_db, spawn_server, unique):
    tmp = os.environ.get("REDLIGHT_TEST_TMP") or "/tmp"
    mail_dir = os.path.join(tmp, unique("emllog"), "mail")
    srv = spawn_server("-db-dsn", mail_db.dsn, "-smtp-host", "",
                       "-mail-dir", mail_dir)
    job = insert_job(mail_db, unique("eml") + "@example.com")
    wait_for("the job marked sent",
             lambda: job_row(mail_db, job)[0] == "sent", timeout=10)
    lines = parse_lines(log_text(srv))
    written = find(lines, "mail written")[0]["properties"]
    assert written["id"] == job and is_int(written["id"])
    assert written["path"].startswith(mail_dir)
    worker = find(lines, "mail worker started")[0]["properties"]
    assert is_int(worker["threads"]) and worker["threads"] >= 1
    assert worker == {"threads": worker["threads"], "delivery": "eml files",
                      "mail_dir": mail_dir}


def server_lines(text):
    """The server's lines of a log systemd-socket-activate also writes to
    ("Listening on 127.0.0.1:4000 as 3.", "Execing ...")."""
    return "\n".join(ln for ln in text.splitlines()
                     if not re.match(r"(Listening on|Communication attempt"
                                     r"|Execing) ", ln))


def wait_for_line(proc, path, message, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        text = text[:text.rfind("\n") + 1]  # whole lines only
        for raw in server_lines(text).splitlines():
            entry = json.loads(raw)
            if entry["message"] == message:
                return entry
        assert proc.poll() is None, f"exited {proc.returncode}:\n{text}"
        time.sleep(0.05)
    raise AssertionError(f"no {message!r} within {timeout} s")


def test_port_0_names_the_port_the_kernel_chose():
    proc, path = start([*server_cmd(), "-port", "0"], {}, "port0")
    try:
        entry = wait_for_line(proc, path, "starting server")
        addr = entry["properties"]["addr"]
        m = re.fullmatch(r"(?:\[::\]|0\.0\.0\.0):([0-9]+)", addr)
        assert m, addr
        port = int(m[1])
        assert port != 0
        r = requests.get(f"http://127.0.0.1:{port}/v1/healthcheck",
                         timeout=10)
        assert r.status_code == 200
    finally:
        log = stop(proc, path)
    assert find(parse_lines(log), "stopped server")[0]["properties"][
        "addr"] == addr


def socket_activate_tool():
    tool = shutil.which("systemd-socket-activate")
    if tool is None:
        pytest.fail("systemd-socket-activate is missing (package systemd)")
    return tool


def test_socket_activation_names_the_inherited_tcp_socket():
    port = free_port()
    # -port names another port: the line must not repeat it.
    argv = [socket_activate_tool(), "-l", f"127.0.0.1:{port}",
            *server_cmd(), "-port", "4000"]
    proc, path = start(argv, {}, "activate-tcp")
    try:
        wait_listening(port)  # started on the first connection
        entry = wait_for_line(proc, path, "starting server")
        assert entry["properties"]["addr"] == f"127.0.0.1:{port}"
        fd = wait_for_line(proc, path,
                           "listening on the socket passed by systemd")
        assert fd["properties"] == {"fd": 3}
    finally:
        log = stop(proc, path)
    parse_lines(server_lines(log))


def test_socket_activation_names_the_inherited_unix_socket(tmp_path):
    sock_path = str(tmp_path / "api.sock")
    argv = [socket_activate_tool(), "-l", sock_path, *server_cmd()]
    proc, path = start(argv, {}, "activate-unix")
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(10)
                    s.connect(sock_path)
                    s.sendall(b"GET /v1/healthcheck HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: close\r\n\r\n")
                    assert s.recv(4096).startswith(b"HTTP/1.1 200")
                break
            except (FileNotFoundError, ConnectionRefusedError):
                assert time.monotonic() < deadline, "never listened"
                time.sleep(0.05)
        entry = wait_for_line(proc, path, "starting server")
        assert entry["properties"]["addr"] == sock_path
    finally:
        log = stop(proc, path)
    parse_lines(server_lines(log))
