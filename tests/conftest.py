"""Test fixtures: a fresh schema per run, emptied after every test; SQLite or PostgreSQL.

Set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run the
suite against PostgreSQL; each run works in a schema of its own and drops it at the end.
Set AMENDS_TEST_NOW (e.g. 2026-12-23T09:00Z) to run it as if it were that moment.
The plain helpers the fixtures use live in tests/support/.
"""

import contextvars
import os
import tempfile
from contextlib import contextmanager

import pytest
import time_machine
from flask import has_app_context, has_request_context
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.orm import close_all_sessions

# Keep instance files (secret key, uploads) of test apps out of the working tree.
os.environ["INSTANCE_PATH"] = tempfile.mkdtemp(prefix="amends-test-instance-")

from shared import services  # noqa: E402
from shared.app import create_app  # noqa: E402
from shared.extensions import db  # noqa: E402
from shared.services.delivery import background_sender  # noqa: E402
from tests import factories  # noqa: E402
from tests.support.clock import DATE_SENSITIVE_MODULES, suite_moment  # noqa: E402
from tests.support.ports import ReservedPort  # noqa: E402
from tests.support.services import (  # noqa: E402
    ON_POSTGRES,
    POSTGRES_URL,
    postgres_schema,
    redis_database,
)
from tests.support.signing_in import sign_in  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402

# Long enough for the races' deliberate waits; short enough that a test which forgot to
# commit before a request fails with a message instead of hanging the run.
POSTGRES_LOCK_TIMEOUT = "15s"


# --- The clock --------------------------------------------------------------------------------

_suite_traveller = None


def pytest_configure(config):
    """With AMENDS_TEST_NOW, the whole run (collection included) starts at that moment."""
    global _suite_traveller
    moment = suite_moment()
    if moment is not None:
        _suite_traveller = time_machine.travel(moment, tick=True)
        _suite_traveller.start()


def pytest_unconfigure(config):
    if _suite_traveller is not None:
        _suite_traveller.stop()


def pytest_report_header(config):
    moment = suite_moment()
    database = "PostgreSQL" if ON_POSTGRES else "SQLite"
    return f"amends: {database}; " + (f"clock starts at {moment:%Y-%m-%d %H:%M} UTC"
                                      if moment else "real clock")


@pytest.fixture
def frozen_now(time_machine):
    """`frozen_now(moment)` stops the clock at `moment` for the whole app: services, column
    defaults, signed links and the sweep alike. Call it again to move on. Freeze before
    signing anyone in: a session signed later than "now" is refused."""

    def freeze(moment, tick=False):
        time_machine.move_to(moment, tick=tick)
        return moment

    return freeze


# --- The database -----------------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    postgres_only = pytest.mark.skip(
        reason="PostgreSQL only: runs when TEST_DATABASE_URL is set (CI's second pass)"
    )
    for item in items:
        if item.path.stem in DATE_SENSITIVE_MODULES:
            item.add_marker(pytest.mark.dates)
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(postgres_only)


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """The database URL and engine options for the whole run, with the schema created."""
    if ON_POSTGRES:
        with postgres_schema("amends_test") as options:
            options["connect_args"]["options"] += f" -clock_timeout={POSTGRES_LOCK_TIMEOUT}"
            yield {"url": POSTGRES_URL, "engine_options": options}
    else:
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        yield {"url": f"sqlite:///{path}", "engine_options": {}}


@pytest.fixture(scope="session")
def _schema(database, tmp_path_factory):
    app = create_app(_test_config(database, tmp_path_factory.mktemp("uploads")))
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def _test_config(database, upload_folder) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database["url"],
        "SQLALCHEMY_ENGINE_OPTIONS": database["engine_options"],
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": None,
        "PUBLIC_BASE_URL": "http://localhost",
        "UPLOAD_FOLDER": str(upload_folder),
        "REDIS_URL": None,
        # Signing in is tested with a second step where it matters; elsewhere password alone.
        "TWO_FACTOR_REQUIRED_ROLES": "",
        # Tests move the clock on by days with staff signed in; the idle timeout is tested
        # where it matters (test_sign_in_sessions.py).
        "STAFF_IDLE_TIMEOUT_HOURS": 24 * 366,
    }


