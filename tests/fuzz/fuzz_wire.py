"""fuzz_wire.py — the HTTP/1.1 wire as tests/fuzz/http_fuzz.py sees it.

Cases (what to send) and their JSON form, a strict reference parser of
requests (ref_parse: how RFC 9112 divides bytes into requests, and what it
calls invalid), a parser of the server's responses, and the invariants of a
single response (check_response).
"""

import json
import re

ORIGIN = "http://fuzz.example"  # the instance's -cors-trusted-origins

# --- limits of the contract (§12 #23, #25) and of this fuzzer --------------
HEAD_LIMIT = 64 * 1024   # request line + headers served normally
HEAD_MARGIN = 512        # no expectation this close to the limit
MAX_PARAMS = 1000        # query parameters served normally
READ_TIMEOUT = 2.0       # the fuzzer's instance: -read-timeout 2s
IDLE_TIMEOUT = 4.0       # -idle-timeout 4s
WRITE_TIMEOUT = 3.0      # -write-timeout 3s
SLACK = 2.0              # scheduling, 1 s timer granularity, sanitizers

TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
REQUEST_LINE = re.compile(
    rb"(" + TCHAR + rb"+) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
FIELD_LINE = re.compile(
    rb"(" + TCHAR + rb"+):[ \t]*((?:[\x21-\x7e\x80-\xff](?:[ \t]*"
    rb"[\x21-\x7e\x80-\xff])*)?)[ \t]*")
CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})((?:[ \t]*;[ \t]*" + TCHAR + rb"+(?:=(?:"
    + TCHAR + rb"+|\"[^\"\r\n]*\"))?)*)")
STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: ([^\r\n]*))?")

SENTINELS = {  # name -> (request bytes, expected status)
    "health": (b"GET /v1/healthcheck HTTP/1.1\r\nHost: fuzz\r\n\r\n", 200),
    "missing": (b"GET /v1/fuzz-sentinel HTTP/1.1\r\nHost: fuzz\r\n\r\n", 404),
    "options": (b"OPTIONS /v1/movies HTTP/1.1\r\nHost: fuzz\r\n\r\n", 200),
    "badauth": (b"GET /v1/healthcheck HTTP/1.1\r\nHost: fuzz\r\n"
                b"Authorization: Basic Zm9vOmJhcg==\r\n\r\n", 401),
}
PROBE = (b"GET /v1/healthcheck HTTP/1.1\r\nHost: fuzz\r\n"
         b"Connection: close\r\n\r\n")


# ===========================================================================
# Bytes in JSON: latin-1 text (lossless), long runs of one byte compressed.
# ===========================================================================


def encode_bytes(data):
    """-> a JSON-able list of pieces: str (latin-1) or [char, count]."""
    out, pos = [], 0
    for m in re.finditer(rb"(.)\1{63,}", data, re.S):
        if m.start() > pos:
            out.append(data[pos:m.start()].decode("latin-1"))
        out.append([m.group(1).decode("latin-1"), m.end() - m.start()])
        pos = m.end()
    if pos < len(data):
        out.append(data[pos:].decode("latin-1"))
    return out


def decode_bytes(pieces):
    if isinstance(pieces, str):
        return pieces.encode("latin-1")
    parts = []
    for p in pieces:
        if isinstance(p, str):
            parts.append(p.encode("latin-1"))
        else:
            parts.append(p[0].encode("latin-1") * int(p[1]))
    return b"".join(parts)


def show(data, limit=400):
    """A short printable form of bytes for the report."""
    if len(data) > limit:
        return repr(data[:limit])[:-1] + f"...' ({len(data)} bytes)"
    return repr(data)


# ===========================================================================
# Cases
# ===========================================================================


class Case:
    """One thing to send. kind: "fast" (main lane; handed to the background
    when the server does not answer at once), or a slow kind run in the
    background: "dribble", "pause", "stall", "slowloris", "idle", "write".

    segments   [(bytes, pause after in seconds)]
    shut_wr    half-close after the last segment
    sentinels  {request index: expected status} (pipelines)
    expect     targeted expectations: status_in [..], served <status>,
               refused True
    """

    def __init__(self, kind, segments, name="", seed="", mutators=(),
                 readonly=False, shut_wr=False, sentinels=None, expect=None,
                 params=None):
        self.kind = kind
        self.segments = [(bytes(d), float(p)) for d, p in segments]
        self.name = name
        self.seed = seed
        self.mutators = list(mutators)
        self.readonly = readonly
        self.shut_wr = shut_wr
        self.sentinels = dict(sentinels or {})
        self.expect = dict(expect or {})
        self.params = dict(params or {})

    @property
    def data(self):
        return b"".join(d for d, _ in self.segments)

    def to_json(self):
        return {
            "kind": self.kind, "seed": self.seed, "mutators": self.mutators,
            "readonly": self.readonly, "shut_wr": self.shut_wr,
            "sentinels": {str(k): v for k, v in self.sentinels.items()},
            "expect": self.expect, "params": self.params,
            "segments": [{"data": encode_bytes(d), "pause": p}
                         for d, p in self.segments],
        }

    @classmethod
    def from_json(cls, obj, name):
        return cls(obj.get("kind", "fast"),
                   [(decode_bytes(s["data"]), s.get("pause", 0))
                    for s in obj["segments"]],
                   name=name, seed=obj.get("seed", ""),
                   mutators=obj.get("mutators", ()),
                   readonly=obj.get("readonly", False),
                   shut_wr=obj.get("shut_wr", False),
                   sentinels={int(k): v for k, v in
                              obj.get("sentinels", {}).items()},
                   expect=obj.get("expect"), params=obj.get("params"))


# ===========================================================================
# The reference parser: how RFC 9112 splits bytes into requests
# ===========================================================================


class Ref:
    """verdict:
      ok          every request well-formed; requests lists them
      incomplete  well-formed so far, the last request not finished
      invalid     a line that RFC 9112 does not allow (why says which)
      te          Transfer-Encoding other than exactly "chunked" (HTTP/1.1)
      cl+te       both Content-Length and Transfer-Encoding
      bad-cl      Content-Length invalid or given twice with different values
      dup-cl      Content-Length given twice with the same value (the
                  requests after it are parsed: the value counts once)
      ws-colon    whitespace between a field name and its colon
      too-large   request line + headers over 64 KiB
    requests: [(method, target, head_len, headers)] up to the verdict's
    request (included when it is that request's verdict).  complete: the
    client sent every byte of the requests it began (so the server should
    not wait for more)."""

    def __init__(self):
        self.verdict = "ok"
        self.why = ""
        self.requests = []
        self.complete = True
        self.index = 0          # request the verdict is about
        self.closes_after = None  # index after which the server may close
        self.starts = []        # offset of each request in the bytes


def _phase(data):
    if b"\r\n" not in data and b"\n" not in data:
        return "request-line"
    if b"\r\n\r\n" not in data and b"\n\n" not in data:
        return "headers"
    return "body"


def ref_parse(data):
    ref = Ref()
    pos = 0
    while pos < len(data):
        ref.index = len(ref.requests)
        # RFC 9112 §2.2: empty lines before a request line are ignored.
        while data.startswith(b"\r\n", pos):
            pos += 2
        if pos >= len(data):
            break
        end = data.find(b"\r\n\r\n", pos)
        head = data[pos:end if end >= 0 else len(data)]
        if b"\n" in head.replace(b"\r\n", b""):
            # A bare LF: servers may take it for a line end (RFC 9112
            # §2.2), so where this head ends is anyone's guess.
            ref.verdict, ref.why = "invalid", "line"
            return ref
        if len(head) + 4 > HEAD_LIMIT:
            ref.verdict, ref.why = "too-large", f"{len(head) + 4} bytes"
            ref.complete = end >= 0
            return ref
        if end < 0:
            ref.verdict, ref.why = "incomplete", _phase(data[pos:])
            ref.complete = False
            # A request line already visible may make it invalid.
            lines = head.split(b"\r\n")
            if len(lines) > 1 and not REQUEST_LINE.fullmatch(lines[0]):
                ref.verdict, ref.why = "invalid", "request-line"
                ref.complete = True
            return ref
        lines = head.split(b"\r\n")
        ref.starts.append(pos)
        m = REQUEST_LINE.fullmatch(lines[0])
        if not m:
            ref.verdict, ref.why = "invalid", "request-line"
            return ref
        method, target = m.group(1), m.group(2)
        version = (int(m.group(3)), int(m.group(4)))
        if version not in ((1, 0), (1, 1)):
            ref.verdict, ref.why = "invalid", "version"
            return ref
        headers = []
        for line in lines[1:]:
            fm = FIELD_LINE.fullmatch(line)
            if fm:
                headers.append((fm.group(1).lower(), fm.group(2)))
                continue
            if re.fullmatch(TCHAR + rb"+[ \t]+:.*", line, re.S):
                ref.verdict, ref.why = "ws-colon", line.split(b":")[0][:40]
            else:
                ref.verdict, ref.why = "invalid", "field-line"
            ref.requests.append((method, target, len(head) + 4, headers))
            return ref
        ref.requests.append((method, target, len(head) + 4, headers))
        te = [v for n, v in headers if n == b"transfer-encoding"]
        cl = [v for n, v in headers if n == b"content-length"]
        body = end + 4
        if te and version == (1, 0):
            ref.verdict, ref.why = "invalid", "te-http/1.0"
            return ref
        if te and cl:
            ref.verdict = "cl+te"
            return ref
        if te:
            if len(te) != 1 or te[0].lower() != b"chunked":
                ref.verdict, ref.why = "te", b", ".join(te).decode("latin-1")
                return ref
            pos, why = _chunked_end(data, body)
            if why is not None:
                if why == "incomplete":
                    ref.verdict, ref.why = "incomplete", "chunked body"
                    ref.complete = False
                else:
                    ref.verdict, ref.why = "invalid", why
                return ref
        elif cl:
            values = [v.strip() for c in cl for v in c.split(b",")]
            if not all(re.fullmatch(rb"[0-9]+", v) for v in values) or \
                    len(set(int(v) for v in values)) != 1:
                ref.verdict, ref.why = "bad-cl", b", ".join(cl).decode(
                    "latin-1")
                return ref
            if len(values) > 1:
                # RFC 9112 §6.3 lets a recipient take identical values as
                # one (Redlight does): the stream goes on after that length,
                # so requests pipelined behind it are answered too.
                ref.verdict = "dup-cl"
            n = int(values[0])
            if len(data) < body + n:
                ref.verdict, ref.why = "incomplete", "body"
                ref.complete = False
                return ref
            pos = body + n
        else:
            pos = body
        names = [n for n, _ in headers]
        if version == (1, 1) and names.count(b"host") != 1:
            ref.verdict, ref.why = "invalid", "host"
            return ref
        conn = b",".join(v for n, v in headers if n == b"connection").lower()
        if b"close" in conn or (version == (1, 0) and b"keep-alive" not in
                                conn):
            ref.closes_after = len(ref.requests) - 1
            return ref  # what follows is never read
    return ref


def _chunked_end(data, pos):
    """-> (end of the chunked body, None) or (pos, why)."""
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return pos, "incomplete" if len(data) - pos < 64 else "chunk-size"
        m = CHUNK_LINE.fullmatch(data[pos:eol])
        if not m:
            return pos, "chunk-size"
        size = int(m.group(1), 16)
        pos = eol + 2
        if size == 0:
            break
        if size > 1 << 31:
            return pos, "chunk-size"
        if len(data) < pos + size + 2:
            return pos, "incomplete"
        if data[pos + size:pos + size + 2] != b"\r\n":
            return pos, "chunk-data"
        pos += size + 2
    while True:  # trailer section
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return pos, "incomplete"
        line = data[pos:eol]
        pos = eol + 2
        if not line:
            return pos, None
        if not FIELD_LINE.fullmatch(line):
            return pos, "trailer"


def query_params(target):
    q = target.split(b"?", 1)
    return 0 if len(q) < 2 or not q[1] else q[1].count(b"&") + 1


# ===========================================================================
# Responses
# ===========================================================================


class Response:
    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(lower name, value)]
        self.body = body
        self.raw = raw

    def header(self, name):
        vals = [v for n, v in self.headers if n == name]
        return b", ".join(vals) if vals else None

    def closes(self):
        c = self.header(b"connection")
        return c is not None and b"close" in c.lower()


def parse_responses(buf, methods, eof):
    """Complete responses at the start of buf (1xx skipped).
    -> (responses, bytes used, error or None)."""
    out, pos = [], 0
    while pos < len(buf):
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            if eof or len(buf) - pos > 256 * 1024:
                return out, pos, "truncated head"
            break
        lines = buf[pos:end].split(b"\r\n")
        m = STATUS_LINE.fullmatch(lines[0])
        if not m:
            return out, pos, "status line " + repr(lines[0][:60])
        status = int(m.group(1))
        headers = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not re.fullmatch(TCHAR + b"+", name):
                return out, pos, "header line " + repr(line[:60])
            headers.append((name.lower(), value.strip(b" \t")))
        body_at = end + 4
        if 100 <= status < 200:
            pos = body_at
            continue
        method = methods[len(out)] if len(out) < len(methods) else b"GET"
        resp = Response(status, m.group(2) or b"", headers, b"", b"")
        te = resp.header(b"transfer-encoding")
        cl = resp.header(b"content-length")
        if method == b"HEAD" or status in (204, 304):
            stop = body_at
            rest = bytes(buf[body_at:body_at + 5])
            if method == b"HEAD" and rest and not (
                    b"HTTP/".startswith(rest) or rest.startswith(b"HTTP/")):
                resp.raw = bytes(buf[pos:body_at])
                out.append(resp)
                return out, body_at, "body in a response to HEAD"
        elif te is not None and te.lower() == b"chunked":
            stop, why = _chunked_end(buf, body_at)
            if why == "incomplete":
                if eof:
                    return out, pos, "truncated chunked body"
                break
            if why is not None:
                return out, pos, "chunked body: " + why
            resp.body = _dechunk(buf[body_at:stop])
        elif cl is not None:
            if not re.fullmatch(rb"[0-9]+", cl):
                return out, pos, "content-length " + repr(cl[:40])
            stop = body_at + int(cl)
            if len(buf) < stop:
                if eof:
                    return out, pos, "truncated body"
                break
            resp.body = bytes(buf[body_at:stop])
        else:
            if not eof:
                break
            stop = len(buf)
            resp.body = bytes(buf[body_at:stop])
        resp.raw = bytes(buf[pos:stop])
        out.append(resp)
        pos = stop
    return out, pos, None


def _dechunk(data):
    out, pos = [], 0
    while True:
        eol = data.find(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[eol + 2:eol + 2 + size])
        pos = eol + 2 + size + 2


def error_json(resp):
    """The "error" value of a JSON error body, or None."""
    try:
        obj = json.loads(resp.body)
    except ValueError:
        return None
    return obj.get("error") if isinstance(obj, dict) else None


def body_kind(resp):
    """A stable short description of a non-JSON body, for signatures."""
    m = re.search(rb"<title>([^<]{0,60})</title>", resp.body, re.I)
    if m:
        return "html:" + m.group(1).decode("latin-1")
    if not resp.body:
        return "empty body"
    ctype = resp.header(b"content-type")
    return "content-type:" + (ctype.decode("latin-1") if ctype else "none")


ALLOWED_5XX = {
    501: "unsupported transfer encoding",
    503: "the server is busy, please try again later",
    505: None,  # an unsupported HTTP version: any JSON error
}


def check_response(resp, method):
    """Generic invariants of one response -> [(invariant, signature,
    detail)]."""
    out = []
    s = resp.status
    ctype = (resp.header(b"content-type") or b"").split(b";")[0].strip()
    if resp.body.startswith(b"HTTP/1."):
        out.append(("answer", f"response-head-twice:{s}",
                    f"the body of a {s} response is another response head: "
                    f"{show(resp.raw, 200)}"))
    if s >= 500 and s not in ALLOWED_5XX:
        out.append(("answer", f"status-{s}:{_err_text(resp)}",
                    f"the server answered {s}: {show(resp.body, 160)}"))
        return out
    if s >= 400:
        err = error_json(resp)
        if ctype.lower() != b"application/json":
            what = "head" if method == b"HEAD" and not resp.body else \
                body_kind(resp)
            out.append(("json", f"non-json-error:{s}:{what}",
                        f"{s} with Content-Type {ctype!r}: "
                        f"{show(resp.body, 160)}"))
        elif method != b"HEAD" and (err is None or
                                    not resp.body.endswith(b"\n")):
            out.append(("json", f"bad-json-error:{s}",
                        f"{s} body is not a JSON object with \"error\" and "
                        f"a final newline: {show(resp.body, 160)}"))
        elif s in ALLOWED_5XX and ALLOWED_5XX[s] is not None and \
                method != b"HEAD" and err != ALLOWED_5XX[s]:
            out.append(("answer", f"status-{s}:{_err_text(resp)}",
                        f"the server answered {s}: {show(resp.body, 160)}"))
    return out


def _err_text(resp):
    e = error_json(resp)
    if isinstance(e, str):
        return e[:60]
    return body_kind(resp)
