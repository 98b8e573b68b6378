"""Authentication and authorization, black-box (CONTRACT §1.1, §2, §4.3 POST
/v1/tokens/authentication, §4.4, §5, §12 #5 #6 #7 #14 #19, §13 JWT, Logout,
Operator CLI).

Users come two ways: registered through POST /v1/users (a real Argon2id
hash, so they can log in; about 0.2 s each) or made straight in SQL with
conftest.make_user (an authentication token but no usable password), as an
operator would (CONTRACT §11).  JWTs are issued by a server started with
-jwt-secret, or forged here with that secret (hmac + hashlib + base64), which
is how the refusal cases (bad signature, alg none, wrong claims...) are made.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shlex
import statistics
import subprocess
import time

import pytest

from conftest import free_port, mail_token, make_user, ok_json, stop_process
from conftest import unique as unique_name

PASSWORD = "pa55word-for-auth-tests"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DAY = 24 * 3600

BAD_CREDENTIALS = "invalid authentication credentials"
BAD_TOKEN = "invalid or missing authentication token"
AUTH_REQUIRED = "you must be authenticated to access this resource"
INACTIVE = "your user account must be activated to access this resource"
NOT_PERMITTED = ("your user account doesn't have the necessary permissions "
                 "to access this resource")
NOT_FOUND = "the requested resource could not be found"
REVOKED = {"message": "authentication token revoked"}
JWT_NOT_REVOCABLE = "JWTs cannot be revoked; they expire on their own"

# A server secret of 48 bytes; the short-secret test uses its own.
JWT_SECRET = secrets.token_urlsafe(36)


# ---- helpers ---------------------------------------------------------------

def assert_error(r, status, message, www_authenticate=False):
    """status + {"error": message}; WWW-Authenticate: Bearer exactly when
    asked for (CONTRACT §1.1, §12 #19)."""
    assert ok_json(r, status) == {"error": message}, r.text
    if www_authenticate:
        assert r.headers.get("WWW-Authenticate") == "Bearer", dict(r.headers)
    else:
        assert "WWW-Authenticate" not in r.headers, dict(r.headers)


def bad_token(r):
    assert_error(r, 401, BAD_TOKEN, www_authenticate=True)


def auth_required(r):
    assert_error(r, 401, AUTH_REQUIRED)


def inactive(r):
    assert_error(r, 403, INACTIVE)


def not_permitted(r):
    assert_error(r, 403, NOT_PERMITTED)


def invalid(r, errors):
    assert ok_json(r, 422) == {"error": errors}
    assert "WWW-Authenticate" not in r.headers


def parse_time(s):
    """An RFC 3339 timestamp with an offset (Z or ±hh:mm)."""
    assert s.endswith("Z") or s[-6] in "+-", s
    assert "T" in s, s
    t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    assert t.tzinfo is not None
    return t


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def random_b32(n):
    return "".join(secrets.choice(B32) for _ in range(n))


def sha256_hex(token):
    return hashlib.sha256(token.encode()).hexdigest()


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def store_token(db, uid, scope, expiry="now() + interval '1 hour'"):
    """A token stored for uid the way an operator would (SHA-256 only)."""
    token = random_b32(26)
    db("INSERT INTO tokens (hash, user_id, expiry, scope) VALUES "
       f"('\\x{sha256_hex(token)}', {int(uid)}, {expiry}, '{scope}')")
    return token


def movie_body(title):
    return {"title": title, "year": 2016, "runtime": "107 mins",
            "genres": ["drama"]}


def register(anon_api, unique, activated, db):
    """A user registered through the API (real Argon2id hash, movies:read),
    activated with SQL when asked. Returns (id, email)."""
    email = f"{unique('auth')}@example.com"
    r = anon_api.post("/v1/users", json={"name": "Auth Test", "email": email,
                                          "password": PASSWORD})
    uid = ok_json(r, 202)["user"]["id"]
    if activated:
        db(f"UPDATE users SET activated = true WHERE id = {uid}")
    return uid, email


def login(api, email, password=PASSWORD, path="/v1/tokens/authentication"):
    return api.post(path, json={"email": email, "password": password})


def login_token(api, email, password=PASSWORD,
                path="/v1/tokens/authentication"):
    body = ok_json(login(api, email, password, path), 201)
    return body["authentication_token"]["token"]


# ---- the CLI ---------------------------------------------------------------

def sanitizer_env():
    """The harness's ASAN/UBSAN options (leak checks off where LSan cannot
    run), minus log_path so that a report reaches the captured stderr."""
    env = {}
    for tok in shlex.split(os.environ.get("REDLIGHT_SERVER_CMD", "")):
        name, _, value = tok.partition("=")
        if name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            opts = [o for o in value.split(":")
                    if o and not o.startswith("log_path=")]
            env[name] = ":".join(opts)
    return env


def run_bin(*args, timeout=60):
    binary = os.environ.get("REDLIGHT_BIN")
    if not binary:
        pytest.skip("REDLIGHT_BIN is not set (run the tests with make test)")
    env = dict(os.environ)
    env.update(sanitizer_env())
    return subprocess.run([binary, *args], env=env, capture_output=True,
                          text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def cli_users(*args):
    dsn = os.environ.get("REDLIGHT_DB_DSN")
    if not dsn:
        pytest.skip("REDLIGHT_DB_DSN is not set (run the tests with make test)")
    res = run_bin("-db-dsn", dsn, "users", *args)
    assert "Sanitizer" not in res.stderr, res.stderr
    return res


# ---- JWTs --------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_json(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def jwt_parts(token):
    """(header, claims, signature bytes, signing input) of a JWT."""
    h, p, s = token.split(".")
    return (json.loads(b64url_decode(h)), json.loads(b64url_decode(p)),
            b64url_decode(s), f"{h}.{p}")


def kid_of(secret):
    """The kid Redlight puts in the header of JWTs it signs with secret:
    the first 8 bytes of BLAKE2b-128 of the key under a fixed 32-byte
    context, in hex (internal/jwt/jwt.c rl_jwt_kid) — computed here
    independently."""
    return hashlib.blake2b(secret.encode(), digest_size=16,
                           key=b"redlight jwt key id, version 1!\0"
                           ).hexdigest()[:16]


def hs(alg, secret, signing_input):
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return hmac.new(secret.encode(), signing_input.encode(), digest).digest()


def claims_for(uid, iss="redlight", aud="redlight", now=None, ttl=3600):
    now = int(time.time()) if now is None else now
    return {"sub": str(uid), "iss": iss, "aud": aud, "iat": now, "nbf": now,
            "exp": now + ttl}


def forge(claims, secret=JWT_SECRET, header=None, sign_as="HS256",
          signature=None):
    """A JWT with these claims; signed with HMAC `sign_as` (HS256, HS512)
    unless signature (a str, possibly empty) is given."""
    header = {"alg": "HS256", "typ": "JWT"} if header is None else header
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    if signature is None:
        signature = b64url(hs(sign_as, secret, signing_input))
    return f"{signing_input}.{signature}"


@pytest.fixture
def jwt_api(spawn_server):
    """Another instance with a 48-byte -jwt-secret (shares the database)."""
    return spawn_server("-jwt-secret", JWT_SECRET)


# ---- module users ----------------------------------------------------------

@pytest.fixture(scope="module")
def alice(anon_api, db):
    """An activated user with a real password and movies:read only, for
    tests that only log in (each login adds a token; nothing else changes
    her)."""
    uid, email = register(anon_api, unique_name, True, db)
    return {"id": uid, "email": email}


# ==== POST /v1/tokens/authentication =========================================

def test_login_issues_a_token_stored_as_sha256(anon_api, db, alice):
    before = now_utc()
    r = login(anon_api, alice["email"])
    body = ok_json(r, 201)
    assert set(body) == {"authentication_token"}
    tok = body["authentication_token"]
    assert set(tok) == {"token", "expiry"}
    token = tok["token"]
    assert isinstance(token, str) and len(token) == 26
    assert set(token) <= set(B32), token
    expiry = parse_time(tok["expiry"])
    want = before + datetime.timedelta(hours=24)
    assert abs((expiry - want).total_seconds()) < 60, tok["expiry"]

    # Only the SHA-256 is stored, with the user, the scope and the expiry.
    row = db("SELECT user_id, scope, length(hash), "
             "round(extract(epoch FROM expiry - now()) / 60) FROM tokens "
             f"WHERE hash = '\\x{sha256_hex(token)}'")
    assert row == f"{alice['id']}|authentication|32|1440"
    assert db("SELECT count(*) FROM tokens WHERE "
              f"encode(hash, 'escape') = {sql_str(token)} OR "
              f"encode(hash, 'hex') = {sql_str(token.lower())}") == "0"

    # It is a bearer token of this user (movies:read).
    r = anon_api.with_token(token).get("/v1/movies")
    assert ok_json(r, 200)["movies"] is not None


def test_each_login_issues_a_new_token(anon_api, alice):
    a = login_token(anon_api, alice["email"])
    b = login_token(anon_api, alice["email"])
    assert a != b
    for t in (a, b):
        assert anon_api.with_token(t).get("/v1/movies").status_code == 200


def test_login_email_is_case_insensitive(anon_api, alice):
    email = alice["email"]
    for variant in (email.upper(), email[0].upper() + email[1:]):
        token = login_token(anon_api, variant)
        assert anon_api.with_token(token).get("/v1/movies").status_code == 200


def test_unactivated_user_can_log_in_then_gets_403(anon_api, db, unique):
    """CONTRACT §12 #7: kept from the original."""
    _, email = register(anon_api, unique, False, db)
    token = login_token(anon_api, email)
    user = anon_api.with_token(token)
    inactive(user.get("/v1/movies"))
    inactive(user.post("/v1/movies", json=movie_body(unique("m"))))


def test_wrong_password_is_401(anon_api, alice):
    r = login(anon_api, alice["email"], "not-the-password")
    assert_error(r, 401, BAD_CREDENTIALS)


def test_unknown_email_is_401(anon_api, unique):
    r = login(anon_api, f"{unique('nobody')}@example.com")
    assert_error(r, 401, BAD_CREDENTIALS)


def test_unknown_email_takes_as_long_as_a_wrong_password(anon_api, alice,
                                                         unique):
    """CONTRACT §12 #5: an unknown e-mail is verified against a dummy hash.
    Medians of 5 interleaved logins each must be within a factor of 2."""
    wrong, unknown = [], []
    nobody = f"{unique('nobody')}@example.com"
    for _ in range(5):
        for samples, email, password in ((wrong, alice["email"], "wrong-pa55"),
                                         (unknown, nobody, PASSWORD)):
            t0 = time.monotonic()
            r = login(anon_api, email, password)
            samples.append(time.monotonic() - t0)
            assert r.status_code == 401, r.text
    w, u = statistics.median(wrong), statistics.median(unknown)
    assert 0.5 <= u / w <= 2.0, (
        f"median unknown e-mail {u * 1000:.0f} ms vs wrong password "
        f"{w * 1000:.0f} ms (unknown {[round(x * 1000) for x in unknown]}, "
        f"wrong {[round(x * 1000) for x in wrong]})")


LOGIN_INVALID = [
    ({}, {"email": "must be provided", "password": "must be provided"}),
    ({"email": "alice@example.com", "password": "7-bytes"},
     {"password": "must be at least 8 bytes long"}),
    ({"email": "alice@example.com", "password": "p" * 73},
     {"password": "must not be more than 72 bytes long"}),
    ({"email": "not-an-email", "password": PASSWORD},
     {"email": "must be a valid email address"}),
    ({"email": "", "password": ""},
     {"email": "must be provided", "password": "must be provided"}),
    ({"email": "a b@example.com", "password": "short"},
     {"email": "must be a valid email address",
      "password": "must be at least 8 bytes long"}),
]


@pytest.mark.parametrize("body, errors", LOGIN_INVALID)
def test_login_validation_is_422(anon_api, body, errors):
    invalid(anon_api.post("/v1/tokens/authentication", json=body), errors)


def test_seven_byte_password_of_a_real_user_is_422_not_401(anon_api, alice):
    r = login(anon_api, alice["email"], "pa55wor")
    invalid(r, {"password": "must be at least 8 bytes long"})


LOGIN_TRIAGE = [
    (b"", "body must not be empty"),
    (b'{"email": "a@b.c", }', "body contains badly-formed JSON (at character 20)"),
    (b'{"email": "a@b.c"', "body contains badly-formed JSON"),
    (b'{"email": "a@b.c", "password": "pa55word", "name": "x"}',
     'body contains unknown key "name"'),
    (b'{"email": 1, "password": "pa55word"}',
     'body contains incorrect JSON type for field "email"'),
    (b'["a@b.c"]', "body contains incorrect JSON type (at character 1)"),
    (b'{"email": "a@b.c", "password": "pa55word"} {}',
     "body must only contain a single JSON value"),
]


@pytest.mark.parametrize("body, message", LOGIN_TRIAGE,
                         ids=[c[1] for c in LOGIN_TRIAGE])
def test_login_body_triage_is_400(anon_api, body, message):
    status, headers, raw = anon_api.raw_http(
        "POST", "/v1/tokens/authentication", body,
        {"Content-Type": "application/json"})
    assert headers["Content-Type"].split(";")[0] == "application/json"
    assert (status, json.loads(raw)) == (400, {"error": message})


# ==== the middleware: every 401 / 403 branch ===================================

@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/movies"),
    ("POST", "/v1/movies"),
    ("GET", "/v1/movies/1"),
    ("PATCH", "/v1/movies/1"),
    ("DELETE", "/v1/movies/1"),
    ("DELETE", "/v1/tokens/authentication"),
])
def test_anonymous_on_a_protected_route_is_401_without_www_authenticate(
        anon_api, method, path):
    """CONTRACT §5, §12 #19."""
    body = movie_body("Anonymous") if method in ("POST", "PATCH") else None
    auth_required(anon_api.request(method, path, json=body))


