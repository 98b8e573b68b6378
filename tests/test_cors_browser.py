"""CORS in a real browser (issue 6): a page served from another origin on
loopback, loaded in headless Chromium (Debian `chromium`, installed by
`make test`), fetches from the API with and without an Authorization header
and writes what it saw into the DOM, which Chromium dumps.

From a trusted origin the page reads every response, errors included (the
Authorization and JSON requests go through a preflight first).  From an
untrusted one every fetch fails, and the browser never sends the requests
that needed a preflight.

The API's own features from a browser (CONTRACT §12 #21): conditional GET
(304), PATCH with If-Match and with X-Expected-Version, the script reading
ETag, Location and RateLimit-*, and a preflight that Chromium caches for
longer than its 5 s default thanks to Access-Control-Max-Age.

Chromium missing or unable to run is a failure, not a skip.
"""

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>cors probe</title></head>
<body><pre id="result">pending</pre>
<script>
const API = "%(api)s";
const TOKEN = "%(token)s";
async function probe(name, path, init) {
  try {
    const r = await fetch(API + path, init);
    let body;
    try { body = await r.json(); } catch (e) { body = "unreadable: " + e; }
    return {name: name, ok: true, status: r.status, body: body};
  } catch (e) {
    return {name: name, ok: false, error: String(e)};
  }
}
(async () => {
  const auth = {"Authorization": "Bearer " + TOKEN};
  const out = [];
  out.push(await probe("simple", "/v1/healthcheck", {}));
  out.push(await probe("bearer", "/v1/healthcheck", {headers: auth}));
  out.push(await probe("bad-bearer", "/v1/healthcheck",
      {headers: {"Authorization": "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAA"}}));
  out.push(await probe("delete", "/v1/movies/999999999",
      {method: "DELETE", headers: auth}));
  out.push(await probe("json-post", "/v1/movies", {method: "POST",
      headers: Object.assign({"Content-Type": "application/json"}, auth),
      body: "{}"}));
  document.getElementById("result").textContent =
      "DONE " + JSON.stringify(out);
})();
</script></body></html>
"""


FEATURES_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>cors features</title></head>
<body><pre id="result">pending</pre>
<script>
const API = "%(api)s";
const ID = %(id)d;
const AUTH = {"Authorization": "Bearer %(token)s"};
const EXPOSED = ["ETag", "Location", "RateLimit-Limit", "RateLimit-Remaining",
                 "RateLimit-Reset", "Retry-After"];
async function call(name, path, init, extra) {
  init.headers = Object.assign({}, AUTH, extra || {});
  try {
    const r = await fetch(API + path, init);
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
    const headers = {};
    for (const k of EXPOSED) headers[k] = r.headers.get(k);
    return {name: name, ok: true, status: r.status, body: body,
            headers: headers};
  } catch (e) {
    return {name: name, ok: false, error: String(e)};
  }
}
function patch(runtime) {
  return {method: "PATCH", body: JSON.stringify({runtime: runtime})};
}
const JSON_CT = {"Content-Type": "application/json"};
(async () => {
  const out = [];
  const path = "/v1/movies/" + ID;
  const got = await call("get", path, {});
  out.push(got);
  const etag = got.ok ? got.headers["ETag"] : "none";
  out.push(await call("conditional-get", path, {}, {"If-None-Match": etag}));
  out.push(await call("patch-if-match", path, patch("101 mins"),
      Object.assign({"If-Match": etag}, JSON_CT)));
  out.push(await call("patch-if-match-stale", path, patch("102 mins"),
      Object.assign({"If-Match": etag}, JSON_CT)));
  // Real time passes (a same-origin request the page server holds for
  // 6 s): longer than Chromium keeps a preflight without Max-Age.
  await fetch("/wait");
  out.push(await call("patch-expected-version", path, patch("103 mins"),
      Object.assign({"X-Expected-Version": "2"}, JSON_CT)));
  out.push(await call("patch-expected-version-stale", path, patch("104 mins"),
      Object.assign({"X-Expected-Version": "2"}, JSON_CT)));
  out.push(await call("create", "/v1/movies", {method: "POST",
      body: JSON.stringify(%(movie)s)}, JSON_CT));
  document.getElementById("result").textContent =
      "DONE " + JSON.stringify(out);
})();
</script></body></html>
"""

