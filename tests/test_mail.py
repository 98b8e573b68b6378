"""The durable mail pipeline against real services: the outbox table, the
worker threads of the API, a real SMTP server (aiosmtpd) and PostgreSQL.

The first test uses the server under test and its sink (REDLIGHT_MAILDIR).
The fault tests need workers that nobody else's worker competes with, so
each gets a database of its own (mail_db: created, migrated, dropped) and
its own server instances (spawn_server) and SMTP sinks (smtp_sink, a
Maildir under REDLIGHT_TEST_TMP). Retry delays are shortened with the
REDLIGHT_MAIL_* variables documented in the README.
"""

import email
import email.policy
import email.utils
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from conftest import Mailbox, Psql, free_port, mail_text

TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWX23"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_for(what, check, timeout=10.0, interval=0.1):
    """Calls check() until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for "
                                 f"{what} (last: {value!r})")
        time.sleep(interval)


def welcome_data(name="Alice", user_id=42, token=TOKEN):
    return ('{"user_id": %d, "name": "%s", "activation_token": "%s"}'
            % (user_id, name, token))


def insert_job(psql, recipient, template="user_welcome", data=None):
    """Inserts a pending job as the API does (and notifies); returns its
    id."""
    data = welcome_data() if data is None else data
    return int(psql(
        "WITH job AS (INSERT INTO mail_outbox (template, recipient, data) "
        f"VALUES ('{template}', '{recipient}', '{data}'::jsonb) "
        "RETURNING id) SELECT job.id FROM job, pg_notify('mail_outbox', '')"))


def job_row(psql, job_id):
    """(status, attempts, data is null, last_error, sent_at is not null)"""
    out = psql("SELECT status, attempts, data IS NULL, "
               "coalesce(last_error, ''), sent_at IS NOT NULL "
               f"FROM mail_outbox WHERE id = {job_id}")
    status, attempts, scrubbed, error, sent = out.split("|", 4)
    return status, int(attempts), scrubbed == "t", error, sent == "t"


def check_welcome_mail(msg, recipient, token=TOKEN, user_id=42):
    assert msg["To"] == recipient
    assert msg["From"] == "Redlight <no-reply@redlight.local>"
    assert msg["MIME-Version"] == "1.0"
    assert re.fullmatch(r"<[0-9a-f]{32}@redlight\.local>", msg["Message-ID"])
    assert email.utils.parsedate_to_datetime(msg["Date"]) is not None
    assert msg["Subject"].startswith("Welcome to Redlight")
    assert msg.get_content_type() == "multipart/alternative"
    assert not msg.defects
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    plain = mail_text(msg)
    html = msg.get_body(("html",)).get_content()
    assert f'{{"token": "{token}"}}' in plain
    assert f'{{"token": "{token}"}}' in html
    assert f"your user ID number is {user_id}." in plain
    assert "3 days" in plain


# ---- fixtures ------------------------------------------------------------


@pytest.fixture
def mail_db(admin_db):
    """A fresh, migrated database (Psql for the app role); its .dsn goes to
    spawn_server's -db-dsn. List it before spawn_server in a test's
    arguments, so that the servers stop before the database is dropped."""
    name = "mail_" + uuid.uuid4().hex[:12]
    admin_db(f"CREATE DATABASE {name} OWNER redlight")
    parts = urlsplit(os.environ["REDLIGHT_DB_DSN"])
    dsn = urlunsplit(parts._replace(path="/" + name))
    proc = subprocess.run(
        [os.path.join(ROOT, "bin", "api"), "-db-dsn", dsn, "migrate", "up"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield Psql(dsn)
    admin_db(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Sink(Mailbox):
    """An aiosmtpd process storing mails in its own Maildir; read it with
    Mailbox's wait() and messages()."""

    def __init__(self, port, maildir, log):
        super().__init__(maildir)
        self.port = port
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aiosmtpd", "-n", "-l",
                 f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox",
                 maildir],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

        def accepting():
            assert self.proc.poll() is None, "the SMTP sink exited"
            try:
                with socket.create_connection(("127.0.0.1", port), 0.5):
                    return True
            except OSError:
                return False
        wait_for("the SMTP sink", accepting, timeout=15)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def smtp_sink():
    """smtp_sink(port=None) -> a running Sink (stopped after the test)."""
    tmp = os.environ.get("REDLIGHT_TEST_TMP") or "/tmp"
    sinks = []

    def start(port=None):
        port = port or free_port()
        base = os.path.join(tmp, f"sink-{port}-{uuid.uuid4().hex[:6]}")
        sink = Sink(port, base + ".maildir", base + ".log")
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.stop()