def test_anonymous_head_is_401_without_body(anon_api):
    r = anon_api.head("/v1/movies")
    assert r.status_code == 401
    assert r.content == b""
    assert "WWW-Authenticate" not in r.headers


def test_anonymous_public_routes_still_work(anon_api):
    r = anon_api.get("/v1/healthcheck")
    assert ok_json(r, 200)["status"] == "available"
    # The automatic OPTIONS reply needs no permission.
    r = anon_api.options("/v1/movies")
    assert r.status_code == 200
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


BAD_HEADERS = {
    "basic": "Basic xyz",
    "scheme only": "Bearer",
    "scheme and space": "Bearer ",
    "three parts": "Bearer a b",
    "two spaces": "Bearer  " + "A" * 26,
    "other scheme": "Token " + "A" * 26,
    "no scheme": "A" * 26,
    "25 bytes": "Bearer " + "A" * 25,
    "27 bytes": "Bearer " + "A" * 27,
    "unknown 26": None,  # filled per test: a random base32 token
    "jwt-shaped": "Bearer aaa.bbb.ccc",
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_malformed_or_unknown_bearer_is_401_with_www_authenticate(
        anon_api, case):
    value = BAD_HEADERS[case]
    if value is None:
        value = "Bearer " + random_b32(26)
    bad_token(anon_api.get("/v1/movies", headers={"Authorization": value}))


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/healthcheck"),
    ("GET", "/v1/no/such/path"),
    ("POST", "/v1/tokens/authentication"),
    ("POST", "/v1/users"),
    ("PUT", "/v1/movies"),  # would be a 405
    ("OPTIONS", "/v1/movies"),
    ("GET", "/v1/movies/abc"),  # would be a 404
])
@pytest.mark.parametrize("header", ["Basic xyz", "unknown"])
def test_bad_authorization_is_401_before_routing(anon_api, method, path,
                                                 header):
    """CONTRACT §2: authentication comes before the route match."""
    if header == "unknown":
        header = "Bearer " + random_b32(26)
    bad_token(anon_api.request(method, path, data=b"{}" if method in (
        "POST", "PUT") else None, headers={"Authorization": header}))


