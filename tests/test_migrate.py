"""Black-box tests of `api migrate`, the golang-migrate-compatible migrator.

Needs REDLIGHT_BIN (the api binary) and REDLIGHT_TEST_ADMIN_DSN (a superuser
postgres:// URL to a throw-away cluster). Each test makes its own database
and its own migrations directory, so tests are independent of order.

What "compatible with golang-migrate" means here, checked below:
  - schema_migrations (version bigint not null primary key, dirty boolean
    not null), at most one row, no row = nothing applied;
  - the session advisory lock key is golang-migrate's
    GenerateAdvisoryLockId(url.Path, current_schema(), "schema_migrations");
  - a step records (target, dirty=true) before the file and (target, false)
    after it; a dirty database is refused until `force`.
"""

import os
import pathlib
import pty
import shlex
import subprocess
import time
import urllib.parse
import uuid
import zlib

import pytest

BIN = os.environ.get("REDLIGHT_BIN")
ADMIN_DSN = os.environ.get("REDLIGHT_TEST_ADMIN_DSN")

pytestmark = pytest.mark.skipif(
    not BIN or not ADMIN_DSN,
    reason="REDLIGHT_BIN and REDLIGHT_TEST_ADMIN_DSN are needed",
)

REPO = pathlib.Path(__file__).resolve().parent.parent
LOCK_SALT = 1486364155  # golang-migrate database/util.go advisoryLockIDSalt


# ---- helpers ---------------------------------------------------------------


