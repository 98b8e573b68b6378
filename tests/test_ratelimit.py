"""Rate limiting (CONTRACT §7, §12 #8, §13 rate-limit headers).

The shared server runs with -limiter-enabled=false (every test talks from
127.0.0.1), so each test here starts its own instance with the limiter on.
spawn_server's readiness probe is one GET /v1/healthcheck from 127.0.0.1, so a
fresh instance's 127.0.0.1 bucket is one token short.  Most tests use a slow
refill (-limiter-rps 0.01: one token every 100 s) so that no token comes back
while they run and every number is exact.
"""

import http.client
import json
import os
import subprocess
import time

import pytest

LIMITED = {"error": "rate limit exceeded"}
SLOW = ("-limiter-enabled=true", "-limiter-rps", "0.01")


def vary(r):
    return {v.strip() for v in r.headers.get("Vary", "").split(",") if v}


def limited_instance(spawn_server, burst, *flags):
    return spawn_server(*SLOW, "-limiter-burst", str(burst), *flags).anonymous()


def raw_status(api, headers, source=None):
    """Status of GET /v1/healthcheck sent with http.client, which (unlike
    requests) can repeat a header line: headers is a list of (name, value)
    pairs. source: the local address to send from (127.0.0.2 is another
    loopback peer)."""
    conn = http.client.HTTPConnection(
        api.host, api.port, timeout=10,
        source_address=None if source is None else (source, 0))
    try:
        conn.putrequest("GET", "/v1/healthcheck")
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def assert_429(r, limit):
    assert r.status_code == 429, f"{r.status_code} {r.text}"
    assert r.headers["Content-Type"] == "application/json"
    assert r.content.endswith(b"\n")
    assert json.loads(r.content) == LIMITED
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 100  # one token every 100 s
    assert r.headers["RateLimit-Limit"] == str(limit)
    assert r.headers["RateLimit-Remaining"] == "0"
    assert int(r.headers["RateLimit-Reset"]) >= 1
    # Answered by the limiter: CORS ran before it, authentication did not.
    assert {"Origin", "Access-Control-Request-Method"} <= vary(r)
    assert "Authorization" not in vary(r)


def test_burst_then_429_with_headers(spawn_server):
    api = limited_instance(spawn_server, 5)
    for left in (3, 2, 1, 0):
        r = api.get("/v1/healthcheck")
        assert r.status_code == 200, r.text
        assert r.headers["RateLimit-Limit"] == "5"
        assert r.headers["RateLimit-Remaining"] == str(left)
        # The next token is 100 s away (rounded up), never 0 here.
        assert 1 <= int(r.headers["RateLimit-Reset"]) <= 100
        assert "Retry-After" not in r.headers
        assert {"Origin", "Access-Control-Request-Method",
                "Authorization"} <= vary(r)
    assert_429(api.get("/v1/healthcheck"), 5)
    # Refused requests take no token: still refused.
    assert_429(api.get("/v1/healthcheck"), 5)


def test_429_on_every_route_and_method(spawn_server, unique):
    api = limited_instance(spawn_server, 1)
    # The only token went to spawn_server's readiness probe.
    assert_429(api.get("/v1/healthcheck"), 1)
    assert_429(api.get("/no/such/path"), 1)
    assert_429(api.post("/v1/movies", json={"title": unique("m")}), 1)
    assert_429(api.delete("/v1/healthcheck"), 1)  # would be 405
    assert_429(api.get("/debug/vars"), 1)
    # An OPTIONS that is not a trusted preflight is limited too.
    assert_429(api.options("/v1/movies"), 1)
    assert_429(api.options("/v1/movies", headers={
        "Origin": "http://untrusted.example",
        "Access-Control-Request-Method": "PUT"}), 1)
    # The limiter answers before authentication looks at a token.
    assert_429(api.get("/v1/healthcheck",
                       headers={"Authorization": "Bearer nonsense"}), 1)
    h = api.head("/v1/healthcheck")
    assert h.status_code == 429 and h.content == b""
    assert int(h.headers["Retry-After"]) >= 1


def test_tokens_come_back(spawn_server):
    # 20 tokens a second, burst 1: refused at once, allowed 50 ms later.
    api = spawn_server("-limiter-enabled=true", "-limiter-rps", "20",
                       "-limiter-burst", "1").anonymous()
    time.sleep(0.1)
    assert api.get("/v1/healthcheck").status_code == 200
    r = api.get("/v1/healthcheck")
    if r.status_code == 200:  # a slow machine may take 50 ms a request
        r = api.get("/v1/healthcheck")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"  # 50 ms, rounded up
    time.sleep(0.1)
    r = api.get("/v1/healthcheck")
    assert r.status_code == 200
    assert r.headers["RateLimit-Remaining"] == "0"


