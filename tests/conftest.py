"""Test fixtures: a fresh schema per run, emptied after every test; SQLite or PostgreSQL.

Set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run the
suite against PostgreSQL; each run works in a schema of its own and drops it at the end.
"""

import os
import socket
import tempfile
import threading
import uuid
from contextlib import contextmanager

import pytest
from flask import g
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import close_all_sessions

# Keep instance files (secret key, uploads) of test apps out of the working tree.
os.environ["INSTANCE_PATH"] = tempfile.mkdtemp(prefix="amends-test-instance-")

from shared import services  # noqa: E402
from shared.app import create_app  # noqa: E402
from shared.extensions import db  # noqa: E402
from tests import factories  # noqa: E402

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_collection_modifyitems(config, items):
    if POSTGRES_URL and POSTGRES_URL.startswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL to run it")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """The database URL and engine options for the whole run, with the schema created."""
    if POSTGRES_URL:
        schema = f"amends_test_{uuid.uuid4().hex[:12]}"
        admin_engine = create_engine(POSTGRES_URL)
        with admin_engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
        yield {"url": POSTGRES_URL, "engine_options": options, "schema": schema}
        with admin_engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        yield {"url": f"sqlite:///{path}", "engine_options": {}, "schema": None}


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
    }


@pytest.fixture
def app_config() -> dict:
    """Override in a test module or class to change the app's settings for its tests."""
    return {}


@pytest.fixture
def app(_schema, database, app_config, tmp_path):
    app = create_app({**_test_config(database, tmp_path / "uploads"), **app_config})

    # The test's app context outlives each request, and with it `g`: forget the signed-in
    # user after every request so the next one reads it from its session, as in production.
    @app.teardown_request
    def forget_cached_user(error=None):
        g.pop("_login_user", None)

    with app.app_context():
        yield app
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


@pytest.fixture
def client(app):
    return app.test_client()


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


@pytest.fixture
def login_as(client):
    def login(user):
        with client.session_transaction() as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
        return client

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """An SMTP server's handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"envelope": envelope, "message": message})
        self.received.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback (aiosmtpd), stopped after the test."""
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.handler_messages = handler.messages
    yield controller
    controller.stop()


@pytest.fixture
def smtp_app_config(smtp_server) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5}


@pytest.fixture
def mail_port():
    """A port nothing listens on until the test calls `start_server()`: a mail server down."""
    return free_port()


@pytest.fixture
def down_smtp_app_config(mail_port) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": mail_port, "MAIL_TIMEOUT": 5}


@pytest.fixture
def start_server(mail_port):
    """`handler = start_server()` brings the mail server up on `mail_port`, mid-test."""
    from aiosmtpd.controller import Controller

    controllers = []

    def start():
        handler = RecordingHandler()
        controller = Controller(handler, hostname="127.0.0.1", port=mail_port)
        controller.start()
        controllers.append(controller)
        return handler

    yield start
    for controller in controllers:
        controller.stop()