def psql(dsn, *sql):
    """Runs each statement in one psql session; returns stdout stripped."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", dsn]
    for s in sql:
        cmd += ["-c", s]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def dsn_for(dbname):
    """ADMIN_DSN pointed at another database (same host, user, options)."""
    u = urllib.parse.urlsplit(ADMIN_DSN)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, ""))


def keyword_dsn_for(dbname):
    """The same connection as a libpq key=value string."""
    u = urllib.parse.urlsplit(ADMIN_DSN)
    parts = {"dbname": dbname}
    if u.hostname:
        parts["host"] = u.hostname
    if u.port:
        parts["port"] = str(u.port)
    if u.username:
        parts["user"] = urllib.parse.unquote(u.username)
    if u.password:
        parts["password"] = urllib.parse.unquote(u.password)
    for k, v in urllib.parse.parse_qsl(u.query):
        parts[k] = v

    def quote(v):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{k}={quote(v)}" for k, v in parts.items())


def golang_migrate_lock_id(database_name, *additional_names):
    """database.GenerateAdvisoryLockId from golang-migrate v4 (>= 4.15)."""
    joined = "\x00".join([*additional_names, database_name])
    return (zlib.crc32(joined.encode()) * LOCK_SALT) & 0xFFFFFFFF


def lock_key_for(dbname, schema="public"):
    # golang-migrate's CLI passes url.Path, leading slash included.
    return golang_migrate_lock_id("/" + dbname, schema, "schema_migrations")


def sanitizer_env():
    """The harness's ASAN/UBSAN options for the server (it turns leak checks
    off where LeakSanitizer cannot run), minus log_path so that reports
    reach stderr, where assert_no_sanitizer_report looks."""
    env = {}
    for tok in shlex.split(os.environ.get("REDLIGHT_SERVER_CMD", "")):
        name, _, value = tok.partition("=")
        if name in ("ASAN_OPTIONS", "UBSAN_OPTIONS") and name not in os.environ:
            opts = [o for o in value.split(":") if o and not o.startswith("log_path=")]
            env[name] = ":".join(opts)
    return env


def migrate_env(mdir):
    env = dict(os.environ)
    env.update(sanitizer_env())
    env.pop("REDLIGHT_DB_DSN", None)
    if mdir is not None:
        env["REDLIGHT_MIGRATIONS_DIR"] = str(mdir)
    return env


def migrate(dsn, *args, mdir=None, timeout=60):
    env = migrate_env(mdir)
    res = subprocess.run(
        [BIN, "-db-dsn", dsn, "migrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,  # no terminal: `down` needs -all
    )
    assert_no_sanitizer_report(res.stderr)
    return res


def migrate_bg(dsn, *args, mdir):
    env = migrate_env(mdir)
    return subprocess.Popen(
        [BIN, "-db-dsn", dsn, "migrate", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_no_sanitizer_report(stderr):
    assert "Sanitizer" not in stderr, stderr
    assert "runtime error:" not in stderr, stderr


def state(dsn):
    """The rows of schema_migrations as [(version, dirty)]."""
    out = psql(dsn, "SELECT version, dirty FROM schema_migrations")
    rows = []
    for line in out.splitlines():
        v, d = line.split("|")
        rows.append((int(v), d == "t"))
    return rows


def table_exists(dsn, name):
    return psql(dsn, f"SELECT to_regclass('{name}') IS NOT NULL") == "t"


def write(mdir, files):
    mdir.mkdir(exist_ok=True)
    for name, text in files.items():
        (mdir / name).write_text(text)
    return mdir


def wait_for(pred, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def advisory_locks(dsn, key, granted):
    """Number of sessions holding (granted) or awaiting the bigint key."""
    return int(
        psql(
            dsn,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            f"AND objsubid = 1 AND granted = {'true' if granted else 'false'} "
            f"AND ((classid::bigint << 32) | objid::bigint) = {key}",
        )
    )


class LockHolder:
    """A psql session holding pg_advisory_lock(key) until release()."""

    def __init__(self, dsn, key):
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.proc.stdin.write(f"SELECT pg_advisory_lock({key});\n")
        self.proc.stdin.flush()
        assert wait_for(lambda: advisory_locks(dsn, key, True) == 1), "no lock"

    def release(self):
        """Ends the session, which releases the lock."""
        _, err = self.proc.communicate(input="\\q\n", timeout=60)
        assert self.proc.returncode == 0, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def dbname():
    name = "rl_migrate_" + uuid.uuid4().hex[:12]
    psql(ADMIN_DSN, f'CREATE DATABASE "{name}"')
    yield name
    psql(ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def dsn(dbname):
    return dsn_for(dbname)


THREE = {
    "000001_create_a.up.sql": "CREATE TABLE a (id bigint PRIMARY KEY);\n",
    "000001_create_a.down.sql": "DROP TABLE a;\n",
    "000002_create_b.up.sql": "CREATE TABLE b (id bigint);\nINSERT INTO a VALUES (1);\n",
    "000002_create_b.down.sql": "DROP TABLE b;\nDELETE FROM a;\n",
    "000003_create_c.up.sql": "CREATE TABLE c (id bigint);\n",
    "000003_create_c.down.sql": "DROP TABLE c;\n",
}


@pytest.fixture
def three(tmp_path):
    return write(tmp_path / "migrations", THREE)


# ---- the lock key formula ---------------------------------------------------


def test_lock_id_helper_matches_golang_migrate_test_vectors():
    # Expected values from golang-migrate's database/util_test.go.
    assert golang_migrate_lock_id("database_name") == 1764327054
    assert golang_migrate_lock_id("database_name", "schema_name_1") == 2453313553
    assert golang_migrate_lock_id("database_name", "schema_name_2") == 235207038
    assert (
        golang_migrate_lock_id("database_name", "schema_name_1", "schema_name_2")
        == 3743845847
    )


# ---- state table --------------------------------------------------------------


def test_version_on_fresh_database_creates_golang_migrate_table(dsn, three):
    res = migrate(dsn, "version", mdir=three)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "no migration"
    cols = psql(
        dsn,
        "SELECT column_name, data_type, is_nullable, column_default IS NULL "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = 'schema_migrations' ORDER BY ordinal_position",
    ).splitlines()
    assert cols == ["version|bigint|NO|t", "dirty|boolean|NO|t"]
    pk = psql(
        dsn,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = 'public.schema_migrations'::regclass "
        "AND i.indisprimary",
    )
    assert pk == "version"
    assert state(dsn) == []


def test_table_lives_in_current_schema(dbname, tmp_path):
    dsn = dsn_for(dbname)
    psql(dsn, "CREATE SCHEMA app", f'ALTER DATABASE "{dbname}" SET search_path = app')
    mdir = write(tmp_path / "m", {"1_t.up.sql": "CREATE TABLE t (id int);\n"})
    res = migrate(dsn, "up", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert psql(dsn, "SELECT to_regclass('app.schema_migrations') IS NOT NULL") == "t"
    assert psql(dsn, "SELECT to_regclass('public.schema_migrations') IS NULL") == "t"
    assert psql(dsn, "SELECT version, dirty FROM app.schema_migrations") == "1|f"


# ---- up / down / goto / version / force ---------------------------------------


def test_up_applies_all_in_order_then_no_change(dsn, three):
    res = migrate(dsn, "up", mdir=three)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert [l.split(" (")[0] for l in lines] == [
        "1/u create_a",
        "2/u create_b",
        "3/u create_c",
    ]
    assert all(l.endswith("s)") for l in lines), lines
    assert state(dsn) == [(3, False)]
    assert all(table_exists(dsn, t) for t in "abc")
    assert psql(dsn, "SELECT count(*) FROM a") == "1"

    res = migrate(dsn, "up", mdir=three)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "no change"
    assert state(dsn) == [(3, False)]

    res = migrate(dsn, "version", mdir=three)
    assert (res.returncode, res.stdout.strip()) == (0, "3")


def test_up_n_applies_at_most_n(dsn, three):
    res = migrate(dsn, "up", "2", mdir=three)
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 2
    assert state(dsn) == [(2, False)]
    assert not table_exists(dsn, "c")

    res = migrate(dsn, "up", "5", mdir=three)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0].startswith("3/u create_c (")
    assert state(dsn) == [(3, False)]


def test_down_n_then_down_all(dsn, three):
    assert migrate(dsn, "up", mdir=three).returncode == 0

    res = migrate(dsn, "down", "1", mdir=three)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0].startswith("3/d create_c (")
    assert state(dsn) == [(2, False)]
    assert not table_exists(dsn, "c")

    res = migrate(dsn, "down", "-all", mdir=three)
    assert res.returncode == 0, res.stderr
    assert [l.split(" (")[0] for l in res.stdout.splitlines()] == [
        "applying all down migrations",
        "2/d create_b",
        "1/d create_a",
    ]
    assert state(dsn) == []  # golang-migrate's NilVersion: no row
    assert not any(table_exists(dsn, t) for t in "abc")

    res = migrate(dsn, "down", "-all", mdir=three)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "no change"
    res = migrate(dsn, "version", mdir=three)
    assert (res.returncode, res.stdout.strip()) == (0, "no migration")


def migrate_on_terminal(dsn, *args, answer, mdir):
    """Runs `migrate ARGS` with a pseudo-terminal as stdin, `answer` typed
    into it (b"" types nothing and hangs up: end of input); stdout and
    stderr are pipes."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [BIN, "migrate", *args, "-db-dsn", dsn],
            env=migrate_env(mdir),
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(slave)
        slave = None
        if answer:
            os.write(master, answer)
        else:
            os.write(master, b"\x04")  # ^D: end of input, as a person types
        out, err = proc.communicate(timeout=60)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert_no_sanitizer_report(err)
    return proc.returncode, out, err


