"""The HTTP edge: sizes, framing, deadlines and connection limits
(CONTRACT §12 #23-#25, §13.2), seen with raw sockets.

Each test runs its own instance with short deadlines (read 2 s, idle 4 s,
write 3 s) so a deadline shows within seconds, and checks it both ways: a
stalled connection is closed within the deadline + 1 s of its first byte
(of its accept when it sends nothing), and not long before the deadline,
since a slow but honest client must not be cut off early.  "Closed" means
the server ended the stream (FIN or reset); an error status line before it
is allowed, a 2xx never.

Sizes: a request line and headers of up to 64 KiB in all (the Host line and
every CRLF counted), with up to 1,000 query parameters, are served; beyond
that, 414 `{"error": "the request URI is too long"}` or 431
`{"error": "the request header fields are too large"}`, JSON, with
`Connection: close`.  A Transfer-Encoding other than `chunked` is 501
`{"error": "unsupported transfer encoding"}`.
"""

import json
import socket
import threading
import time

from conftest import connect, read_response, unique, wait_closed

READ, IDLE, WRITE = 2.0, 4.0, 3.0
SLACK = 1.0
# -shutdown-timeout: a connection the server got stuck on delays the
# SIGTERM at the end of a failing test by 5 s, not by the default 30 s.
FLAGS = ("-read-timeout", "2s", "-idle-timeout", "4s", "-write-timeout", "3s",
         "-max-conns-per-ip", "50", "-max-conns", "6000",
         "-limiter-enabled=false", "-shutdown-timeout", "5s")
LIMIT = 64 * 1024

URI_TOO_LONG = {"error": "the request URI is too long"}
HEADERS_TOO_LARGE = {"error": "the request header fields are too large"}
UNSUPPORTED_TE = {"error": "unsupported transfer encoding"}


def edge_server(spawn_server, *flags):
    return spawn_server(*FLAGS, *flags)


