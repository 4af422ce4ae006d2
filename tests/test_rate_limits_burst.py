"""Limits hold under a burst: forty requests sent at once to a real server process (gunicorn,
with threads) are served no more than the limit allows, and every refusal says when to retry.

Once with the counts in the server's memory (one process), once in Redis shared by two server
processes (needs Redis: set TEST_REDIS_URL; skipped on a laptop without it, failed in CI).
The servers run on a temporary SQLite database holding a small organisation, mail off.
"""

import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from shared import services
from shared.app import create_app
from shared.extensions import db
from tests import factories
from tests.support.ports import ReservedPort
from tests.support.services import REDIS_TEST_URL, redis_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
BURST = 40
COMPLAINTS_LIMIT = 5
SIGN_INS_LIMIT = 5
ACCOUNT_LIMIT = 8  # above the per-client limit, so that a burst from one client meets that one
SERVER_START_SECONDS = 20
CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

WRONG_PASSWORD = "not the password"


# --- The servers --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_database(tmp_path_factory):
    """A SQLite file with staff, a customer and categories; each server gets its own copy."""
    folder = tmp_path_factory.mktemp("burst")
    path = folder / "seeded.sqlite3"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": None,
            "REDIS_URL": None,
        }
    )
    with app.app_context():
        db.create_all()
        factories.make_organisation()
        factories.make_customer()
        services.commit()
        db.session.remove()
        db.engine.dispose()
    return path