@pytest.fixture
def fast_retries(monkeypatch):
    """Short retry delays for the server instances this test spawns."""
    monkeypatch.setenv("REDLIGHT_MAIL_BACKOFF_MS", "200")
    monkeypatch.setenv("REDLIGHT_MAIL_BACKOFF_MAX_MS", "1000")


def mail_flags(port, *extra):
    return ["-smtp-host", "127.0.0.1", "-smtp-port", str(port), *extra]


def log_text(inst):
    with open(inst.log, encoding="utf-8", errors="replace") as f:
        return f.read()


# ---- the server under test ------------------------------------------------


def test_job_is_delivered_marked_sent_and_scrubbed(db, mailbox, unique):
    recipient = unique("mail") + "@example.com"
    job = insert_job(db, recipient)
    mails = mailbox.wait(recipient, timeout=5)
    check_welcome_mail(mails[0], recipient)
    status, attempts, scrubbed, _, sent = wait_for(
        "the job marked sent",
        lambda: (row := job_row(db, job))[0] == "sent" and row)
    assert (status, attempts, scrubbed, sent) == ("sent", 1, True, True)
    time.sleep(0.5)
    assert len(mailbox.messages(recipient)) == 1


def test_job_inserted_without_notify_is_found_by_polling(db, mailbox,
                                                         unique):
    recipient = unique("poll") + "@example.com"
    job = int(db("WITH j AS (INSERT INTO mail_outbox "
                 "(template, recipient, data) "
                 f"VALUES ('token_activation', '{recipient}', "
                 f"'{{\"name\": \"P\", \"activation_token\": \"{TOKEN}\"}}')"
                 " RETURNING id) SELECT id FROM j"))
    wait_for("the job marked sent", lambda: job_row(db, job)[0] == "sent",
             timeout=5)
    mails = mailbox.wait(recipient, timeout=5)
    assert len(mailbox.messages(recipient)) == 1
    assert mails[0]["Subject"] == "Activate your Redlight account"


# ---- faults, on databases of their own -----------------------------------


def test_smtp_down_then_up_retries_and_delivers(
        mail_db, spawn_server, smtp_sink, fast_retries, unique):
    port = free_port()  # nothing listens here yet
    srv = spawn_server("-db-dsn", mail_db.dsn, *mail_flags(port))
    recipient = unique("down") + "@example.com"
    job = insert_job(mail_db, recipient)

    status, attempts, scrubbed, error, _ = wait_for(
        "two failed attempts",
        lambda: (row := job_row(mail_db, job))[1] >= 2 and row)
    assert status == "pending"
    assert not scrubbed  # the data is needed for the next attempt
    assert error.startswith("smtp: "), error

    sink = smtp_sink(port)
    wait_for("the job marked sent",
             lambda: job_row(mail_db, job)[0] == "sent", timeout=10)
    mails = sink.wait(recipient)
    assert len(sink.messages(recipient)) == 1
    check_welcome_mail(mails[0], recipient)
    status, attempts2, scrubbed, _, sent = job_row(mail_db, job)
    assert scrubbed and sent and attempts2 > attempts
    log = log_text(srv)
    assert "mail failed: will retry" in log
    assert TOKEN not in log


def test_job_is_dead_after_max_attempts_and_secrets_stay_out_of_logs(
        mail_db, spawn_server, fast_retries, monkeypatch, unique):
    monkeypatch.setenv("REDLIGHT_MAIL_MAX_ATTEMPTS", "3")
    password = unique("s3cret")
    srv = spawn_server("-db-dsn", mail_db.dsn, *mail_flags(
        free_port(), "-smtp-username", "mailer", "-smtp-password", password))
    recipient = unique("dead") + "@example.com"
    job = insert_job(mail_db, recipient)

    status, attempts, scrubbed, error, sent = wait_for(
        "the job marked dead",
        lambda: (row := job_row(mail_db, job))[0] == "dead" and row)
    assert attempts == 3
    assert scrubbed and not sent
    assert error.startswith("smtp: "), error

    # The README's requeue recipe: the job comes back, but its data is
    # gone, so it goes dead again at once with a clear reason.
    mail_db("UPDATE mail_outbox SET status = 'pending', attempts = 0, "
            f"next_attempt_at = now() WHERE id = {job}")
    wait_for("the requeued job dead again",
             lambda: job_row(mail_db, job)[0] == "dead")
    assert "scrubbed" in job_row(mail_db, job)[3]

    log = log_text(srv)
    assert "mail dead: giving up" in log
    assert password not in log
    assert TOKEN not in log


