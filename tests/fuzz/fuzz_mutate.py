"""fuzz_mutate.py — seeds and mutations of tests/fuzz/http_fuzz.py.

A seed is one exact request of tests/fuzz/corpus; Generator.case(i) turns
run seed S and case number i alone (random.Random(f"{S}/{i}")) into a Case:
random structural and byte mutations, framing (Content-Length,
Transfer-Encoding, chunked bodies, smuggling shapes), sizes around the
64 KiB limit, escapes in paths, pipelines with sentinels, truncations, and
slow kinds (dribbles, pauses, stalls, slowloris, idle and unread
connections, a shutdown with a client connected).
"""

import os
import random
import re

from fuzz_wire import (HEAD_LIMIT, HEAD_MARGIN, MAX_PARAMS, ORIGIN,
                       READ_TIMEOUT, SENTINELS, Case, ref_parse)

# ===========================================================================
# Seeds and mutations
# ===========================================================================


class Req:
    """A parsed seed request; serialize() gives the bytes."""

    def __init__(self, method, target, version, headers, body):
        self.method = method
        self.target = target
        self.version = version
        self.headers = list(headers)  # [(name, value)] as written
        self.body = body
        self.eol = b"\r\n"
        self.sep = b" "
        self.colon = b": "
        self.end = b"\r\n"  # the empty line ending the head

    @classmethod
    def parse(cls, data):
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, target, version = lines[0].split(b" ")
        headers = [tuple(p.strip() for p in line.split(b":", 1))
                   for line in lines[1:]]
        return cls(method, target, version, headers, body)

    def copy(self):
        r = Req(self.method, self.target, self.version, self.headers,
                self.body)
        r.eol, r.sep, r.colon, r.end = self.eol, self.sep, self.colon, \
            self.end
        return r

    def get(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def set(self, name, value):
        self.drop(name)
        self.headers.append((name, value))

    def drop(self, name):
        self.headers = [(n, v) for n, v in self.headers
                        if n.lower() != name.lower()]

    def fix_length(self):
        if self.get(b"Content-Length") is not None:
            self.set(b"Content-Length", str(len(self.body)).encode())

    def serialize(self):
        line = self.method + self.sep + self.target
        if self.version is not None:
            line += self.sep + self.version
        out = [line + self.eol]
        for n, v in self.headers:
            # v None: a line without a colon (mut_header).
            out.append(n + (b"" if v is None else self.colon + v) + self.eol)
        out.append(self.end)
        return b"".join(out) + self.body


class Seed:
    def __init__(self, name, data):
        self.name = name
        self.data = data
        self.req = Req.parse(data)
        self.readonly = self.req.method in (b"GET", b"HEAD", b"OPTIONS")
        self.status = None  # baseline, measured at start
        self.time = 0.2
        self.weight = 1.0


def load_corpus(path):
    seeds = []
    for name in sorted(os.listdir(path)):
        if not name.endswith(".http"):
            continue
        with open(os.path.join(path, name), "rb") as f:
            data = f.read()
        ref = ref_parse(data)
        if ref.verdict != "ok" or not ref.complete or \
                len(ref.requests) != 1:
            raise SystemExit(f"http_fuzz: corpus file {name} is not one "
                             f"well-formed request ({ref.verdict} "
                             f"{ref.why})")
        seeds.append(Seed(name[:-5], data))
    if not seeds:
        raise SystemExit(f"http_fuzz: no *.http seeds in {path}")
    return seeds


def pick(rng, items):
    return items[rng.randrange(len(items))]


def rand_bytes(rng, n, lo=0, hi=255):
    return bytes(rng.randint(lo, hi) for _ in range(n))


def interesting_len(rng):
    return pick(rng, [0, 1, 7, 255, 256, 1023, 1024, 4095, 4096, 8191, 8192,
                      16383, 16384, 32767, 32768, 65535, 65536,
                      rng.randint(1, 70000)])


METHODS = [b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS",
           b"TRACE", b"CONNECT", b"PRI", b"get", b"Get", b"PROPFIND",
           b"M-SEARCH", b"", b"G\x00ET", b"GET\t", b"\xc3\xa9", b"X" * 300,
           b"A" * 5000, b"POST\x7f", b"1", b"GE T"]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/0.9", b"HTTP/2.0", b"HTTP/2",
            b"HTTP/1.2", b"HTTP/1", b"http/1.1", b"HTTP/11", b"HTTP/1.1 ",
            b"HTTP/01.1", b"HTTP/1.10", b"HTTP/9.9", b"HTTP/1.1\x00",
            b"HTTP/\xff.1", b"", b"HTTPS/1.1", b"HTTP/1.1 extra", b"HTTP/-1.1"]