class Server:
    """`gunicorn wsgi:app`, one process with threads, on a port that stays ours."""

    def __init__(self, database: Path, instance: Path, settings: dict):
        self._port = ReservedPort()
        self.port = self._port.port
        self._log = open(instance / f"server-{self.port}.log", "w+")  # noqa: SIM115
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "REDIS_", "MAIL_", "RATELIMIT_"))
        }
        environment.update(
            {
                "DATABASE_URL": f"sqlite:///{database}",
                "INSTANCE_PATH": str(instance),
                "SECRET_KEY": "burst-test-secret-key",
                # Each request names its client in X-Forwarded-For, as behind one proxy.
                "TRUSTED_PROXIES": "1",
                "RAISE_CASE_RATE_LIMIT": f"{COMPLAINTS_LIMIT} per minute",
                "LOGIN_RATE_LIMIT": f"{SIGN_INS_LIMIT} per minute",
                "ACCOUNT_SIGN_IN_RATE_LIMIT": f"{ACCOUNT_LIMIT} per hour",
                **settings,
            }
        )
        listening = self._port.hand_over()
        os.set_inheritable(listening.fileno(), True)
        self._process = subprocess.Popen(
            [
                str(GUNICORN),
                "--bind",
                f"fd://{listening.fileno()}",
                "--workers",
                "1",
                "--worker-class",
                "gthread",
                "--threads",
                "16",
                "--log-level",
                "warning",
                "--no-control-socket",
                "wsgi:app",
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            pass_fds=[listening.fileno()],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its worker with it: stopped together, at once
        )
        listening.close()  # the server holds its own copy

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                if send(self.port, "GET", "/").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self._log.seek(0)
        pytest.fail(f"the server on port {self.port} did not start:\n{self._log.read()}")

    def stop(self) -> None:
        # Nothing is left to serve and nothing to save: no graceful shutdown to wait for.
        os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()
        self._log.close()
        self._port.close()


@pytest.fixture(scope="module", params=["memory", "redis"])
def servers(request, seeded_database, tmp_path_factory):
    """One server counting in its memory, or two server processes counting in one Redis."""
    folder = tmp_path_factory.mktemp(f"servers-{request.param}")
    database = folder / "amends.sqlite3"
    database.write_bytes(seeded_database.read_bytes())
    if request.param == "memory":
        settings, count = {"RATELIMIT_STORAGE_URI": "memory://"}, 1
    else:
        connection = redis_database()  # skips (laptop) or fails (CI) without Redis; emptied
        request.addfinalizer(connection.close)
        request.addfinalizer(connection.flushdb)
        settings, count = {"RATELIMIT_STORAGE_URI": REDIS_TEST_URL}, 2
    started = []
    try:
        for n in range(count):
            instance = folder / f"instance-{n}"
            instance.mkdir()
            started.append(Server(database, instance, settings))
        for server in started:
            server.wait_until_serving()
        yield Servers([server.port for server in started], database)
    finally:
        for server in started:
            server.stop()


# --- Talking to them ----------------------------------------------------------------------------


class Reply:
    def __init__(self, response: http.client.HTTPResponse):
        self.status = response.status
        self.headers = response.headers
        self.text = response.read().decode()


def send(port, method, path, form=None, headers=None) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {**(headers or {})}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        return Reply(connection.getresponse())
    finally:
        connection.close()


class Servers:
    def __init__(self, ports, database):
        self.ports = ports
        self.database = database

    def form_page(self, path):
        """The page's CSRF token and the session cookies that go with it."""
        page = send(self.ports[0], "GET", path)
        cookies = "; ".join(value.split(";", 1)[0] for value in page.headers.get_all("Set-Cookie"))
        return CSRF_TOKEN.search(page.text).group(1), cookies

    def burst(self, path, form_for, client_for=lambda n: "192.0.2.1") -> list[Reply]:
        """BURST posts of `form_for(n)` sent at once, spread over the servers, each from the
        client address `client_for(n)`."""
        token, cookies = self.form_page(path)
        barrier = threading.Barrier(BURST)
        replies: list[Reply | BaseException | None] = [None] * BURST

        def post(n):
            headers = {"Cookie": cookies, "X-Forwarded-For": client_for(n)}
            barrier.wait()
            try:
                replies[n] = send(
                    self.ports[n % len(self.ports)],
                    "POST",
                    path,
                    {**form_for(n), "csrf_token": token},
                    headers,
                )
            except BaseException as error:  # reported below, with the others
                replies[n] = error

        threads = [threading.Thread(target=post, args=(n,)) for n in range(BURST)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failures = [reply for reply in replies if not isinstance(reply, Reply)]
        assert not failures, failures
        return replies

    def count(self, query):
        with sqlite3.connect(self.database) as connection:
            return connection.execute(query).fetchone()[0]


def statuses(replies) -> dict[int, int]:
    counted: dict[int, int] = {}
    for reply in replies:
        counted[reply.status] = counted.get(reply.status, 0) + 1
    return counted


def assert_every_refusal_says_when_to_retry(replies, longest_wait):
    refused = [reply for reply in replies if reply.status == 429]
    assert refused
    for reply in refused:
        assert 1 <= int(reply.headers["Retry-After"]) <= longest_wait
        assert "Please wait a moment" in reply.text


# --- The bursts ---------------------------------------------------------------------------------


def test_a_burst_of_complaints_raises_no_more_than_the_limit(servers):
    category = servers.count("SELECT min(id) FROM categories")
    cases_before = servers.count("SELECT count(*) FROM cases")

    replies = servers.burst(
        "/complaints/new",
        lambda n: {
            "name": "Alex Carter",
            "email": f"burst{n}@example.com",
            "category": str(category),
            "description": f"Parcel number {n} arrived crushed.",
        },
    )

    assert statuses(replies) == {302: COMPLAINTS_LIMIT, 429: BURST - COMPLAINTS_LIMIT}
    assert servers.count("SELECT count(*) FROM cases") - cases_before == COMPLAINTS_LIMIT
    assert_every_refusal_says_when_to_retry(replies, 60)


@pytest.mark.parametrize(
    ("path", "email"), [("/sign-in", "alex@example.com"), ("/staff/login", "sam@example.com")]
)
def test_a_burst_of_wrong_passwords_is_answered_no_more_than_the_limit(servers, path, email):
    replies = servers.burst(path, lambda n: {"email": email, "password": WRONG_PASSWORD})

    # Each answered attempt checked the password; the others were refused before that.
    assert statuses(replies) == {422: SIGN_INS_LIMIT, 429: BURST - SIGN_INS_LIMIT}
    assert_every_refusal_says_when_to_retry(replies, 60)


def test_a_burst_of_guesses_at_one_account_from_many_addresses_meets_its_limit(servers):
    replies = servers.burst(
        "/staff/login",
        lambda n: {"email": "Morgan@example.com", "password": WRONG_PASSWORD},
        client_for=lambda n: f"198.51.100.{n + 1}",
    )

    assert statuses(replies) == {422: ACCOUNT_LIMIT, 429: BURST - ACCOUNT_LIMIT}
    assert_every_refusal_says_when_to_retry(replies, 3600)
    # The right password waits too, from a new address, on either sign-in page.
    token, cookies = servers.form_page("/sign-in")
    right_password = {"email": "morgan@example.com", "password": factories.PASSWORD}
    right = send(
        servers.ports[-1],
        "POST",
        "/sign-in",
        {**right_password, "csrf_token": token},
        {"Cookie": cookies, "X-Forwarded-For": "203.0.113.99"},
    )
    assert right.status == 429
