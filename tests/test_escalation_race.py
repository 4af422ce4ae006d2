"""Two people deciding the same escalation at the same moment: exactly one decision stands,
and the other is told what it was. Needs PostgreSQL, where the decisions really run at once;
SQLite serialises every writer, so there is no race there to test.

Each race is made certain rather than left to timing: the first decision runs up to its commit
and stops there with its locks taken; the second then starts, and the first commits only once
PostgreSQL shows the second waiting on a lock the first holds. Each test asserts that wait."""


import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from shared import services
from shared.extensions import db
from shared.models import (
    Case,
    CaseStatus,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EventKind,
    Notification,
    Outcome,
    OutgoingEmail,
    RootCause,
    TimelineEvent,
    User,
)
from shared.services import RuleViolation
from shared.services import cases as case_actions
from shared.services import escalations as escalation_actions
from tests import factories
from tests.support.html import text_of
from tests.support.races import HeldAtCommit
from tests.support.signing_in import sign_in

# SQLite lets only one writer in at a time, so there is no race to test there.
pytestmark = pytest.mark.postgres

REASON = "The courier ignores us; a goodwill payment is above my limit."


@pytest.fixture
def escalation(org):
    customer = factories.make_customer("alex@example.com", "Alex Carter")
    case = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    services.commit()
    pending = escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER, reason=REASON,
        needs=["goodwill"],
    )
    services.commit()
    return pending


# --- Units of work -----------------------------------------------------------------------------


def decision(escalation_id, decide):
    """A unit of work that reads the escalation, decides it and commits; returns "decided", or
    what the decider was told when the decision could not stand."""

    def work():
        try:
            escalation = db.session.get(Escalation, escalation_id)
            decide(escalation, escalation.version)
            services.commit()
            return "decided"
        except (RuleViolation, StaleDataError) as conflict:
            services.rollback()
            return getattr(conflict, "message", str(conflict))

    return work


def approval(actor_id, *, new_owner_id=None, **choices):
    def approve(escalation, version):
        new_owner = db.session.get(User, new_owner_id) if new_owner_id else None
        escalation_actions.approve_escalation(
            escalation, actor=db.session.get(User, actor_id), expected_version=version,
            new_owner=new_owner, **choices,
        )

    return approve


def rejection(actor_id, note):
    def reject(escalation, version):
        escalation_actions.reject_escalation(
            escalation, actor=db.session.get(User, actor_id), note=note, expected_version=version
        )

    return reject


def count_events(case_id, *kinds):
    return db.session.scalar(
        select(func.count()).select_from(TimelineEvent).where(
            TimelineEvent.case_id == case_id, TimelineEvent.kind.in_(kinds)
        )
    )


# --- The races ---------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_an_approval_and_a_rejection_at_once_leave_exactly_one_decision(app, org, escalation,
                                                                       first):
    decisions = {
        "approve": decision(escalation.id, approval(org.manager.id, note="Yes, go ahead.")),
        "reject": decision(escalation.id, rejection(org.head.id, "No budget this month.")),
    }
    second = "reject" if first == "approve" else "approve"

    race = HeldAtCommit(app)
    outcomes = race.run(decisions[first], decisions[second])

    assert race.second_waited_on_first, "the second decision never waited on the first's lock"
    assert outcomes["first"] == "decided"
    db.session.expire_all()
    decided = db.session.get(Escalation, escalation.id)
    # The one who lost is told who decided, and how, in the winner's own words.
    if first == "approve":
        assert decided.status == EscalationStatus.APPROVED
        assert outcomes["second"].startswith("Morgan Lee already approved this escalation on ")
        assert outcomes["second"].endswith(": “Yes, go ahead.”.")
    else:
        assert decided.status == EscalationStatus.REJECTED
        assert outcomes["second"].startswith("Harper Quinn already rejected this escalation on ")
        assert outcomes["second"].endswith(": “No budget this month.”.")

    # Only the decision that stands left a trace: one event, one message to the requester.
    assert count_events(decided.case_id, EventKind.ESCALATION_APPROVED,
                        EventKind.ESCALATION_REJECTED) == (2 if first == "approve" else 1)
    told = db.session.scalars(
        select(Notification.text).where(Notification.kind == "escalation_decided")).all()
    assert len(told) == 1
    assert told[0].startswith("Morgan Lee approved" if first == "approve"
                              else "Harper Quinn rejected")
    customer_escalated = db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == "case_escalated")).all()
    assert len(customer_escalated) == (1 if first == "approve" else 0)


@pytest.mark.parametrize("first", ["manager", "head"])
def test_two_approvals_at_once_hand_the_case_over_once(app, org, escalation, first):
    new_owners = {"manager": org.priya, "head": org.head}
    deciders = {"manager": org.manager, "head": org.head}
    decisions = {
        name: decision(escalation.id, approval(
            deciders[name].id, new_owner_id=new_owners[name].id, handoff_reason="Needs authority"))
        for name in deciders
    }
    second = "head" if first == "manager" else "manager"

    race = HeldAtCommit(app)
    outcomes = race.run(decisions[first], decisions[second])

    assert race.second_waited_on_first, "the second approval never waited on the first's lock"
    assert outcomes["first"] == "decided"
    assert outcomes["second"].startswith(
        f"{deciders[first].name} already approved this escalation on ")
    db.session.expire_all()
    case = db.session.get(Escalation, escalation.id).case
    assert case.owner_id == new_owners[first].id
    assert case.handoff_count == 1
    assert count_events(case.id, EventKind.TRANSFERRED) == 1