def test_sigkill_during_send_loses_nothing(
        mail_db, spawn_server, smtp_sink, unique):
    # An SMTP "server" that accepts connections and never answers: the
    # first instance claims the job and hangs in the send, holding the
    # row lock, when it is killed.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    try:
        first = spawn_server("-db-dsn", mail_db.dsn,
                             *mail_flags(hole.getsockname()[1]))
        recipient = unique("kill") + "@example.com"
        job = insert_job(mail_db, recipient)

        def claimed():  # locked by the first instance's worker
            return mail_db("SELECT id FROM mail_outbox WHERE id = "
                           f"{job} FOR UPDATE SKIP LOCKED") == ""
        wait_for("the job claimed", claimed)
        first.check_exit = False
        first.proc.kill()
        first.proc.wait(timeout=10)
    finally:
        hole.close()
    status, attempts, _, _, _ = job_row(mail_db, job)
    assert (status, attempts) == ("pending", 0)

    sink = smtp_sink()
    spawn_server("-db-dsn", mail_db.dsn, *mail_flags(sink.port))
    wait_for("the job marked sent",
             lambda: job_row(mail_db, job)[0] == "sent", timeout=10)
    mails = sink.wait(recipient)
    assert len(sink.messages(recipient)) == 1
    check_welcome_mail(mails[0], recipient)


def test_shutdown_waits_for_a_send_only_so_long(
        mail_db, spawn_server, unique):
    # A send that would hang for 30 s: SIGTERM must still end the process
    # soon after -shutdown-timeout, cleanly, with the job kept for later.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    try:
        srv = spawn_server("-db-dsn", mail_db.dsn, "-shutdown-timeout", "1s",
                           *mail_flags(hole.getsockname()[1]))
        job = insert_job(mail_db, unique("stop") + "@example.com")
        wait_for("the job claimed", lambda: mail_db(
            f"SELECT id FROM mail_outbox WHERE id = {job} "
            "FOR UPDATE SKIP LOCKED") == "")
        t0 = time.monotonic()
        srv.proc.terminate()
        assert srv.proc.wait(timeout=15) == 0
        assert time.monotonic() - t0 < 6
    finally:
        hole.close()
    status, attempts, scrubbed, error, _ = job_row(mail_db, job)
    assert (status, attempts, scrubbed) == ("pending", 1, False)
    assert error.startswith("smtp: "), error
    assert "aborting the sends in flight" in log_text(srv)


def test_worker_reconnects_after_losing_its_database_connection(
        mail_db, spawn_server, smtp_sink, admin_db, unique):
    sink = smtp_sink()
    srv = spawn_server("-db-dsn", mail_db.dsn, *mail_flags(sink.port))
    dbname = urlsplit(mail_db.dsn).path.lstrip("/")

    def worker_sessions():
        return int(admin_db(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
            f"'redlight-mailer' AND datname = '{dbname}'"))
    wait_for("the worker's connections", worker_sessions)
    # What a database restart does to the worker's sessions.
    admin_db("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name = 'redlight-mailer' "
             f"AND datname = '{dbname}'")
    recipient = unique("reconnect") + "@example.com"
    job = insert_job(mail_db, recipient)
    wait_for("the job marked sent",
             lambda: job_row(mail_db, job)[0] == "sent", timeout=10)
    assert len(sink.wait(recipient)) == 1
    assert worker_sessions() >= 1
    assert "mailer: database connection lost" in log_text(srv)