def test_defaults_are_2_per_second_burst_4(spawn_server):
    api = spawn_server("-limiter-enabled=true").anonymous()
    statuses = []
    for _ in range(12):
        r = api.get("/v1/healthcheck")
        assert r.headers["RateLimit-Limit"] == "4"
        statuses.append(r.status_code)
    # 3 tokens left after the probe, plus at most 2 a second of refill:
    # twelve quick requests cannot all pass, and the first ones do.
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses


def test_limiter_off_by_flag(spawn_server):
    api = spawn_server("-limiter-enabled=false", "-limiter-burst", "1",
                       "-limiter-rps", "0.01").anonymous()
    for _ in range(15):
        r = api.get("/v1/healthcheck")
        assert r.status_code == 200
        assert not any(h.lower().startswith("ratelimit-") for h in r.headers)
        assert "Retry-After" not in r.headers
        # Still passed "the limiter" as far as Vary is concerned (§1).
        assert "Authorization" in vary(r)


def test_shared_server_runs_without_limiter(anon_api):
    r = anon_api.get("/v1/healthcheck")
    assert r.status_code == 200
    assert "RateLimit-Limit" not in r.headers


def test_spoofed_forwarding_headers_are_ignored(spawn_server):
    # No -trusted-proxies: the TCP peer is the client, whatever it claims.
    api = limited_instance(spawn_server, 2)
    assert api.get("/v1/healthcheck", headers={
        "X-Forwarded-For": "198.51.100.1"}).status_code == 200
    for spoof in ({"X-Forwarded-For": "198.51.100.2"},
                  {"X-Forwarded-For": "203.0.113.9, 198.51.100.3"},
                  {"X-Real-IP": "198.51.100.4"},
                  {"X-Forwarded-For": "::1"}):
        assert_429(api.get("/v1/healthcheck", headers=spoof), 2)


def test_forwarded_for_believed_from_a_trusted_proxy(spawn_server):
    api = limited_instance(spawn_server, 1, "-trusted-proxies",
                           "127.0.0.1/32 10.0.0.0/8")

    def get(**headers):
        return api.get("/v1/healthcheck", headers=headers)

    # Two clients behind the proxy have buckets of their own...
    assert get(**{"X-Forwarded-For": "203.0.113.1"}).status_code == 200
    assert_429(get(**{"X-Forwarded-For": "203.0.113.1"}), 1)
    assert get(**{"X-Forwarded-For": "203.0.113.2"}).status_code == 200
    # ...and the proxy itself (no header) is one more client, whose only
    # token spawn_server's probe took.
    assert_429(get(), 1)
    # -real-ip-header is X-Forwarded-For by default: X-Real-IP is ignored,
    # alone (the request counts as the proxy's) or beside X-Forwarded-For.
    assert_429(get(**{"X-Real-IP": "198.51.100.7"}), 1)
    assert get(**{"X-Forwarded-For": "203.0.113.3",
                  "X-Real-IP": "203.0.113.1"}).status_code == 200
    assert_429(get(**{"X-Forwarded-For": "203.0.113.3",
                      "X-Real-IP": "198.51.100.8"}), 1)
    # Read from the right: trusted hops (10.x, 127.x) are skipped, and what
    # a client wrote to the left of its own address changes nothing.
    assert_429(get(**{"X-Forwarded-For": "203.0.113.1, 10.1.2.3"}), 1)
    assert_429(get(**{"X-Forwarded-For": "192.0.2.200, 203.0.113.1"}), 1)
    assert_429(get(**{"X-Forwarded-For":
                      "192.0.2.201, 203.0.113.1, 10.9.9.9, 127.0.0.1"}), 1)
    # Ports added by some proxies are not part of the address.
    assert_429(get(**{"X-Forwarded-For": "203.0.113.1:51234"}), 1)
    # Garbage from a client stops the walk at the last good hop.
    assert_429(get(**{"X-Forwarded-For": "not-an-ip, 203.0.113.1"}), 1)
    # IPv6 clients share a bucket per /64.
    assert get(**{"X-Forwarded-For": "2001:db8:1:2::1"}).status_code == 200
    assert_429(get(**{"X-Forwarded-For": "2001:db8:1:2::ffff"}), 1)
    assert get(**{"X-Forwarded-For": "[2001:db8:1:3::1]:443"}
               ).status_code == 200


def test_forwarded_for_over_several_header_lines(spawn_server):
    api = limited_instance(spawn_server, 1, "-trusted-proxies", "127.0.0.1")
    assert api.get("/v1/healthcheck", headers={
        "X-Forwarded-For": "203.0.113.50"}).status_code == 200

    def raw(lines):
        return raw_status(api, [("X-Forwarded-For", v) for v in lines])

    # A proxy that adds its own line instead of appending: the client's
    # line comes first and the proxy's last, so it still counts as
    # 203.0.113.50, not as the address it made up.
    assert raw(["198.51.100.99", "203.0.113.50"]) == 429
    assert raw(["198.51.100.98, 10.0.0.1", "203.0.113.51"]) == 200