def test_empty_authorization_header_is_anonymous(anon_api):
    """Greenlight reads the header with r.Header.Get and treats "" as absent
    (anonymous), so clients that send an empty header work there; CONTRACT
    §5 "absent" and wire compatibility (preamble)."""
    status, headers, body = anon_api.raw_http(
        "GET", "/v1/healthcheck", None, {"Authorization": ""})
    assert status == 200, body
    status, headers, body = anon_api.raw_http(
        "GET", "/v1/movies", None, {"Authorization": ""})
    assert (status, json.loads(body)) == (401, {"error": AUTH_REQUIRED})
    assert "WWW-Authenticate" not in headers


@pytest.mark.parametrize("ows", [" ", "\t", "  "])
def test_trailing_whitespace_is_not_part_of_the_header(anon_api, db, ows):
    """RFC 9110 §5.5: leading and trailing whitespace is not part of a field
    value (Go's net/http strips it, so Greenlight accepts these)."""
    _, _, token = make_user(db)
    status, _, body = anon_api.raw_http(
        "GET", "/v1/movies", None, {"Authorization": f"Bearer {token}{ows}"})
    assert status == 200, body


def test_expired_token_is_401(anon_api, db):
    uid, _, token = make_user(db)
    user = anon_api.with_token(token)
    assert user.get("/v1/movies").status_code == 200
    db(f"UPDATE tokens SET expiry = now() - interval '1 second' "
       f"WHERE hash = '\\x{sha256_hex(token)}'")
    # A cached entry checks the token's expiry on every hit; the UPDATE's
    # NOTIFY also drops it (within the revocation rule's 1 s).
    bad_token(settled(lambda: user.get("/v1/movies"), 401))
    bad_token(user.get("/v1/healthcheck"))


@pytest.mark.parametrize("scope", ["activation", "password-reset"])
def test_token_of_another_scope_is_not_a_bearer_token(anon_api, db, scope):
    """CONTRACT §4.4 scope isolation, on a user who could otherwise do all."""
    uid, _, token = make_user(db)
    other = store_token(db, uid, scope)
    bad_token(anon_api.with_token(other).get("/v1/movies"))
    assert anon_api.with_token(token).get("/v1/movies").status_code == 200


def test_token_is_case_sensitive(anon_api, db):
    _, _, token = make_user(db)
    bad_token(anon_api.get("/v1/movies",
                           headers={"Authorization": "Bearer " + token.lower()}))


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(anon_api, db, scheme):
    """CONTRACT §12 #14."""
    _, _, token = make_user(db)
    r = anon_api.get("/v1/movies",
                     headers={"Authorization": f"{scheme} {token}"})
    ok_json(r, 200)


def test_token_of_a_deleted_user_is_401(anon_api, db):
    uid, _, token = make_user(db)
    user = anon_api.with_token(token)
    assert user.get("/v1/movies").status_code == 200
    db(f"DELETE FROM users WHERE id = {uid}")
    bad_token(user.get("/v1/movies"))
    bad_token(user.get("/v1/healthcheck"))