@pytest.fixture
def app_config() -> dict:
    """Override in a test module or class to change the app's settings for its tests."""
    return {}


class OwnContextClient(FlaskClient):
    """A test client whose every request runs as it does in production: in an app context of
    its own, with its own `g` and its own database session, never the test's.

    Flask reuses an app context that is already pushed, and the test keeps one pushed so that
    it can read the database; the request therefore starts from an empty context instead.
    Afterwards the test's session forgets what it had loaded, so it reads what the request
    committed, and only that. It also waits for the mail the request handed to the background
    (see shared/services/delivery.py), so the test reads how that went; a test of the request
    itself sets `waits_for_background = False`."""

    waits_for_background = True

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if self.waits_for_background:
            background_sender(self.application).wait_until_idle()
        if has_app_context():  # not so inside a redirect that the client follows
            db.session.expire_all()
        return response


@pytest.fixture
def app(_schema, database, app_config, tmp_path):
    app = create_app({**_test_config(database, tmp_path / "uploads"), **app_config})
    app.test_client_class = OwnContextClient
    with app.app_context():
        yield app
        background_sender(app).stop()  # before the tables it writes to are emptied
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


def _empty_all_tables():
    # A test may have opened sessions of its own (CLI commands, threads, other app contexts):
    # end them all, or their open transactions would block emptying the tables.
    close_all_sessions()
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            for table in tables:
                connection.execute(table.delete())
            connection.execute(text("PRAGMA foreign_keys=ON"))


@pytest.fixture(autouse=True)
def _own_commits_wait_for_their_mail(monkeypatch):
    """A commit the test makes itself (outside a request) waits for the mail it handed to the
    background, so the test reads how that went; commits inside requests never wait."""
    hand_on = services.commit

    def commit_and_wait():
        hand_on()
        if has_app_context() and not has_request_context():
            background_sender().wait_until_idle()

    monkeypatch.setattr(services, "commit", commit_and_wait)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(client):
    def login(user):
        return sign_in(client, user)

    return login


@pytest.fixture
def count_queries(app):
    """`with count_queries() as statements:` collects every SQL statement run inside."""

    @contextmanager
    def counting():
        statements: list[str] = []

        def remember(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", remember)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", remember)

    return counting


# --- People and cases -------------------------------------------------------------------------


@pytest.fixture
def org(app):
    """A small organisation: teams, staff, categories with the standard service level."""
    organisation = factories.make_organisation()
    db.session.commit()
    return organisation


@pytest.fixture
def customer(org):
    """Alex Carter, a customer with an account."""
    person = factories.make_customer("alex@example.com", "Alex Carter")
    db.session.commit()
    return person


@pytest.fixture
def case(org, customer):
    """Alex's delivery complaint, owned by Sam (an agent of the delivery team)."""
    owned = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    services.commit()
    return owned


# --- Mail and Redis ---------------------------------------------------------------------------


@pytest.fixture
def reserved_port():
    """A loopback port that is ours and refuses connections until a server takes it."""
    port = ReservedPort()
    yield port
    port.close()


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback (aiosmtpd), running; `.messages` holds what arrived."""
    server = SmtpServer().start()
    yield server
    server.close()


@pytest.fixture
def smtp_app_config(smtp_server) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5}


@pytest.fixture
def mail_server():
    """A mail server that is down until the test calls `mail_server.start()`."""
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def down_smtp_app_config(mail_server) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": mail_server.port, "MAIL_TIMEOUT": 5}


@pytest.fixture
def redis_connection():
    """The tests' own Redis database (REDIS_TEST_URL), emptied before and after; skips on a
    laptop without Redis, fails in CI."""
    connection = redis_database()
    yield connection
    connection.flushdb()
    connection.close()
