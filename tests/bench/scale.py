#!/usr/bin/python3
"""make bench/scale: GET /v1/movies on a million movies, each scenario beside
the same SQL run by pgbench.

1. A private PostgreSQL cluster under var/bench/scale/ (tests/tools/
   pgcluster.sh, kept between runs: loading takes minutes), migrated with
   `bin/api migrate up`, holding SCALE_MOVIES (1,000,000) synthetic movies:
   titles of 1 to 4 words of Debian's wamerican list (/usr/share/dict/words,
   words of letters only) drawn Zipf-like (rank floor(N ** u), u uniform in
   [0, 1): the k-th commonest word about 1/k as often as the first), a
   quarter of them after "The"; years 1888 to this year, more of them
   recent; runtimes 60 to 200; 1 to 5 of 20 genres, fewer more often and the
   first genres commonest. Fixed seed, so every run loads the same rows. The
   indexes are dropped while loading and rebuilt from their own definitions
   (pg_indexes), then VACUUM ANALYZE. A table bench_scale records what was
   loaded; a run with another SCALE_MOVIES or migration version reloads.
2. bin/api (release) on a free port with the limiter off, and a bench user
   holding movies:read and a stateful token, made in SQL (the token's SHA-256
   stored, as the server does).
3. Scenarios: title search (?title=, whole words: a common and a rare word),
   ?q= (a prefix of a common word, a rare word with a typo), one and two
   genres with each of the 8 sorts, year ranges, page 1 and page 5,000 by
   ?page= and by ?cursor= (the cursor reached by walking the pages), each
   GET sent once first, the SQL it ran (and its parameters) read from
   PostgreSQL's log, then BENCH rounds: wrk -t1 -cSCALE_CONNS and pgbench
   -M prepared -cSCALE_CONNS running exactly that SQL with those parameters
   (-D), round-robin. Median req/s and p99 over the rounds, the ratio
   API/pgbench, and PASS when a first page's p99 is at most 50 ms.

Environment: SCALE_PARALLEL_WORKERS (0: bin/api's -db-parallel-workers and
pgbench's max_parallel_workers_per_gather; -1 leaves PostgreSQL's),
SCALE_MOVIES (1000000), SCALE_SECONDS (3) per run,
SCALE_ROUNDS (3), SCALE_CONNS (2, the CPUs: a p99 that is the query's cost
rather than a queue), SCALE_ONLY (a regular expression: only the scenarios
it matches), SCALE_RELOAD=1 (load again). Writes var/bench/scale-<time>.json.
Everything runs on 127.0.0.1 and is stopped by PID at the end.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.dont_write_bytecode = True
from ports import free_port  # noqa: E402

API_BIN = os.path.join(ROOT, "bin", "api")
PGCLUSTER = os.path.join(ROOT, "tests", "tools", "pgcluster.sh")
WORDS = "/usr/share/dict/words"
DIR = os.path.join(ROOT, "var", "bench", "scale")
DATADIR = os.path.join(DIR, "pgdata")
PG_LOG = os.path.join(DIR, "pg.log")

MOVIES = int(os.environ.get("SCALE_MOVIES", "1000000"))
SECONDS = int(os.environ.get("SCALE_SECONDS", "3"))
ROUNDS = int(os.environ.get("SCALE_ROUNDS", "3"))
CONNS = int(os.environ.get("SCALE_CONNS", "2"))
ONLY = re.compile(os.environ.get("SCALE_ONLY", ""))
# bin/api's -db-parallel-workers, and max_parallel_workers_per_gather of
# pgbench's sessions, so both run the SQL alike (-1: PostgreSQL's own).
PARALLEL = int(os.environ.get("SCALE_PARALLEL_WORKERS", "0"))
P99_GOAL_MS = 50.0
# The deep page: 5,000 (a smaller load, for trying the script, goes less deep).
DEEP = min(5000, max(2, MOVIES // 200))
THIS_YEAR = time.gmtime().tm_year

GENRES = ["drama", "comedy", "thriller", "action", "romance", "crime",
          "documentary", "horror", "adventure", "animation", "family",
          "sci-fi", "fantasy", "mystery", "biography", "history", "music",
          "war", "western", "sport"]

SORTS = ["id", "-id", "title", "-title", "year", "-year", "runtime",
         "-runtime"]

started = []  # Popen objects to stop at the end


def say(*args):
    print("bench/scale:", *args, file=sys.stderr, flush=True)


def die(msg):
    say(msg)
    sys.exit(1)


def need(program, package):
    path = shutil.which(program)
    if path is None:
        die(f"{program} not found: make deps/bench installs {package}")
    return path


def pg_bindir():
    return subprocess.run(["pg_config", "--bindir"], check=True,
                          capture_output=True, text=True).stdout.strip()


class Db:
    def __init__(self, port):
        self.port = port
        self.dsn = (f"postgres://redlight:redlight@127.0.0.1:{port}/redlight"
                    "?sslmode=disable")

    def psql(self, sql, superuser=False, vars_=()):
        """Runs sql (ON_ERROR_STOP); returns psql's unaligned output."""
        if superuser:
            cmd = [PGCLUSTER, "psql", DATADIR, str(self.port), "-X", "-q",
                   "-At", "-v", "ON_ERROR_STOP=1"]
        else:
            cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                   self.dsn]
        for k, v in vars_:
            cmd += ["-v", f"{k}={v}"]
        res = subprocess.run(cmd, input=sql, capture_output=True, text=True)
        if res.returncode != 0:
            die(f"psql failed: {res.stderr.strip()[-800:]}\n{sql[:400]}")
        return res.stdout.strip()


