"""The README's quick start, run as written.

The blocks run are the ```sh blocks right after a line
`<!-- quickstart ... -->` in README.md (an HTML comment: invisible on the
rendered page). They run with bash, one command after another in one shell
(so `TOKEN=$(…)` carries over), against a fresh stack built the way
`make run` builds it: a new database, `migrate up`, the demo movies, the
demo user made by tests/tools/demo-user.sh (what `make db/demo-user` runs),
and a server started with the harness's flags plus `make run`'s development
limiter (DEV_RUN_FLAGS, read from the Makefile).

The one change made to the text: `localhost:4000` becomes the test server's
127.0.0.1:PORT (the harness cannot take port 4000, a developer's `make run`
may hold it). Every command must name that address, so no command can reach
another server by accident.
"""

import json
import os
import re
import shlex
import subprocess
import uuid

import pytest

from conftest import Psql
from test_migrate import REPO, dsn_for, sanitizer_env

README = REPO / "README.md"
DEMO_EMAIL = "demo@redlight.local"
DEMO_PASSWORD = "pa55word"


def env_or_skip(name):
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set (run the tests with make test)")
    return value


def marked_blocks(marker):
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^<!-- {marker}[^\n]*-->\n```sh\n(.*?)^```\n", text,
                      re.S | re.M)


def quickstart_blocks():
    return marked_blocks("quickstart")


def commands(block):
    """The block's commands as written: comment and blank lines between
    commands dropped, lines ending in a backslash kept with the next."""
    cmds, cur = [], ""
    for line in block.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        cur += line
        if line.endswith("\\"):
            cur += "\n"
            continue
        cmds.append(cur)
        cur = ""
    assert cur == "", f"a command ends in a backslash: {cur!r}"
    return cmds


def run_commands(cmds, workdir, cwd=None, extra_env=None):
    """Runs cmds in one bash (in cwd, default workdir), each with its own
    stdout/stderr/status kept in workdir; returns [(status, stdout,
    stderr)]. No REDLIGHT_* variable (nor make's) reaches the commands."""
    script = []
    for i, cmd in enumerate(cmds):
        out, err, rc = (shlex.quote(str(workdir / f"{n}.{i}"))
                        for n in ("out", "err", "rc"))
        script.append(f"{{ {cmd}\n}} >{out} 2>{err}; echo $? >{rc}")
    path = workdir / "block.sh"
    path.write_text("\n".join(script) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("REDLIGHT_") and
           k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(extra_env or {})
    res = subprocess.run(["bash", str(path)], cwd=cwd or workdir, env=env,
                         capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL, check=False)
    assert res.returncode == 0, res.stderr
    out = []
    for i in range(len(cmds)):
        # bytes: curl -i's header lines end in CRLF, which read_text folds
        out.append((int((workdir / f"rc.{i}").read_text()),
                    (workdir / f"out.{i}").read_bytes().decode(),
                    (workdir / f"err.{i}").read_bytes().decode()))
    return out


def dev_run_flags():
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    m = re.search(r"^DEV_RUN_FLAGS := (.*)$", text, re.M)
    assert m, "DEV_RUN_FLAGS is not in the Makefile"
    return shlex.split(m.group(1))


def http_response(text):
    """(status, headers dict with lower-case names, body) of `curl -i`."""
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def demo_database(binary, dsn):
    """Sets up the database at dsn as `make run` does (`migrate up`, then
    the demo movies) and returns the environment that points bin/api at it
    (the harness's sanitizer options included)."""
    env = dict(os.environ)
    env.update(sanitizer_env())
    env["REDLIGHT_MIGRATIONS_DIR"] = str(REPO / "migrations")
    env["REDLIGHT_DB_DSN"] = dsn
    res = subprocess.run([binary, "migrate", "up"], env=env,
                         capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL, check=False)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-f",
         str(REPO / "tests/fixtures/demo_movies.sql")],
        capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    return env