@pytest.mark.parametrize("first", ["manager", "head"])
def test_two_managers_posting_at_once_through_the_back_office(app, org, escalation, first):
    """The same race through the routes: one redirect, one 409 that names the decision and
    keeps what the loser wrote."""
    clients = {name: app.test_client() for name in ("manager", "head")}
    for name, user in (("manager", org.manager), ("head", org.head)):
        sign_in(clients[name], user)
    forms = {
        "manager": ("approve", {"approve-version": str(escalation.version),
                                "approve-note": "Yes.", "approve-new_owner": "0",
                                "approve-task_team": "0", "approve-new_priority": ""}),
        "head": ("reject", {"reject-version": str(escalation.version),
                            "reject-note": "Not now: my own words, kept."}),
    }

    def post(name):
        action, data = forms[name]
        return lambda: clients[name].post(f"/staff/approvals/{escalation.id}/{action}",
                                          data=data)

    second = "head" if first == "manager" else "manager"
    race = HeldAtCommit(app)
    responses = race.run(post(first), post(second))

    assert race.second_waited_on_first, "the second post never waited on the first's lock"
    assert responses["first"].status_code == 302
    assert responses["first"].headers["Location"] == "/staff/approvals"
    assert responses["second"].status_code == 409
    lost = text_of(responses["second"])
    if first == "manager":
        assert "Morgan Lee already approved this escalation on " in lost
        assert "Not now: my own words, kept." in lost
        expected = EscalationStatus.APPROVED
    else:
        assert "Harper Quinn already rejected this escalation on " in lost
        expected = EscalationStatus.REJECTED
    db.session.expire_all()
    assert db.session.get(Escalation, escalation.id).status == expected


def test_two_requests_at_once_make_one_escalation(app, org):
    customer = factories.make_customer("alex@example.com", "Alex Carter")
    case = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    services.commit()
    case_id = case.id

    def ask(actor_id):
        def work():
            try:
                escalation_actions.request_escalation(
                    db.session.get(Case, case_id), actor=db.session.get(User, actor_id),
                    level=EscalationLevel.TEAM_MANAGER, reason=REASON, needs=["people"],
                )
                services.commit()
                return "asked"
            except RuleViolation as refused:
                services.rollback()
                return refused.message

        return work

    race = HeldAtCommit(app)
    outcomes = race.run(ask(org.sam.id), ask(org.manager.id))

    assert race.second_waited_on_first, "the second request never waited on the first's lock"
    assert outcomes["first"] == "asked"
    assert outcomes["second"].startswith("Sam Taylor already asked for an escalation on ")
    assert outcomes["second"].endswith("; it is waiting for a decision.")
    requested_by = db.session.scalars(
        select(Escalation.requested_by_id).where(Escalation.case_id == case_id)).all()
    assert requested_by == [org.sam.id]


@pytest.mark.parametrize("first", ["resolve", "approve"])
def test_resolving_while_a_manager_approves_a_hand_over_leaves_one_outcome(app, org,
                                                                          escalation, first):
    """Resolving withdraws the open request; a manager approving it at the same moment takes
    the case over. Whichever comes first stands, neither deadlocks the other, and the other
    is refused."""
    sam_id, manager_id = org.sam.id, org.manager.id
    cause_id = factories.a_root_cause().id
    db.session.commit()

    def resolve(escalation, version):
        case_actions.resolve_case(
            escalation.case, actor=db.session.get(User, sam_id), resolution="Refunded in full.",
            outcome=Outcome.UPHELD, root_cause=db.session.get(RootCause, cause_id),
        )

    approve = approval(manager_id, note="I take it.", new_owner_id=manager_id,
                       handoff_reason="Needs a manager's authority.")
    decisions = {"resolve": decision(escalation.id, resolve),
                 "approve": decision(escalation.id, approve)}
    second = "approve" if first == "resolve" else "resolve"

    race = HeldAtCommit(app)
    outcomes = race.run(decisions[first], decisions[second])

    assert race.second_waited_on_first, f"{second} never waited on the lock {first} held"
    assert outcomes["first"] == "decided"
    db.session.expire_all()
    decided = db.session.get(Escalation, escalation.id)
    case = db.session.get(Case, decided.case_id)
    if first == "resolve":
        assert decided.status == EscalationStatus.WITHDRAWN
        assert (case.status, case.owner_id) == (CaseStatus.RESOLVED, sam_id)
        assert outcomes["second"].startswith("Sam Taylor already withdrew this escalation on ")
        assert count_events(case.id, EventKind.ESCALATION_APPROVED, EventKind.TRANSFERRED) == 0
    else:
        assert decided.status == EscalationStatus.APPROVED
        assert case.is_open and case.owner_id == manager_id
        # The case changed under the resolution: its save is refused, nothing of it stays.
        assert outcomes["second"].startswith("UPDATE statement on table 'cases' expected to "
                                             "update 1 row(s); 0 were matched.")
        assert count_events(case.id, EventKind.RESOLVED, EventKind.ESCALATION_WITHDRAWN) == 0
