"""The data seeder: repeatable, realistic, refuses to mix with existing cases unless asked; and
the demo data's small version of what complaints tell us."""

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shared import services
from shared.demo import load_demo_data
from shared.extensions import db
from shared.models import (
    MONEY_REDRESS_KINDS,
    Case,
    CaseStatus,
    Category,
    CauseArea,
    Commitment,
    EventKind,
    Outcome,
    Problem,
    ProblemCase,
    ProblemEvent,
    ProblemEventKind,
    ProblemStatus,
    Product,
    Redress,
    RedressState,
    Role,
    RootCause,
    SpikeDimension,
    SpikeSpan,
    Task,
    TimelineEvent,
    User,
    Visibility,
)
from shared.seed import (
    AGENT_REDRESS_LIMIT_MINOR,
    CAUSE_AREAS,
    PRODUCT_NAMES,
    SPIKE_CATEGORY,
    SPIKE_PRODUCT,
    SeedRefused,
    seed_database,
)
from shared.spikes import record_new_spikes
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


# --- What complaints tell us ---------------------------------------------------------------------

RESOLVED = (CaseStatus.RESOLVED, CaseStatus.CLOSED)


def week_spikes(spikes) -> set[tuple[str, str]]:
    """(dimension, name) of this week's spikes."""
    names = {
        SpikeDimension.CATEGORY: dict(db.session.execute(select(Category.id, Category.name)).all()),
        SpikeDimension.PRODUCT: dict(db.session.execute(select(Product.id, Product.name)).all()),
    }
    return {(spike.dimension, names[SpikeDimension(spike.dimension)][spike.subject_id])
            for spike in spikes if spike.span == SpikeSpan.WEEK}


def test_seeded_cases_record_outcome_cause_product_and_redress(app):
    seed_database(1500, seed=11, now=NOW)

    assert count(CauseArea) == len(CAUSE_AREAS)
    assert count(RootCause) == sum(len(causes) for _area, causes in CAUSE_AREAS)
    assert set(db.session.scalars(select(Product.name))) == set(PRODUCT_NAMES)
    cases = db.session.scalars(select(Case)).all()
    resolved = [case for case in cases if case.status in RESOLVED]
    still_open = [case for case in cases if case.status not in RESOLVED]
    # Resolving records an outcome, a cause (in words where the cause asks for them) and a
    # product; open cases have no outcome or cause yet, and most have a product.
    assert resolved and still_open
    assert all(case.outcome and case.root_cause_id and case.product_id for case in resolved)
    assert {case.outcome for case in resolved} == {outcome.value for outcome in Outcome}
    for case in resolved:
        assert bool(case.root_cause_words) == case.root_cause.asks_for_words
    assert all(case.outcome is None and case.root_cause_id is None for case in still_open)
    assert sum(case.product_id is not None for case in still_open) > 0.75 * len(still_open)

    # A Pareto with a vital few: the commonest causes make up 80 % of the cases well before
    # the list ends.
    per_cause = sorted(Counter(case.root_cause_id for case in resolved).values(), reverse=True)
    running, vital_few = 0, 0
    while running < 0.8 * len(resolved):
        running += per_cause[vital_few]
        vital_few += 1
    assert vital_few <= len(per_cause) // 2 + 1
    assert per_cause[0] > 3 * per_cause[-1]

    redress = db.session.scalars(select(Redress)).all()
    assert redress
    for remedy in redress:
        case = remedy.case
        assert case.status in RESOLVED and case.outcome != Outcome.WITHDRAWN
        assert case.first_responded_at <= remedy.created_at <= case.resolved_at
        if remedy.kind in MONEY_REDRESS_KINDS:
            assert remedy.amount_minor > 0 and remedy.currency == "GBP"
            above = remedy.amount_minor > AGENT_REDRESS_LIMIT_MINOR
            assert remedy.state == (RedressState.APPROVED if above else RedressState.GIVEN)
        else:
            assert remedy.amount_minor is None and remedy.currency is None
            assert remedy.state == RedressState.GIVEN
    assert {remedy.state for remedy in redress} == {RedressState.GIVEN, RedressState.APPROVED}
    assert any(remedy.beyond_request for remedy in redress)
    recorded = db.session.scalar(select(func.count()).select_from(TimelineEvent).where(
        TimelineEvent.kind == EventKind.REDRESS_RECORDED,
        TimelineEvent.visibility == Visibility.INTERNAL,
    ))
    assert recorded == len(redress)


