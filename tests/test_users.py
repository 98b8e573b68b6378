"""Users and mailed tokens: registration, activation, activation resend,
password reset (CONTRACT §4, §11, §12 #4, #6), against the real server, the
real database and the SMTP sink.

Tokens reach the tests two ways: out of the mail the server sent (the flows
a user follows), or made here and stored with SQL exactly as an operator
would (CONTRACT §11) — for expired and wrong-scope cases, and wherever the
mail itself is not the point.
"""

import base64
import datetime
import hashlib
import json
import os
import threading
import time

import pytest

from conftest import invalid, mail_text, mail_token, ok_json

USER_KEYS = {"id", "created_at", "name", "email", "activated"}
PASSWORD = "pa55word-correct"

DUPLICATE = {"email": "a user with this email address already exists"}
BAD_ACTIVATION = {"token": "invalid or expired activation token"}
BAD_RESET = {"token": "invalid or expired password reset token"}
NO_EMAIL = {"email": "no matching email address found"}
ALREADY_ACTIVE = {"email": "user has already been activated"}
MUST_ACTIVATE = {"email": "user account must be activated"}
ACTIVATION_SENT = {"message": "an email will be sent to you containing "
                              "activation instructions"}
RESET_SENT = {"message": "an email will be sent to you containing password "
                         "reset instructions"}
RESET_DONE = {"message": "your password was successfully reset"}


def new_email(unique, domain="example.com"):
    return f"{unique('user')}@{domain}"


def register(api, email, name="Alice Example", password=PASSWORD):
    r = api.post("/v1/users",
                 json={"name": name, "email": email, "password": password})
    return ok_json(r, 202)["user"]


def make_token(db, user_id, scope, expiry="now() + interval '1 hour'"):
    """Stores a token for user_id the way an operator would (SQL on the
    contract's schema) and returns its plaintext."""
    plain = base64.b32encode(os.urandom(16)).decode().rstrip("=")
    assert len(plain) == 26
    digest = hashlib.sha256(plain.encode()).hexdigest()
    db(f"INSERT INTO tokens (hash, user_id, expiry, scope) "
       f"VALUES ('\\x{digest}', {int(user_id)}, {expiry}, '{scope}')")
    return plain


def token_count(db, user_id, scope):
    return int(db(f"SELECT count(*) FROM tokens WHERE user_id = {user_id} "
                  f"AND scope = '{scope}'"))


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def outbox_count(db, email, template=None):
    where = f"recipient = {sql_str(email)}"
    if template:
        where += f" AND template = {sql_str(template)}"
    return int(db(f"SELECT count(*) FROM mail_outbox WHERE {where}"))


def activate(api, token):
    return api.put("/v1/users/activated", json={"token": token})


def activated_user(api, mailbox, unique):
    """A user registered and activated through the API and its mail."""
    email = new_email(unique)
    user = register(api, email)
    token = mail_token(mailbox.wait(email)[0])
    body = ok_json(activate(api, token), 200)
    assert body["user"]["activated"] is True
    return user, email


def parse_time(s):
    assert s.endswith("Z") or s[-6] in "+-", s
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


# ---- registration -------------------------------------------------------------

def test_register_answers_202_with_the_user(api, unique):
    email = new_email(unique).replace("user", "MixedCase", 1)
    before = datetime.datetime.now(datetime.timezone.utc)
    r = api.post("/v1/users", json={"name": "Alice", "email": email,
                                     "password": PASSWORD})
    body = ok_json(r, 202)
    assert set(body) == {"user"}
    user = body["user"]
    assert set(user) == USER_KEYS
    assert isinstance(user["id"], int) and user["id"] >= 1
    assert user["name"] == "Alice"
    assert user["email"] == email  # as registered, case kept
    assert user["activated"] is False
    created = parse_time(user["created_at"])
    assert created.tzinfo is not None
    assert abs((created - before).total_seconds()) < 60


def test_register_stores_user_permission_token_and_mail_job(api, db, unique):
    email = new_email(unique)
    user = register(api, email, name="Bob")
    uid = user["id"]
    row = db(f"SELECT name, email, activated, version, "
             f"encode(password_hash, 'escape') FROM users WHERE id = {uid}")
    name, stored_email, activated, version, pw_hash = row.split("|")
    assert (name, stored_email, activated, version) == ("Bob", email, "f",
                                                        "1")
    assert pw_hash.startswith("$argon2id$v=19$m=65536,t=8,p=1$")
    assert PASSWORD not in pw_hash

    perms = db(f"SELECT p.code FROM users_permissions up JOIN permissions p "
               f"ON p.id = up.permission_id WHERE up.user_id = {uid}")
    assert perms == "movies:read"

    tokens = db(f"SELECT scope, length(hash), "
                f"round(extract(epoch FROM expiry - now()) / 3600) "
                f"FROM tokens WHERE user_id = {uid}")
    assert tokens == "activation|32|72"  # SHA-256, 3 days

    assert outbox_count(db, email, "user_welcome") == 1