QUESTION = "Are you sure you want to apply all down migrations? [y/N] "


def test_down_without_n_asks_on_a_terminal(dsn, three):
    assert migrate(dsn, "up", mdir=three).returncode == 0

    for answer in (b"n\n", b"\n", b"nope\n", b""):
        rc, out, err = migrate_on_terminal(dsn, "down", answer=answer,
                                           mdir=three)
        assert (rc, out) == (1, ""), (answer, err)
        assert err.startswith(QUESTION), (answer, err)
        assert err.endswith("error: not applying all down migrations\n")
        assert state(dsn) == [(3, False)]
        assert table_exists(dsn, "a")

    rc, out, err = migrate_on_terminal(dsn, "down", answer=b" Yes \n",
                                       mdir=three)
    assert (rc, err) == (0, QUESTION), err
    assert [l.split(" (")[0] for l in out.splitlines()] == [
        "applying all down migrations",
        "3/d create_c",
        "2/d create_b",
        "1/d create_a",
    ]
    assert state(dsn) == []

    # Nothing to undo: no question.
    rc, out, err = migrate_on_terminal(dsn, "down", answer=b"", mdir=three)
    assert (rc, out, err) == (0, "no change\n", "")

    # -all and N never ask, on a terminal either.
    assert migrate(dsn, "up", mdir=three).returncode == 0
    rc, out, err = migrate_on_terminal(dsn, "down", "1", answer=b"",
                                       mdir=three)
    assert (rc, err) == (0, ""), err
    rc, out, err = migrate_on_terminal(dsn, "down", "-all", answer=b"",
                                       mdir=three)
    assert (rc, err) == (0, ""), err
    assert out.startswith("applying all down migrations\n")
    assert state(dsn) == []