def start_cluster():
    os.makedirs(DIR, exist_ok=True)
    port = free_port()
    env = dict(os.environ, PGCLUSTER_THROWAWAY="1")
    # A cluster left running by an interrupted run listens on another port.
    subprocess.run([PGCLUSTER, "stop", DATADIR, str(port)],
                   capture_output=True)
    res = subprocess.run([PGCLUSTER, "start", DATADIR, str(port)], env=env,
                         capture_output=True, text=True)
    if res.returncode != 0:
        die(f"pgcluster.sh start failed: {res.stderr.strip()[-800:]}")
    db = Db(port)
    res = subprocess.run([API_BIN, "-db-dsn", db.dsn, "migrate", "up"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        die(f"bin/api migrate up failed: {res.stderr.strip()[-800:]}")
    return db


def stop_cluster(db):
    subprocess.run([PGCLUSTER, "stop", DATADIR, str(db.port)],
                   capture_output=True)


def words():
    with open(WORDS, encoding="utf-8", errors="replace") as f:
        ws = sorted({w.strip().lower() for w in f
                     if re.fullmatch(r"[A-Za-z]{3,}", w.strip())})
    # A fixed shuffle, so the commonest words are not all "aa...".
    rng = __import__("random").Random(1888)
    rng.shuffle(ws)
    return ws


# One transaction: a load that fails leaves the table and its indexes as
# they were.
LOAD_SQL = r"""
BEGIN;
SET LOCAL maintenance_work_mem = '512MB';
SELECT setseed(0.1888);
CREATE TEMP TABLE w (rank int PRIMARY KEY, word text NOT NULL);
\copy w (rank, word) FROM :'wordfile'
CREATE TEMP TABLE idx AS
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = 'public' AND tablename = 'movies'
      AND indexname <> 'movies_pkey';
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT indexname FROM idx LOOP
        EXECUTE format('DROP INDEX %I', r.indexname);
    END LOOP;
END $$;
TRUNCATE movies RESTART IDENTITY CASCADE;
WITH n AS (SELECT count(*)::float8 AS n FROM w),
g AS (SELECT :'genres'::text[] AS g),
r AS (
    SELECT i,
           1 + floor(random() * 4 * random())::int AS nwords,
           random() < 0.25 AS the,
           1 + floor(random() ^ 2 * 5)::int AS ngenres
    FROM generate_series(1, :movies) AS i
)
INSERT INTO movies (title, year, runtime, genres)
SELECT (CASE WHEN r.the THEN 'The ' ELSE '' END) ||
       (SELECT string_agg(initcap((SELECT w.word FROM w WHERE w.rank = z.rk)),
                          ' ' ORDER BY z.k)
        FROM (SELECT k, least(n.n, floor(n.n ^ random()))::int AS rk
              FROM generate_series(1, r.nwords) AS k) AS z),
       1888 + floor((:this_year - 1888 + 1) * sqrt(random()))::int,
       60 + floor(random() * 141)::int,
       ARRAY(SELECT DISTINCT g.g[least(20, floor(20 ^ random()))::int]
             FROM generate_series(1, r.ngenres) AS k)
FROM r, n, g;
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT indexdef FROM idx LOOP
        EXECUTE r.indexdef;
    END LOOP;
END $$;
DROP TABLE IF EXISTS bench_scale;
CREATE TABLE bench_scale AS
    SELECT :movies::bigint AS movies,
           (SELECT max(version) FROM schema_migrations) AS migration,
           (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'
            AND tablename = 'movies') AS indexes;
COMMIT;
"""


def schema_version(db):
    return db.psql("SELECT max(version) FROM schema_migrations")


def loaded(db):
    have = db.psql("SELECT to_regclass('bench_scale') IS NOT NULL")
    if have != "t":
        return False
    # (to_jsonb: a table from an older script has fewer columns)
    got = db.psql("SELECT concat_ws(' ', j->>'movies', j->>'migration', "
                  "j->>'indexes', (SELECT count(*) FROM pg_indexes WHERE "
                  "schemaname = 'public' AND tablename = 'movies')) FROM "
                  "(SELECT to_jsonb(b) AS j FROM bench_scale b) AS s")
    want = db.psql("SELECT count(*) FROM pg_indexes WHERE schemaname = "
                   "'public' AND tablename = 'movies'")
    return got == f"{MOVIES} {schema_version(db)} {want} {want}"


def load(db):
    ws = words()
    say(f"loading {MOVIES:,} movies ({len(ws):,} words from {WORDS}) ...")
    began = time.monotonic()
    wordfile = os.path.join(DIR, "words.tsv")
    with open(wordfile, "w", encoding="ascii") as f:
        f.writelines(f"{i}\t{w}\n" for i, w in enumerate(ws, 1))
    # psql does not expand variables in \copy: the path goes in quoted.
    sql = LOAD_SQL.replace(":'wordfile'", "'" + wordfile.replace("'", "''")
                           + "'")
    db.psql(sql, vars_=[("movies", str(MOVIES)),
                        ("this_year", str(THIS_YEAR)),
                        ("genres", "{" + ",".join(GENRES) + "}")])
    db.psql("VACUUM ANALYZE movies")
    say(f"loaded in {time.monotonic() - began:.0f} s")


def make_user(db):
    """A bench user with movies:read and a stateful token, in SQL."""
    token = base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")
    digest = hashlib.sha256(token.encode()).hexdigest()
    db.psql("""
INSERT INTO users (name, email, password_hash, activated)
VALUES ('bench', 'bench-scale@example.com', '\\x00', true)
ON CONFLICT (email) DO NOTHING;
INSERT INTO users_permissions
SELECT u.id, p.id FROM users u, permissions p
WHERE u.email = 'bench-scale@example.com' AND p.code = 'movies:read'
ON CONFLICT DO NOTHING;
INSERT INTO tokens (hash, user_id, expiry, scope)
SELECT decode(:'digest', 'hex'), id, now() + interval '1 day',
       'authentication'
FROM users WHERE email = 'bench-scale@example.com';
""", vars_=[("digest", digest)])
    return token


def start_api(db):
    port = free_port()
    log = open(os.path.join(DIR, "api.log"), "wb")
    proc = subprocess.Popen(
        [API_BIN, "-port", str(port), "-db-dsn", db.dsn, "-env",
         "development", "-limiter-enabled=false", "-jwt-secret",
         secrets.token_hex(32), "-db-parallel-workers", str(PARALLEL)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    started.append(proc)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            die(f"bin/api exited {proc.returncode}: see {DIR}/api.log")
        try:
            with urllib.request.urlopen(base + "/v1/healthcheck", timeout=1):
                return base
        except OSError:
            time.sleep(0.1)
    die("bin/api did not answer its healthcheck within 30 s")


def get(base, token, path):
    req = urllib.request.Request(base + path,
                                 headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


# --- the SQL a request ran, from PostgreSQL's log -----------------------------

ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[(\d+)\] ",
                   re.M)
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def log_statements(db, on):
    if on:
        db.psql("ALTER SYSTEM SET log_min_duration_statement = 0;"
                "ALTER SYSTEM SET log_line_prefix = '%m [%p] ';"
                "ALTER SYSTEM SET log_parameter_max_length = -1;"
                "SELECT pg_reload_conf();", superuser=True)
    else:
        db.psql("ALTER SYSTEM RESET log_min_duration_statement;"
                "ALTER SYSTEM RESET log_line_prefix;"
                "ALTER SYSTEM RESET log_parameter_max_length;"
                "SELECT pg_reload_conf();", superuser=True)
    time.sleep(0.5)


def statements_since(offset):
    """[(sql, [param values])] the log shows after offset: each `execute`
    or `statement` entry of a session other than psql's, with the DETAIL
    parameters that follow it."""
    with open(PG_LOG, encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        text = f.read()
    starts = [m.start() for m in ENTRY.finditer(text)] + [len(text)]
    out = []
    for a, b in zip(starts, starts[1:]):
        entry = text[a:b]
        body = ENTRY.sub("", entry, count=1).rstrip("\n")
        m = re.match(r"LOG:\s+duration: [\d.]+ ms\s+"
                     r"(?:execute [^:]*|statement): (.*)", body, re.S)
        if m:
            out.append([m.group(1), []])
            continue
        m = re.match(r"DETAIL:\s+parameters: (.*)", body, re.S)
        if m and out:
            params = {}
            for pm in PARAM.finditer(m.group(1)):
                v = pm.group(2)
                params[int(pm.group(1))] = (None if v == "NULL" else
                                            v[1:-1].replace("''", "'"))
            out[-1][1] = [params[i] for i in sorted(params)]
    return [tuple(s) for s in out]


def capture_sql(base, token, path):
    """Sends GET path once with statement logging on; returns its body and
    the statements the server ran for it."""
    offset = os.path.getsize(PG_LOG)
    status, body = get(base, token, path)
    if status != 200:
        die(f"GET {path}: {status} {body}")
    time.sleep(0.3)
    # The request's own statements: the other sessions (the database probe,
    # the mail worker, the auth-cache listener) never read movies.
    stmts = [s for s in statements_since(offset) if "movies" in s[0]]
    if not stmts:
        die(f"GET {path}: no statement seen in {PG_LOG}")
    return body, stmts


def pgbench_script(name, stmts, workdir):
    """A pgbench script running stmts with their parameters as variables
    (-D), so -M prepared binds them as the server does."""
    lines, defines = [], []
    for si, (sql, params) in enumerate(stmts):
        def var(m, si=si):
            return f":p{si}_{m.group(1)}"
        lines.append(re.sub(r"\$(\d+)", var, " ".join(sql.split())) + ";")
        for pi, v in enumerate(params, 1):
            if v is None:
                die(f"{name}: a NULL parameter cannot go through -D")
            defines += ["-D", f"p{si}_{pi}={v}"]
    path = os.path.join(workdir, f"{name}.pgbench")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path, defines


# --- measuring ----------------------------------------------------------------

def percentile(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def to_ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        return float("nan")
    f = float(m.group(1))
    return {"us": f / 1000, "ms": f, "s": f * 1000, "m": f * 60000}[
        m.group(2)]


def run_wrk(base, token, path):
    res = subprocess.run(
        ["wrk", "-t1", f"-c{CONNS}", f"-d{SECONDS}s", "--latency",
         "--timeout", "10s", "-H", f"Authorization: Bearer {token}",
         base + path], capture_output=True, text=True,
        timeout=SECONDS + 60)
    out = res.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    if not (rps and p50 and p99):
        die(f"wrk {path}: no result\n{out}\n{res.stderr}")
    return {"rps": float(rps.group(1)), "p50": to_ms(p50.group(1)),
            "p99": to_ms(p99.group(1)),
            "errors": (int(bad.group(1)) if bad else 0) + (1 if errs else 0)}


def run_pgbench(db, script, defines, workdir):
    prefix = os.path.join(workdir, "pgb")
    for f in os.listdir(workdir):
        if f.startswith("pgb."):
            os.unlink(os.path.join(workdir, f))
    res = subprocess.run(
        [os.path.join(pg_bindir(), "pgbench"), "-n", "-M", "prepared",
         f"-c{CONNS}", f"-j{CONNS}", f"-T{SECONDS}", "-l",
         "--log-prefix", prefix, *defines, "-f", script, db.dsn],
        capture_output=True, text=True, timeout=SECONDS + 60, cwd=workdir,
        env=dict(os.environ, PGOPTIONS=(
            f"-c max_parallel_workers_per_gather={PARALLEL}"
            if PARALLEL >= 0 else "")))
    tps = re.search(r"tps = ([\d.]+)", res.stdout)
    if res.returncode != 0 or not tps:
        die(f"pgbench {script}: {res.stdout[-500:]}{res.stderr[-800:]}")
    lat = []
    for f in os.listdir(workdir):
        if f.startswith("pgb."):
            with open(os.path.join(workdir, f), encoding="ascii") as fh:
                lat += [int(line.split()[2]) / 1000 for line in fh
                        if line.strip()]
    return {"rps": float(tps.group(1)), "p50": percentile(lat, 50),
            "p99": percentile(lat, 99), "errors": 0}


def common_and_rare(db):
    """The commonest title word (of 5 letters or more: not "the") and a
    rare one (once in a 5 % sample, 10 letters or more), whole words as
    title= and the full-text index see them; the same on every run."""
    rows = db.psql("""
WITH t AS (SELECT word, ndoc FROM ts_stat(
    'SELECT to_tsvector(''simple'', title) FROM movies TABLESAMPLE SYSTEM (5) REPEATABLE (1888)'))
SELECT (SELECT word FROM t WHERE word <> 'the' AND length(word) >= 5
        ORDER BY ndoc DESC LIMIT 1),
       (SELECT word FROM t WHERE ndoc = 1 AND length(word) >= 10
        ORDER BY md5(word) LIMIT 1)""")
    common, rare = rows.split("|")
    return common, rare


def typo(word):
    """The word with its third letter from the end dropped (debauching ->
    debauchng): close enough for pg_trgm's default threshold (0.6) in words
    of 10 letters or more."""
    k = len(word) - 3
    return word[:k] + word[k + 1:]


def walk_cursor(base, token, path, pages):
    """The next_cursor of page `pages` of path, walking from page 1."""
    cursor, sep = None, "&" if "?" in path else "?"
    for _ in range(pages - 1):
        p = path if cursor is None else \
            f"{path}{sep}cursor={urllib.parse.quote(cursor)}"
        status, body = get(base, token, p)
        if status != 200:
            die(f"walking {path}: {status} {body}")
        cursor = body["metadata"].get("next_cursor")
        if not cursor:
            die(f"walking {path}: no next_cursor")
    return f"{path}{sep}cursor={urllib.parse.quote(cursor)}"


def scenarios(db, base, token):
    common, rare = common_and_rare(db)
    top = GENRES[0]
    two = f"{GENRES[0]},{GENRES[1]}"
    say(f"words: common '{common}', rare '{rare}'; genres '{top}', '{two}'")
    out = [
        ("title common", f"/v1/movies?title={common}", True),
        ("title rare", f"/v1/movies?title={rare}", True),
        ("q common prefix", f"/v1/movies?q={common[:4]}", True),
        ("q rare typo", f"/v1/movies?q={typo(rare)}", True),
        ("q two words", f"/v1/movies?q=the%20{common[:4]}", True),
        ("all, sort id", "/v1/movies", True),
    ]
    for sort in SORTS:
        out.append((f"genre {top}, sort {sort}",
                    f"/v1/movies?genres={top}&sort={sort}", True))
    for sort in SORTS:
        out.append((f"genres {two}, sort {sort}",
                    f"/v1/movies?genres={two}&sort={sort}", True))
    out += [
        ("year 1990-1999, sort -year", "/v1/movies?year=1990-1999&sort=-year",
         True),
        (f"year 2000-2009, genre {top}, sort title",
         f"/v1/movies?year=2000-2009&genres={top}&sort=title", True),
        (f"page {DEEP}, sort id", f"/v1/movies?page={DEEP}", False),
        (f"page {DEEP}, sort -year", f"/v1/movies?sort=-year&page={DEEP}",
         False),
        (f"page {DEEP}, genre {top}, sort title",
         f"/v1/movies?genres={top}&sort=title&page={DEEP}", False),
    ]
    cursors = []
    for name, path in [(f"cursor page {DEEP}, sort id", "/v1/movies"),
                       (f"cursor page {DEEP}, sort -year",
                        "/v1/movies?sort=-year"),
                       (f"cursor page {DEEP}, genre {top}, sort title",
                        f"/v1/movies?genres={top}&sort=title")]:
        if ONLY.search(name):
            cursors.append((name, path))
    out = [s for s in out if ONLY.search(s[0])]
    for name, path in cursors:
        say(f"walking {DEEP - 1:,} pages of {path} for its cursor ...")
        out.append((name, walk_cursor(base, token, path, DEEP), False))
    return out


def main():
    # SIGTERM (or ^C) still stops the server and the cluster.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for prog, pkg in [("wrk", "wrk"), ("psql", "postgresql-client"),
                      ("pg_config", "libpq-dev")]:
        need(prog, pkg)
    if not os.path.exists(WORDS):
        die(f"{WORDS} not found: make deps/bench installs wamerican")
    if not os.access(API_BIN, os.X_OK):
        die("bin/api not found: make build")
    db = start_cluster()
    try:
        if os.environ.get("SCALE_RELOAD") == "1" or not loaded(db):
            load(db)
        else:
            say(f"{MOVIES:,} movies already loaded (SCALE_RELOAD=1 reloads)")
        token = make_user(db)
        base = start_api(db)
        work = os.path.join(DIR, "work")
        os.makedirs(work, exist_ok=True)
        scen = scenarios(db, base, token)
        log_statements(db, True)
        plans = []
        try:
            for name, path, first in scen:
                body, stmts = capture_sql(base, token, path)
                slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
                script, defines = pgbench_script(slug, stmts, work)
                total = body.get("metadata", {}).get("total_records")
                plans.append({"name": name, "path": path, "first": first,
                              "total": total, "script": script,
                              "defines": defines, "sql": stmts,
                              "api": [], "pgbench": []})
        finally:
            log_statements(db, False)
        for r in range(ROUNDS):
            say(f"round {r + 1} of {ROUNDS} ({len(plans)} scenarios)")
            for p in plans:
                p["api"].append(run_wrk(base, token, p["path"]))
                p["pgbench"].append(run_pgbench(db, p["script"],
                                                p["defines"], work))
        report(db, plans)
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        stop_cluster(db)


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def report(db, plans):
    rows = db.psql("SELECT count(*) FROM movies")
    print(f"\nbench/scale: {int(rows):,} movies, {ROUNDS} rounds of "
          f"{SECONDS} s, {CONNS} connections (wrk -t1 -c{CONNS}; pgbench -M "
          f"prepared -c{CONNS} -j{CONNS}, same SQL and parameters), "
          f"parallel workers per query {PARALLEL} (-1: PostgreSQL's), "
          f"medians\n")
    print("| scenario | matches | API req/s | API p50 | API p99 | pgbench "
          "tps | pgbench p99 | API/pgbench | first page p99 <= 50 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    out = []
    for p in plans:
        a_rps, a50, a99 = (med(p["api"], k) for k in ("rps", "p50", "p99"))
        b_rps, b99 = med(p["pgbench"], "rps"), med(p["pgbench"], "p99")
        errs = sum(r["errors"] for r in p["api"])
        verdict = ("PASS" if a99 <= P99_GOAL_MS else "over") \
            if p["first"] else "(not a first page)"
        total = "" if p["total"] is None else f"{p['total']:,}"
        print(f"| {p['name']} | {total} | {a_rps:,.0f} | {a50:.1f} ms | "
              f"{a99:.1f} ms | {b_rps:,.0f} | {b99:.1f} ms | "
              f"{a_rps / b_rps:.2f} | {verdict}"
              f"{f' ({errs} errors)' if errs else ''} |")
        out.append({k: p[k] for k in ("name", "path", "first", "total",
                                      "sql", "api", "pgbench")})
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = os.path.join(ROOT, "var", "bench", f"scale-{stamp}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"movies": int(rows), "seconds": SECONDS,
                   "parallel_workers": PARALLEL,
                   "rounds": ROUNDS, "conns": CONNS,
                   "scenarios": out}, f, indent=1)
    print(f"\nbench/scale: results in {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
