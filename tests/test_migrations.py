"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from shared.app import create_app
from shared.extensions import db
from shared.search import FTS_OBJECT_NAMES
from tests.conftest import POSTGRES_URL


def _not_full_text_search(name, type_, parent_names):
    """The full-text search objects (SQLite's FTS5 table and its shadow tables, PostgreSQL's
    expression index) are made by hand in both the migration and shared/search.py; the models
    cannot describe them, so the comparison leaves them out, and only them."""
    return name not in FTS_OBJECT_NAMES


@pytest.fixture
def fresh_database(tmp_path):
    """An empty database of the kind the suite runs on, with its engine options."""
    if POSTGRES_URL:
        schema = f"amends_migrations_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield POSTGRES_URL, {"connect_args": {"options": f"-csearch_path={schema}"}}
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}", {}


def test_upgrade_builds_the_schema_the_models_describe_and_downgrade_removes_it(
    fresh_database, tmp_path
):
    url, engine_options = fresh_database
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "UPLOAD_FOLDER": str(tmp_path),
        }
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "render_item": None,
                    "include_name": _not_full_text_search,
                },
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == [], differences
        if db.engine.dialect.name == "postgresql":
            # The comparison above does not look at INCLUDE columns: compare them here.
            made = {index["name"]: index["dialect_options"].get("postgresql_include", [])
                    for index in inspect(db.engine).get_indexes("cases")}
            described = {index.name: list(index.dialect_options["postgresql"]["include"] or [])
                         for index in db.metadata.tables["cases"].indexes}
            assert {name: made[name] for name in described} == described
            assert described["ix_cases_unacknowledged_due"] == ["id"]

        downgrade(revision="base")
        remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()