def test_register_mail_activate_flow(api, db, mailbox, unique):
    email = new_email(unique)
    user = register(api, email, name="Carol")
    (msg,) = mailbox.wait(email)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(preferencelist=("html",)) is not None
    text = mail_text(msg)
    assert str(user["id"]) in text
    token = mail_token(msg)
    # Only the hash is stored.
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert db(f"SELECT count(*) FROM tokens WHERE hash = '\\x{digest}' "
              f"AND user_id = {user['id']} AND scope = 'activation'") == "1"
    assert db(f"SELECT count(*) FROM tokens WHERE "
              f"encode(hash, 'escape') = {sql_str(token)}") == "0"

    body = ok_json(activate(api, token), 200)
    assert set(body) == {"user"}
    assert body["user"] == dict(user, activated=True)
    assert db(f"SELECT activated, version FROM users "
              f"WHERE id = {user['id']}") == "t|2"
    assert token_count(db, user["id"], "activation") == 0

    # A used token is gone.
    invalid(activate(api, token), BAD_ACTIVATION)


def test_duplicate_email_is_case_insensitive(api, db, unique):
    email = new_email(unique)
    register(api, email)
    for dup in (email, email.upper(), email.capitalize()):
        r = api.post("/v1/users", json={"name": "Other", "email": dup,
                                         "password": PASSWORD})
        invalid(r, DUPLICATE)
    assert db(f"SELECT count(*) FROM users WHERE email = "
              f"{sql_str(email.upper())}") == "1"
    # The failed attempts left no mail job behind.
    assert outbox_count(db, email) == 1
    assert outbox_count(db, email.upper()) == 0


def test_duplicate_email_is_checked_after_the_other_rules(api, unique):
    email = new_email(unique)
    register(api, email)
    r = api.post("/v1/users", json={"name": "", "email": email,
                                     "password": "short"})
    invalid(r, {"name": "must be provided",
                "password": "must be at least 8 bytes long"})


def test_concurrent_registrations_of_one_email(api, db, unique):
    email = new_email(unique)
    results = []

    def attempt(i):
        # Four Argon2id hashes at once may meet the hashing queue's
        # deadline on a loaded machine: a 503 "busy" with Retry-After is
        # the overload answer (CONTRACT §13.2), and a client tries again.
        for _ in range(10):
            r = api.post("/v1/users", json={"name": f"n{i}",
                                             "email": email if i % 2 else
                                             email.upper(),
                                             "password": PASSWORD})
            if r.status_code != 503:
                break
            time.sleep(int(r.headers["Retry-After"]))
        results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in results) == [202, 422, 422, 422]
    for status, body in results:
        if status == 422:
            assert body == {"error": DUPLICATE}
    assert db(f"SELECT count(*) FROM users WHERE email = "
              f"{sql_str(email)}") == "1"
    assert int(db(f"SELECT count(*) FROM mail_outbox WHERE "
                  f"lower(recipient) = {sql_str(email.lower())}")) == 1


LONG_LABEL = "d" * 63


@pytest.mark.parametrize("body, errors", [
    ({}, {"name": "must be provided", "email": "must be provided",
          "password": "must be provided"}),
    ("null", {"name": "must be provided", "email": "must be provided",
              "password": "must be provided"}),
    ({"name": None, "email": None, "password": None},
     {"name": "must be provided", "email": "must be provided",
      "password": "must be provided"}),
    ({"name": "", "email": "", "password": ""},
     {"name": "must be provided", "email": "must be provided",
      "password": "must be provided"}),
    ({"name": "n" * 501, "email": "a@b", "password": PASSWORD},
     {"name": "must not be more than 500 bytes long"}),
    ({"name": "é" * 251, "email": "a@b", "password": PASSWORD},
     {"name": "must not be more than 500 bytes long"}),
    ({"name": "x", "email": "a@b", "password": "1234567"},
     {"password": "must be at least 8 bytes long"}),
    ({"name": "x", "email": "a@b", "password": "p" * 73},
     {"password": "must not be more than 72 bytes long"}),
    ({"name": "x", "email": "a@b", "password": "é" * 37},
     {"password": "must not be more than 72 bytes long"}),
    ({"name": "x", "email": "a@b", "password": "ééé"},
     {"password": "must be at least 8 bytes long"}),
    ({"name": "", "email": "nope", "password": "p" * 100},
     {"name": "must be provided", "email": "must be a valid email address",
      "password": "must not be more than 72 bytes long"}),
])
def test_register_validation(api, body, errors):
    if isinstance(body, str):  # a top-level JSON value sent as it is
        r = api.post("/v1/users", data=body)
    else:
        r = api.post("/v1/users", json=body)
    invalid(r, errors)