@pytest.fixture
def fresh_stack(spawn_server, tmp_path):
    """A new database set up as `make run` does, and a server on it. Yields
    (base address host:port, DSN, output of the demo-user script)."""
    binary = env_or_skip("REDLIGHT_BIN")
    admin = Psql(env_or_skip("REDLIGHT_TEST_ADMIN_DSN"))
    name = "rl_readme_" + uuid.uuid4().hex[:12]
    admin(f'CREATE DATABASE "{name}"')
    dsn = dsn_for(name)
    inst = None
    try:
        env = demo_database(binary, dsn)
        script = [str(REPO / "tests/tools/demo-user.sh"), binary]
        first = subprocess.run(script, env=env, capture_output=True,
                               text=True, timeout=120,
                               stdin=subprocess.DEVNULL, check=False)
        assert first.returncode == 0, first.stderr
        # Idempotent: again, same words, same single user.
        again = subprocess.run(script, env=env, capture_output=True,
                               text=True, timeout=120,
                               stdin=subprocess.DEVNULL, check=False)
        assert (again.returncode, again.stdout) == (0, first.stdout), \
            again.stderr
        db = Psql(dsn)
        assert db("SELECT u.activated, string_agg(p.code, ',' ORDER BY "
                  "p.code) FROM users u JOIN users_permissions up ON "
                  "up.user_id = u.id JOIN permissions p ON "
                  "p.id = up.permission_id GROUP BY u.id") == \
            "t|movies:read,movies:write"

        inst = spawn_server("-db-dsn", dsn, "-limiter-enabled=true",
                            *dev_run_flags())
        yield inst.base_url.removeprefix("http://"), dsn, first.stdout
    finally:
        if inst is not None and inst.proc.poll() is None:
            inst.proc.terminate()
            assert inst.proc.wait(timeout=30) == 0
            inst.check_exit = False
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_readme_marks_one_quickstart_block():
    blocks = quickstart_blocks()
    assert len(blocks) == 1
    cmds = commands(blocks[0])
    assert len(cmds) == 5, cmds
    for cmd in cmds:
        if "curl" in cmd:
            assert "localhost:4000" in cmd, cmd
    assert "sed" not in blocks[0]  # tokens are read with jq
    assert re.search(r"\bjq\b", blocks[0])


def test_quickstart_runs_as_written(fresh_stack, tmp_path):
    addr, dsn, demo_out = fresh_stack
    block = quickstart_blocks()[0].replace("localhost:4000", addr)
    assert re.findall(r"localhost|127\.0\.0\.1:\d+", block) == \
        [addr] * block.count(addr)
    cmds = commands(block)
    results = run_commands(cmds, tmp_path)
    for cmd, (rc, _, err) in zip(cmds, results):
        assert rc == 0, (cmd, err)

    # 1. healthcheck
    status, headers, body = http_response(results[0][1])
    assert status == 200
    assert '"status": "available"' in body
    # make run's limiter, not the production one
    assert headers["ratelimit-limit"] == "100"

    # 2. + 3. the token, kept by the shell
    assert results[1][1] == ""
    token = results[2][1]
    assert re.fullmatch(r"[A-Z2-7]{26}\n", token), token

    # 4. the demo movies with "river" in the title, newest first
    listing = json.loads(results[3][1])
    titles = [m["title"] for m in listing["movies"]]
    years = [m["year"] for m in listing["movies"]]
    assert len(titles) >= 3 and all("river" in t.lower() for t in titles)
    assert years == sorted(years, reverse=True)
    assert listing["metadata"]["total_records"] == len(titles)

    # 5. created
    status, headers, body = http_response(results[4][1])
    assert status == 201
    movie = json.loads(body)["movie"]
    assert headers["location"] == f"/v1/movies/{movie['id']}"
    assert (movie["title"], movie["year"], movie["runtime"], movie["genres"]) \
        == ("Moana", 2016, "107 mins", ["animation", "adventure"])
    assert Psql(dsn)(f"SELECT title FROM movies WHERE id = {movie['id']}") \
        == "Moana"

    # The quick start again, at once: still no 429 with make run's limiter.
    again = run_commands(cmds, tmp_path)
    assert [http_response(again[i][1])[0] for i in (0, 4)] == [200, 201]

    # What make run prints: the e-mail, the password, a curl line that works.
    lines = demo_out.splitlines()
    assert DEMO_EMAIL in lines[0] and DEMO_PASSWORD in lines[0]
    login = lines[1].split("log in:", 1)[1].strip()
    assert login.startswith("curl ") and "localhost:4000" in login
    res = subprocess.run(["bash", "-c", login.replace("localhost:4000", addr)],
                         capture_output=True, text=True, timeout=60,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert re.search(r'"token": "[A-Z2-7]{26}"', res.stdout), res.stdout


def make_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "REDLIGHT_DB_DSN",
                        "PORT", "ARGS", "DEV_PGPORT")}
    return env


