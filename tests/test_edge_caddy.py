"""No spelling of the metrics paths gets past Caddy's basic auth.

The production Caddyfile (remote/production/Caddyfile, run by real Caddy as
tests/test_caddy.py runs it) asks for basic auth on /debug/vars and
/metrics only.  Every other path goes to the API, which serves the metrics
to Caddy's own address (loopback is in the default -metrics-allow).  So a
spelling that Caddy does not take for a metrics path but the API does, such
as `/debug/vars%00` when the API ends the path at a decoded NUL (CONTRACT
§12 #22), would hand the metrics (command line, pool and traffic figures)
to anyone.  Each spelling must get Caddy's 401 or the API's 404, never a
200 with metrics, with no credentials and with wrong ones.
"""

import base64
import http.client
import json
from urllib.parse import urlsplit

from test_caddy import (PASSWORD, USER, password_hash,  # noqa: F401
                        production, run_caddy)

NOT_FOUND = {"error": "the requested resource could not be found"}

# Spellings of the two paths a client could try (the first four are the
# issue's); the API must not read any of them as a metrics path that Caddy
# did not guard.
SPELLINGS = [
    "/debug/vars%00", "/debug/vars%00x", "/metrics%00", "/metrics%00x",
    "/debug/vars%00/", "/metrics%00/", "/debug/vars%00?x=1", "/metrics%0a",
    "/debug/vars%09", "/debug/vars%20", "/metrics%7f", "/debug/vars%2500",
    "/debug/%76ars", "/%6detrics", "/debug%2fvars", "/debug%2Fvars",
    "/%64ebug/vars", "/debug//vars", "//metrics", "/./metrics",
    "/v1/../metrics", "/v1/%2e%2e/metrics", "/debug/./vars", "/METRICS",
    "/Debug/Vars", "/metrics;x", "/debug/vars;x",
]

METRIC_MARKS = (b"total_requests_received", b"cmdline", b"memstats",
                b"# HELP", b"# TYPE", b"_bucket{")


def fetch(base, path, auth=None):
    """GET base+path with the path sent byte for byte: (status, headers,
    body)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        if auth is not None:
            conn.putheader("Authorization", auth)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def basic(user, password):
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {raw}"


def verdict(status, resp, body):
    """None when the answer is a refusal (Caddy's 401 for basic auth, the
    API's 404, or the API's 401 for credentials it cannot use), else what
    is wrong with it."""
    if any(mark in body for mark in METRIC_MARKS):
        return f"{status} WITH METRICS {body[:120]!r}"
    if status == 401:
        return None
    if status == 404:
        try:
            if json.loads(body) == NOT_FOUND:
                return None
        except ValueError:
            pass
    return f"{status} {body[:120]!r}"


def test_metrics_spellings_need_basic_auth(spawn_server, run_caddy,
                                           password_hash):  # noqa: F811
    inst = spawn_server("-trusted-proxies", "127.0.0.1/32",
                        "-limiter-enabled=false")
    base = production(run_caddy, password_hash, inst.port)
    # The controls: the plain paths are guarded; the API serves them to
    # Caddy with the password; other paths pass without one.
    for path in ("/debug/vars", "/metrics"):
        status, resp, body = fetch(base, path)
        assert status == 401, (path, status, body[:200])
        assert "Basic" in (resp.getheader("WWW-Authenticate") or "")
    status, _, body = fetch(base, "/debug/vars", basic(USER, PASSWORD))
    assert status == 200 and b"total_requests_received" in body, \
        (status, body[:200])
    assert fetch(base, "/v1/healthcheck")[0] == 200

    leaks = []
    for path in SPELLINGS:
        for auth in (None, basic(USER, "wrong")):
            who = "wrong password" if auth else "no credentials"
            status, resp, body = fetch(base, path, auth)
            why = verdict(status, resp, body)
            print(f"via Caddy: GET {path} ({who}) -> {status}")
            if why is not None:
                leaks.append(f"GET {path} ({who}) -> {why}")
    assert not leaks, "\n".join(leaks)