# How long the page server holds GET /wait (real time, not virtual).
WAIT_SECONDS = 6


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base's name)
        pass

    def do_GET(self):  # noqa: N802 (the base's name)
        if self.path != "/wait":
            super().do_GET()
            return
        time.sleep(WAIT_SECONDS)
        self.send_response(204)
        self.end_headers()


class PageServer:
    """A static file server for one folder on its own origin."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="redlight-cors-")
        handler = functools.partial(QuietHandler, directory=self.folder)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def write(self, name, text):
        with open(os.path.join(self.folder, name), "w", encoding="utf-8") as f:
            f.write(text)
        return f"{self.origin}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def page_server():
    """page_server() -> a PageServer (its own origin on loopback); the page
    is written once the API's address is known: srv.write(name, html)."""
    started = []

    def start():
        srv = PageServer()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.close()


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: run `make deps` (Debian "
                    "package chromium, part of DEPS_TEST)")
    return path


def run_page(url):
    """Loads url in headless Chromium; returns the list of probe results
    the page wrote into its DOM."""
    with tempfile.TemporaryDirectory(prefix="redlight-chromium-") as profile:
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-quic", "--no-first-run",
               "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--virtual-time-budget=5000",
               "--dump-dom", url]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=90, stdin=subprocess.DEVNULL,
                                  check=False)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"chromium did not finish in 90 s: {e}")
    return page_results(proc)


def page_results(proc):
    m = re.search(r'<pre id="result">DONE (.*?)</pre>', proc.stdout, re.S)
    if proc.returncode != 0 or m is None:
        pytest.fail(f"chromium failed (exit {proc.returncode}) or the page "
                    f"did not finish.\nstdout:\n{proc.stdout[-2000:]}\n"
                    f"stderr:\n{proc.stderr[-3000:]}")
    return {r["name"]: r for r in json.loads(html.unescape(m.group(1)))}