def test_down_without_n_or_terminal_refuses_unless_all(dsn, three):
    assert migrate(dsn, "up", mdir=three).returncode == 0
    res = migrate(dsn, "down", mdir=three)
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr.startswith(
        "error: down without N applies all down migrations: add -all, or "
        "run it on a terminal to confirm\n")
    assert state(dsn) == [(3, False)]

    res = migrate(dsn, "down", "2", "-all", mdir=three)
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr.startswith("error: -all cannot be used with N\n")
    res = migrate(dsn, "up", "-all", mdir=three)
    assert res.returncode == 2
    assert res.stderr.startswith("error: flag provided but not defined: -all")
    assert state(dsn) == [(3, False)]

    # Flags before or after N; --all too.
    res = migrate(dsn, "down", "--all", mdir=three)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == []


def test_flags_after_the_arguments(dbname, three):
    dsn = dsn_for(dbname)
    env = migrate_env(three)
    res = subprocess.run([BIN, "migrate", "up", "2", "-db-dsn", dsn], env=env,
                         capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(2, False)]
    res = subprocess.run([BIN, "migrate", "--db-dsn=" + dsn, "version"],
                         env=env, capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert (res.returncode, res.stdout) == (0, "2\n"), res.stderr


def test_goto_moves_up_and_down(dsn, three):
    res = migrate(dsn, "goto", "2", mdir=three)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(2, False)]
    assert not table_exists(dsn, "c")

    res = migrate(dsn, "goto", "3", mdir=three)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(3, False)]

    res = migrate(dsn, "goto", "1", mdir=three)
    assert res.returncode == 0, res.stderr
    assert [l.split(" (")[0] for l in res.stdout.splitlines()] == [
        "3/d create_c",
        "2/d create_b",
    ]
    assert state(dsn) == [(1, False)]
    assert table_exists(dsn, "a") and not table_exists(dsn, "b")

    res = migrate(dsn, "goto", "1", mdir=three)
    assert (res.returncode, res.stdout.strip()) == (0, "no change")

    res = migrate(dsn, "goto", "7", mdir=three)
    assert res.returncode == 1
    assert "no migration found for version 7" in res.stderr
    assert state(dsn) == [(1, False)]


def test_force_sets_clean_version_without_running(dsn, three):
    res = migrate(dsn, "force", "2", mdir=three)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(2, False)]
    assert not table_exists(dsn, "a")

    res = migrate(dsn, "force", "-1", mdir=three)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == []

    assert migrate(dsn, "force", "-2", mdir=three).returncode == 2


def test_recorded_version_without_file_is_an_error(dsn, three):
    assert migrate(dsn, "force", "9", mdir=three).returncode == 0
    res = migrate(dsn, "up", mdir=three)
    assert res.returncode == 1
    assert "no migration found for version 9" in res.stderr
    assert state(dsn) == [(9, False)]


# ---- failures and the dirty flag -----------------------------------------------