@pytest.mark.parametrize("email", [
    "plainaddress", "@example.com", "a@", "a@-x.com", "a@x-.com",
    "a@x..com", "a@x.com.", "a@.x.com", "\"a\"@x.com", "a b@x.com",
    " a@x.com", "a@x.com ", "a@x.com\n", "café@x.com", "a@bücher.example",
    "a@[127.0.0.1]", "a@x_y.com", "a@b@c", f"a@{'d' * 64}.com",
    "a" * 243 + "@example.com",  # 255 bytes
])
def test_register_rejects_invalid_emails(api, email):
    r = api.post("/v1/users", json={"name": "x", "email": email,
                                     "password": PASSWORD})
    invalid(r, {"email": "must be a valid email address"})


@pytest.mark.parametrize("make", [
    lambda u: f"{u}@localhost",
    lambda u: f"{u}..dots.@example.com",
    lambda u: f"{u}+tag!#$%&'*/=?^_`{{|}}~-@x-y.example",
    lambda u: f"{u}@{LONG_LABEL}.example",
    lambda u: u + "a" * (254 - len(u) - len("@example.com")) + "@example.com",
])
def test_register_accepts_edge_emails(api, db, unique, make):
    email = make(unique("e"))
    user = register(api, email)
    assert user["email"] == email
    assert db(f"SELECT email FROM users WHERE id = {user['id']}") == email


def test_register_accepts_limits(api, unique):
    user = register(api, new_email(unique), name="é" * 250,
                    password="p" * 72)
    assert user["name"] == "é" * 250
    register(api, new_email(unique), name="n", password="12345678")


@pytest.mark.parametrize("raw, message", [
    (b"", "body must not be empty"),
    (b'{"name": "x", "email": "a@b", "password": "pa55word", "role": 1}',
     'body contains unknown key "role"'),
    (b'{"name": 1}', 'body contains incorrect JSON type for field "name"'),
    (b'{"password": 12345678}',
     'body contains incorrect JSON type for field "password"'),
    (b'{"Email": "a@b"}', 'body contains unknown key "Email"'),
    (b'{"name": "a", "name": "b"}', 'body contains duplicate key "name"'),
    (b'{"name": "x",}', "body contains badly-formed JSON (at character 14)"),
])
def test_register_body_triage(raw_http, raw, message):
    status, headers, body = raw_http("POST", "/v1/users", raw)
    assert status == 400, body
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": message}


@pytest.mark.parametrize("path, allow", [
    ("/v1/users", "OPTIONS, POST"),
    ("/v1/users/activated", "OPTIONS, PUT"),
    ("/v1/users/password", "OPTIONS, PUT"),
    ("/v1/tokens/activation", "OPTIONS, POST"),
    ("/v1/tokens/password-reset", "OPTIONS, POST"),
])
def test_routes_answer_405_with_allow(api, path, allow):
    r = api.get(path)
    assert ok_json(r, 405) == {
        "error": "the GET method is not supported for this resource"}
    assert r.headers["Allow"] == allow


# ---- activation ------------------------------------------------------------------

@pytest.mark.parametrize("body, errors", [
    ({}, {"token": "must be provided"}),
    ({"token": ""}, {"token": "must be provided"}),
    ({"token": "abc"}, {"token": "must be 26 bytes long"}),
    ({"token": "A" * 27}, {"token": "must be 26 bytes long"}),
    ({"token": "A" * 26}, BAD_ACTIVATION),
    ({"token": "é" * 13}, BAD_ACTIVATION),  # 26 bytes, just unknown
])
def test_activation_token_rules(api, body, errors):
    invalid(api.put("/v1/users/activated", json=body), errors)