def test_not_activated_is_403_on_every_movie_route(anon_api, db, api,
                                                    make_movie, unique):
    movie = make_movie()
    path = f"/v1/movies/{movie['id']}"
    _, _, token = make_user(db, activated=False)
    user = anon_api.with_token(token)
    inactive(user.get("/v1/movies"))
    inactive(user.get(path))
    inactive(user.post("/v1/movies", json=movie_body(unique("m"))))
    inactive(user.patch(path, json={"title": "changed"}))
    inactive(user.delete(path))
    # Inactive comes before the permission check, even without any.
    _, _, bare = make_user(db, activated=False, permissions=())
    inactive(anon_api.with_token(bare).get("/v1/movies"))
    # The public routes answer as for anyone.
    ok_json(user.get("/v1/healthcheck"), 200)
    assert ok_json(api.get(path), 200)["movie"] == movie


def test_read_only_user_reads_but_cannot_write(anon_api, db, api, make_movie,
                                               unique):
    movie = make_movie()
    path = f"/v1/movies/{movie['id']}"
    _, _, token = make_user(db, permissions=("movies:read",))
    user = anon_api.with_token(token)
    assert ok_json(user.get(path), 200)["movie"] == movie
    assert user.head(path).status_code == 200
    ok_json(user.get("/v1/movies"), 200)
    title = unique("m")
    not_permitted(user.post("/v1/movies", json=movie_body(title)))
    not_permitted(user.patch(path, json={"title": "changed"}))
    not_permitted(user.delete(path))
    assert ok_json(api.get(path), 200)["movie"] == movie  # untouched
    assert api.get("/v1/movies", params={"title": title}).json()[
        "movies"] == []


def test_write_only_user_writes_but_cannot_read(anon_api, db, unique):
    _, _, token = make_user(db, permissions=("movies:write",))
    user = anon_api.with_token(token)
    movie = ok_json(user.post("/v1/movies", json=movie_body(unique("m"))),
                    201)["movie"]
    path = f"/v1/movies/{movie['id']}"
    not_permitted(user.get("/v1/movies"))
    not_permitted(user.get(path))
    assert user.head(path).status_code == 403
    assert ok_json(user.patch(path, json={"title": unique("m")}),
                   200)["movie"]["version"] == 2
    assert ok_json(user.delete(path), 200) == {
        "message": "movie successfully deleted"}


def test_user_without_permissions_is_403(anon_api, db, unique):
    _, _, token = make_user(db, permissions=())
    user = anon_api.with_token(token)
    not_permitted(user.get("/v1/movies"))
    not_permitted(user.post("/v1/movies", json=movie_body(unique("m"))))


def test_id_is_checked_only_after_the_permissions(anon_api, api, db):
    """CONTRACT §2: a bad :id is a 404 only once the permission checks of the
    route have passed."""
    auth_required(anon_api.get("/v1/movies/abc"))
    auth_required(anon_api.patch("/v1/movies/0", json={"title": "x"}))
    auth_required(anon_api.delete("/v1/movies/-1"))
    _, _, off = make_user(db, activated=False)
    inactive(anon_api.with_token(off).get("/v1/movies/abc"))
    _, _, reader = make_user(db, permissions=("movies:read",))
    not_permitted(anon_api.with_token(reader).delete("/v1/movies/abc"))
    not_permitted(anon_api.with_token(reader).patch("/v1/movies/1.5",
                                                    json={"title": "x"}))
    _, _, nothing = make_user(db, permissions=())
    not_permitted(anon_api.with_token(nothing).get("/v1/movies/abc"))
    for bad in ("abc", "0", "-1", "1.5", "99999999999999999999"):
        assert_error(api.get(f"/v1/movies/{bad}"), 404, NOT_FOUND)


def test_permission_and_activation_changes_apply_at_once(anon_api, db,
                                                        unique):
    """A change made in SQL applies within the 1 s of the revocation rule
    (the authentication cache hears it by NOTIFY)."""
    uid, _, token = make_user(db)
    user = anon_api.with_token(token)
    ok_json(user.post("/v1/movies", json=movie_body(unique("m"))), 201)
    db(f"DELETE FROM users_permissions WHERE user_id = {uid} AND "
       "permission_id = (SELECT id FROM permissions "
       "WHERE code = 'movies:write')")
    not_permitted(settled(
        lambda: user.post("/v1/movies", json=movie_body(unique("m"))), 403))
    db(f"UPDATE users SET activated = false WHERE id = {uid}")
    inactive(settled(lambda: user.get("/v1/movies"), 403))


def settled(send, status, bound=1.0):
    """The response of send() once its status is `status`, or the last one
    after `bound` seconds. A change made outside this server (psql, the
    CLI) reaches its authentication cache by NOTIFY, which the README's
    revocation rule allows up to 1 s (tests/test_authcache.py)."""
    deadline = time.monotonic() + bound
    r = send()
    while r.status_code != status and time.monotonic() < deadline:
        time.sleep(0.02)
        r = send()
    return r


# ==== Vary: Authorization ======================================================

def vary_values(r):
    return {v.strip().lower() for v in r.headers.get("Vary", "").split(",")
            if v.strip()}


VARY_CASES = {
    "anonymous healthcheck": lambda a, t: a.get("/v1/healthcheck"),
    "authenticated list": lambda a, t: a.with_token(t).get("/v1/movies"),
    "authenticated unknown path": lambda a, t: a.with_token(t).get("/v1/nope"),
    "authenticated 405": lambda a, t: a.with_token(t).put("/v1/movies"),
    "anonymous 401": lambda a, t: a.get("/v1/movies"),
    "login 422": lambda a, t: a.post("/v1/tokens/authentication", json={}),
    # It passed the rate limiter, so it carries the header (CONTRACT §1).
    "bad token 401": lambda a, t: a.get("/v1/movies", headers={
        "Authorization": "Bearer " + "A" * 26}),
}


@pytest.mark.parametrize("case", list(VARY_CASES))
def test_vary_authorization(anon_api, db, case):
    """CONTRACT §1: every response that passes the rate limiter carries
    Vary: Authorization (separate lines or comma-joined)."""
    _, _, token = make_user(db)
    r = VARY_CASES[case](anon_api, token)
    assert "authorization" in vary_values(r), (
        f"{r.status_code}: Vary is {r.headers.get('Vary')!r}")