ESCAPES = [b"%00", b"%2F", b"%2f", b"%25", b"%2500", b"%", b"%4", b"%G1",
           b"%zz", b"%c0%af", b"%e0%80%af", b"%ff", b"%fe%ff", b"%0a",
           b"%0d%0a", b"%09", b"%7f", b"%20", b"+", b"%2e%2e", b"%2e",
           b"%u002f", b"%%30", b"%C3%A9"]
RAW_CTL = [b"\x00", b"\x01", b"\t", b"\x0b", b"\x0c", b"\r", b"\n", b"\x1b",
           b"\x7f", b"\x80", b"\xff", b" ", b"\xc3\xa9", b"\xed\xa0\x80"]


def mut_method(rng, r):
    r.method = pick(rng, METHODS)
    return f"method={r.method[:12]!r}"


def mut_version(rng, r):
    r.version = pick(rng, VERSIONS + [None])
    return f"version={r.version!r}"[:40]


def mut_separators(rng, r):
    choice = rng.randrange(5)
    if choice == 0:
        r.sep = pick(rng, [b"  ", b"\t", b" \t", b"\x0b", b"\x00", b"\xa0",
                           b""])
        return f"request-line separator {r.sep!r}"
    if choice == 1:
        r.method = pick(rng, [b" ", b"\t", b"\r\n", b"\n"]) + r.method
        return "whitespace before the method"
    if choice == 2:
        r.target += pick(rng, [b" ", b" x", b" HTTP/1.1", b"\t"])
        return "extra token in the request line"
    if choice == 3:
        r.eol = pick(rng, [b"\n", b"\r", b"\r\r\n", b"\n\r", b"\r\n\r"])
        r.end = r.eol if rng.random() < 0.5 else r.end
        return f"line ends {r.eol!r}"
    r.end = pick(rng, [b"\n", b"\r", b"", b"\r\n\r\n", b" \r\n"])
    return f"head ends {r.end!r}"