@pytest.mark.parametrize(
    "bad_sql, message",
    [
        ("CREATE TABLE b (id int);\nINSERT INTO a VALUES (1);\nSELEC 1;\n",
         'syntax error at or near "SELEC"'),
        ("CREATE TABLE b (id int);\nCREATE INDEX CONCURRENTLY b_idx ON b (id);\n",
         "cannot run inside a transaction block"),
    ],
)
def test_failed_up_leaves_dirty_and_refuses_until_forced(dsn, tmp_path, bad_sql, message):
    files = dict(THREE)
    files["000002_create_b.up.sql"] = bad_sql
    mdir = write(tmp_path / "m", files)

    res = migrate(dsn, "up", mdir=mdir)
    assert res.returncode == 1
    assert res.stdout.splitlines()[0].startswith("1/u create_a (")
    assert message in res.stderr
    assert "000002_create_b.up.sql" in res.stderr
    if "SELEC" in bad_sql:
        assert "line 3, column 1" in res.stderr
    # golang-migrate's record: target version, dirty. Redlight's transaction
    # rolled the file back entirely.
    assert state(dsn) == [(2, True)]
    assert not table_exists(dsn, "b")
    assert psql(dsn, "SELECT count(*) FROM a") == "0"

    for args in (["up"], ["down", "-all"], ["down", "1"], ["goto", "1"], ["up", "1"]):
        res = migrate(dsn, *args, mdir=mdir)
        assert res.returncode == 1, args
        assert "Dirty database version 2. Fix and force version." in res.stderr
        assert res.stdout == ""
    assert state(dsn) == [(2, True)]

    res = migrate(dsn, "version", mdir=mdir)
    assert (res.returncode, res.stdout.strip()) == (0, "2 (dirty)")

    res = migrate(dsn, "force", "1", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(1, False)]

    files["000002_create_b.up.sql"] = "CREATE TABLE b (id int);\n"
    write(mdir, files)
    res = migrate(dsn, "up", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(3, False)]


def test_sql_error_detail_is_printed(dsn, tmp_path):
    mdir = write(tmp_path / "m", {
        "1_t.up.sql": "CREATE TABLE t (id int PRIMARY KEY);\n"
                      "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (1);\n",
    })
    res = migrate(dsn, "up", mdir=mdir)
    assert res.returncode == 1
    assert "duplicate key value violates unique constraint" in res.stderr
    assert "Key (id)=(1) already exists." in res.stderr
    assert "23505" in res.stderr
    assert state(dsn) == [(1, True)]
    assert not table_exists(dsn, "t")


def test_failed_down_marks_the_target_version_dirty(dsn, tmp_path):
    files = dict(THREE)
    files["000002_create_b.down.sql"] = "DROP TABLE b;\nDROP TABLE nope;\n"
    mdir = write(tmp_path / "m", files)
    assert migrate(dsn, "up", mdir=mdir).returncode == 0

    res = migrate(dsn, "down", "-all", mdir=mdir)
    assert res.returncode == 1
    assert res.stdout.splitlines()[1].startswith("3/d create_c (")
    assert 'table "nope" does not exist' in res.stderr
    # golang-migrate marks the version the step leads to (1) as dirty; the
    # rolled-back file left table b in place.
    assert state(dsn) == [(1, True)]
    assert table_exists(dsn, "b")
    assert "migrate force 2" in res.stderr


def test_failed_down_of_first_version_records_nil_version_dirty(dsn, tmp_path):
    mdir = write(tmp_path / "m", {
        "1_a.up.sql": "CREATE TABLE a (id int);\n",
        "1_a.down.sql": "DROP TABLE nope;\n",
    })
    assert migrate(dsn, "up", mdir=mdir).returncode == 0
    res = migrate(dsn, "down", "-all", mdir=mdir)
    assert res.returncode == 1
    # golang-migrate's SetVersion(NilVersion, dirty=true) writes -1 (its
    # issue #330), so the dirty state is not lost.
    assert state(dsn) == [(-1, True)]
    res = migrate(dsn, "up", mdir=mdir)
    assert "Dirty database version -1." in res.stderr
    assert migrate(dsn, "force", "1", mdir=mdir).returncode == 0
    assert state(dsn) == [(1, False)]


# ---- files ---------------------------------------------------------------------