def head_bytes(target, headers=(), method="GET"):
    """A request line and header block, Host first."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def padded(target, header_bytes, total=LIMIT):
    """A GET whose line + headers are `total` bytes in all, the padding
    split between the query (a `pad` parameter) and X-Pad-N headers of at
    most 8 KiB, about header_bytes of it in headers."""
    headers = []
    left = header_bytes
    n = 0
    while left > 0:
        size = min(left, 8192)
        line = f"X-Pad-{n}: " + "h" * max(1, size - len(f"X-Pad-{n}: ") - 2)
        headers.append(line)
        left -= len(line) + 2
        n += 1
    missing = total - len(head_bytes(target + "?pad=", headers))
    assert missing >= 0, "the headers alone are over the total"
    out = head_bytes(target + "?pad=" + "q" * missing, headers)
    assert len(out) == total
    return out


def exchange(inst, raw, timeout=5.0, source=None):
    """Sends raw on a new connection (from a thread: the server may stop
    reading once it has decided) and reads one response.  Returns (status,
    headers, body, how the connection ended: "closed" when the server closed
    it within 2 s after the response, else "open")."""
    sock = connect(inst, source=source, timeout=timeout)

    def send():
        try:
            sock.sendall(raw)
        except OSError:
            pass  # the server answered and stopped reading

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        try:
            status, headers, body = read_response(sock)
        except (socket.timeout, ConnectionError) as e:
            raise AssertionError(f"no answer ({e!r}) to {raw[:60]!r}... "
                                 f"({len(raw)} bytes)") from None
        return status, headers, body, after_response(sock)
    finally:
        sock.close()
        sender.join(timeout=5)


def after_response(sock):
    """How a connection goes on right after a response: "closed" (the
    server ended it within 2 s), "open" or "more bytes"."""
    sock.settimeout(2.0)
    try:
        return "more bytes" if sock.recv(1) else "closed"
    except socket.timeout:
        return "open"
    except OSError:
        return "closed"


def assert_json_error(got, status, error, must_close=True):
    code, headers, body, ended = got
    ctype = headers.get("Content-Type", "")
    seen = f"{code} Content-Type {ctype!r} {body[:200]!r}"
    assert code == status, seen
    assert ctype.split(";")[0] == "application/json", seen
    assert body.endswith(b"\n"), seen
    assert json.loads(body) == error, seen
    if must_close:
        assert headers.get("Connection", "").lower() == "close", headers
        assert ended == "closed", f"the connection is {ended} after {status}"


def assert_served(got):
    code, headers, body, ended = got
    assert code == 200, (code, body[:300])
    assert json.loads(body)["status"] == "available"
    assert ended == "open", f"a normal request left the connection {ended}"


def each(cases, check):
    """check(case) for every (name, case) of cases, on the one instance of
    the test; one failure lists every case that went wrong."""
    wrong = []
    for name, case in cases:
        try:
            check(case)
        except AssertionError as e:
            wrong.append(f"{name}: {e}")
    assert not wrong, "\n".join(wrong)


# --- sizes -------------------------------------------------------------------


def test_64_kib_of_line_and_headers_is_served(spawn_server):
    inst = edge_server(spawn_server)

    def check(header_bytes):
        # Well inside the limit first, so a failure only at the exact
        # boundary shows as such.
        assert_served(exchange(inst, padded("/v1/healthcheck", header_bytes,
                                            LIMIT - 2048)))
        raw = padded("/v1/healthcheck", header_bytes)
        line = raw.index(b"\r\n") + 2
        print(f"\nrequest line + headers: {len(raw)} bytes, {line} of them "
              "in the line")
        assert_served(exchange(inst, raw))

    each([(f"{n} bytes of headers", n) for n in (0, 32 * 1024, 60 * 1024)],
         check)


def query(n, distinct):
    return "&".join(f"k{i}=1" if distinct else "genres=a" for i in range(n))


def test_1000_query_parameters_are_served_1001_are_414(spawn_server):
    inst = edge_server(spawn_server)
    auth = f"Authorization: {inst.default_headers['Authorization']}"

    def check(distinct):
        assert_served(exchange(inst, head_bytes(
            "/v1/healthcheck?" + query(1000, distinct))))
        got = exchange(inst, head_bytes("/v1/healthcheck?" +
                                        query(1001, distinct)))
        assert_json_error(got, 414, URI_TOO_LONG)
        # The same on a route that reads its query (a database route).
        code, _, body, _ = exchange(inst, head_bytes(
            "/v1/movies?" + query(1000, distinct), [auth]))
        assert code == 200, body[:300]
        got = exchange(inst, head_bytes("/v1/movies?" + query(1001, distinct),
                                        [auth]))
        assert_json_error(got, 414, URI_TOO_LONG)

    each([("one key repeated", False), ("distinct keys", True)], check)


def test_request_line_past_the_connection_pool(spawn_server):
    """A request line too long even for libmicrohttpd's 144 KiB connection
    pool is answered by libmicrohttpd itself, before any Redlight code runs
    (README, "Sizes"): a 414 in HTML, and the connection closed."""
    inst = edge_server(spawn_server)
    fixed = len("GET /v1/healthcheck?pad= HTTP/1.1\r\n")
    raw = head_bytes("/v1/healthcheck?pad=" + "q" * (256 * 1024 - fixed))
    code, headers, _, ended = exchange(inst, raw)
    assert code == 414
    assert headers.get("Connection", "").lower() == "close"
    assert ended == "closed"
    assert_served(exchange(inst, head_bytes("/v1/healthcheck")))


def test_request_line_over_64_kib_is_414(spawn_server):
    inst = edge_server(spawn_server)

    def check(line_bytes):
        # line_bytes counts the request line with its CRLF: LIMIT + 3 is
        # over 64 KiB with or without it.
        fixed = len("GET /v1/healthcheck?pad= HTTP/1.1\r\n")
        raw = head_bytes("/v1/healthcheck?pad=" + "q" * (line_bytes - fixed))
        assert raw.index(b"\r\n") + 2 == line_bytes
        assert_json_error(exchange(inst, raw), 414, URI_TOO_LONG)
        # The instance still serves (a fresh connection).
        assert_served(exchange(inst, head_bytes("/v1/healthcheck")))

    each([(f"a {n}-byte line", n)
          for n in (LIMIT + 3, 70 * 1024, 120 * 1024)], check)


def test_headers_over_64_kib_are_431(spawn_server):
    inst = edge_server(spawn_server)
    just_over = padded("/v1/healthcheck", 60 * 1024)
    just_over = just_over[:-4] + b"\r\nX-One-More: h\r\n\r\n"

    def check(raw):
        assert len(raw) > LIMIT
        assert_json_error(exchange(inst, raw), 431, HEADERS_TOO_LARGE)
        assert_served(exchange(inst, head_bytes("/v1/healthcheck")))

    each([
        ("one 70 KiB header", head_bytes("/v1/healthcheck",
                                         ["X-Big: " + "h" * 70 * 1024])),
        ("700 headers of 100 bytes", head_bytes(
            "/v1/healthcheck",
            [f"X-Many-{i}: " + "h" * 100 for i in range(700)])),
        ("64 KiB and one more header", just_over),
    ], check)


def test_line_and_headers_over_64_kib_together(spawn_server):
    """40 KiB of line and 30 KiB of headers: each fits, together they do
    not; either refusal will do."""
    inst = edge_server(spawn_server)
    raw = head_bytes("/v1/healthcheck?pad=" + "q" * 40 * 1024,
                     ["X-Big: " + "h" * 30 * 1024])
    got = exchange(inst, raw)
    assert got[0] in (414, 431), (got[0], got[2][:300])
    assert_json_error(got, got[0],
                      URI_TOO_LONG if got[0] == 414 else HEADERS_TOO_LARGE)


# --- Transfer-Encoding ----------------------------------------------------------


def chunked(data):
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


def movie_request(inst, title, headers):
    body = json.dumps({"title": title, "year": 2016, "runtime": "107 mins",
                       "genres": ["drama"]}).encode()
    return head_bytes("/v1/movies", [
        f"Authorization: {inst.default_headers['Authorization']}",
        "Content-Type: application/json", *headers], "POST") + chunked(body)


def test_unsupported_transfer_encoding_is_501(spawn_server, db):
    """Refused before the body is read: nothing is created, and the
    connection (whose framing is unknown) is closed."""
    inst = edge_server(spawn_server)

    def check(encodings):
        title = unique("te")
        code, headers, body, ended = exchange(inst, movie_request(
            inst, title, [f"Transfer-Encoding: {e}" for e in encodings]),
            timeout=3.0)
        ctype = headers.get("Content-Type", "")
        assert code == 501, (code, ctype, body[:300])
        assert ctype.split(";")[0] == "application/json", ctype
        assert json.loads(body) == UNSUPPORTED_TE, body
        assert ended == "closed", f"the connection is {ended} after the 501"
        assert db(f"SELECT count(*) FROM movies WHERE title = '{title}'") \
            == "0", "the movie was created"

    each([(" + ".join(e), e) for e in (
        ["identity"], ["gzip, chunked"], ["chunked, gzip"], ["foo"],
        ["gzip"], ["chunked, chunked"], ["gzip", "chunked"])], check)


def test_chunked_is_served(spawn_server):
    """The control: a chunked body is read as usual."""
    inst = edge_server(spawn_server)

    def check(encoding):
        title = unique("chunked")
        code, _, got, _ = exchange(inst, movie_request(
            inst, title, [f"Transfer-Encoding: {encoding}"]))
        assert code == 201, got[:300]
        assert json.loads(got)["movie"]["title"] == title

    each([(e, e) for e in ("chunked", "Chunked")], check)


# --- read deadline ---------------------------------------------------------------


class Stall:
    """One misbehaving connection: its socket, when its clock started (first
    byte, or accept when it sends nothing), and whether an early close is
    fine (a request the server can reject on sight)."""

    def __init__(self, name, sock, t0, early_ok=False):
        self.name, self.sock, self.t0, self.early_ok = name, sock, t0, early_ok


def stall(inst, name, data, early_ok=False):
    sock = connect(inst)
    t0 = time.monotonic()
    if data:
        sock.sendall(data)
    return Stall(name, sock, t0, early_ok)


def trickle(inst, name, first, byte, stop):
    """Sends `first`, then `byte` every 0.2 s until stop is set or the
    server closes: a client that is never idle but never done."""
    st = stall(inst, name, first)

    def run():
        while not stop.wait(0.2):
            try:
                st.sock.send(byte)
            except OSError:
                return

    threading.Thread(target=run, daemon=True).start()
    return st


def check_closed(stalls, deadline, low, high):
    """wait_closed over stalls; returns lines describing each, and the
    failures."""
    ended = wait_closed([s.sock for s in stalls], deadline)
    report, wrong = [], []
    for s in stalls:
        closed, data = ended[s.sock]
        took = None if closed is None else closed - s.t0
        status = data[:12].decode("latin-1")
        line = (f"{s.name}: " + ("not closed" if took is None else
                                 f"closed after {took:.2f} s") +
                (f", got {data[:60]!r}" if data else ""))
        report.append(line)
        if took is None or took > high:
            wrong.append(f"{line} (want closed within {high:.1f} s)")
        elif took < low and not s.early_ok:
            wrong.append(f"{line} (closed before {low:.1f} s)")
        if data and not (status.startswith("HTTP/1.1 4") or
                         status.startswith("HTTP/1.0 4")):
            wrong.append(f"{s.name}: answered {data[:80]!r}")
    return report, wrong


def test_stalled_requests_are_closed_at_the_read_deadline(spawn_server):
    inst = edge_server(spawn_server)
    auth = f"Authorization: {inst.default_headers['Authorization']}"
    stop = threading.Event()
    # A keep-alive connection whose second request stalls: its clock starts
    # at the second request's first byte, not at the connection's start.
    second = connect(inst)
    second.sendall(head_bytes("/v1/healthcheck"))
    assert read_response(second)[0] == 200
    time.sleep(0.5)
    stalls = [
        stall(inst, "nothing sent", b""),
        stall(inst, "request line unfinished", b"GET /v1/healthc"),
        stall(inst, "headers unfinished",
              b"GET /v1/healthcheck HTTP/1.1\r\nHost: x\r\nX-Slow: ab"),
        stall(inst, "headers without the blank line",
              b"GET /v1/healthcheck HTTP/1.1\r\nHost: x\r\n"),
        stall(inst, "body shorter than Content-Length",
              head_bytes("/v1/movies", [auth, "Content-Length: 100"],
                         "POST") + b'{"title": '),
        stall(inst, "chunked body unterminated",
              head_bytes("/v1/movies", [auth, "Transfer-Encoding: chunked"],
                         "POST") + b"5\r\n{\"tit\r\n"),
        stall(inst, "binary request line",
              bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc,
                     0x03, 0x03]) + bytes(range(0x80, 0xa0)), early_ok=True),
        trickle(inst, "headers trickled a byte per 0.2 s",
                b"GET /v1/healthcheck HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a",
                stop),
        trickle(inst, "body trickled a byte per 0.2 s",
                head_bytes("/v1/movies", [auth, "Content-Length: 1000"],
                           "POST") + b" ", b" ", stop),
    ]
    second.sendall(b"GET /v1/healthcheck HTTP/1.1\r\nHo")
    stalls.append(Stall("second request on a keep-alive connection "
                        "unfinished", second, time.monotonic()))
    # While they stall, others are served at once.
    t = time.perf_counter()
    assert inst.anonymous().get("/v1/healthcheck").status_code == 200
    assert time.perf_counter() - t < 1.0
    try:
        deadline = max(s.t0 for s in stalls) + READ + SLACK + 1.0
        report, wrong = check_closed(stalls, deadline, READ - SLACK,
                                     READ + SLACK)
    finally:
        stop.set()
        for s in stalls:
            s.sock.close()
    print("\nread deadline " + f"{READ} s:\n  " + "\n  ".join(report))
    assert not wrong, "\n".join(wrong)


# --- idle deadline ---------------------------------------------------------------


def test_idle_keep_alive_is_closed_at_the_idle_deadline(spawn_server):
    inst = edge_server(spawn_server)
    idle = connect(inst)
    idle.sendall(head_bytes("/v1/healthcheck"))
    assert read_response(idle)[0] == 200
    t0 = time.monotonic()
    # Meanwhile a connection in use (a request a second, for longer in all
    # than the idle deadline) is not idle: it stays open.
    busy_log = []

    def busy():
        with connect(inst) as sock:
            for _ in range(int(IDLE) + 2):
                try:
                    sock.sendall(head_bytes("/v1/healthcheck"))
                    status, headers, _ = read_response(sock)
                except OSError as e:
                    busy_log.append(repr(e))
                    return
                busy_log.append(status)
                if headers.get("Connection", "").lower() == "close":
                    busy_log.append("Connection: close")
                    return
                time.sleep(1.0)

    worker = threading.Thread(target=busy, daemon=True)
    worker.start()
    closed, data = wait_closed([idle], t0 + IDLE + SLACK + 1.0)[idle]
    idle.close()
    worker.join(timeout=30)
    took = None if closed is None else closed - t0
    print(f"\nidle deadline {IDLE} s: idle connection "
          + ("not closed" if took is None else f"closed after {took:.2f} s")
          + f"; busy connection, a request a second: {busy_log}")
    assert data == b"", data[:200]
    assert took is not None and took <= IDLE + SLACK, \
        f"idle connection not closed within {IDLE + SLACK} s"
    assert took >= IDLE - SLACK, f"idle connection closed after {took:.2f} s"
    assert busy_log == [200] * (int(IDLE) + 2), busy_log


# --- write deadline --------------------------------------------------------------


def server_side_state(server_port, client_port):
    """The TCP state (hex, 01 = ESTABLISHED) of the server's end of the
    connection from client_port, or None when it is gone."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, remote, state = fields[1], fields[2], fields[3]
                    if (int(local.rsplit(":", 1)[1], 16) == server_port and
                            int(remote.rsplit(":", 1)[1], 16) == client_port):
                        return state
        except FileNotFoundError:
            continue
    return None


