"""`bin/api users list | create | grant | revoke` against the harness's real
database (REDLIGHT_DB_DSN) and server (REDLIGHT_API_URL): what the operator
types, what it prints, its exit status, and what the API then allows.

Exit statuses: 0 done (grant/revoke that changed nothing included), 1
failure (no such user or permission, database), 2 usage or invalid value,
3 `create` of an e-mail that is taken (nothing changed).
"""

import os
import re
import subprocess

import pytest

from conftest import make_user, movie_body, ok_json
from test_auth import sanitizer_env

PASSWORD = "pa55word-for-cli-tests"


def dsn():
    value = os.environ.get("REDLIGHT_DB_DSN")
    if not value:
        pytest.skip("REDLIGHT_DB_DSN is not set (run the tests with make test)")
    return value


def users(*args, stdin=None, env_dsn=True, timeout=60):
    """Runs `api users ARGS` with the DSN in the environment only (as the
    README's `export REDLIGHT_DB_DSN=…` does), or in no place at all."""
    binary = os.environ.get("REDLIGHT_BIN")
    if not binary:
        pytest.skip("REDLIGHT_BIN is not set (run the tests with make test)")
    env = dict(os.environ)
    env.update(sanitizer_env())
    env.pop("REDLIGHT_DB_DSN", None)
    if env_dsn:
        env["REDLIGHT_DB_DSN"] = dsn()
    res = subprocess.run([binary, "users", *args], env=env, input=stdin,
                         capture_output=True, text=True, timeout=timeout,
                         stdin=None if stdin is not None else subprocess.DEVNULL,
                         check=False)
    assert "Sanitizer" not in res.stderr, res.stderr
    assert "runtime error" not in res.stderr, res.stderr
    return res


def email_of(unique, prefix="cli"):
    return f"{unique(prefix)}@example.com"


def perms(db, email):
    return db("SELECT coalesce(string_agg(p.code, ',' ORDER BY p.code), '') "
              "FROM users u LEFT JOIN users_permissions up ON up.user_id = u.id "
              "LEFT JOIN permissions p ON p.id = up.permission_id "
              f"WHERE u.email = '{email}'")


def list_rows(stdout):
    """{email: (activated, permissions)} from `users list`, checking the
    table's shape: a header, then one row a user, columns aligned."""
    lines = stdout.splitlines()
    assert re.fullmatch(r"EMAIL +ACTIVATED  PERMISSIONS", lines[0]), lines[0]
    col = lines[0].index("ACTIVATED")
    rows = {}
    for line in lines[1:]:
        assert line[col - 2:col] == "  ", line
        email = line[:col].rstrip()
        activated, permissions = line[col:].split()
        assert activated in ("yes", "no"), line
        rows[email] = (activated, permissions)
    return rows, [l[:col].rstrip() for l in lines[1:]]


# ---- create ------------------------------------------------------------------