# ==== users grant / revoke (operator CLI) =======================================

def test_cli_grant_then_revoke_movies_write(anon_api, db, unique):
    uid, email, token = make_user(db, permissions=("movies:read",))
    user = anon_api.with_token(token)
    not_permitted(user.post("/v1/movies", json=movie_body(unique("m"))))

    res = cli_users("grant", email, "movies:write")
    assert res.returncode == 0, res.stderr
    ok_json(settled(
        lambda: user.post("/v1/movies", json=movie_body(unique("m"))), 201),
        201)
    # Granting again changes nothing and is not an error.
    res = cli_users("grant", email, "movies:write")
    assert res.returncode == 0, res.stderr
    assert db("SELECT p.code FROM users_permissions up JOIN permissions p ON "
              f"p.id = up.permission_id WHERE up.user_id = {uid} "
              "ORDER BY p.code") == "movies:read\nmovies:write"

    res = cli_users("revoke", email, "movies:write")
    assert res.returncode == 0, res.stderr
    not_permitted(settled(
        lambda: user.post("/v1/movies", json=movie_body(unique("m"))), 403))
    ok_json(user.get("/v1/movies"), 200)  # movies:read stays


def test_cli_revoke_movies_read(anon_api, db):
    _, email, token = make_user(db)
    res = cli_users("revoke", email, "movies:read")
    assert res.returncode == 0, res.stderr
    not_permitted(settled(
        lambda: anon_api.with_token(token).get("/v1/movies"), 403))


def test_cli_unknown_email_is_exit_1(db, unique):
    res = cli_users("grant", f"{unique('nobody')}@example.com",
                    "movies:write")
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert res.stderr.strip()


def test_cli_unknown_permission_is_exit_1(db):
    uid, email, _ = make_user(db, permissions=("movies:read",))
    for perm in ("movies:delete", "MOVIES:WRITE", ""):
        res = cli_users("grant", email, perm)
        assert res.returncode == 1, (perm, res.stdout, res.stderr)
        assert res.stderr.strip()
    assert db("SELECT count(*) FROM users_permissions "
              f"WHERE user_id = {uid}") == "1"