def mut_path(rng, r):
    path, q, query = r.target.partition(b"?")
    choice = rng.randrange(9)
    if choice == 0:
        i = rng.randint(0, len(path))
        ins = pick(rng, ESCAPES)
        path = path[:i] + ins + path[i:]
        desc = f"escape {ins!r} in the path"
    elif choice == 1:
        i = rng.randint(min(1, len(path)), len(path))
        ins = pick(rng, RAW_CTL)
        path = path[:i] + ins + path[i:]
        desc = f"raw {ins!r} in the path"
    elif choice == 2:
        path = pick(rng, [b"*", b"", b"v1/healthcheck", b"//v1/healthcheck",
                          b"/v1/./healthcheck", b"/v1/x/../healthcheck",
                          b"http://fuzz/v1/healthcheck",
                          b"http://[::1]:99999/v1/movies", b"/V1/HEALTHCHECK",
                          b"/v1/healthcheck#frag", b"/v1/movies/" + b"9" * 30,
                          b"/v1/movies/-1", b"/v1/movies/0x10",
                          b"/v1/movies/1e3", b"/v1/movies/%31"])
        desc = f"path {path[:40]!r}"
    elif choice == 3:
        n = interesting_len(rng)
        path = path + b"/" + pick(rng, [b"a", b"%41", b"/", b"%00", b"\xff"]
                                  ) * max(1, n // 3)
        desc = f"long path (+{n})"
    elif choice == 4:
        path = path.replace(b"/", pick(rng, [b"%2F", b"//", b"/./", b"\\"]),
                            rng.randint(1, 3))
        desc = "path separators"
    elif choice == 5:
        path += pick(rng, [b"/", b"/.", b"/..", b";x=1", b"%", b".json"])
        desc = "path suffix"
    elif choice == 6:
        i = rng.randint(0, len(path))
        path = path[:i] + rand_bytes(rng, rng.randint(1, 8), 0x21, 0x7e) + \
            path[i:]
        desc = "random path bytes"
    elif choice == 7:
        path = path + b"%" + rand_bytes(rng, 2, 0x30, 0x7a)
        desc = "random escape"
    else:
        path = rand_bytes(rng, rng.randint(1, 40))
        desc = "binary path"
    r.target = path + q + query
    return desc


def mut_query(rng, r):
    path, _, query = r.target.partition(b"?")
    choice = rng.randrange(7)
    if choice == 0:
        n = pick(rng, [10, 100, 999, 1000, 1001, 3000, rng.randint(1, 5000)])
        query = b"&".join(b"p%d=%d" % (i, i) for i in range(n))
        desc = f"{n} query parameters"
    elif choice == 1:
        n = interesting_len(rng)
        query += b"&big=" + b"v" * n
        desc = f"query value of {n} bytes"
    elif choice == 2:
        query += pick(rng, [b"&title=%ff%fe", b"&title=\xff\xfe",
                            b"&q=%c0%80", b"&genres=%ed%a0%80",
                            b"&title=%00", b"&sort=%2dyear",
                            b"&title=\xc3\x28"])
        desc = "invalid UTF-8 in the query"
    elif choice == 3:
        query += pick(rng, [b"&page=1&page=2", b"&&&&", b"&=", b"&=x",
                            b"&page", b"&page=", b"&page_size=0&page=-1",
                            b"&page=99999999999999999999", b"&sort=;drop",
                            b"&cursor=" + b"A" * 300, b"&year=1990-1880",
                            b"&q=" + b"x" * 600])
        desc = "odd parameters"
    elif choice == 4:
        query = query.replace(b"&", pick(rng, [b";", b"&&", b"%26", b"#"]))
        desc = "parameter separators"
    elif choice == 5:
        query += b"&" + pick(rng, ESCAPES) + b"=" + pick(rng, ESCAPES)
        desc = "escapes in the query"
    else:
        query = rand_bytes(rng, rng.randint(1, 60), 0x21, 0x7e)
        desc = "random query"
    r.target = path + b"?" + query
    return desc


HEADER_NAMES = [b"Host", b"Content-Length", b"Transfer-Encoding",
                b"Authorization", b"Origin", b"Content-Type", b"Connection",
                b"Expect", b"If-None-Match", b"If-Match",
                b"X-Expected-Version", b"Access-Control-Request-Method",
                b"Access-Control-Request-Headers", b"X-Forwarded-For",
                b"X-Real-IP", b"Upgrade", b"Range", b"Cookie", b"Accept"]
HEADER_VALUES = [b"", b" ", b"\x00", b"a\x00b", b"\x01", b"\x7f", b"\xff",
                 b"\xc3\xa9", b"a\rb", b"a\nb", b"a\r\n b", b"close",
                 b"keep-alive", b"upgrade", b"100-continue", b"h2c",
                 b"websocket", b"*", b'W/"1"', b'"1"', b'"1", "2", W/"3"',
                 b"-1", b"0", b"18446744073709551616", b"abc",
                 b"Bearer", b"Bearer ", b"bearer FUZZADMINAUTHTOKENAAAAAAAA",
                 b"Bearer  FUZZADMINAUTHTOKENAAAAAAAA",
                 b"Bearer FUZZADMINAUTHTOKENAAAAAAA",
                 b"Bearer FUZZADMINAUTHTOKENAAAAAAAAA",
                 b"Bearer a.b.c", b"Bearer eyJhbGciOiJub25lIn0.e30.",
                 b"Basic Zm9vOmJhcg==", b"Bearer FUZZ ADMIN",
                 ORIGIN.encode(), b"null", ORIGIN.encode() + b"/",
                 b"HTTP://FUZZ.EXAMPLE", b"1.2.3.4, 5.6.7.8", b"::1",
                 b"bytes=0-1", b"application/json; charset=latin1",
                 b"text/plain", b"multipart/form-data; boundary=x"]


def mut_header(rng, r):
    # Header lines without a colon (value None) are left alone.
    valued = [i for i, (_, v) in enumerate(r.headers) if v is not None]
    choice = rng.randrange(12)
    if choice == 0 and valued:
        n, v = r.headers[pick(rng, valued)]
        r.headers.insert(rng.randint(0, len(r.headers)),
                         (n, pick(rng, [v, v + b"x", b"", b"0"])))
        return f"duplicate {n.decode('latin-1')}"
    if choice == 1 and r.headers:
        i = rng.randrange(len(r.headers))
        n = r.headers.pop(i)[0]
        return f"drop {n.decode('latin-1')}"
    if choice == 2:
        name = pick(rng, HEADER_NAMES)
        value = pick(rng, HEADER_VALUES)
        r.set(name, value)
        return f"{name.decode()}: {value[:30]!r}"
    if choice == 3 and valued:
        i = pick(rng, valued)
        n, v = r.headers[i]
        n = pick(rng, [n + b" ", b" " + n, n + b"\t", b"", n + b"\x00",
                       n[:1] + b"\xff" + n[1:], n.upper(), n.lower(),
                       n + b"@", b"X" * interesting_len(rng)])
        r.headers[i] = (n, v)
        return f"header name {n[:20]!r}"
    if choice == 4 and valued:
        i = pick(rng, valued)
        n, v = r.headers[i]
        r.headers[i] = (n + pick(rng, [b"", b" "]) + v, None)
        return f"no colon in {n[:20]!r}"
    if choice == 5 and valued:
        i = pick(rng, valued)
        n, v = r.headers[i]
        fold = pick(rng, [b"\r\n ", b"\r\n\t", b"\n ", b"\r\n  x"])
        r.headers[i] = (n, v + fold + b"folded")
        return "obs-fold"
    if choice == 6:
        n = interesting_len(rng)
        r.headers.append((b"X-Fuzz-Big", b"v" * n))
        return f"header value of {n} bytes"
    if choice == 7:
        n = pick(rng, [50, 100, 101, 500, 1000, rng.randint(1, 3000)])
        for i in range(n):
            r.headers.append((b"X-Fuzz-%d" % i, b"%d" % i))
        return f"{n} more headers"
    if choice == 8 and valued:
        i = pick(rng, valued)
        n, v = r.headers[i]
        j = rng.randint(0, len(v))
        r.headers[i] = (n, v[:j] + pick(rng, RAW_CTL) + v[j:])
        return f"control byte in {n[:20]!r}"
    if choice == 9:
        r.headers.insert(0, (rand_bytes(rng, rng.randint(1, 12), 0x21, 0xff),
                             rand_bytes(rng, rng.randint(0, 30))))
        return "random header"
    if choice == 10:
        r.colon = pick(rng, [b":", b" : ", b":\t", b":  ", b" :", b"::"])
        return f"colon {r.colon!r}"
    r.headers.reverse()
    return "header order"


def mut_body(rng, r):
    choice = rng.randrange(6)
    if choice == 0:
        r.body = r.body[:rng.randint(0, len(r.body))]
        return "shorter body, same Content-Length"
    if choice == 1:
        r.body += pick(rng, [b"x", b"\r\n", b"GET / HTTP/1.1\r\n\r\n",
                             rand_bytes(rng, 10)])
        return "longer body, same Content-Length"
    if choice == 2:
        r.body = pick(rng, [b"", b"{}", b"null", b"{\"title\":\"\x00\"}",
                            b"\xff\xfe{}", b"{" * 2000,
                            b"[" + b"1," * 10000 + b"1]",
                            b"{\"title\": \"" + b"a" * 70000 + b"\"}"])
        r.fix_length()
        return "other body"
    if choice == 3:
        r.body = r.body + b" " * interesting_len(rng)
        r.fix_length()
        return "padded body"
    if choice == 4:
        n = pick(rng, [1048576, 1048577, 2 * 1048576])
        r.body = b"{\"title\":\"" + b"a" * n + b"\"}"
        r.fix_length()
        return f"body over {n} bytes"
    r.body = rand_bytes(rng, rng.randint(1, 200))
    r.fix_length()
    return "binary body"


STRUCT_MUTATORS = [(3, mut_method), (3, mut_version), (4, mut_separators),
                   (8, mut_path), (5, mut_query), (12, mut_header),
                   (4, mut_body)]


def byte_mutate(rng, data):
    data = bytearray(data)
    choice = rng.randrange(7)
    if not data:
        return bytes(rand_bytes(rng, 10)), "random bytes"
    i = rng.randrange(len(data))
    if choice == 0:
        data[i] = rng.randrange(256)
        return bytes(data), f"byte {i} flipped"
    if choice == 1:
        ins = pick(rng, [b"\r\n", b"\n", b"\r", b"\x00", b"\r\n\r\n", b":",
                         b" ", rand_bytes(rng, rng.randint(1, 16))])
        return bytes(data[:i] + ins + data[i:]), f"{ins[:8]!r} at {i}"
    if choice == 2:
        j = min(len(data), i + rng.randint(1, 32))
        return bytes(data[:i] + data[j:]), f"bytes {i}-{j} deleted"
    if choice == 3:
        j = min(len(data), i + rng.randint(1, 64))
        return bytes(data[:j] + data[i:j] + data[j:]), f"bytes {i}-{j} doubled"
    if choice == 4:
        pos = [m.start() for m in re.finditer(rb"\r\n", bytes(data))]
        if pos:
            k = pick(rng, pos)
            rep = pick(rng, [b"\n", b"\r", b"\r\r\n", b"\n\n", b""])
            return bytes(data[:k] + rep + data[k + 2:]), f"CRLF -> {rep!r}"
    if choice == 5:
        data[i] |= 0x80
        return bytes(data), f"high bit at {i}"
    return bytes(data[:i]), f"cut at {i}"


class Generator:
    """Case i of a run with seed S: a pure function of (S, i, corpus)."""

    def __init__(self, seed, seeds):
        self.seed = seed
        self.seeds = seeds
        self.readonly = [s for s in seeds if s.readonly and s.status and
                         s.status < 400]
        self.bodied = [s for s in seeds if s.req.body and
                       s.req.get(b"Content-Length") is not None]
        self.total = sum(s.weight for s in seeds)

    def pick_seed(self, rng, pool=None):
        pool = pool or self.seeds
        total = sum(s.weight for s in pool)
        x = rng.random() * total
        for s in pool:
            x -= s.weight
            if x <= 0:
                return s
        return pool[-1]

    def case(self, i):
        rng = random.Random(f"{self.seed}/{i}")
        r = rng.random()
        if r < 0.05:
            c = self.slow_case(rng)
        elif r < 0.17:
            c = self.framing_case(rng)
        elif r < 0.23:
            c = self.size_case(rng)
        elif r < 0.27:
            c = self.escape_case(rng)
        elif r < 0.37:
            c = self.pipeline_case(rng)
        elif r < 0.42:
            c = self.truncated_case(rng)
        else:
            c = self.random_case(rng)
        c.name = f"s{self.seed}-c{i}"
        return c

    def random_case(self, rng):
        seed = self.pick_seed(rng)
        req = seed.req.copy()
        muts = []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            total = sum(w for w, _ in STRUCT_MUTATORS)
            x = rng.random() * total
            for w, fn in STRUCT_MUTATORS:
                x -= w
                if x <= 0:
                    muts.append(fn(rng, req))
                    break
        data = req.serialize()
        if rng.random() < 0.25:
            data, d = byte_mutate(rng, data)
            muts.append(d)
        return Case("fast", [(data, 0)], seed=seed.name, mutators=muts,
                    readonly=seed.readonly)

    def pipeline_case(self, rng):
        seed = self.pick_seed(rng)
        req = seed.req.copy()
        muts = []
        if rng.random() < 0.6:
            total = sum(w for w, _ in STRUCT_MUTATORS)
            x = rng.random() * total
            for w, fn in STRUCT_MUTATORS:
                x -= w
                if x <= 0:
                    muts.append(fn(rng, req))
                    break
        parts = [req.serialize()]
        sentinels = {}
        names = rng.sample(sorted(SENTINELS), rng.choice([1, 2]))
        # A read after a write may find the write's effect (a new ETag):
        # its status is only known behind a read.
        if rng.random() < 0.3 and self.readonly and seed.readonly:
            extra = self.pick_seed(rng, self.readonly)
            parts.append(extra.data)
            sentinels[1] = extra.status
            muts.append(f"then {extra.name}")
        for name in names:
            data, status = SENTINELS[name]
            sentinels[len(parts)] = status
            parts.append(data)
            muts.append(f"then sentinel {name}")
        # The last request closes, so the stream ends where it should.
        parts[-1] = parts[-1][:-2] + b"Connection: close\r\n\r\n"
        writes = [(b"".join(parts), 0)]
        if rng.random() < 0.3:  # the same bytes in two writes
            data = writes[0][0]
            k = rng.randint(1, len(data) - 1)
            writes = [(data[:k], 0), (data[k:], 0)]
            muts.append(f"written in two at {k}")
        starts = [sum(len(p) for p in parts[:k]) for k in range(len(parts))]
        return Case("fast", writes, seed=seed.name, mutators=muts,
                    readonly=seed.readonly, sentinels=sentinels,
                    params={"starts": starts})

    def truncated_case(self, rng):
        seed = self.pick_seed(rng)
        data = seed.data
        k = rng.randint(1, len(data) - 1)
        shut = rng.random() < 0.5
        return Case("fast", [(data[:k], 0)], seed=seed.name,
                    mutators=[f"cut at {k} of {len(data)}" +
                              (", then half-close" if shut else "")],
                    readonly=seed.readonly, shut_wr=shut)

    def escape_case(self, rng):
        """A decoded control byte (or a stray suffix) after a known path
        matches no route (contract §12 #22)."""
        pool = [s for s in self.readonly if s.req.method == b"GET" and
                s.status == 200] or self.readonly
        seed = self.pick_seed(rng, pool)
        req = seed.req.copy()
        path, q, query = req.target.partition(b"?")
        esc = pick(rng, [b"%00", b"%00.json", b"%01", b"%0a", b"%0d%0a",
                         b"%09", b"%1f", b"%7f", b"%1b", b"%25", b"%2500",
                         b"%c0%af", b"%ff", b"%00/x"])
        if rng.random() < 0.5:
            path += esc
        else:
            cut = path.rfind(b"/")
            path = path[:cut] + esc + path[cut:]
        req.target = path + q + query
        return Case("fast", [(req.serialize(), 0)], seed=seed.name,
                    mutators=[f"{esc.decode()} in the path"], readonly=True,
                    expect={"status_in": [404], "what": "path-escape-routed",
                            "why": "a path with a decoded control byte or "
                                   "stray suffix matches no route"})

    def size_case(self, rng):
        pool = [s for s in self.readonly if s.req.method == b"GET"] or \
            self.readonly
        seed = self.pick_seed(rng, pool)
        req = seed.req.copy()
        base = len(req.serialize()) - len(req.body)
        over = rng.random() < 0.4
        if over:
            size = pick(rng, [HEAD_LIMIT + 1024, 100 * 1024, 300 * 1024,
                              1100 * 1024])
        else:
            size = pick(rng, [8 * 1024, 16 * 1024, 31 * 1024, 33 * 1024,
                              48 * 1024, HEAD_LIMIT - 2 * HEAD_MARGIN])
        pad = max(1, size - base)
        where = rng.randrange(4)
        if where == 0:
            path, q, query = req.target.partition(b"?")
            req.target = path + b"?" + (query + b"&" if query else b"") + \
                b"fuzzpad=" + b"p" * (pad - 9)
            desc = f"query padded to {size}"
        elif where == 1:
            req.headers.append((b"X-Fuzz-Pad", b"p" * (pad - 14)))
            desc = f"one header padded to {size}"
        elif where == 2:
            n = max(1, pad // 24)
            for i in range(n):
                req.headers.append((b"X-Fuzz-%05d" % i, b"v" * 10))
            desc = f"{n} headers, head {size}"
        else:
            n = min(MAX_PARAMS - 5, max(1, pad // 12)) if not over else \
                max(1, pad // 12)
            path, q, query = req.target.partition(b"?")
            req.target = path + b"?" + (query + b"&" if query else b"") + \
                b"&".join(b"f%05d=1" % i for i in range(n))
            desc = f"{n} query parameters"
        if over:
            expect = {}
        else:
            expect = {"served": seed.status, "what": "head-within-limit",
                      "why": "a request head within 64 KiB is served"}
        return Case("fast", [(req.serialize(), 0)], seed=seed.name,
                    mutators=[desc], readonly=True, expect=expect)

    def framing_case(self, rng):
        seed = self.pick_seed(rng, self.bodied)
        req = seed.req.copy()
        body = req.body
        choice = rng.randrange(12)
        expect = {}
        chunked = None
        if choice == 0:
            req.set(b"Transfer-Encoding", pick(rng, [
                b"gzip", b"chunked, gzip", b"gzip, chunked", b"identity",
                b"chunked, chunked", b"xchunked", b"chunked;q=1",
                b"compress", b"deflate", b"br", b"\"chunked\"", b"chu nked",
                b"cHuNkEd", b"chunked ", b" chunked"]))
            req.drop(b"Content-Length")
            chunked = rng.random() < 0.5
            desc = f"Transfer-Encoding: {req.get(b'Transfer-Encoding')!r}"
        elif choice == 1:
            req.drop(b"Content-Length")
            req.headers.append((b"Transfer-Encoding", b"chunked"))
            req.headers.append((b"Transfer-Encoding",
                                pick(rng, [b"chunked", b"gzip", b""])))
            chunked = True
            desc = "Transfer-Encoding twice"
        elif choice == 2:
            n = len(body)
            req.drop(b"Content-Length")
            req.headers.append((b"Content-Length", b"%d" % n))
            req.headers.append((b"Content-Length", pick(rng, [
                b"%d" % n, b"%d" % (n + 1), b"%d" % (n - 1), b"0",
                b"%d, %d" % (n, n)])))
            desc = "Content-Length twice"
        elif choice == 3:
            n = len(body)
            req.set(b"Content-Length", pick(rng, [
                b"+%d" % n, b"-%d" % n, b"0x%x" % n, b"%d.0" % n,
                b"%d %d" % (n, n), b"%d,%d" % (n, n + 1), b"", b"abc",
                b"0%d" % n, b"99999999999999999999", b"18446744073709551616",
                b"-1", b"%d\x00" % n, b" %d " % n]))
            desc = f"Content-Length: {req.get(b'Content-Length')!r}"
        elif choice == 4:
            # CL.TE and TE.CL smuggling shapes.
            smuggled = b"GET /v1/fuzz-smuggled HTTP/1.1\r\nHost: fuzz\r\n\r\n"
            raw = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n" + smuggled
            req.body = raw
            req.set(b"Content-Length", pick(rng, [
                b"%d" % len(raw), b"%d" % (len(raw) - len(smuggled)), b"4"]))
            req.headers.append((b"Transfer-Encoding", pick(rng, [
                b"chunked", b" chunked", b"chunked\t", b"Chunked",
                b"\x0bchunked"])))
            desc = "Content-Length and Transfer-Encoding (smuggling shape)"
        elif choice == 5:
            req.drop(b"Content-Length")
            req.set(b"Transfer-Encoding", b"chunked")
            chunked = True
            desc = "chunked"
        elif choice == 6:
            req.drop(b"Content-Length")
            req.headers.append((pick(rng, [b"Transfer-Encoding ",
                                           b"Content-Length ",
                                           b"Host "]),
                                b"chunked" if rng.random() < 0.5 else
                                b"%d" % len(body)))
            desc = "whitespace before the colon"
        elif choice == 7:
            req.drop(b"Content-Length")
            req.headers.append((b"Transfer-Encoding", b"\r\n chunked"))
            chunked = True
            desc = "obs-folded Transfer-Encoding"
        else:
            req.drop(b"Content-Length")
            req.set(b"Transfer-Encoding", b"chunked")
            chunked = "bad"
            desc = "bad chunked body"
        if chunked:
            req.body, cdesc = self.chunk(rng, body, chunked == "bad")
            desc += f" ({cdesc})"
            if chunked == "bad" and "ok" not in cdesc:
                cls = cdesc.split(" b'")[0].split(" (")[0]
                expect = {"refused": True,
                          "what": f"bad-chunked-accepted:{cls}",
                          "why": f"a chunked body with {cdesc}"}
        return Case("fast", [(req.serialize(), 0)], seed=seed.name,
                    mutators=[desc], readonly=seed.readonly, expect=expect)

    def chunk(self, rng, body, bad):
        pieces, i = [], 0
        while i < len(body):
            n = rng.randint(1, max(1, len(body) // 2))
            pieces.append(body[i:i + n])
            i += n
        if not bad:
            ext = rng.random() < 0.2
            trailer = rng.random() < 0.2
            semi = b";x=1" if ext else b""
            out = b"".join(b"%x%s\r\n%s\r\n" % (len(p), semi, p)
                           for p in pieces)
            out += b"0\r\n" + (b"X-Trailer: 1\r\n" if trailer else b"") + \
                b"\r\n"
            return out, "ok chunks" + (" with extensions" if ext else "") + \
                (" and a trailer" if trailer else "")
        choice = rng.randrange(9)
        head = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces[:-1])
        last = pieces[-1] if pieces else b"x"
        if choice == 0:
            size = pick(rng, [b"zz", b"-1", b"0x10", b" 5", b"5 ", b"+5", b"",
                              b"5;", b"5 ;x"])
            return head + size + b"\r\n" + last + b"\r\n0\r\n\r\n", \
                f"chunk size {size!r}"
        if choice == 1:
            size = pick(rng, [b"ffffffffffffffffff", b"7fffffffffffffff",
                              b"100000000", b"ffffffff"])
            return head + size + b"\r\n" + last + b"\r\n0\r\n\r\n", \
                f"huge chunk size {size!r}"
        if choice == 2:
            return head + b"%x\r\n" % len(last) + last + b"0\r\n\r\n", \
                "no CRLF after the data"
        if choice == 3:
            return head + b"%x\r\n" % max(0, len(last) - 1) + last + \
                b"\r\n0\r\n\r\n", "data longer than its size"
        if choice == 4:
            return head + b"%x\r\n" % len(last) + last + b"\r\n", \
                "no last chunk (incomplete)"
        if choice == 5:
            return head.replace(b"\r\n", b"\n") + b"%x\n" % len(last) + \
                last + b"\n0\n\n", "bare LF"
        if choice == 6:
            return head + b"%x\r\n" % len(last) + last + \
                b"\r\n0\r\n" + pick(rng, [b"X-T\r\n", b"X: \x00\r\n",
                                          b"X: a\rb\r\n",
                                          b" folded\r\n"]) + b"\r\n", \
                "bad trailer"
        if choice == 7:
            return b"".join(b"1\r\n%c\r\n" % c for c in body) + \
                b"0\r\n\r\n", "ok one-byte chunks"
        return head + b"%x\r\n" % len(last) + last + b"\r\n0\r\n", \
            "no final CRLF (incomplete)"

    def slow_case(self, rng):
        kind = pick(rng, ["dribble", "dribble", "pause", "stall",
                          "slowloris", "idle", "write"])
        return self.slow(rng, kind)

    def slow(self, rng, kind):
        pool = self.readonly or self.seeds
        seed = self.pick_seed(rng, pool)
        data = seed.data
        if kind == "dribble":
            step = rng.choice([1, 1, 2, 5])
            parts = [data[i:i + step] for i in range(0, len(data), step)]
            pause = min(0.02, 0.35 * READ_TIMEOUT / len(parts))
            return Case("dribble", [(p, pause) for p in parts],
                        seed=seed.name, readonly=True,
                        mutators=[f"{step} byte(s) per write, {pause:.3f} s "
                                  "apart"],
                        expect={"served": seed.status, "what": "dribble",
                                "why": "the request arrived in small writes "
                                       "within the read timeout"})
        if kind == "pause":
            k = rng.randint(1, len(data) - 1)
            pause = 0.3 * READ_TIMEOUT
            return Case("pause", [(data[:k], pause), (data[k:], 0)],
                        seed=seed.name, readonly=True,
                        mutators=[f"{pause:g} s pause at {k}"],
                        expect={"served": seed.status, "what": "pause",
                                "why": "a pause shorter than the read "
                                       "timeout"})
        if kind == "stall":
            seed = self.pick_seed(rng)
            data = seed.data
            k = rng.randint(1, len(data) - 1)
            return Case("stall", [(data[:k], 0)], seed=seed.name,
                        readonly=seed.readonly,
                        mutators=[f"stalled at {k} of {len(data)}"])
        if kind == "slowloris":
            line = data.split(b"\r\n", 1)[0] + b"\r\nHost: fuzz\r\nX-Slow: "
            return Case("slowloris", [(line, 0)], seed=seed.name,
                        readonly=True, mutators=["one byte every 0.5 s"])
        if kind == "idle":
            return Case("idle", [(data, 0)], seed=seed.name, readonly=True,
                        mutators=["idle after the response"])
        if kind == "shutdown":
            k = rng.randint(0, 12)
            return Case("shutdown", [(data[:k], 0)], seed=seed.name,
                        readonly=True,
                        mutators=[f"SIGTERM with {k} bytes of a request "
                                  "sent and the connection held"])
        n = 200
        req = b"GET /v1/openapi.json HTTP/1.1\r\nHost: fuzz\r\n\r\n"
        return Case("write", [(req * n, 0)], seed="openapi", readonly=True,
                    mutators=[f"{n} pipelined, nothing read"],
                    params={"count": n, "rcvbuf": 4096})
