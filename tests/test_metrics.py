"""GET /debug/vars (CONTRACT §8, §12 #15, #20) and GET /metrics (§13), and
who may read them (-metrics-allow, default loopback: the tests run from
127.0.0.1).
"""

import json
import math
import os
import re
import shutil
import socket
import subprocess
import time
from collections import defaultdict

import pytest

NOT_FOUND = {"error": "the requested resource could not be found"}
CONTRACT_KEYS = {
    "version", "goroutines", "database", "timestamp",
    "total_requests_received", "total_responses_sent",
    "total_processing_time_\u03bcs", "total_responses_sent_by_status",
    "cmdline", "memstats"}
DB_KEYS = {"MaxOpenConnections", "OpenConnections", "InUse", "Idle",
           "WaitCount", "WaitDuration", "MaxIdleClosed", "MaxIdleTimeClosed",
           "MaxLifetimeClosed"}


def eventually(check, timeout=3.0):
    """Runs check() until it stops raising AssertionError (or re-raises after
    `timeout` s): a response is counted as sent in the server's completion
    callback, which may run a moment after the client has read it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def debug_vars(api):
    r = api.get("/debug/vars")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.content.endswith(b"\n")
    return r.json()


# ---- /debug/vars ---------------------------------------------------------------

def test_debug_vars_keys_and_types(anon_api):
    v = debug_vars(anon_api)
    assert CONTRACT_KEYS <= set(v)
    version = anon_api.get("/v1/healthcheck").json()["system_info"]["version"]
    assert v["version"] == version
    assert is_int(v["goroutines"]) and v["goroutines"] >= 2
    assert set(v["database"]) == DB_KEYS
    assert all(is_int(x) and x >= 0 for x in v["database"].values())
    assert v["database"]["MaxOpenConnections"] == 25
    assert v["database"]["OpenConnections"] >= 1
    assert is_int(v["timestamp"]) and abs(v["timestamp"] - time.time()) < 60
    for key in ("total_requests_received", "total_responses_sent",
                "total_processing_time_\u03bcs"):
        assert is_int(v[key]) and v[key] >= 0, key
    by_status = v["total_responses_sent_by_status"]
    assert isinstance(by_status, dict)
    for code, n in by_status.items():
        assert re.fullmatch(r"[1-5][0-9][0-9]", code) and is_int(n) and n > 0
    assert isinstance(v["cmdline"], list) and v["cmdline"]
    assert all(isinstance(a, str) for a in v["cmdline"])
    assert v["cmdline"][0].endswith("api-sanitize")
    assert is_int(v["memstats"]["Sys"]) and v["memstats"]["Sys"] > 1 << 20
    assert is_int(v["memstats"]["HeapAlloc"]) and v["memstats"]["HeapAlloc"] >= 0
    # The request being answered has arrived but has not been sent.
    assert v["total_requests_received"] > v["total_responses_sent"]


def test_counters_move(anon_api):
    before = debug_vars(anon_api)
    assert anon_api.get("/v1/healthcheck").status_code == 200
    assert anon_api.get("/no/such/thing").status_code == 404
    assert anon_api.delete("/v1/healthcheck").status_code == 405
    assert anon_api.get("/v1/healthcheck", headers={
        "Authorization": "Bearer x"}).status_code == 401

    def moved():
        after = debug_vars(anon_api)
        # Four requests and this /debug/vars itself (at least: the counters
        # are the whole server's).
        assert after["total_requests_received"] - \
            before["total_requests_received"] >= 5
        # Four responses and the first /debug/vars.
        assert after["total_responses_sent"] - \
            before["total_responses_sent"] >= 5
        assert after["total_processing_time_\u03bcs"] > \
            before["total_processing_time_\u03bcs"]
        b, a = (before["total_responses_sent_by_status"],
                after["total_responses_sent_by_status"])
        for code, n in (("200", 2), ("404", 1), ("405", 1), ("401", 1)):
            assert a.get(code, 0) - b.get(code, 0) >= n, code
        assert after["timestamp"] >= before["timestamp"]
    eventually(moved)


def test_cmdline_secrets_are_redacted(spawn_server):
    smtp_pw = "smtp-Pa55-hunter2"
    abbreviated = "abbrev-Pa55-xyzzy"
    jwt = "jwt-secret-" + "k" * 40
    api = spawn_server(
        "-smtp-password", smtp_pw,
        "-smtp-pass", abbreviated,             # a getopt abbreviation
        f"--jwt-secret={jwt}",
        "-cors-trusted-origins", "http://password=visible.example")
    r = api.anonymous().get("/debug/vars")
    assert r.status_code == 200
    text = r.text
    for secret in (smtp_pw, abbreviated, jwt, "redlight:redlight@"):
        assert secret not in text
    cmdline = r.json()["cmdline"]
    # The run-tests.sh DSN is postgres://redlight:redlight@127.0.0.1:...
    dsn = cmdline[cmdline.index("-db-dsn") + 1]
    assert dsn.startswith("postgres://redlight:REDACTED@127.0.0.1:"), dsn
    assert cmdline[cmdline.index("-smtp-password") + 1] == "REDACTED"
    assert cmdline[cmdline.index("-smtp-pass") + 1] == "REDACTED"
    assert "--jwt-secret=REDACTED" in cmdline
    # Everything else is shown as given.
    assert "-cors-trusted-origins" in cmdline
    assert "-env" in cmdline and "staging" in cmdline
    args = api.proc.args  # env VAR=... VAR=... binary flags...
    first = next(i for i, a in enumerate(args) if a.endswith("api-sanitize"))
    assert len(cmdline) == len(args) - first


def test_cmdline_redacts_key_value_dsn(spawn_server):
    dsn = os.environ["REDLIGHT_DB_DSN"]
    m = re.fullmatch(r"postgres://(\w+):(\w+)@([\d.]+):(\d+)/(\w+)\?.*", dsn)
    assert m, dsn
    user, password, host, port, dbname = m.groups()
    kv = (f"host={host} port={port} dbname={dbname} user={user} "
          f"password={password} sslmode=disable")
    api = spawn_server("-db-dsn", kv)
    cmdline = api.anonymous().get("/debug/vars").json()["cmdline"]
    shown = [a for a in cmdline if a.startswith("host=")]
    assert shown[-1] == (f"host={host} port={port} dbname={dbname} "
                         f"user={user} password=REDACTED sslmode=disable")


MEMSTATS = ["Alloc", "Sys", "HeapAlloc", "HeapSys", "HeapIdle", "HeapInuse"]


def test_memstats_fields(anon_api):
    """The Go runtime.MemStats fields with a C meaning, in Go's field order:
    Sys is the resident set (CONTRACT §12 #20), the Heap* figures are glibc
    malloc's (mallinfo2; under AddressSanitizer they describe only what
    still goes through glibc, so they are checked for shape)."""
    r = anon_api.get("/debug/vars")
    ms = json.loads(r.text, object_pairs_hook=lambda p: p)
    ms = dict(ms)["memstats"]
    assert [k for k, _ in ms] == MEMSTATS
    ms = dict(ms)
    assert all(is_int(ms[k]) and ms[k] >= 0 for k in MEMSTATS), ms
    assert ms["Alloc"] == ms["HeapAlloc"]
    assert ms["HeapSys"] == ms["HeapIdle"] + ms["HeapInuse"]
    assert ms["HeapInuse"] >= ms["HeapAlloc"]
    assert ms["Sys"] > 1 << 20
    rss = scrape(anon_api)["process_resident_memory_bytes"]["samples"][0][2]
    assert abs(ms["Sys"] - rss) < 64 << 20, (ms["Sys"], rss)


def test_debug_vars_layout_is_go_expvar(anon_api):
    """Go's expvar page: "{", one `"key": value` a line in sorted order,
    values compact as json.Marshal writes them, the by-status map as
    expvar.Map writes it, "}" and a newline."""
    anon_api.get("/nowhere")  # a 404 in the by-status map
    lines = anon_api.get("/debug/vars").text.split("\n")
    assert lines[0] == "{" and lines[-2:] == ["}", ""], lines
    body = lines[1:-2]
    assert all(ln.endswith(",") for ln in body[:-1]) and \
        not body[-1].endswith(",")
    by_key = {}
    for ln in body:
        m = re.fullmatch(r'"([^"]+)": (.*?),?', ln)
        assert m, ln
        by_key[m[1]] = m[2]
    assert list(by_key) == sorted(by_key)
    for key in ("cmdline", "database", "memstats"):
        v = by_key[key]
        assert v == json.dumps(json.loads(v), separators=(",", ":"),
                               ensure_ascii=False), (key, v)
    assert re.fullmatch(r'\{"[0-9]{3}": [0-9]+(, "[0-9]{3}": [0-9]+)*\}',
                        by_key["total_responses_sent_by_status"]), by_key
    assert '"404": ' in by_key["total_responses_sent_by_status"]
    assert re.fullmatch(r"[0-9]+", by_key["timestamp"])


# ---- /metrics ----------------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
VALUE = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)"
HELP_RE = re.compile(rf"# HELP ({NAME}) (.*)")
TYPE_RE = re.compile(
    rf"# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)")
SAMPLE_RE = re.compile(
    rf"({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*,?)?\}})? ({VALUE})(?: (-?[0-9]+))?")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')


def parse_exposition(text):
    """Checks every line against the text format 0.0.4 and returns
    {family: {"type": t, "help": h, "samples": [(name, labels, value)]}}."""
    assert text.endswith("\n"), "the last line must end with a newline"
    families = {}
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = HELP_RE.fullmatch(line)
            if m:
                fam = families.setdefault(m[1], {"samples": []})
                assert "help" not in fam, f"line {n}: second HELP"
                fam["help"] = m[2]
                current = m[1]
                continue
            m = TYPE_RE.fullmatch(line)
            if m:
                fam = families.setdefault(m[1], {"samples": []})
                assert "type" not in fam, f"line {n}: second TYPE"
                assert not fam["samples"], f"line {n}: TYPE after samples"
                fam["type"] = m[2]
                current = m[1]
                continue
            assert line.startswith("# ") or line == "#", \
                f"line {n}: bad comment {line!r}"
            continue
        assert line.strip() != "" or line == "", f"line {n}: {line!r}"
        if line == "":
            continue
        m = SAMPLE_RE.fullmatch(line)
        assert m, f"line {n} is not a valid sample: {line!r}"
        name, labels_text, value = m[1], m[2] or "", m[3]
        labels = dict(LABEL_RE.findall(labels_text))
        assert len(labels) == len(LABEL_RE.findall(labels_text)), \
            f"line {n}: repeated label"
        fam_name = name
        ftype = families.get(current, {}).get("type")
        if ftype in ("histogram", "summary"):
            for suffix in ("_bucket", "_sum", "_count"):
                if name == current + suffix:
                    fam_name = current
        assert fam_name == current, \
            f"line {n}: sample {name} outside its family ({current})"
        families[current]["samples"].append((name, labels, float(value)))
    for name, fam in families.items():
        assert "type" in fam and "help" in fam, f"{name}: HELP and TYPE"
        assert fam["samples"], f"{name}: no samples"
        if fam["type"] == "counter":
            assert name.endswith("_total"), name
            assert all(v >= 0 for _, _, v in fam["samples"]), name
    return families


def check_histograms(families):
    for fname, fam in families.items():
        if fam["type"] != "histogram":
            continue
        series = defaultdict(lambda: {"buckets": []})
        for name, labels, value in fam["samples"]:
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            if name == fname + "_bucket":
                le = labels["le"]
                series[key]["buckets"].append(
                    (math.inf if le == "+Inf" else float(le), value))
            elif name == fname + "_sum":
                series[key]["sum"] = value
            elif name == fname + "_count":
                series[key]["count"] = value
        assert series, fname
        for key, s in series.items():
            b = s["buckets"]
            assert b and b[-1][0] == math.inf, (key, "no +Inf bucket")
            assert [le for le, _ in b] == sorted(le for le, _ in b), key
            counts = [c for _, c in b]
            assert counts == sorted(counts), (key, "buckets decrease", counts)
            assert s["count"] == counts[-1], key
            assert s["sum"] >= 0, key


def scrape(api):
    r = api.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == \
        "text/plain; version=0.0.4; charset=utf-8"
    return parse_exposition(r.text)


def value(families, name, **labels):
    """The value of sample `name` (a histogram's _bucket/_sum/_count too)
    whose labels include `labels`."""
    for fam in families.values():
        for n, l, v in fam["samples"]:
            if n == name and all(l.get(k) == want
                                 for k, want in labels.items()):
                return v
    raise AssertionError(f"no {name} {labels}")


def test_validator_refuses_bad_lines():
    good = "# HELP x_total a\n# TYPE x_total counter\nx_total 1\n"
    parse_exposition(good)
    for bad in ("x_total 1\n",                               # no TYPE
                "# HELP x_total a\n# TYPE x_total counter\nx_total one\n",
                "# HELP x_total a\n# TYPE x_total counter\nx_total{a=b} 1\n",
                "# HELP x_total a\n# TYPE x_total counter\nx_total 1",
                "# HELP x a\n# TYPE x gauge\ny 1\n",
                "# HELP x_total a\n# TYPE x_total counter\nx_total  1\n"):
        with pytest.raises(AssertionError):
            parse_exposition(bad)
    with pytest.raises(AssertionError):
        check_histograms(parse_exposition(
            "# HELP h a\n# TYPE h histogram\n"
            'h_bucket{le="1"} 5\nh_bucket{le="+Inf"} 4\nh_sum 1\nh_count 4\n'))


def test_metrics_page_is_valid_exposition(api, anon_api, make_movie):
    make_movie()
    anon_api.get("/nowhere")
    families = scrape(anon_api)
    check_histograms(families)
    for name in ("redlight_http_requests_received_total",
                 "redlight_http_responses_sent_total",
                 "redlight_http_responses_total",
                 "redlight_http_request_duration_seconds",
                 "redlight_db_pool_open_connections",
                 "redlight_db_pool_in_use_connections",
                 "redlight_db_pool_idle_connections",
                 "redlight_db_pool_max_open_connections",
                 "redlight_db_pool_wait_count_total",
                 "redlight_mail_outbox_up",
                 "redlight_mail_outbox_jobs",
                 "redlight_ratelimit_rejected_total",
                 "process_resident_memory_bytes"):
        assert name in families, name
    assert families["redlight_http_request_duration_seconds"]["type"] == \
        "histogram"
    assert value(families, "redlight_mail_outbox_up") == 1
    assert value(families, "redlight_mail_outbox_jobs", status="pending") >= 0
    assert value(families, "redlight_mail_outbox_jobs", status="dead") >= 0
    assert value(families, "redlight_db_pool_max_open_connections") == 25
    # Route patterns, not paths; unknown paths under one label.
    routes = {l.get("route") for n, l, _ in
              families["redlight_http_request_duration_seconds"]["samples"]}
    assert "/v1/movies" in routes and "unmatched" in routes
    assert not any(r and re.search(r"/\d", r) for r in routes), routes
    statuses = {l.get("status") for n, l, _ in
                families["redlight_http_request_duration_seconds"]["samples"]}
    assert statuses <= {"1xx", "2xx", "3xx", "4xx", "5xx"}


def test_outbox_gauges_follow_the_table(anon_api, admin_db, unique):
    before = scrape(anon_api)
    pending = value(before, "redlight_mail_outbox_jobs", status="pending")
    dead = value(before, "redlight_mail_outbox_jobs", status="dead")
    # A dead job (nothing will try it again) and a pending one far in the
    # future (the worker leaves it alone), made straight in the table.
    who = unique("gauge") + "@example.com"
    admin_db("INSERT INTO mail_outbox (template, recipient, data, status) "
             f"VALUES ('user_welcome', '{who}', NULL, 'dead')")
    admin_db("INSERT INTO mail_outbox (template, recipient, data, "
             f"next_attempt_at) VALUES ('user_welcome', '{who}', NULL, "
             "now() + interval '1 day')")
    try:
        after = scrape(anon_api)
        assert value(after, "redlight_mail_outbox_jobs",
                     status="dead") >= dead + 1
        assert value(after, "redlight_mail_outbox_jobs",
                     status="pending") >= pending + 1
    finally:
        admin_db(f"DELETE FROM mail_outbox WHERE recipient = '{who}'")


def test_histogram_counts_requests(anon_api):
    name = "redlight_http_request_duration_seconds"
    lbl = {"route": "/v1/healthcheck", "method": "HEAD", "status": "2xx"}

    def count(families):
        try:
            return value(families, name + "_count", **lbl)
        except AssertionError:
            return 0

    before = count(scrape(anon_api))
    for _ in range(3):
        assert anon_api.head("/v1/healthcheck").status_code == 200

    def counted():
        after = scrape(anon_api)
        assert count(after) >= before + 3
        assert value(after, name + "_bucket", le="+Inf", **lbl) == \
            count(after)
    eventually(counted)


def test_rejections_are_counted(spawn_server):
    # Clients behind a trusted proxy use up their buckets; /metrics itself
    # comes from the proxy's own address (127.0.0.1), allowed and with a
    # bucket of its own.
    # Burst 2: spawn_server's probe and one scrape fit in 127.0.0.1's.
    api = spawn_server("-limiter-enabled=true", "-limiter-rps", "0.01",
                       "-limiter-burst", "2", "-trusted-proxies",
                       "127.0.0.1").anonymous()
    for i in range(3):
        xff = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
        for _ in range(2):
            assert api.get("/v1/healthcheck", headers=xff).status_code == 200
        assert api.get("/v1/healthcheck", headers=xff).status_code == 429
        assert api.get("/nowhere", headers=xff).status_code == 429
    time.sleep(0.5)  # let the last completion callbacks run
    families = scrape(api)
    assert value(families, "redlight_ratelimit_rejected_total") == 6
    assert value(families, "redlight_ratelimit_clients") == 4
    assert value(families, "redlight_http_responses_total", code="429") == 6
    # A 429 is labelled with the route it was for, or "unmatched".
    assert value(families, "redlight_http_request_duration_seconds_count",
                 route="/v1/healthcheck", method="GET", status="4xx") == 3
    assert value(families, "redlight_http_request_duration_seconds_count",
                 route="unmatched", method="GET", status="4xx") == 3


# ---- Prometheus' standard process metrics ------------------------------------

# As the client libraries (client_golang's process collector) write them.
PROCESS_HELP = {
    "process_cpu_seconds_total":
        ("counter", "Total user and system CPU time spent in seconds."),
    "process_max_fds": ("gauge", "Maximum number of open file descriptors."),
    "process_open_fds": ("gauge", "Number of open file descriptors."),
    "process_resident_memory_bytes":
        ("gauge", "Resident memory size in bytes."),
    "process_start_time_seconds":
        ("gauge", "Start time of the process since unix epoch in seconds."),
    "process_virtual_memory_bytes": ("gauge", "Virtual memory size in bytes."),
}


def test_promtool_accepts_a_real_scrape(api, anon_api, make_movie):
    """Prometheus' own linter (Debian's `prometheus` package) on a page with
    every family present: histograms, pool, outbox, limiter, process."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: make deps installs `prometheus`")
    make_movie()
    anon_api.get("/nowhere")
    anon_api.get("/v1/healthcheck")
    r = anon_api.get("/metrics")
    assert r.status_code == 200
    proc = subprocess.run([promtool, "check", "metrics"], input=r.content,
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert proc.stdout == b"" and proc.stderr == b"", (proc.stdout,
                                                       proc.stderr)


def test_process_metrics_help_and_type(anon_api):
    text = anon_api.get("/metrics").text
    for name, (mtype, help_text) in PROCESS_HELP.items():
        assert f"# HELP {name} {help_text}\n# TYPE {name} {mtype}\n" in text, \
            name
    families = parse_exposition(text)
    for name in PROCESS_HELP:
        assert len(families[name]["samples"]) == 1, name
        assert families[name]["samples"][0][1] == {}, name


def test_process_metrics_are_sane(spawn_server):
    inst = spawn_server()
    api = inst.anonymous()
    started = time.time()
    pid = inst.proc.pid
    first = scrape(api)

    def one(fams, name):
        return fams[name]["samples"][0][2]

    # The start time is the process's own, seconds ago (its ticks are 10 ms).
    start = one(first, "process_start_time_seconds")
    assert started - 60 < start <= time.time() + 1, (start, started)
    proc_start = os.stat(f"/proc/{pid}").st_mtime  # not exact: a bound
    assert abs(start - proc_start) < 60
    # RSS and virtual size as the kernel has them (/proc/PID/status).
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        status = dict(ln.split(":", 1) for ln in f.read().splitlines())
    rss = int(status["VmRSS"].split()[0]) * 1024
    assert one(first, "process_resident_memory_bytes") > 1 << 20
    assert abs(one(first, "process_resident_memory_bytes") - rss) < 64 << 20
    assert one(first, "process_virtual_memory_bytes") >= \
        one(first, "process_resident_memory_bytes")
    # The descriptor limit is the process's soft limit.
    with open(f"/proc/{pid}/limits", encoding="ascii") as f:
        soft = next(ln.split()[3] for ln in f if ln.startswith(
            "Max open files"))
    assert one(first, "process_max_fds") == int(soft)
    # Open descriptors follow connections: 20 more keep-alive connections,
    # each one a socket in the server.
    fds = one(first, "process_open_fds")
    assert abs(fds - len(os.listdir(f"/proc/{pid}/fd"))) < 5
    socks = []
    try:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", api.port),
                                            timeout=10)
            sock.sendall(b"GET /v1/healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            socks.append(sock)
        more = one(scrape(api), "process_open_fds")
        assert more >= fds + 20, (fds, more)
    finally:
        for sock in socks:
            sock.close()

    def back_down():
        assert one(scrape(api), "process_open_fds") < fds + 20
    eventually(back_down, timeout=10)
    # CPU time is a counter that moves with work.
    cpu = one(first, "process_cpu_seconds_total")
    assert cpu > 0
    for _ in range(200):
        api.get("/metrics")
    assert one(scrape(api), "process_cpu_seconds_total") > cpu


# ---- who may read them -------------------------------------------------------

def assert_invisible(api, method, path):
    r = api.request(method, path)
    assert r.status_code == 404, (method, path, r.status_code, r.text)
    if method != "HEAD":
        assert r.json() == NOT_FOUND
    assert "Allow" not in r.headers and "Location" not in r.headers


def test_metrics_refused_outside_metrics_allow(spawn_server):
    api = spawn_server("-metrics-allow", "10.0.0.0/8").anonymous()
    for path in ("/debug/vars", "/metrics", "/debug/vars/", "/metrics/"):
        for method in ("GET", "HEAD", "POST", "OPTIONS", "DELETE"):
            assert_invisible(api, method, path)
    assert api.get("/v1/healthcheck").status_code == 200


def test_metrics_allow_empty_means_nobody(spawn_server):
    api = spawn_server("-metrics-allow", "").anonymous()
    assert_invisible(api, "GET", "/debug/vars")
    assert_invisible(api, "GET", "/metrics")


def test_metrics_allow_checks_the_client_behind_a_proxy(spawn_server):
    # Behind a reverse proxy on the same host every request comes from
    # 127.0.0.1; once that proxy is trusted, the real client decides.
    api = spawn_server("-trusted-proxies", "127.0.0.1/32").anonymous()
    r = api.get("/debug/vars", headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 404
    r = api.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 404
    assert api.get("/debug/vars", headers={
        "X-Forwarded-For": "127.0.0.1"}).status_code == 200
    # Without -trusted-proxies the header is ignored: the peer decides.
    api2 = spawn_server().anonymous()
    assert api2.get("/debug/vars", headers={
        "X-Forwarded-For": "203.0.113.7"}).status_code == 200


def test_metrics_allow_ipv6_loopback_and_mapped(spawn_server):
    api = spawn_server("-metrics-allow", "::ffff:127.0.0.1/128").anonymous()
    assert api.get("/debug/vars").status_code == 200


def test_bad_metrics_allow_exits_2():
    if "REDLIGHT_BIN" not in os.environ:
        pytest.skip("REDLIGHT_BIN is not set (run the tests with make test)")
    proc = subprocess.run(
        [os.environ["REDLIGHT_BIN"], "-metrics-allow", "127.0.0.1/8 nope"],
        capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 2
    assert '"nope" is not an IP address or CIDR prefix' in proc.stderr


def test_debug_vars_json_is_parsable_by_key_order(anon_api):
    # Go's expvar writes its keys sorted; clients may not care, we do.
    r = anon_api.get("/debug/vars")
    keys = list(json.loads(r.text, object_pairs_hook=lambda p: p))
    names = [k for k, _ in keys]
    assert names == sorted(names)