def test_seeded_problems_have_a_history_and_cases_that_share_their_cause(app):
    seed_database(1500, seed=11, now=NOW)

    problems = db.session.scalars(select(Problem).order_by(Problem.id)).all()
    assert {problem.status for problem in problems} == {status.value for status in ProblemStatus}
    assert len({problem.team_id for problem in problems}) > 1
    for problem in problems:
        assert problem.owner.team_id == problem.team_id
        events = problem.events
        assert events[0].kind == ProblemEventKind.CREATED
        assert [event.created_at for event in events] == sorted(e.created_at for e in events)
        linked = [link.case for link in problem.links]
        assert len([e for e in events if e.kind == ProblemEventKind.CASE_LINKED]) == len(linked)
        for case in linked:
            if case.root_cause_id is not None:
                assert case.root_cause_id == problem.root_cause_id
            assert any(event.kind == EventKind.PROBLEM_LINKED
                       and event.data["problem_id"] == problem.id for event in case.events)
        statuses = [event.data["to"] for event in events
                    if event.kind == ProblemEventKind.STATUS_CHANGED]
        if problem.status != ProblemStatus.INVESTIGATING:
            assert statuses[-1] == problem.status
        assert (problem.closed_at is not None) == (not problem.is_open)
    assert sum(len(problem.links) >= 3 for problem in problems) >= 3
    open_linked = db.session.scalar(
        select(func.count()).select_from(ProblemCase).join(Case)
        .where(Case.status.not_in([status.value for status in RESOLVED]))
    )
    assert open_linked > 0


def test_the_seed_has_a_spike_the_sweep_finds_this_week(app):
    report = seed_database(1500, seed=11, now=NOW)

    found = record_new_spikes(NOW)

    assert report.spike_cases > 0
    assert week_spikes(found) == {
        (SpikeDimension.CATEGORY, SPIKE_CATEGORY), (SpikeDimension.PRODUCT, SPIKE_PRODUCT),
    }
    assert record_new_spikes(NOW) == []
    # The burst is this week's, and the cases are still the number asked for.
    assert count(Case) == report.cases == 1500


def test_a_small_seed_has_no_spike_it_would_be_most_of_its_cases(app):
    report = seed_database(40, seed=7, now=NOW)

    assert report.spike_cases == 0 and count(Case) == 40


def test_the_demo_data_has_a_problem_with_three_cases_and_a_spike_the_sweep_finds(app):
    assert load_demo_data()
    services.commit()

    problem = db.session.scalars(select(Problem)).one()
    assert problem.team.name == "Engineering" and problem.owner.email == "dev@example.com"
    linked = sorted(link.case.reference for link in problem.links)
    assert len(linked) == 3 and "AM-000002" in linked
    assert count(ProblemEvent) >= 4
    alex_resolved = db.session.scalar(select(Case).where(Case.reference == "AM-000002"))
    assert alex_resolved.outcome == Outcome.UPHELD
    assert alex_resolved.root_cause.name == "Double charge"
    assert [(r.kind, r.amount_minor) for r in alex_resolved.redress] == [("refund", 4250)]
    washer = db.session.scalar(select(Case).where(Case.reference == "AM-000001"))
    assert washer.status == CaseStatus.NEW and washer.outcome is None

    found = record_new_spikes()

    assert week_spikes(found) == {
        (SpikeDimension.CATEGORY, "A faulty product"), (SpikeDimension.PRODUCT, "Washing machine"),
    }