def api_log_lines(inst):
    with open(inst.log, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == "request":
            out.append(entry["properties"])
    return out


def test_browser_cors(spawn_server, page_server, admin_token):
    good, evil = page_server(), page_server()
    assert good.origin != evil.origin  # same host, other ports
    inst = spawn_server("-cors-trusted-origins", good.origin)
    text = PAGE % {"api": inst.base_url, "token": admin_token}

    seen = run_page(good.write("page.html", text))
    assert seen["simple"]["ok"], seen
    assert seen["simple"]["status"] == 200
    assert seen["simple"]["body"]["status"] == "available"
    # Authorization makes the browser preflight; the API allows it.
    assert seen["bearer"]["ok"] and seen["bearer"]["status"] == 200, seen
    assert seen["bearer"]["body"]["status"] == "available"
    # Errors are readable by the trusted page too.
    assert seen["bad-bearer"]["status"] == 401, seen
    assert seen["bad-bearer"]["body"] == {
        "error": "invalid or missing authentication token"}
    assert seen["delete"]["status"] == 404, seen
    assert seen["delete"]["body"] == {
        "error": "the requested resource could not be found"}
    assert seen["json-post"]["status"] == 422, seen
    assert "title" in seen["json-post"]["body"]["error"]

    time.sleep(0.5)  # the request log is flushed every 100 ms
    before = len(api_log_lines(inst))
    seen = run_page(evil.write("page.html", text))
    for name, result in seen.items():
        assert not result["ok"], (name, result)
        assert "TypeError" in result["error"], (name, result)
    time.sleep(0.5)
    after = api_log_lines(inst)[before:]
    methods = [(e["method"], e["path"]) for e in after]
    # The simple GET reached the API (the browser only hid the answer);
    # the requests that needed a preflight were never sent: the preflights
    # got no Access-Control-Allow-Origin.
    assert ("GET", "/v1/healthcheck") in methods, methods
    assert ("OPTIONS", "/v1/healthcheck") in methods, methods
    assert ("OPTIONS", "/v1/movies/999999999") in methods, methods
    assert ("DELETE", "/v1/movies/999999999") not in methods, methods
    assert ("POST", "/v1/movies") not in methods, methods
    assert methods.count(("GET", "/v1/healthcheck")) == 1, methods


def test_browser_uses_the_api_features(spawn_server, page_server, api,
                                       admin_token, unique):
    """Conditional requests, optimistic locking and the exposed headers,
    from a script on a trusted origin; the preflight of the movie's URL is
    sent once and cached (Access-Control-Max-Age: 600) across a 6 s wait,
    longer than Chromium's 5 s default."""
    good = page_server()
    inst = spawn_server("-cors-trusted-origins",
                        f"http://other.example, {good.origin}",
                        "-limiter-enabled=true", "-limiter-rps", "1000",
                        "-limiter-burst", "1000")
    r = api.post("/v1/movies", json={"title": unique("browser"),
                                      "year": 2001, "runtime": "100 mins",
                                      "genres": ["drama"]})
    assert r.status_code == 201, r.text
    movie_id = r.json()["movie"]["id"]
    new_movie = {"title": unique("browser-new"), "year": 2002,
                 "runtime": "90 mins", "genres": ["comedy"]}
    text = FEATURES_PAGE % {"api": inst.base_url, "id": movie_id,
                            "token": admin_token,
                            "movie": json.dumps(new_movie)}
    time.sleep(0.5)  # the request log is flushed every 100 ms
    before = len(api_log_lines(inst))
    started = time.monotonic()
    seen = run_page(good.write("features.html", text))
    elapsed = time.monotonic() - started
    assert elapsed >= WAIT_SECONDS, elapsed
    for name, result in seen.items():
        assert result["ok"], (name, result)

    got = seen["get"]
    assert got["status"] == 200, got
    assert got["headers"]["ETag"] == '"1"', got
    assert got["headers"]["RateLimit-Limit"] == "1000", got
    assert 0 <= int(got["headers"]["RateLimit-Remaining"]) < 1000, got
    assert int(got["headers"]["RateLimit-Reset"]) >= 0, got
    assert got["headers"]["Location"] is None  # not sent, though exposed

    cond = seen["conditional-get"]
    assert cond["status"] == 304 and cond["body"] is None, cond
    assert cond["headers"]["ETag"] == '"1"', cond

    p = seen["patch-if-match"]
    assert p["status"] == 200, p
    assert p["body"]["movie"]["version"] == 2
    assert p["body"]["movie"]["runtime"] == "101 mins"
    assert p["headers"]["ETag"] == '"2"', p
    p = seen["patch-if-match-stale"]
    assert p["status"] == 412, p
    assert p["body"] == {"error": "the resource has been modified since you "
                                  "last fetched it"}
    p = seen["patch-expected-version"]
    assert p["status"] == 200, p
    assert p["body"]["movie"]["version"] == 3
    assert p["body"]["movie"]["runtime"] == "103 mins"
    p = seen["patch-expected-version-stale"]
    assert p["status"] == 409, p

    created = seen["create"]
    assert created["status"] == 201, created
    new_id = created["body"]["movie"]["id"]
    assert created["headers"]["Location"] == f"/v1/movies/{new_id}", created
    assert int(created["headers"]["RateLimit-Remaining"]) >= 0

    # The record is what the two successful PATCHes made it.
    r = api.get(f"/v1/movies/{movie_id}")
    assert r.json()["movie"]["version"] == 3
    assert r.json()["movie"]["runtime"] == "103 mins"

    # What reached the server. The two X-Expected-Version PATCHes, sent
    # after the 6 s wait, had no preflight: Chromium reused the one it got
    # before the wait, which only Access-Control-Max-Age (600) keeps beyond
    # Chromium's 5 s default. The requests with If-None-Match or If-Match
    # were preflighted every time: the Fetch standard gives a request with
    # an If-* header the cache mode "no-store", and Chromium then bypasses
    # its preflight cache too (the README says so).
    time.sleep(0.5)
    after = api_log_lines(inst)[before:]
    path = f"/v1/movies/{movie_id}"
    methods = [e["method"] for e in after if e["path"] == path]
    assert methods.count("GET") == 2 and methods.count("PATCH") == 4, methods
    assert methods[0] == "OPTIONS", methods
    assert methods[-3:] == ["PATCH", "PATCH", "PATCH"], methods
    assert 1 <= methods.count("OPTIONS") <= 4, methods