def test_slow_reader_is_abandoned_at_the_write_deadline(spawn_server):
    """A client that asks for far more than the socket buffers hold and
    never reads: the server gives up on it at the write deadline (its end
    of the connection leaves ESTABLISHED, and reading afterwards ends before
    all the responses), and serves others meanwhile."""
    inst = edge_server(spawn_server)
    size = len(inst.anonymous().get("/v1/openapi.json").content)
    # Four times what the largest send buffer (tcp_wmem) can hold.
    with open("/proc/sys/net/ipv4/tcp_wmem", encoding="ascii") as f:
        wmem_max = int(f.read().split()[2])
    count = max(100, 4 * wmem_max // size)
    slow = connect(inst, rcvbuf=4096)
    client_port = slow.getsockname()[1]
    slow.sendall(head_bytes("/v1/openapi.json") * count)
    t0 = time.monotonic()
    abandoned = None
    served = 0
    while time.monotonic() < t0 + WRITE + SLACK:
        if server_side_state(inst.port, client_port) != "01":
            abandoned = time.monotonic() - t0
            break
        assert inst.anonymous().get("/v1/healthcheck").status_code == 200
        served += 1
        time.sleep(0.05)
    # Read what is left.  A server that gave up can have left no more than
    # its socket buffers held; one that is still writing goes on past that.
    most = wmem_max + (1 << 20)
    got, ended = 0, "still sending after 10 s"
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    slow.settimeout(10)
    try:
        while got <= most:
            chunk = slow.recv(1 << 20)
            if not chunk:
                ended = "closed"
                break
            got += len(chunk)
        else:
            ended = "still sending"
    except socket.timeout:
        pass
    except OSError:
        ended = "reset"
    finally:
        slow.close()
    print(f"\nwrite deadline {WRITE} s: {count} pipelined GET "
          f"/v1/openapi.json ({count * size >> 20} MiB of bodies): "
          + ("still ESTABLISHED" if abandoned is None else
             f"abandoned after {abandoned:.2f} s")
          + f"; then {ended} after {got >> 10} KiB; {served} healthchecks "
          f"served meanwhile")
    assert abandoned is not None, \
        f"the server still writes after {WRITE + SLACK} s"
    assert abandoned >= WRITE - SLACK, f"abandoned after {abandoned:.2f} s"
    assert ended in ("closed", "reset"), \
        f"{ended} after {got >> 10} KiB: the server did not give up"


# --- connection limits ----------------------------------------------------------


def served(inst, source=None):
    """True when a request on a new connection from source gets 200; False
    when the connection is refused, closed or reset without an answer."""
    try:
        sock = connect(inst, source=source, timeout=5)
    except ConnectionRefusedError:
        return False
    try:
        sock.sendall(head_bytes("/v1/healthcheck"))
        return read_response(sock)[0] == 200
    except (ConnectionError, OSError):
        return False
    finally:
        sock.close()


def assert_turned_away(inst, source, what):
    """A new connection from source is refused, or closed at once without an
    answer."""
    t0 = time.monotonic()
    try:
        sock = connect(inst, source=source, timeout=5)
    except ConnectionRefusedError:
        return "refused"
    try:
        try:
            sock.sendall(head_bytes("/v1/healthcheck"))
        except OSError:
            return "reset"
        ended = wait_closed([sock], t0 + 1.0)[sock]
    finally:
        sock.close()
    closed, data = ended
    assert closed is not None, f"{what}: still open after 1 s"
    assert not data.startswith(b"HTTP/1.1 2"), f"{what}: served {data[:80]!r}"
    return f"closed after {closed - t0:.3f} s"


def hold(inst, source, n):
    """n keep-alive connections from source, each served once."""
    # spawn_server's own healthcheck connection may not be gone yet.
    time.sleep(0.2)
    socks = []
    for i in range(n):
        sock = connect(inst, source=source)
        socks.append(sock)
        sock.sendall(head_bytes("/v1/healthcheck"))
        status = read_response(sock)[0]
        assert status == 200, f"connection {i + 1} from {source}: {status}"
    return socks


def test_per_ip_connection_limit(spawn_server):
    inst = edge_server(spawn_server, "-read-timeout", "20s",
                       "-idle-timeout", "20s")
    held = hold(inst, "127.0.0.1", 50)
    try:
        how = assert_turned_away(inst, "127.0.0.1", "the 51st connection")
        print(f"\n51st connection from 127.0.0.1: {how}")
        assert served(inst, "127.0.0.2"), "127.0.0.2 was not served"
        # The 50 are untouched.
        for sock in (held[0], held[-1]):
            sock.sendall(head_bytes("/v1/healthcheck"))
            assert read_response(sock)[0] == 200
        # Closing some frees their places.
        for sock in held[:5]:
            sock.close()
        deadline = time.monotonic() + 2
        while not served(inst, "127.0.0.1"):
            assert time.monotonic() < deadline, \
                "no place for 127.0.0.1 2 s after 5 of its 50 closed"
            time.sleep(0.1)
    finally:
        for sock in held:
            sock.close()


def test_trusted_proxy_is_exempt_from_the_per_ip_limit(spawn_server):
    inst = edge_server(spawn_server, "-trusted-proxies", "127.0.0.1/32",
                       "-read-timeout", "20s", "-idle-timeout", "20s")
    held = []
    try:
        held += hold(inst, "127.0.0.1", 60)
        # The limit still holds for an address that is not a proxy.
        held += hold(inst, "127.0.0.2", 50)
        how = assert_turned_away(inst, "127.0.0.2", "the 51st from 127.0.0.2")
        print(f"\n60 from the trusted 127.0.0.1 served; 51st from "
              f"127.0.0.2: {how}")
    finally:
        for sock in held:
            sock.close()


def test_global_connection_limit(spawn_server):
    inst = edge_server(spawn_server, "-max-conns", "60",
                       "-read-timeout", "20s", "-idle-timeout", "20s")
    held = []
    try:
        held += hold(inst, "127.0.0.2", 40)
        held += hold(inst, "127.0.0.3", 20)
        how = assert_turned_away(inst, "127.0.0.4", "the 61st connection")
        print(f"\n61st connection (-max-conns 60): {how}")
        held.pop().close()
        deadline = time.monotonic() + 2
        while not served(inst, "127.0.0.4"):
            assert time.monotonic() < deadline, \
                "no place 2 s after one of the 60 closed"
            time.sleep(0.1)
    finally:
        for sock in held:
            sock.close()