def test_activation_unknown_key(api):
    r = api.put("/v1/users/activated", json={"token": "A" * 26, "email": "x"})
    assert ok_json(r, 400) == {"error": 'body contains unknown key "email"'}


def test_activation_with_operator_token_deletes_them_all(api, db, unique):
    email = new_email(unique)
    user = register(api, email)
    first = make_token(db, user["id"], "activation")
    second = make_token(db, user["id"], "activation")
    assert token_count(db, user["id"], "activation") == 3  # + the mailed one
    body = ok_json(activate(api, first), 200)
    assert body["user"]["activated"] is True
    assert token_count(db, user["id"], "activation") == 0
    invalid(activate(api, second), BAD_ACTIVATION)


def test_expired_activation_token(api, db, unique):
    user = register(api, new_email(unique))
    token = make_token(db, user["id"], "activation")
    digest = hashlib.sha256(token.encode()).hexdigest()
    db(f"UPDATE tokens SET expiry = now() - interval '1 second' "
       f"WHERE hash = '\\x{digest}'")
    invalid(activate(api, token), BAD_ACTIVATION)
    assert db(f"SELECT activated FROM users WHERE id = {user['id']}") == "f"


@pytest.mark.parametrize("scope", ["password-reset", "authentication",
                                   "something-else"])
def test_activation_refuses_other_scopes(api, db, unique, scope):
    user = register(api, new_email(unique))
    token = make_token(db, user["id"], scope)
    invalid(activate(api, token), BAD_ACTIVATION)
    assert db(f"SELECT activated FROM users WHERE id = {user['id']}") == "f"
    assert token_count(db, user["id"], scope) == 1


# ---- activation resend -------------------------------------------------------------

def test_activation_resend_mails_a_new_token(api, db, mailbox, unique):
    email = new_email(unique)
    user = register(api, email)
    (welcome,) = mailbox.wait(email)
    old = mail_token(welcome)

    r = api.post("/v1/tokens/activation", json={"email": email.upper()})
    assert ok_json(r, 202) == ACTIVATION_SENT
    assert outbox_count(db, email, "token_activation") == 1
    mails = mailbox.wait(email, count=2)
    new = mail_token(mails[1])
    assert new != old
    expiry_h = db(f"SELECT round(extract(epoch FROM max(expiry) - now()) "
                  f"/ 3600) FROM tokens WHERE user_id = {user['id']} "
                  f"AND scope = 'activation'")
    assert expiry_h == "72"

    body = ok_json(activate(api, new), 200)
    assert body["user"]["activated"] is True
    # Activation removed every activation token, the first one too.
    invalid(activate(api, old), BAD_ACTIVATION)


def test_activation_resend_refusals(api, db, mailbox, unique):
    _, email = activated_user(api, mailbox, unique)
    r = api.post("/v1/tokens/activation", json={"email": email})
    invalid(r, ALREADY_ACTIVE)
    assert outbox_count(db, email, "token_activation") == 0

    r = api.post("/v1/tokens/activation", json={"email": new_email(unique)})
    invalid(r, NO_EMAIL)


@pytest.mark.parametrize("path", ["/v1/tokens/activation",
                                  "/v1/tokens/password-reset"])
@pytest.mark.parametrize("body, errors", [
    ({}, {"email": "must be provided"}),
    ({"email": ""}, {"email": "must be provided"}),
    ({"email": "nope"}, {"email": "must be a valid email address"}),
    ({"email": "a@-x.com"}, {"email": "must be a valid email address"}),
    ({"email": "a" * 250 + "@x.com"},
     {"email": "must be a valid email address"}),
])
def test_token_endpoints_validate_email(api, path, body, errors):
    invalid(api.post(path, json=body), errors)


@pytest.mark.parametrize("path", ["/v1/tokens/activation",
                                  "/v1/tokens/password-reset"])
def test_token_endpoints_refuse_unknown_keys(api, path):
    r = api.post(path, json={"email": "a@b", "password": "x"})
    assert ok_json(r, 400) == {"error": 'body contains unknown key "password"'}


# ---- password reset --------------------------------------------------------------

def test_password_reset_needs_an_activated_user(api, db, unique):
    email = new_email(unique)
    register(api, email)
    r = api.post("/v1/tokens/password-reset", json={"email": email})
    invalid(r, MUST_ACTIVATE)
    assert outbox_count(db, email, "password_reset") == 0

    r = api.post("/v1/tokens/password-reset",
                 json={"email": new_email(unique)})
    invalid(r, NO_EMAIL)