@pytest.mark.parametrize("args", [
    (),
    ("grant",),
    ("grant", "a@example.com"),
    ("grant", "a@example.com", "movies:write", "extra"),
    ("promote", "a@example.com", "movies:write"),
])
def test_cli_bad_usage_is_exit_2(args):
    res = cli_users(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "usage" in res.stderr.lower()


# ==== logout: DELETE /v1/tokens/authentication ==================================

def test_logout_revokes_only_the_token_used(anon_api, db):
    uid, _, token = make_user(db)
    other = store_token(db, uid, "authentication")
    user = anon_api.with_token(token)
    r = user.delete("/v1/tokens/authentication")
    assert ok_json(r, 200) == REVOKED
    bad_token(user.get("/v1/movies"))
    bad_token(user.delete("/v1/tokens/authentication"))
    assert db("SELECT count(*) FROM tokens "
              f"WHERE hash = '\\x{sha256_hex(token)}'") == "0"
    # The user's other session is untouched.
    ok_json(anon_api.with_token(other).get("/v1/movies"), 200)


def test_logout_of_a_login_token(anon_api, alice):
    token = login_token(anon_api, alice["email"])
    user = anon_api.with_token(token)
    ok_json(user.get("/v1/movies"), 200)
    assert ok_json(user.delete("/v1/tokens/authentication"), 200) == REVOKED
    bad_token(user.get("/v1/movies"))


def test_logout_needs_no_activation_or_permission(anon_api, db):
    _, _, token = make_user(db, activated=False, permissions=())
    user = anon_api.with_token(token)
    assert ok_json(user.delete("/v1/tokens/authentication"), 200) == REVOKED
    bad_token(user.get("/v1/healthcheck"))


def test_anonymous_logout_is_401(anon_api):
    auth_required(anon_api.delete("/v1/tokens/authentication"))


# ==== password reset revokes the authentication tokens (§12 #6) ==================

def test_password_reset_revokes_every_authentication_token(anon_api, db,
                                                           mailbox, unique):
    uid, email = register(anon_api, unique, False, db)
    (welcome,) = mailbox.wait(email)
    r = anon_api.put("/v1/users/activated",
                     json={"token": mail_token(welcome)})
    assert ok_json(r, 200)["user"]["activated"] is True

    sessions = [anon_api.with_token(login_token(anon_api, email))
                for _ in range(2)]
    for s in sessions:
        ok_json(s.get("/v1/movies"), 200)

    r = anon_api.post("/v1/tokens/password-reset", json={"email": email})
    assert r.status_code == 202, r.text
    reset = mail_token(mailbox.wait(email, count=2)[1])
    new_password = "a-brand-new-pa55word"
    r = anon_api.put("/v1/users/password",
                     json={"password": new_password, "token": reset})
    assert ok_json(r, 200) == {
        "message": "your password was successfully reset"}

    for s in sessions:
        bad_token(s.get("/v1/movies"))
    assert db("SELECT count(*) FROM tokens WHERE user_id = "
              f"{uid} AND scope = 'authentication'") == "0"
    assert_error(login(anon_api, email), 401, BAD_CREDENTIALS)
    token = login_token(anon_api, email, new_password)
    ok_json(anon_api.with_token(token).get("/v1/movies"), 200)


# ==== JWT (§13) =================================================================

def test_jwt_route_is_404_without_a_secret(anon_api, alice):
    r = login(anon_api, alice["email"], path="/v1/tokens/jwt")
    assert_error(r, 404, NOT_FOUND)


def test_jwt_bearer_is_401_without_a_secret(anon_api, db):
    uid, _, _ = make_user(db)
    bad_token(anon_api.with_token(forge(claims_for(uid))).get("/v1/movies"))


def test_jwt_issued_with_its_claims_and_accepted(jwt_api, alice, db, unique):
    stored = db(f"SELECT count(*) FROM tokens WHERE user_id = {alice['id']}")
    before = int(time.time())
    r = login(jwt_api.anonymous(), alice["email"], path="/v1/tokens/jwt")
    body = ok_json(r, 201)
    after = int(time.time())
    assert set(body) == {"authentication_token"}
    assert set(body["authentication_token"]) == {"token", "expiry"}
    token = body["authentication_token"]["token"]
    header, claims, sig, signing_input = jwt_parts(token)
    assert header == {"alg": "HS256", "typ": "JWT",
                      "kid": kid_of(JWT_SECRET)}
    assert set(claims) >= {"sub", "iss", "aud", "iat", "nbf", "exp"}
    assert claims["sub"] == str(alice["id"])
    assert claims["iss"] == "redlight"
    assert claims["aud"] in ("redlight", ["redlight"])
    for name in ("iat", "nbf", "exp"):
        assert isinstance(claims[name], int), claims
    assert before - 1 <= claims["iat"] <= after + 1
    assert before - 60 <= claims["nbf"] <= claims["iat"]
    assert claims["exp"] == claims["iat"] + DAY
    assert hmac.compare_digest(sig, hs("HS256", JWT_SECRET, signing_input))
    expiry = parse_time(body["authentication_token"]["expiry"])
    assert abs(expiry.timestamp() - claims["exp"]) < 1.5

    # A bearer token like the stateful kind, with the user's permissions.
    user = jwt_api.with_token(token)
    ok_json(user.get("/v1/movies"), 200)
    ok_json(user.get("/v1/healthcheck"), 200)
    for scheme in ("bearer", "BEARER"):
        ok_json(jwt_api.anonymous().get("/v1/movies", headers={
            "Authorization": f"{scheme} {token}"}), 200)
    not_permitted(user.post("/v1/movies", json=movie_body(unique("m"))))
    # Nothing is stored for a JWT.
    assert db("SELECT count(*) FROM tokens "
              f"WHERE user_id = {alice['id']}") == stored

    # The same server still issues and accepts stateful tokens.
    stateful = login_token(jwt_api.anonymous(), alice["email"])
    ok_json(jwt_api.with_token(stateful).get("/v1/movies"), 200)


def test_jwt_login_errors_match_the_stateful_login(jwt_api, alice, unique):
    anon = jwt_api.anonymous()
    assert_error(login(anon, alice["email"], "wrong-pa55word",
                       path="/v1/tokens/jwt"), 401, BAD_CREDENTIALS)
    assert_error(login(anon, f"{unique('nobody')}@example.com",
                       path="/v1/tokens/jwt"), 401, BAD_CREDENTIALS)
    for body, errors in LOGIN_INVALID:
        invalid(anon.post("/v1/tokens/jwt", json=body), errors)
    r = anon.post("/v1/tokens/jwt", json={
        "email": alice["email"], "password": PASSWORD, "name": "x"})
    assert_error(r, 400, 'body contains unknown key "name"')
    # E-mail lookup is case-insensitive here too.
    token = login_token(anon, alice["email"].upper(), path="/v1/tokens/jwt")
    ok_json(jwt_api.with_token(token).get("/v1/movies"), 200)


def test_jwt_of_an_unactivated_user_is_403(jwt_api, anon_api, db, unique):
    _, email = register(anon_api, unique, False, db)
    token = login_token(jwt_api.anonymous(), email, path="/v1/tokens/jwt")
    inactive(jwt_api.with_token(token).get("/v1/movies"))


def test_forged_jwts_are_refused(jwt_api, db):
    """Every variant gets 401 invalid-token + WWW-Authenticate; the valid
    forgery (the control) proves the forging itself is right."""
    uid, _, _ = make_user(db)
    now = int(time.time())
    good = claims_for(uid, now=now)
    anon = jwt_api.anonymous()

    # Controls: accepted, including within the 30 s clock skew.
    for name, claims in [
        ("valid", good),
        ("exp 10 s ago", dict(good, exp=now - 10)),
        ("nbf 10 s ahead", dict(good, nbf=now + 10)),
        ("aud as a list", dict(good, aud=["other", "redlight"])),
    ]:
        r = anon.with_token(forge(claims)).get("/v1/movies")
        assert r.status_code == 200, f"{name}: {r.status_code} {r.text}"

    real = forge(good)
    h, p, s = real.split(".")
    flipped = s[:10] + ("A" if s[10] != "A" else "B") + s[11:]
    other_payload = b64url_json(dict(good, sub=str(uid + 1)))
    cases = {
        "tampered signature": f"{h}.{p}.{flipped}",
        "tampered payload": f"{h}.{other_payload}.{s}",
        "no signature": f"{h}.{p}.",
        "wrong secret": forge(good, secret=JWT_SECRET + "x"),
        "alg none, no signature": forge(
            good, header={"alg": "none", "typ": "JWT"}, signature=""),
        "alg none, HS256 signature": forge(
            good, header={"alg": "none", "typ": "JWT"},
            signature=b64url(hs("HS256", JWT_SECRET,
                                f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}"
                                f".{b64url_json(good)}"))),
        "alg None": forge(good, header={"alg": "None", "typ": "JWT"},
                          signature=""),
        "alg HS512": forge(good, header={"alg": "HS512", "typ": "JWT"},
                           sign_as="HS512"),
        "alg HS512, HS256 signature": forge(
            good, header={"alg": "HS512", "typ": "JWT"}),
        "alg hs256": forge(good, header={"alg": "hs256", "typ": "JWT"}),
        "no alg": forge(good, header={"typ": "JWT"}),
        "wrong audience": forge(dict(good, aud="someone-else")),
        "audience list without ours": forge(dict(good, aud=["a", "b"])),
        "no audience": forge({k: v for k, v in good.items() if k != "aud"}),
        "wrong issuer": forge(dict(good, iss="someone-else")),
        "no issuer": forge({k: v for k, v in good.items() if k != "iss"}),
        "expired 60 s ago": forge(dict(good, iat=now - DAY, nbf=now - DAY,
                                       exp=now - 60)),
        "expired a day ago": forge(dict(good, iat=now - 2 * DAY,
                                        nbf=now - 2 * DAY, exp=now - DAY)),
        "no exp": forge({k: v for k, v in good.items() if k != "exp"}),
        "nbf 120 s ahead": forge(dict(good, nbf=now + 120)),
        "nbf a day ahead": forge(dict(good, nbf=now + DAY, exp=now + 2 * DAY)),
        "iat 120 s ahead": forge(dict(good, iat=now + 120)),
        "sub not a string": forge(dict(good, sub=uid)),
        "sub unknown user": forge(dict(good, sub="999999999")),
        "sub not a number": forge(dict(good, sub="admin")),
        "sub zero": forge(dict(good, sub="0")),
        "four parts": real + ".x",
        "header not base64url": "!!!." + p + "." + s,
        "header not JSON": b64url(b"not json") + "." + p + "." + s,
    }
    failures = []
    for name, token in cases.items():
        r = anon.get("/v1/movies", headers={"Authorization": f"Bearer {token}"})
        ok = (r.status_code == 401
              and r.headers.get("Content-Type", "").startswith(
                  "application/json")
              and r.json() == {"error": BAD_TOKEN}
              and r.headers.get("WWW-Authenticate") == "Bearer")
        if not ok:
            failures.append(f"{name}: {r.status_code} {r.text.strip()!r} "
                            f"WWW-Authenticate={r.headers.get('WWW-Authenticate')!r}")
    assert not failures, "accepted or wrongly refused:\n" + "\n".join(failures)


