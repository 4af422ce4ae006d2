"""The real services the suite runs against, and what happens when one is missing.

On a developer's laptop a missing PostgreSQL, Redis or Chromium skips the tests that need it,
saying why. In CI (CI=true) the same absence fails them: a green CI run must never mean that
the browser journeys, the races or the RQ path were quietly left out.
"""

import os
import uuid
from contextlib import contextmanager
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text

REDIS_HOST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
# One numbered database is the tests' own; they empty it and nothing else. Runs going at once
# (make test-any-day) are each given another.
REDIS_TEST_URL = f"{REDIS_HOST_URL}/{int(os.environ.get('TEST_REDIS_DATABASE', '13'))}"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def cannot_run(reason: str) -> NoReturn:
    """Skip on a laptop; fail in CI, where every service the tests need must be there."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: CI runs every test, so this service must be there)",
                    pytrace=False)
    pytest.skip(reason)


def _postgres_url() -> str | None:
    """TEST_DATABASE_URL, read here and nowhere else: None means the suite runs on SQLite."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url:
        return None
    if not url.startswith("postgresql"):
        raise pytest.UsageError(
            f"TEST_DATABASE_URL must be a PostgreSQL URL (postgresql+psycopg://…), not {url!r}"
        )
    return url


POSTGRES_URL = _postgres_url()
ON_POSTGRES = POSTGRES_URL is not None


@contextmanager
def postgres_schema(prefix: str):
    """A schema of its own in the shared `test` database, dropped afterwards.

    Yields the engine options that put the schema first on the search path."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield {"connect_args": {"options": f"-csearch_path={schema}"}}
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def empty_database(prefix: str, folder):
    """An empty database of the kind the suite runs on: yields (url, engine options)."""
    if ON_POSTGRES:
        with postgres_schema(prefix) as options:
            yield POSTGRES_URL, options
    else:
        yield f"sqlite:///{folder / f'{prefix}.sqlite3'}", {}


def redis_database():
    """A connection to the tests' own Redis database, emptied; or skip (laptop) / fail (CI)."""
    try:
        import redis
        import rq  # noqa: F401  (the RQ tests need both)
    except ImportError as missing:
        cannot_run(f"the {missing.name} package is not installed")
    connection = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.RedisError as error:
        cannot_run(f"needs Redis at {REDIS_HOST_URL} (set TEST_REDIS_URL): {error}")
    connection.flushdb()  # this database only: the tests' own
    return connection