def test_password_reset_flow(api, db, mailbox, unique):
    user, email = activated_user(api, mailbox, unique)
    uid = user["id"]
    old_hash = db(f"SELECT encode(password_hash, 'escape') FROM users "
                  f"WHERE id = {uid}")
    # Tokens the reset must revoke (§12 #6), and one it must not touch.
    for _ in range(2):
        make_token(db, uid, "authentication")
    spare_reset = make_token(db, uid, "password-reset")
    make_token(db, uid, "activation")

    r = api.post("/v1/tokens/password-reset", json={"email": email.upper()})
    assert ok_json(r, 202) == RESET_SENT
    mails = mailbox.wait(email, count=2)  # welcome, then the reset mail
    token = mail_token(mails[1])
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert db(f"SELECT scope, round(extract(epoch FROM expiry - now()) / 60)"
              f" FROM tokens WHERE hash = '\\x{digest}' "
              f"AND user_id = {uid}") == "password-reset|45"

    r = api.put("/v1/users/password",
                json={"password": "brand-new-secret", "token": token})
    assert ok_json(r, 200) == RESET_DONE

    new_hash = db(f"SELECT encode(password_hash, 'escape') FROM users "
                  f"WHERE id = {uid}")
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$v=19$m=65536,t=8,p=1$")
    assert token_count(db, uid, "password-reset") == 0
    assert token_count(db, uid, "authentication") == 0
    assert token_count(db, uid, "activation") == 1  # not the reset's business
    assert db(f"SELECT activated FROM users WHERE id = {uid}") == "t"

    # Neither the used token nor the spare one works any more.
    for t in (token, spare_reset):
        r = api.put("/v1/users/password",
                    json={"password": "another-secret", "token": t})
        invalid(r, BAD_RESET)
    assert db(f"SELECT encode(password_hash, 'escape') FROM users "
              f"WHERE id = {uid}") == new_hash


@pytest.mark.parametrize("body, errors", [
    ({}, {"password": "must be provided", "token": "must be provided"}),
    ({"password": "short", "token": "abc"},
     {"password": "must be at least 8 bytes long",
      "token": "must be 26 bytes long"}),
    ({"password": "p" * 73, "token": "A" * 26},
     {"password": "must not be more than 72 bytes long"}),
    ({"password": PASSWORD}, {"token": "must be provided"}),
    ({"token": "A" * 26}, {"password": "must be provided"}),
    ({"password": PASSWORD, "token": "A" * 26}, BAD_RESET),
])
def test_password_reset_rules(api, body, errors):
    invalid(api.put("/v1/users/password", json=body), errors)


def test_password_reset_unknown_key(api):
    r = api.put("/v1/users/password",
                json={"password": PASSWORD, "token": "A" * 26, "email": "x"})
    assert ok_json(r, 400) == {"error": 'body contains unknown key "email"'}


def test_expired_password_reset_token(api, db, unique):
    user = register(api, new_email(unique))
    db(f"UPDATE users SET activated = true WHERE id = {user['id']}")
    token = make_token(db, user["id"], "password-reset",
                       expiry="now() - interval '1 second'")
    r = api.put("/v1/users/password",
                json={"password": "brand-new-secret", "token": token})
    invalid(r, BAD_RESET)


@pytest.mark.parametrize("scope", ["activation", "authentication"])
def test_password_reset_refuses_other_scopes(api, db, unique, scope):
    user = register(api, new_email(unique))
    old_hash = db(f"SELECT encode(password_hash, 'escape') FROM users "
                  f"WHERE id = {user['id']}")
    token = make_token(db, user["id"], scope)
    r = api.put("/v1/users/password",
                json={"password": "brand-new-secret", "token": token})
    invalid(r, BAD_RESET)
    assert db(f"SELECT encode(password_hash, 'escape') FROM users "
              f"WHERE id = {user['id']}") == old_hash
    assert token_count(db, user["id"], scope) == (2 if scope == "activation"
                                                  else 1)


def test_mailed_reset_token_does_not_activate(api, db, mailbox, unique):
    _, email = activated_user(api, mailbox, unique)
    ok_json(api.post("/v1/tokens/password-reset", json={"email": email}), 202)
    reset = mail_token(mailbox.wait(email, count=2)[1])
    invalid(activate(api, reset), BAD_ACTIVATION)
    # ... and it still works for what it is for.
    r = api.put("/v1/users/password",
                json={"password": "brand-new-secret", "token": reset})
    assert ok_json(r, 200) == RESET_DONE