def test_jwt_of_a_deleted_user_is_401(jwt_api, db):
    uid, _, _ = make_user(db)
    user = jwt_api.with_token(forge(claims_for(uid)))
    ok_json(user.get("/v1/movies"), 200)
    db(f"DELETE FROM users WHERE id = {uid}")
    bad_token(user.get("/v1/movies"))
    bad_token(user.get("/v1/healthcheck"))


# ==== a password reset ends the user's JWTs (§12 #6, §13.2) ======================

RESET_DONE = {"message": "your password was successfully reset"}


def reset_password(api, db, uid, password):
    """PUT /v1/users/password for uid, with a reset token stored in SQL (the
    mailed kind is test_password_reset_revokes_every_authentication_token's
    business)."""
    token = store_token(db, uid, "password-reset")
    r = api.put("/v1/users/password",
                json={"password": password, "token": token})
    assert ok_json(r, 200) == RESET_DONE


def sessions_valid_after(db, uid):
    """users.sessions_valid_after as epoch seconds (a float), or None for
    '-infinity' (never reset)."""
    out = db("SELECT CASE WHEN isfinite(sessions_valid_after) THEN "
             "extract(epoch FROM sessions_valid_after) END "
             f"FROM users WHERE id = {int(uid)}")
    return float(out) if out else None


def test_password_reset_ends_the_jwts_issued_before_it(jwt_api, db, unique):
    uid, email = register(jwt_api.anonymous(), unique, True, db)
    other_uid, other_email = register(jwt_api.anonymous(), unique, True, db)
    assert sessions_valid_after(db, uid) is None  # never reset

    def jwt_login(address, password=PASSWORD):
        return login_token(jwt_api.anonymous(), address, password,
                           path="/v1/tokens/jwt")

    before = jwt_login(email)
    stateful = login_token(jwt_api.anonymous(), email)
    other = jwt_login(other_email)
    for token in (before, stateful, other):
        ok_json(jwt_api.with_token(token).get("/v1/movies"), 200)
    # iat has whole seconds and a reset counts from the start of its
    # second: let that second pass, or `before` would rightly survive.
    iat = jwt_parts(before)[1]["iat"]
    while time.time() < iat + 1:
        time.sleep(0.05)

    new_password = "a-brand-new-pa55word"
    reset_password(jwt_api.anonymous(), db, uid, new_password)
    reset_at = sessions_valid_after(db, uid)
    assert reset_at is not None and int(reset_at) > iat

    # The JWT from before the reset is refused like any invalid token, on
    # every path; the stateful token is gone as before (§12 #6).
    for token in (before, stateful):
        user = jwt_api.with_token(token)
        bad_token(user.get("/v1/movies"))
        bad_token(user.get("/v1/healthcheck"))
        bad_token(user.get("/v1/no/such/path"))
    assert db("SELECT count(*) FROM tokens WHERE user_id = "
              f"{uid} AND scope = 'authentication'") == "0"
    # A login right after the reset (most likely in the same second) works,
    # with either kind of token; the old password does not.
    after = jwt_login(email, new_password)
    assert jwt_parts(after)[1]["iat"] >= int(reset_at)
    ok_json(jwt_api.with_token(after).get("/v1/movies"), 200)
    ok_json(jwt_api.with_token(
        login_token(jwt_api.anonymous(), email, new_password)).get(
            "/v1/movies"), 200)
    assert_error(login(jwt_api.anonymous(), email, path="/v1/tokens/jwt"),
                 401, BAD_CREDENTIALS)
    # Other users are untouched.
    assert sessions_valid_after(db, other_uid) is None
    ok_json(jwt_api.with_token(other).get("/v1/movies"), 200)


def test_reset_counts_from_the_start_of_its_second(jwt_api, db):
    """floor(sessions_valid_after) against iat, exactly: iat in the reset's
    second passes, the second before is refused; a JWT without iat counts as
    older than any reset. Forged JWTs, reset times set in SQL."""
    uid, _, _ = make_user(db)
    t = int(time.time()) - 10

    def status(claims):
        return jwt_api.with_token(forge(claims)).get("/v1/movies")

    no_iat = {k: v for k, v in claims_for(uid, now=t).items() if k != "iat"}
    ok_json(status(no_iat), 200)  # never reset: nothing to be older than
    db(f"UPDATE users SET sessions_valid_after = to_timestamp({t}.999) "
       f"WHERE id = {uid}")
    ok_json(status(claims_for(uid, now=t)), 200)
    ok_json(status(dict(claims_for(uid, now=t), iat=t + 0.5)), 200)
    ok_json(status(claims_for(uid, now=t + 5)), 200)
    bad_token(status(claims_for(uid, now=t - 1)))
    bad_token(status(dict(claims_for(uid, now=t), iat=t - 0.5)))
    bad_token(status(no_iat))
    db(f"UPDATE users SET sessions_valid_after = to_timestamp({t + 1}) "
       f"WHERE id = {uid}")
    bad_token(status(claims_for(uid, now=t)))
    ok_json(status(claims_for(uid, now=t + 1)), 200)
    # 'infinity' would end every session for good: the schema refuses it.
    with pytest.raises(AssertionError, match="users_sessions_valid_after"):
        db("UPDATE users SET sessions_valid_after = 'infinity' "
           f"WHERE id = {uid}")