def test_file_names_filtering_and_big_versions(dsn, tmp_path):
    mdir = write(tmp_path / "m", {
        "20240101120000_first.up.sql": "CREATE TABLE t1 (id int);\n",
        "20240101120000_first.down.sql": "DROP TABLE t1;\n",
        "20240102_second.up.sql": "CREATE TABLE t2 (id int);\n",
        "README.md": "not a migration\n",
        "3_no_direction.sql": "SELEC broken;\n",
        "x4_bad_prefix.up.sql": "SELEC broken;\n",
        "5-dash.up.sql": "SELEC broken;\n",
        "6_wrong_ext.up.txt": "SELEC broken;\n",
        "7_empty.up.sql": "",
        "8_comment_only.up.sql": "-- nothing to do\n",
    })
    (mdir / "9_a_directory.up.sql").mkdir()
    res = migrate(dsn, "up", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert [l.split(" (")[0] for l in res.stdout.splitlines()] == [
        "7/u empty",
        "8/u comment_only",
        "20240102/u second",
        "20240101120000/u first",
    ]
    assert state(dsn) == [(20240101120000, False)]

    res = migrate(dsn, "down", "1", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(20240102, False)]
    assert not table_exists(dsn, "t1")

    # No down file for 20240102: golang-migrate just moves the version.
    res = migrate(dsn, "down", "1", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(8, False)]
    assert table_exists(dsn, "t2")


def test_duplicate_version_and_direction_is_an_error(dsn, tmp_path):
    mdir = write(tmp_path / "m", {
        "1_a.up.sql": "CREATE TABLE a (id int);\n",
        "01_other.up.sql": "CREATE TABLE other (id int);\n",
    })
    res = migrate(dsn, "up", mdir=mdir)
    assert res.returncode == 1
    assert "duplicate migration file" in res.stderr
    assert state(dsn) == []


def test_missing_directory_is_an_error(dsn, tmp_path):
    res = migrate(dsn, "up", mdir=tmp_path / "nope")
    assert res.returncode == 1
    assert "nope" in res.stderr


def test_usage_errors_exit_2(dsn, three):
    for args in (
        [],
        ["frobnicate"],
        ["up", "x"],
        ["up", "0"],
        ["up", "1", "2"],
        ["down", "-1"],
        ["goto"],
        ["goto", "v1"],
        ["force"],
        ["force", "abc"],
        ["version", "extra"],
    ):
        res = migrate(dsn, *args, mdir=three)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert res.stderr.startswith("error: "), args
    assert state_or_none(dsn) is None  # nothing connected, nothing created


def state_or_none(dsn):
    if psql(dsn, "SELECT to_regclass('schema_migrations') IS NULL") == "t":
        return None
    return state(dsn)


def test_unreachable_database_exits_1(three):
    u = urllib.parse.urlsplit(ADMIN_DSN)
    bad = urllib.parse.urlunsplit((u.scheme, "127.0.0.1:1", "/x", "", ""))
    res = migrate(bad, "version", mdir=three)
    assert res.returncode == 1
    assert res.stderr.startswith("error: ")


# ---- the advisory lock -------------------------------------------------------------


@pytest.mark.parametrize("dsn_form", ["url", "keyword"])
def test_up_waits_for_golang_migrate_advisory_lock(dbname, three, dsn_form):
    dsn = dsn_for(dbname)
    key = lock_key_for(dbname)
    holder = LockHolder(dsn, key)
    try:
        target = dsn if dsn_form == "url" else keyword_dsn_for(dbname)
        started = time.monotonic()
        proc = migrate_bg(target, "up", mdir=three)
        # It queues on exactly golang-migrate's key...
        assert wait_for(lambda: advisory_locks(dsn, key, False) == 1), "not waiting"
        time.sleep(1.5)
        assert proc.poll() is None, "migrate did not wait for the lock"
        assert state_or_none(dsn) in (None, [])
        # ...and proceeds once the holder lets go.
        holder.release()
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
    assert_no_sanitizer_report(err)
    assert proc.returncode == 0, err
    assert elapsed > 1.5
    assert len(out.splitlines()) == 3
    assert state(dsn) == [(3, False)]
    # The session lock is released when migrate is done.
    assert advisory_locks(dsn, key, True) == 0


def test_other_lock_keys_do_not_block(dbname, three):
    # Near misses of the formula: the server's database name without the
    # URL's slash, golang-migrate's older name orders, and no table name.
    dsn = dsn_for(dbname)
    near_misses = {
        golang_migrate_lock_id(dbname, "public", "schema_migrations"),
        golang_migrate_lock_id("/" + dbname, "public"),
        golang_migrate_lock_id("public\x00/" + dbname),
        golang_migrate_lock_id("/" + dbname + "\x00public"),
        golang_migrate_lock_id("/" + dbname),
    }
    assert lock_key_for(dbname) not in near_misses
    holders = [LockHolder(dsn, k) for k in near_misses]
    try:
        started = time.monotonic()
        res = migrate(dsn, "up", mdir=three, timeout=15)
        assert res.returncode == 0, res.stderr
        assert time.monotonic() - started < 10
    finally:
        for h in holders:
            h.kill()
    assert state(dsn) == [(3, False)]


def test_two_migrators_serialize(dsn, tmp_path):
    mdir = write(tmp_path / "m", {
        "1_slow.up.sql": "SELECT pg_sleep(1.5);\nCREATE TABLE once (id int);\n",
        "2_next.up.sql": "INSERT INTO once VALUES (2);\n",
    })
    a = migrate_bg(dsn, "up", mdir=mdir)
    b = migrate_bg(dsn, "up", mdir=mdir)
    out_a, err_a = a.communicate(timeout=60)
    out_b, err_b = b.communicate(timeout=60)
    assert (a.returncode, b.returncode) == (0, 0), (err_a, err_b)
    outs = sorted([out_a.strip(), out_b.strip()], key=lambda o: o != "no change")
    assert outs[0] == "no change", outs
    assert len(outs[1].splitlines()) == 2, outs
    assert state(dsn) == [(2, False)]
    assert psql(dsn, "SELECT count(*) FROM once") == "1"


def test_lock_wait_times_out_like_golang_migrate(dbname, three):
    # golang-migrate gives up after its default -lock-timeout of 15 s.
    dsn = dsn_for(dbname)
    holder = LockHolder(dsn, lock_key_for(dbname))
    try:
        started = time.monotonic()
        res = migrate(dsn, "up", mdir=three, timeout=40)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
    assert res.returncode == 1
    assert "can't acquire database lock" in res.stderr
    assert 14 < elapsed < 30
    assert state_or_none(dsn) is None


# ---- the repository's own migrations ------------------------------------------------


def test_repo_migrations_up_down_up(dsn):
    mdir = REPO / "migrations"
    versions = sorted({int(p.name.split("_")[0]) for p in mdir.glob("*.up.sql")})
    assert versions, "no migrations in the repository"

    res = migrate(dsn, "up", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == len(versions)
    assert state(dsn) == [(versions[-1], False)]
    assert table_exists(dsn, "movies")

    res = migrate(dsn, "down", "-all", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == []
    leftover = psql(
        dsn,
        "SELECT string_agg(tablename, ',') FROM pg_tables "
        "WHERE schemaname = 'public' AND tablename <> 'schema_migrations'",
    )
    assert leftover == ""
    assert psql(dsn, "SELECT count(*) FROM pg_extension WHERE extname = 'citext'") == "0"

    res = migrate(dsn, "up", mdir=mdir)
    assert res.returncode == 0, res.stderr
    assert state(dsn) == [(versions[-1], False)]
    assert table_exists(dsn, "movies")


def test_auth_notify_triggers_fire_and_go_with_their_down_migration(dsn):
    """000010: the triggers notify redlight_auth with the user id (the
    authentication cache's invalidation), and its down file removes them
    and their function."""
    mdir = REPO / "migrations"
    assert migrate(dsn, "up", mdir=mdir).returncode == 0

    def objects():
        return psql(
            dsn,
            "SELECT (SELECT count(*) FROM pg_trigger WHERE tgname LIKE "
            "'%auth_notify%') || ',' || (SELECT count(*) FROM pg_proc WHERE "
            "proname = 'redlight_auth_notify')")

    assert objects() == "6,1"
    uid = psql(dsn, "INSERT INTO users (name, email, password_hash, activated) "
                    "VALUES ('n', 'n@example.com', '\\x00', true) RETURNING id"
               ).split()[0]
    # A session that LISTENs sees the notification of a change committed by
    # itself (psql prints it after the statement).
    out = subprocess.run(
        ["psql", dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-c", "LISTEN redlight_auth",
         "-c", f"UPDATE users SET activated = false WHERE id = {uid}",
         "-c", "SELECT 1"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    assert f'notification "redlight_auth" with payload "{uid}"' in out

    # Back to just before 000010, whatever came after it.
    assert migrate(dsn, "goto", "9", mdir=mdir).returncode == 0
    assert objects() == "0,0"
    assert migrate(dsn, "up", mdir=mdir).returncode == 0
    assert objects() == "6,1"
