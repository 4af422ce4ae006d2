"""The migrations build exactly the schema the models describe, step by step in both directions,
and keep the data of a database they upgrade; on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, func, inspect, select, text

from shared import services
from shared.app import create_app
from shared.extensions import db
from shared.models import Case, EventKind, Face, TimelineEvent, User
from shared.search import FTS_OBJECT_NAMES
from shared.services import attachments, messages, presence, saved_replies, two_factor
from shared.services import sessions as sign_in_sessions
from shared.spikes import record_new_spikes
from shared.sweep import run_sweep
from tests import factories
from tests.support.html import text_of
from tests.support.services import empty_database
from tests.support.signing_in import sign_in

VERSION_TABLE = "alembic_version"
# What the newest migration adds, and so what its downgrade takes away.
LEARNING_EVENT_KINDS = [EventKind.REDRESS_RECORDED, EventKind.REDRESS_DECIDED,
                        EventKind.PROBLEM_LINKED, EventKind.PROBLEM_UNLINKED,
                        EventKind.PROBLEM_FIXED, EventKind.LEARNING_RECORDED]
NEWEST_TABLES = {"cause_areas", "root_causes", "products", "redress", "problems",
                 "problem_cases", "problem_events", "spikes"}


def _not_full_text_search(name, type_, parent_names):
    """The full-text search objects (SQLite's FTS5 table and its shadow tables, PostgreSQL's
    expression index) are made by hand in both the migration and shared/search.py; the models
    cannot describe them, so the comparison leaves them out, and only them."""
    return name not in FTS_OBJECT_NAMES


@pytest.fixture
def migrations_app(tmp_path):
    """An app on an empty database of the kind the suite runs on; no app context pushed."""
    with empty_database("amends_migrations", tmp_path) as (url, engine_options):
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "SQLALCHEMY_DATABASE_URI": url,
                "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
                "UPLOAD_FOLDER": str(tmp_path),
                "MAIL_SERVER": None,
                "REDIS_URL": None,
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
            }
        )
        yield app
        with app.app_context():
            db.engine.dispose()


def _revisions_from_base_to_head() -> list[str]:
    """Every revision, oldest first, read from the migration scripts themselves."""
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    oldest_first = list(reversed(list(script.walk_revisions())))
    revisions = [revision.revision for revision in oldest_first]
    # Linear: one base, one head, and each revision revises the one before it and no other.
    assert script.get_bases() == revisions[:1]
    assert script.get_heads() == revisions[-1:]
    assert [revision.down_revision for revision in oldest_first] == [None, *revisions[:-1]]
    return revisions


def _stamped() -> set[str]:
    """What alembic_version says the database is at; empty at base."""
    with db.engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return set()
        return set(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def _stamp_of(revision: str) -> set[str]:
    return set() if revision == "base" else {revision}


def _schema() -> set[tuple]:
    """Every table, column, key, index and constraint, as the database reports them, one fact
    per tuple (so that a difference names itself); on SQLite also its triggers, on PostgreSQL
    its sequences. Alembic's own table, which stays behind empty at base, is left out."""
    inspector = inspect(db.engine)
    facts = set()
    for (_, table), columns in inspector.get_multi_columns().items():
        facts |= {("column", table, c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                  for c in columns}
    for (_, table), key in inspector.get_multi_pk_constraint().items():
        facts.add(("primary key", table, key["name"], tuple(key["constrained_columns"])))
    for (_, table), keys in inspector.get_multi_foreign_keys().items():
        facts |= {("foreign key", table, key["name"], tuple(key["constrained_columns"]),
                   key["referred_table"], tuple(key["referred_columns"]),
                   str(sorted(key["options"].items())))
                  for key in keys}
    for (_, table), indexes in inspector.get_multi_indexes().items():
        facts |= {("index", table, index["name"], str(index["column_names"]), index["unique"],
                   str(index.get("expressions")),
                   str(sorted(index.get("dialect_options", {}).items())))
                  for index in indexes}
    for (_, table), uniques in inspector.get_multi_unique_constraints().items():
        facts |= {("unique", table, unique["name"], tuple(unique["column_names"]))
                  for unique in uniques}
    for (_, table), checks in inspector.get_multi_check_constraints().items():
        facts |= {("check", table, check["name"], check["sqltext"]) for check in checks}
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Triggers are invisible to the inspector (the full-text search's, for one).
            facts |= {("sqlite object", *row) for row in connection.execute(text(
                "SELECT type, name, tbl_name FROM sqlite_master"
            ))}
        else:
            facts |= {("sequence", name) for name in inspector.get_sequence_names()}
    return {fact for fact in facts if VERSION_TABLE not in fact}


def test_upgrade_builds_the_schema_the_models_describe_and_downgrade_removes_it(
    migrations_app,
):
    with migrations_app.app_context():
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
        remaining = set(inspect(db.engine).get_table_names()) - {VERSION_TABLE}
        assert remaining == set()


def test_every_revision_upgrades_downgrades_and_upgrades_again_one_step_at_a_time(
    migrations_app,
):
    """Each downgrade leaves exactly the schema its upgrade found, and each upgrade runs again
    on what its downgrade left and makes the same schema: step by step up to head, then down
    to base; alembic_version says where the database is at every step."""
    with migrations_app.app_context():
        revisions = _revisions_from_base_to_head()
        below = dict(zip(revisions, ["base", *revisions[:-1]], strict=True))
        schema_at = {"base": _schema()}
        assert schema_at["base"] == set()
        assert _stamped() == _stamp_of("base")

        for revision in revisions:
            upgrade(revision=revision)
            assert _stamped() == _stamp_of(revision)
            schema_at[revision] = _schema()

            downgrade(revision=below[revision])
            assert _stamped() == _stamp_of(below[revision])
            assert _schema() == schema_at[below[revision]], f"{revision}'s downgrade left a trace"

            upgrade(revision=revision)
            assert _stamped() == _stamp_of(revision)
            assert _schema() == schema_at[revision], f"{revision} made another schema again"

        for revision in reversed(revisions):
            downgrade(revision=below[revision])
            assert _stamped() == _stamp_of(below[revision])
            assert _schema() == schema_at[below[revision]], f"{revision}'s downgrade left a trace"
        assert _stamped() == set()


def _rows_of_every_table(columns_of: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """Every row of every table, read through the tables as the database has them now.

    `columns_of` names the columns to read (an upgrade may add columns, whose values cannot
    be compared with before); by default all of them. The full-text search's shadow tables
    are left out: their rows are the index's own pages, which a rebuild may lay out anew;
    the search itself is checked through the app."""
    tables = MetaData()
    tables.reflect(bind=db.engine)
    names = columns_of or {
        name: [column.name for column in table.columns]
        for name, table in tables.tables.items()
        if name != VERSION_TABLE and name not in FTS_OBJECT_NAMES
    }
    contents = {}
    with db.engine.connect() as connection:
        for name, column_names in names.items():
            assert name in tables.tables, f"the upgrade lost the table {name}"
            table = tables.tables[name]
            columns = [table.c[column] for column in column_names]
            order = list(table.primary_key.columns) or columns
            rows = connection.execute(select(*columns).order_by(*order)).all()
            contents[name] = {"columns": column_names, "rows": [tuple(row) for row in rows]}
    return contents


def _missing_columns() -> dict[str, set[str]]:
    """The columns the models map that the database does not have."""
    tables = MetaData()
    tables.reflect(bind=db.engine)
    missing = {}
    for name, table in db.metadata.tables.items():
        have = set(tables.tables[name].columns.keys()) if name in tables.tables else set()
        if absent := set(table.columns.keys()) - have:
            missing[name] = absent
    return missing


def _use_what_the_commands_leave_empty() -> None:
    """A saved reply, someone viewing a case, a message with a file, as staff make them; the
    spikes the sweep records today; and the escalations and reminders of a sweep an hour of
    working time after a case is late. (The demo data and the seed fill the learning loop's
    lists, redress, problems and their links and timelines.)"""
    spikes = record_new_spikes()
    assert {(spike.dimension, spike.span) for spike in spikes} >= {
        ("category", "week"), ("product", "week"),
    }
    services.commit()
    washer = db.session.scalar(select(Case).where(Case.reference == "AM-000001"))
    business = washer.category.service_level.calendar.business_calendar()
    swept = run_sweep(now=business.add_business_minutes(washer.resolve_due_at, 60))
    # The washer's, the demo's other open cases' (a billing problem's, today's washing
    # machines') and the seeded open cases' that are late by then.
    assert (swept.escalations_proposed, swept.update_reminders) == (15, 15)
    admin = User.by_email("admin@example.com")
    saved_replies.create_saved_reply(actor=admin, title="Replacement on its way",
                                     body="Dear {customer_name}, a new door is on its way.")
    presence.report_presence(washer, washer.owner, composing=True)
    messages.post_update(washer, actor=washer.owner, body="Here is the new door we ordered.",
                         attachments=[factories.upload()])
    # A file kept for the retry of a complaint form sent back with an error.
    attachments.keep_for_retry([factories.upload()], owner_key="a-browser", form_key="raise_case")
    enrolment = two_factor.start_enrolment(admin)
    two_factor.confirm_enrolment(admin, pyotp.TOTP(enrolment.secret).now())
    # A customer signed in through a sign-in link they followed.
    customer = User.by_email("alex@example.com")
    sign_in_sessions.follow_sign_in_link("a-followed-link", customer, grace=timedelta(minutes=10))
    sign_in_sessions.start_session(customer, Face.PORTAL, user_agent="Firefox/133.0 (Windows)")
    services.commit()


def _events_per_case() -> dict[str, int]:
    with db.engine.connect() as connection:
        return dict(connection.execute(text(
            "SELECT cases.reference, count(timeline_events.id) FROM cases"
            " LEFT JOIN timeline_events ON timeline_events.case_id = cases.id"
            " GROUP BY cases.reference ORDER BY cases.reference"
        )).all())


def test_upgrading_to_head_keeps_every_row_of_a_database_in_use(migrations_app, frozen_now):
    # A Monday morning, so that the data, and what the sweep finds late, are the same each run.
    frozen_now(datetime(2026, 11, 23, 9, 30, tzinfo=UTC), tick=True)
    app = migrations_app
    with app.app_context():
        revisions = _revisions_from_base_to_head()
        previous_head, head = revisions[-2:]
        # The data is made by the project's own commands and services, which write through
        # today's models, so at head: real rows, made the way the app makes them, in every
        # table. The newest migration's downgrade then takes the database back to the
        # previous head, keeping every row that head can hold (its own tables and columns
        # go); upgrading that database must keep every one of them.
        upgrade()
        assert _stamped() == {head}

    cli = app.test_cli_runner()
    loaded = cli.invoke(args=["demo-data"])
    assert loaded.exit_code == 0, loaded.output
    assert "Demo data loaded." in loaded.output
    seeded = cli.invoke(args=["seed", "--cases", "40", "--seed", "7", "--append"])
    assert seeded.exit_code == 0, seeded.output
    with app.app_context():
        _use_what_the_commands_leave_empty()
        at_head = {name: len(table["rows"]) for name, table in _rows_of_every_table().items()}
        learning_events = db.session.scalar(
            select(func.count()).select_from(TimelineEvent)
            .where(TimelineEvent.kind.in_(LEARNING_EVENT_KINDS))
        )
        assert learning_events > 0
        # Done with the session: on PostgreSQL its open transaction would hold a lock on the
        # timeline that the downgrade's ALTER TABLE waits for, for ever.
        db.session.rollback()
        # A database in use: every table the models describe has rows.
        assert set(at_head) == set(db.metadata.tables)
        assert {name for name, count in at_head.items() if count == 0} == set()

        downgrade(revision=previous_head)
        assert _stamped() == {previous_head}
        before = _rows_of_every_table()
        counts = {name: len(table["rows"]) for name, table in before.items()}
        events = _events_per_case()
        assert set(counts) == set(at_head) - NEWEST_TABLES
        assert {name for name, count in counts.items() if count == 0} == set()
        assert {name: count for name, count in counts.items()
                if count != at_head[name]} == {"timeline_events": at_head["timeline_events"]
                                               - learning_events}
        # 15 demo cases (Alex's two, two more about a billing problem, eleven washing
        # machines) and their 13 new customers, 40 seeded; an escalation per late case.
        assert (counts["cases"], counts["users"], counts["escalations"]) == (55, 52, 15)
        # The washer's update moves it on to "in progress": one event more than its ten.
        assert (events["AM-000001"], events["AM-000002"]) == (11, 8)
        cases = before["cases"]
        key_columns = ["reference", "status", "acknowledge_due_at", "first_response_due_at",
                       "resolve_due_at", "next_update_due_at", "resolved_at"]
        key_rows = [tuple(row[cases["columns"].index(column)] for column in key_columns)
                    for row in cases["rows"]]
        assert [row[:2] for row in key_rows[:2]] == [
            ("AM-000001", "in_progress"), ("AM-000002", "resolved"),
        ]

        upgrade()
        assert _stamped() == {head}
        after = _rows_of_every_table({name: table["columns"] for name, table in before.items()})
        assert {name: len(table["rows"]) for name, table in after.items()} == counts
        for name, table in before.items():
            assert after[name]["rows"] == table["rows"], f"the upgrade changed rows of {name}"
        assert _events_per_case() == events

        # The app reads the upgraded cases through its models: the same cases, the same dates.
        read = db.session.scalars(select(Case).order_by(Case.id)).all()
        assert [
            (case.reference, case.status,
             *(_as_stored(getattr(case, column)) for column in key_columns[2:]))
            for case in read
        ] == key_rows
        assert {case.reference: len(case.events) for case in read} == events
        readers = {case.reference: (case.customer_id, case.owner_id) for case in read[:2]}
        db.session.remove()

    # And so do its pages: the demo cases for their customer and their owners, and a search
    # by words, which finds its case through the full-text index the upgrade kept.
    for reference, (customer_id, owner_id) in readers.items():
        page = _signed_in(app, customer_id).get(f"/cases/{reference}")
        assert page.status_code == 200
        assert reference in text_of(page)
        page = _signed_in(app, owner_id).get(f"/staff/cases/{reference}")
        assert page.status_code == 200
        assert reference in text_of(page)
    found = _signed_in(app, readers["AM-000001"][1]).get("/staff/queues/all?q=dented+door")
    assert found.status_code == 200
    assert "Showing 1 case matching “dented door”." in text_of(found)
    assert "AM-000001" in text_of(found)


def _as_stored(moment: datetime | None) -> datetime | None:
    """A model's aware datetime as its column holds it: naive UTC."""
    return moment and moment.astimezone(UTC).replace(tzinfo=None)


def _signed_in(app, user_id: int):
    """A client of `app` signed in as the user; each request runs in its own app context."""
    client = app.test_client()
    with app.app_context():
        sign_in(client, db.session.get(User, user_id))
        db.session.remove()
    return client
