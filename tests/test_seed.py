"""The data seeder: repeatable, realistic, refuses to mix with existing cases unless asked."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shared import services
from shared.extensions import db
from shared.models import (
    Case,
    CaseStatus,
    Category,
    Commitment,
    EventKind,
    Role,
    Task,
    TimelineEvent,
    User,
    Visibility,
)
from shared.seed import SeedRefused, seed_database
from tests import factories
from tests.conftest import _empty_all_tables

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def snapshot() -> list[tuple]:
    return db.session.execute(
        select(Case.reference, Case.status, Case.priority, Case.created_at, Case.resolve_due_at,
               Case.contact_email, User.email)
        .join(User, Case.owner_id == User.id)
        .order_by(Case.id)
    ).all()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(app):
    seed_database(40, seed=7, now=NOW)
    first = snapshot()
    _empty_all_tables()

    seed_database(40, seed=7, now=NOW)
    again = snapshot()
    _empty_all_tables()

    seed_database(40, seed=8, now=NOW)
    other = snapshot()

    assert len(first) == 40
    assert again == first
    assert other != first


def test_an_empty_database_gets_an_organisation_and_cases_in_every_state(app):
    report = seed_database(600, seed=1, now=NOW)

    assert report.cases == count(Case) == 600
    assert report.created_organisation
    statuses = set(db.session.scalars(select(Case.status).distinct()))
    assert statuses == {status.value for status in CaseStatus}
    assert count(Category) >= 5
    roles = set(db.session.scalars(select(User.role).distinct()))
    assert roles == {role.value for role in Role}
    assert count(Task) == report.tasks > 0
    assert count(Commitment) == report.commitments > 0
    assert count(TimelineEvent) == report.events > 600
    # The demo people exist, and everyone signs in with the demo password.
    assert User.by_email("sam@example.com").check_password("amends-demo-only")


def test_seeded_cases_hang_together(app):
    seed_database(300, seed=3, now=NOW)
    cases = db.session.scalars(select(Case).order_by(Case.id)).all()
    first_events = dict(db.session.execute(
        select(TimelineEvent.case_id, func.min(TimelineEvent.id)).group_by(TimelineEvent.case_id)
    ).all())
    first_kinds = dict(db.session.execute(
        select(TimelineEvent.case_id, TimelineEvent.kind)
        .where(TimelineEvent.id.in_(first_events.values()))
    ).all())

    for case in cases:
        assert case.reference == f"AM-{case.id:06d}"
        assert first_kinds[case.id] == EventKind.CREATED
        assert case.acknowledge_due_at <= case.first_response_due_at <= case.resolve_due_at
        if case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            assert case.resolved_at is not None and case.next_update_due_at is None
            assert case.acknowledged_at is not None and case.first_responded_at is not None
        else:
            assert case.resolved_at is None and case.next_update_due_at is not None
        if case.status == CaseStatus.CLOSED:
            assert case.closed_at >= case.resolved_at
        if case.status == CaseStatus.NEW:
            assert case.acknowledged_at is None
    # Events are in time order within each case, and internal notes are marked internal.
    events = db.session.execute(
        select(TimelineEvent.case_id, TimelineEvent.created_at, TimelineEvent.kind,
               TimelineEvent.visibility).order_by(TimelineEvent.id)
    ).all()
    last_seen = {}
    for case_id, created_at, kind, visibility in events:
        assert created_at >= last_seen.get(case_id, created_at)
        last_seen[case_id] = created_at
        if kind == EventKind.NOTE:
            assert visibility == Visibility.INTERNAL


def test_seeding_a_database_with_cases_is_refused_unless_appending(app, org):
    factories.raise_case(org.delivery)
    db.session.commit()

    with pytest.raises(SeedRefused, match="already has 1 cases"):
        seed_database(10, seed=1)

    report = seed_database(10, seed=1, append=True)
    assert report.cases == 10 and not report.created_organisation
    assert count(Case) == 11
    # The existing organisation was used: its categories, its agents.
    owners = set(db.session.scalars(select(Case.owner_id)))
    assert owners <= {org.sam.id, org.priya.id, org.jo.id}


def test_new_cases_can_be_raised_after_seeding(app):
    seed_database(20, seed=2, now=NOW)
    category = db.session.scalars(select(Category).order_by(Category.id)).first()

    case = factories.raise_case(category, email="new.person@example.com")
    services.commit()

    assert case.id == 21 and case.reference == "AM-000021"


def test_the_seed_command_reports_and_refuses_a_second_run(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed", "--cases", "15", "--seed", "4",
                                "--now", "2026-11-23T10:00:00"])
    assert first.exit_code == 0, first.output
    assert "Seeded 15 cases" in first.output

    second = runner.invoke(args=["seed", "--cases", "5"])
    assert second.exit_code == 1
    assert "already has 15 cases" in second.output and "--append" in second.output

    appended = runner.invoke(args=["seed", "--cases", "5", "--append"])
    assert appended.exit_code == 0, appended.output
    assert count(Case) == 20


def test_the_seed_command_refuses_a_bad_time(app):
    result = app.test_cli_runner().invoke(args=["seed", "--cases", "1", "--now", "tuesday"])
    assert result.exit_code == 2
    assert "not an ISO date and time" in result.output
    assert count(Case) == 0


def test_seeded_people_can_use_the_app(app, client):
    seed_database(200, seed=5)
    agent = db.session.scalar(
        select(User).join(Case, Case.owner_id == User.id)
        .where(User.role == Role.AGENT, User.active.is_(True)).limit(1)
    )
    signed_in = client.post("/staff/login", data={"email": agent.email,
                                                  "password": "amends-demo-only"})
    assert signed_in.status_code == 302
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/queues/all?q=delivered").status_code == 200

    case = db.session.scalars(select(Case).order_by(Case.id.desc())).first()
    customer = db.session.get(User, case.customer_id)
    client.post("/staff/logout")
    assert client.post("/sign-in", data={"email": customer.email,
                                         "password": "amends-demo-only"}).status_code == 302
    assert client.get(f"/cases/{case.reference}").status_code == 200