def test_jwt_permissions_are_read_on_every_request(jwt_api, db, unique):
    """The CLI's grant/revoke and deactivation apply to a JWT already issued."""
    uid, email, _ = make_user(db, permissions=("movies:read",))
    user = jwt_api.with_token(forge(claims_for(uid)))
    not_permitted(user.post("/v1/movies", json=movie_body(unique("m"))))
    assert cli_users("grant", email, "movies:write").returncode == 0
    ok_json(user.post("/v1/movies", json=movie_body(unique("m"))), 201)
    assert cli_users("revoke", email, "movies:write").returncode == 0
    not_permitted(user.post("/v1/movies", json=movie_body(unique("m"))))
    db(f"UPDATE users SET activated = false WHERE id = {uid}")
    inactive(user.get("/v1/movies"))


def test_jwt_cannot_be_revoked(jwt_api, db):
    uid, _, _ = make_user(db)
    user = jwt_api.with_token(forge(claims_for(uid)))
    assert_error(user.delete("/v1/tokens/authentication"), 400,
                 JWT_NOT_REVOCABLE)
    ok_json(user.get("/v1/movies"), 200)
    # Logout of a stateful token works on this server as anywhere.
    _, _, token = make_user(db)
    stateful = jwt_api.with_token(token)
    assert ok_json(stateful.delete("/v1/tokens/authentication"),
                   200) == REVOKED
    bad_token(stateful.get("/v1/movies"))


def test_jwt_issuer_and_audience_flags(spawn_server, alice, db):
    srv = spawn_server("-jwt-secret", JWT_SECRET, "-jwt-issuer",
                       "issuer.example", "-jwt-audience", "audience.example")
    token = login_token(srv.anonymous(), alice["email"], path="/v1/tokens/jwt")
    _, claims, _, _ = jwt_parts(token)
    assert claims["iss"] == "issuer.example"
    assert claims["aud"] in ("audience.example", ["audience.example"])
    ok_json(srv.with_token(token).get("/v1/movies"), 200)

    uid, _, _ = make_user(db)
    ok_json(srv.with_token(forge(claims_for(
        uid, iss="issuer.example", aud="audience.example"))).get(
            "/v1/movies"), 200)
    # The defaults are wrong claims here.
    bad_token(srv.with_token(forge(claims_for(uid))).get("/v1/movies"))
    bad_token(srv.with_token(forge(claims_for(
        uid, iss="issuer.example"))).get("/v1/movies"))
    bad_token(srv.with_token(forge(claims_for(
        uid, aud="audience.example"))).get("/v1/movies"))


def test_jwt_secret_of_32_bytes_is_enough(spawn_server, db):
    secret = "s" * 32
    srv = spawn_server("-jwt-secret", secret)
    uid, _, _ = make_user(db)
    ok_json(srv.with_token(forge(claims_for(uid), secret=secret)).get(
        "/v1/movies"), 200)


def test_jwt_key_rotation_logs_no_one_out(spawn_server, alice, db):
    """README Authentication, rolling a key: a node restarted with
    "new,old" keeps accepting what "old" signed (with a kid, and without
    one: issued before kids existed), signs with "new" (its kid, never the
    key); once "old" is dropped its tokens get 401 with WWW-Authenticate."""
    old, new = JWT_SECRET, secrets.token_urlsafe(36)
    uid, _, _ = make_user(db)
    kidless = forge(claims_for(uid), secret=old)  # signed before kids

    node = spawn_server("-jwt-secret", old)
    t_old = login_token(node.anonymous(), alice["email"],
                        path="/v1/tokens/jwt")
    assert jwt_parts(t_old)[0]["kid"] == kid_of(old)
    for token in (t_old, kidless):
        ok_json(node.with_token(token).get("/v1/movies"), 200)
    node.check_exit = False
    assert stop_process(node.proc)
    assert node.proc.returncode == 0

    # The new key added first (comma), the old one still verifying.
    node = spawn_server("-jwt-secret", f"{new},{old}")
    for token in (t_old, kidless):
        ok_json(node.with_token(token).get("/v1/movies"), 200)
    t_new = login_token(node.anonymous(), alice["email"],
                        path="/v1/tokens/jwt")
    header, _, sig, signing_input = jwt_parts(t_new)
    assert header == {"alg": "HS256", "typ": "JWT", "kid": kid_of(new)}
    assert hmac.compare_digest(sig, hs("HS256", new, signing_input))
    for secret in (new, old):
        assert secret not in t_new
        assert secret[:8] not in header["kid"]
    assert kid_of(new) != kid_of(old)
    ok_json(node.with_token(t_new).get("/v1/movies"), 200)
    # The kid decides which key checks the signature: old's signature
    # under new's kid is refused, as is a kid naming no key.
    uid_claims = claims_for(uid)
    for hdr, secret in [
        ({"alg": "HS256", "typ": "JWT", "kid": kid_of(new)}, old),
        ({"alg": "HS256", "typ": "JWT", "kid": "0123456789abcdef"}, old),
        ({"alg": "HS256", "typ": "JWT", "kid": 7}, old),
    ]:
        r = node.with_token(forge(uid_claims, secret=secret,
                                  header=hdr)).get("/v1/movies")
        assert r.status_code == 401, (hdr, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
    node.check_exit = False
    assert stop_process(node.proc)
    assert node.proc.returncode == 0

    # The old key dropped (a space-separated list of one more key, unused,
    # to show the other separator): what it signed is refused.
    spare = secrets.token_urlsafe(36)
    node = spawn_server("-jwt-secret", f"{new} {spare}")
    ok_json(node.with_token(t_new).get("/v1/movies"), 200)
    for token in (t_old, kidless):
        r = node.with_token(token).get("/v1/movies")
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json() == {
            "error": "invalid or missing authentication token"}
    with open(node.log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    for secret in (old, new, spare):
        assert secret not in log


@pytest.mark.parametrize("secret", ["Z" * 31, "hunter2", "K" * 40 + ",short",
                                    " ".join(["Q" * 32] * 9)])
def test_jwt_secret_under_32_bytes_refuses_to_start(secret):
    dsn = os.environ.get("REDLIGHT_DB_DSN")
    if not dsn:
        pytest.skip("REDLIGHT_DB_DSN is not set (run the tests with make test)")
    res = run_bin("-port", str(free_port()), "-db-dsn", dsn,
                  "-jwt-secret", secret, timeout=30)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert len(lines) == 1, res.stderr
    assert "jwt-secret" in lines[0], lines
    assert secret not in res.stderr + res.stdout  # never echoed