def test_two_instances_deliver_each_mail_exactly_once(
        mail_db, spawn_server, smtp_sink, unique):
    sink = smtp_sink()
    a = spawn_server("-db-dsn", mail_db.dsn, *mail_flags(sink.port))
    b = spawn_server("-db-dsn", mail_db.dsn, *mail_flags(sink.port))
    prefix = unique("twice")
    rows = ", ".join(
        f"('user_welcome', '{prefix}-{i}@example.com', "
        f"'{welcome_data(user_id=i)}'::jsonb)" for i in range(20))
    mail_db("BEGIN; INSERT INTO mail_outbox (template, recipient, data) "
            f"VALUES {rows}; SELECT pg_notify('mail_outbox', ''); COMMIT;")

    wait_for("20 jobs sent", lambda: mail_db(
        "SELECT count(*) FROM mail_outbox WHERE status = 'sent'") == "20",
        timeout=20)
    time.sleep(1)  # a duplicate would arrive now
    ids = set()
    for i in range(20):
        recipient = f"{prefix}-{i}@example.com"
        mails = sink.messages(recipient)
        assert len(mails) == 1, recipient
        check_welcome_mail(mails[0], recipient, user_id=i)
        ids.add(mails[0]["Message-ID"])
    assert len(ids) == 20
    sent_by = [log_text(x).count('"message":"mail sent"') for x in (a, b)]
    assert sum(sent_by) == 20


def test_without_smtp_host_mails_are_eml_files(
        mail_db, spawn_server, unique):
    tmp = os.environ.get("REDLIGHT_TEST_TMP") or "/tmp"
    mail_dir = os.path.join(tmp, unique("eml"), "mail")
    srv = spawn_server("-db-dsn", mail_db.dsn, "-smtp-host", "",
                       "-mail-dir", mail_dir)
    recipient = unique("eml") + "@example.com"
    job = insert_job(mail_db, recipient, template="password_reset",
                     data=f'{{"name": "Zoë", "password_reset_token": '
                          f'"{TOKEN}"}}')
    wait_for("the job marked sent",
             lambda: job_row(mail_db, job)[0] == "sent", timeout=10)

    files = os.listdir(mail_dir)
    assert len(files) == 1
    assert re.fullmatch(rf"\d{{8}}T\d{{6}}Z-{job}-password_reset\.eml",
                        files[0])
    path = os.path.join(mail_dir, files[0])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(mail_dir).st_mode) == 0o700
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    assert msg["To"] == recipient
    plain = mail_text(msg)
    assert "Hi Zoë," in plain
    assert (f'{{"password": "your new password", "token": "{TOKEN}"}}'
            in plain)
    assert "45 minutes" in plain
    # The log says where the file is (but not what is in it).
    log = log_text(srv)
    assert f'"path":"{path}"' in log
    assert TOKEN not in log


def test_sigterm_under_load_keeps_the_outbox_intact(
        mail_db, spawn_server, smtp_sink, unique):
    """SIGTERM while requests are in flight and mail cannot be sent: the
    server exits 0, every job is still pending with its data (none lost,
    none sent, none dead), and the next instance delivers each one once."""
    port = free_port()  # SMTP is down for the first instance
    srv = spawn_server("-db-dsn", mail_db.dsn, *mail_flags(port))
    srv.check_exit = False  # checked here
    recipients = [unique("outbox") + "@example.com" for _ in range(10)]
    jobs = [insert_job(mail_db, r) for r in recipients]
    wait_for("a failed attempt",
             lambda: any(job_row(mail_db, j)[1] >= 1 for j in jobs))

    stop = threading.Event()
    failures = []

    def load():
        while not stop.is_set():
            try:
                r = srv.anonymous().get("/v1/healthcheck")
                if r.status_code != 200:
                    failures.append(r.status_code)
            except requests.ConnectionError:
                return  # the listener closed: this client is done
    threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=40) == 0, log_text(srv)[-2000:]
    stop.set()
    for t in threads:
        t.join(timeout=15)
    assert not failures, failures

    rows = [job_row(mail_db, j) for j in jobs]
    assert [r[0] for r in rows] == ["pending"] * len(jobs), rows
    assert not any(r[2] for r in rows), "data scrubbed before sending"

    sink = smtp_sink(port)
    spawn_server("-db-dsn", mail_db.dsn, *mail_flags(port))
    for r in recipients:
        sink.wait(r, timeout=20)
    wait_for("every job marked sent",
             lambda: all(job_row(mail_db, j)[0] == "sent" for j in jobs),
             timeout=20)
    assert all(len(sink.messages(r)) == 1 for r in recipients)