def test_make_db_dsn_prints_the_clusters_dsn():
    def dsn(*args):
        res = subprocess.run(["make", "-s", "-C", str(REPO), "db/dsn", *args],
                             env=make_env(), capture_output=True, text=True,
                             timeout=60, check=False)
        assert res.returncode == 0, res.stderr
        return res.stdout

    assert dsn() == ("postgres://redlight:redlight@127.0.0.1:54320/redlight"
                     "?sslmode=disable\n")
    assert ":54401/" in dsn("DEV_PGPORT=54401")


def test_make_run_passes_port_and_args_after_the_dev_limiter():
    res = subprocess.run(
        ["make", "-n", "-C", str(REPO), "run", "PORT=4100",
         "ARGS=-env staging -limiter-burst 4"],
        env=make_env(), capture_output=True, text=True, timeout=120,
        check=False)
    assert res.returncode == 0, res.stderr
    execs = [l for l in res.stdout.splitlines() if l.startswith("exec bin/api")]
    assert len(execs) == 1, res.stdout
    words = shlex.split(execs[0])
    flags = dev_run_flags()
    assert words[words.index("-port") + 1] == "4100"
    # the development limiter, then ARGS: the last value of a flag wins
    tail = words[words.index("-port") + 2:]
    assert tail == [*flags, "-env", "staging", "-limiter-burst", "4"]
    assert "tests/tools/demo-user.sh bin/api" in res.stdout


def test_cli_block_runs_as_written(db, tmp_path):
    """The Command line section's block, in the repository (its bin/api),
    on the test cluster: `make -s db/dsn` with DEV_PGPORT set to the
    cluster's port prints the harness's own DSN."""
    dsn = env_or_skip("REDLIGHT_DB_DSN")
    port = re.search(r"@127\.0\.0\.1:(\d+)/", dsn).group(1)
    assert (REPO / "bin/api").exists()
    blocks = marked_blocks("cli")
    assert len(blocks) == 1
    cmds = commands(blocks[0])
    assert len(cmds) == 5, cmds
    db("DELETE FROM users WHERE email = 'bob@example.com'")
    results = run_commands(cmds, tmp_path, cwd=REPO,
                           extra_env={"DEV_PGPORT": port})
    for cmd, (rc, _, err) in zip(cmds, results):
        assert rc == 0, (cmd, err)
    assert results[1][1].startswith("created user bob@example.com (id ")
    assert results[2][1] == "granted movies:write to bob@example.com\n"
    rows = [l.split() for l in results[3][1].splitlines()]
    assert rows[0] == ["EMAIL", "ACTIVATED", "PERMISSIONS"]
    assert ["bob@example.com", "yes", "movies:read,movies:write"] in rows
    version = db("SELECT version FROM schema_migrations")
    assert results[4][1] == version + "\n"
    db("DELETE FROM users WHERE email = 'bob@example.com'")
