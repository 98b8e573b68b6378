"""CORS in a real browser (issue 6): a page served from another origin on
loopback, loaded in headless Chromium (Debian `chromium`, installed by
`make test`), fetches from the API with and without an Authorization header
and writes what it saw into the DOM, which Chromium dumps.

From a trusted origin the page reads every response, errors included (the
Authorization and JSON requests go through a preflight first).  From an
untrusted one every fetch fails, and the browser never sends the requests
that needed a preflight.

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


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base's name)
        pass


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