def test_create_activated_with_grants_can_log_in_and_write(anon_api, db,
                                                            unique):
    email = email_of(unique)
    res = users("create", "-email", email, "-name", "CLI User",
                "-password-stdin", "-activated",
                "-grant", "movies:read,movies:write", stdin=PASSWORD + "\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"created user {email} (id "), res.stdout
    assert db(f"SELECT name, activated FROM users WHERE email = '{email}'") \
        == "CLI User|t"
    assert perms(db, email) == "movies:read,movies:write"
    # No mail, no activation token: the operator vouches for the address.
    assert db("SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id "
              f"WHERE u.email = '{email}'") == "0"
    assert db(f"SELECT count(*) FROM mail_outbox WHERE recipient = '{email}'") \
        == "0"

    body = ok_json(anon_api.post("/v1/tokens/authentication",
                                 json={"email": email, "password": PASSWORD}),
                   201)
    user = anon_api.with_token(body["authentication_token"]["token"])
    ok_json(user.post("/v1/movies", json=movie_body()), 201)
    ok_json(user.get("/v1/movies"), 200)


def test_create_again_exits_3_and_changes_nothing(db, unique):
    email = email_of(unique)
    res = users("create", "-email", email, "-name", "First",
                "-password", PASSWORD)
    assert res.returncode == 0, res.stderr
    before = db("SELECT name, encode(password_hash, 'escape'), activated, "
                f"version FROM users WHERE email = '{email}'")
    assert before.endswith("|f|1")
    assert perms(db, email) == ""  # no -grant: no permission at all

    # Case-insensitive, like registration; flags after the verb in any order.
    res = users("create", "-activated", "-name", "Second", "-password",
                "another-password", "-email", email.upper(),
                "-grant", "movies:write")
    assert res.returncode == 3, (res.stdout, res.stderr)
    assert res.stdout == (f"nothing changed: a user with email "
                          f"{email.upper()} exists\n")
    assert db("SELECT name, encode(password_hash, 'escape'), activated, "
              f"version FROM users WHERE email = '{email}'") == before
    assert perms(db, email) == ""


def test_create_reads_only_the_first_line_of_stdin(anon_api, unique):
    email = email_of(unique)
    res = users("create", "-email", email, "-name", "N", "-password-stdin",
                "-activated", "-grant", "movies:read",
                stdin=PASSWORD + "\r\nsecond line\n")
    assert res.returncode == 0, res.stderr
    ok_json(anon_api.post("/v1/tokens/authentication",
                          json={"email": email, "password": PASSWORD}), 201)


@pytest.mark.parametrize("args, stdin, message", [
    (("-email", "not-an-address", "-name", "N", "-password", PASSWORD), None,
     "error: email: must be a valid email address"),
    (("-email", "{e}", "-name", "", "-password", PASSWORD), None,
     "error: name: must be provided"),
    (("-email", "{e}", "-name", "N", "-password", "short"), None,
     "error: password: must be at least 8 bytes long"),
    (("-email", "{e}", "-name", "N", "-password", "x" * 73), None,
     "error: password: must not be more than 72 bytes long"),
    (("-email", "{e}", "-name", "N", "-password-stdin"), "",
     "error: password: must be provided"),
    (("-email", "{e}", "-name", "N"), None,
     "error: create needs one of -password-stdin and -password"),
    (("-email", "{e}", "-name", "N", "-password", PASSWORD,
      "-password-stdin"), "x\n",
     "error: create needs one of -password-stdin and -password"),
    (("-name", "N", "-password", PASSWORD), None,
     "error: create needs -email and -name"),
    (("-email", "{e}", "-name", "N", "-password", PASSWORD, "extra"), None,
     'error: too many arguments (at "extra")'),
    (("-email", "{e}", "-name", "N", "-password", PASSWORD, "-frob"), None,
     "error: flag provided but not defined: -frob"),
    (("-email", "{e}", "-name", "N", "-password", PASSWORD, "-activated=yes"),
     None, 'error: invalid boolean value "yes" for flag -activated'),
])
def test_create_refuses_bad_input_with_exit_2(db, unique, args, stdin,
                                              message):
    email = email_of(unique)
    res = users("create", *(a.replace("{e}", email) for a in args),
                stdin=stdin)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stderr.splitlines()[0] == message
    assert res.stdout == ""
    assert db(f"SELECT count(*) FROM users WHERE email = '{email}'") == "0"


def test_create_with_an_unknown_permission_stores_nothing(db, unique):
    email = email_of(unique)
    res = users("create", "-email", email, "-name", "N", "-password",
                PASSWORD, "-grant", "movies:read,movies:delete")
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert res.stderr == ('error: no permission "movies:delete" '
                          "(known: movies:read, movies:write)\n")
    assert db(f"SELECT count(*) FROM users WHERE email = '{email}'") == "0"


# ---- list --------------------------------------------------------------------

def test_list_shows_every_user_sorted_with_permissions(db, unique):
    tag = unique("list")
    # Upper case sorts among lower case: the order ignores case.
    made = {f"b-{tag}@example.com": ("no", "-"),
            f"A-{tag}@example.com": ("yes", "movies:read,movies:write"),
            f"c-{tag}@example.com": ("yes", "movies:write")}
    for email, (activated, grant) in made.items():
        args = ["create", "-email", email, "-name", "L", "-password",
                PASSWORD]
        if activated == "yes":
            args.append("-activated")
        if grant != "-":
            # The list's order of codes is alphabetical, whatever -grant's.
            args += ["-grant", ",".join(reversed(grant.split(",")))]
        assert users(*args).returncode == 0

    res = users("list")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    rows, order = list_rows(res.stdout)
    for email, want in made.items():
        assert rows[email] == want
    assert [e for e in order if tag in e] == [
        f"A-{tag}@example.com", f"b-{tag}@example.com",
        f"c-{tag}@example.com"]
    assert [e.lower() for e in order] == sorted(e.lower() for e in order)
    count = int(db("SELECT count(*) FROM users"))
    assert len(order) == count
    # Stable: the same table twice.
    assert users("list").stdout == res.stdout


def test_list_matches_the_database_for_sql_made_users(db):
    _, email, _ = make_user(db, activated=False, permissions=())
    rows, _ = list_rows(users("list").stdout)
    assert rows[email] == ("no", "-")


# ---- grant / revoke ------------------------------------------------------------

def test_grant_and_revoke_say_when_nothing_changed(db):
    _, email, _ = make_user(db, permissions=("movies:read",))

    res = users("grant", email, "movies:write")
    assert (res.returncode, res.stdout) == (
        0, f"granted movies:write to {email}\n"), res.stderr
    res = users("grant", email, "movies:write")
    assert (res.returncode, res.stdout) == (
        0, f"nothing changed: {email} already has movies:write\n")
    assert perms(db, email) == "movies:read,movies:write"

    res = users("revoke", email, "movies:write")
    assert (res.returncode, res.stdout) == (
        0, f"revoked movies:write from {email}\n")
    res = users("revoke", email, "movies:write")
    assert (res.returncode, res.stdout) == (
        0, f"nothing changed: {email} does not have movies:write\n")
    assert perms(db, email) == "movies:read"


def test_flags_after_the_arguments(db):
    _, email, _ = make_user(db, permissions=())
    # -db-dsn after the verb's arguments, with no DSN in the environment.
    res = users("grant", email, "movies:read", "-db-dsn", dsn(),
                env_dsn=False)
    assert (res.returncode, res.stdout) == (
        0, f"granted movies:read to {email}\n"), res.stderr
    res = users("revoke", "--db-dsn=" + dsn(), email, "movies:read",
                env_dsn=False)
    assert res.returncode == 0, res.stderr
    res = users("-db-dsn", dsn(), "list", env_dsn=False)  # or before
    assert res.returncode == 0, res.stderr
    assert list_rows(res.stdout)[0][email] == ("yes", "-")
    assert perms(db, email) == ""


def test_no_dsn_says_how_to_get_one():
    res = users("list", env_dsn=False)
    assert res.returncode == 1
    assert res.stderr == (
        "error: no database DSN: set -db-dsn or REDLIGHT_DB_DSN (for make "
        "run's cluster: export REDLIGHT_DB_DSN=$(make -s db/dsn))\n")


@pytest.mark.parametrize("args, message", [
    ((), "error: missing command"),
    (("promote", "a@example.com", "movies:write"), "error: unknown command"),
    (("grant", "a@example.com"), "error: missing argument"),
    (("list", "extra"), 'error: too many arguments (at "extra")'),
    (("grant", "a@example.com", "movies:write", "-activated"),
     "error: flag -activated is for create only"),
    (("list", "-frob"), "error: flag provided but not defined: -frob"),
    (("revoke", "a@example.com", "movies:write", "-db-dsn"),
     "error: flag needs an argument: -db-dsn"),
])
def test_usage_errors_exit_2_with_the_usage(args, message):
    res = users(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stderr.splitlines()[0] == message
    assert "usage: api [flags] users COMMAND" in res.stderr


def test_help_goes_to_stdout():
    res = users("help", env_dsn=False)
    assert res.returncode == 0
    assert res.stdout.startswith("usage: api [flags] users COMMAND")
    assert "-password-stdin" in res.stdout