@pytest.mark.parametrize("spelling", ["X-Real-IP", "x-real-ip"])
def test_real_ip_header_x_real_ip(spawn_server, spelling):
    """-real-ip-header X-Real-IP (any case): that header alone names the
    client, only from a trusted proxy; X-Forwarded-For is ignored."""
    api = limited_instance(spawn_server, 1, "-trusted-proxies", "127.0.0.1/32",
                           "-real-ip-header", spelling)

    def get(**headers):
        return api.get("/v1/healthcheck", headers=headers)

    # The proxy (127.0.0.1) spent its only token on spawn_server's probe: a
    # spoofed X-Forwarded-For does not get a client out of its bucket...
    assert_429(get(), 1)
    assert_429(get(**{"X-Forwarded-For": "203.0.113.1"}), 1)
    assert_429(get(**{"X-Forwarded-For": "203.0.113.2, 10.0.0.1"}), 1)
    # ...while X-Real-IP does: a bucket per address it names...
    assert get(**{"X-Real-IP": "198.51.100.7"}).status_code == 200
    assert_429(get(**{"X-Real-IP": "198.51.100.7"}), 1)
    # ...whatever X-Forwarded-For says beside it.
    assert_429(get(**{"X-Real-IP": "198.51.100.7",
                      "X-Forwarded-For": "198.51.100.8"}), 1)
    assert get(**{"X-Real-IP": "198.51.100.8",
                  "X-Forwarded-For": "198.51.100.7"}).status_code == 200
    assert get(**{"X-Real-IP": "2001:db8:7::1"}).status_code == 200
    assert_429(get(**{"X-Real-IP": "2001:db8:7::2"}), 1)  # same /64
    # A malformed value is the proxy's own address, never an error: not an
    # address, a list, two lines, an empty value.
    for bad in ("not-an-ip", "198.51.100.9, 198.51.100.10", "",
                "198.51.100.11 198.51.100.12"):
        assert_429(get(**{"X-Real-IP": bad}), 1)
    assert raw_status(api, [("X-Real-IP", "198.51.100.13"),
                            ("X-Real-IP", "198.51.100.14")]) == 429
    assert raw_status(api, [("X-Real-IP", "198.51.100.15")]) == 200
    # From a peer that is not a trusted proxy (127.0.0.2) X-Real-IP is
    # ignored too: 127.0.0.2 has a token of its own, then nothing.
    assert raw_status(api, [("X-Real-IP", "198.51.100.16")],
                      source="127.0.0.2") == 200
    assert raw_status(api, [("X-Real-IP", "198.51.100.17")],
                      source="127.0.0.2") == 429
    assert raw_status(api, [("X-Real-IP", "198.51.100.16")]) == 200


def test_bad_real_ip_header_exits_2():
    if "REDLIGHT_BIN" not in os.environ:
        pytest.skip("REDLIGHT_BIN is not set (run the tests with make test)")
    proc = run_api("-real-ip-header", "Forwarded")
    assert proc.returncode == 2, proc
    assert "-real-ip-header" in proc.stderr
    assert proc.stderr.count("\n") == 1


def run_api(*flags):
    return subprocess.run([os.environ["REDLIGHT_BIN"], *flags],
                          capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)


@pytest.mark.parametrize("flags, message", [
    (["-limiter-rps", "0"], "-limiter-rps must be between"),
    (["-limiter-rps", "-1"], "-limiter-rps must be between"),
    (["-limiter-rps", "abc"], "invalid value \"abc\" for flag -limiter-rps"),
    (["-limiter-rps", "nan"], "invalid value \"nan\" for flag -limiter-rps"),
    (["-limiter-burst", "0"], "-limiter-burst must be between"),
    (["-limiter-burst", "2.5"], "invalid value \"2.5\" for flag"),
    (["-limiter-enabled=maybe"], "invalid value \"maybe\""),
    (["-trusted-proxies", "10.0.0.0/33"], "\"10.0.0.0/33\" is not an IP"),
    (["-trusted-proxies", "127.0.0.1 proxy.example"],
     "\"proxy.example\" is not an IP"),
])
def test_bad_limiter_flags_exit_2(flags, message):
    if "REDLIGHT_BIN" not in os.environ:
        pytest.skip("REDLIGHT_BIN is not set (run the tests with make test)")
    proc = run_api(*flags)
    assert proc.returncode == 2, proc
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_help_lists_the_flags():
    if "REDLIGHT_BIN" not in os.environ:
        pytest.skip("REDLIGHT_BIN is not set (run the tests with make test)")
    out = run_api("-help").stdout
    assert "-limiter-rps float" in out and "(default 2)" in out
    assert "-limiter-burst int" in out and "(default 4)" in out
    assert "-limiter-enabled" in out and "(default true)" in out
    assert "-trusted-proxies string" in out
    assert "-cors-trusted-origins string" in out
    assert "-metrics-allow string" in out
    assert '(default "127.0.0.1/8 ::1/128")' in out
