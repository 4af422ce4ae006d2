"""Two managers deciding the same escalation at the same moment: exactly one decision stands,
and the other manager is told what it was. Needs PostgreSQL, where the decisions really run
at once; SQLite serialises every writer, so there is no race there to test."""

import os
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from shared import services
from shared.extensions import db
from shared.models import (
    Case,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EventKind,
    Notification,
    OutgoingEmail,
    TimelineEvent,
    User,
)
from shared.services import RuleViolation
from shared.services import escalations as escalation_actions
from tests import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="races between sessions need PostgreSQL (set TEST_DATABASE_URL): SQLite lets"
        " only one writer in at a time, so there is no race to test there",
    ),
]

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


def decide_at_once(app, escalation_id, decisions):
    """Run each decision in a thread of its own (its own session and transaction), all
    starting together; each holds its transaction open a moment before committing, so the
    others really meet it. Returns what each one ended with."""
    start = threading.Barrier(len(decisions))
    outcomes = {}

    def run(name, decide):
        with app.app_context():
            try:
                escalation = db.session.get(Escalation, escalation_id)
                version = escalation.version
                start.wait(timeout=10)
                decide(escalation, version)
                time.sleep(0.3)
                services.commit()
                outcomes[name] = "decided"
            except (RuleViolation, StaleDataError) as conflict:
                services.rollback()
                outcomes[name] = getattr(conflict, "message", str(conflict))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=item) for item in decisions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_an_approval_and_a_rejection_at_once_leave_exactly_one_decision(app, org, escalation):
    manager_id, head_id = org.manager.id, org.head.id

    def approve(escalation, version):
        escalation_actions.approve_escalation(
            escalation, actor=db.session.get(User, manager_id), note="Yes, go ahead.",
            expected_version=version,
        )

    def reject(escalation, version):
        escalation_actions.reject_escalation(
            escalation, actor=db.session.get(User, head_id), note="No budget this month.",
            expected_version=version,
        )

    outcomes = decide_at_once(app, escalation.id, {"approve": approve, "reject": reject})

    assert sorted(outcomes.values()).count("decided") == 1, outcomes
    db.session.expire_all()
    decided = db.session.get(Escalation, escalation.id)
    winner = "approve" if decided.status == EscalationStatus.APPROVED else "reject"
    loser = "reject" if winner == "approve" else "approve"
    assert outcomes[winner] == "decided"
    # The one who lost is told who decided, and how.
    expected = ("Morgan Lee already approved" if winner == "approve"
                else "Harper Quinn already rejected")
    assert expected in outcomes[loser], outcomes

    # Only the decision that stands left a trace: one event, one message to the requester.
    decision_events = db.session.scalar(
        select(func.count()).select_from(TimelineEvent).where(
            TimelineEvent.case_id == decided.case_id,
            TimelineEvent.kind.in_([EventKind.ESCALATION_APPROVED,
                                    EventKind.ESCALATION_REJECTED]),
            TimelineEvent.visibility == "internal",
        )
    )
    assert decision_events == 1
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "escalation_decided")).all()
    assert len(told) == 1
    customer_escalated = db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == "case_escalated")).all()
    assert len(customer_escalated) == (1 if winner == "approve" else 0)


def test_two_approvals_at_once_hand_the_case_over_once(app, org, escalation):
    manager_id, head_id = org.manager.id, org.head.id

    def approve_as(actor_id, new_owner_id):
        def approve(escalation, version):
            escalation_actions.approve_escalation(
                escalation, actor=db.session.get(User, actor_id), expected_version=version,
                new_owner=db.session.get(User, new_owner_id), handoff_reason="Needs authority",
            )
        return approve

    outcomes = decide_at_once(app, escalation.id, {
        "manager": approve_as(manager_id, org.priya.id),
        "head": approve_as(head_id, head_id),
    })

    assert list(outcomes.values()).count("decided") == 1, outcomes
    db.session.expire_all()
    case = db.session.get(Escalation, escalation.id).case
    assert case.handoff_count == 1
    assert db.session.scalar(
        select(func.count()).select_from(TimelineEvent).where(
            TimelineEvent.case_id == case.id, TimelineEvent.kind == EventKind.TRANSFERRED)
    ) == 1


def test_two_managers_posting_at_once_through_the_back_office(app, org, escalation):
    """The same race through the routes: one redirect, one 409 that names the decision."""
    clients = {name: app.test_client() for name in ("manager", "head")}
    for name, user in (("manager", org.manager), ("head", org.head)):
        with clients[name].session_transaction() as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
    forms = {
        "manager": ("approve", {"approve-version": str(escalation.version),
                                "approve-note": "Yes.", "approve-new_owner": "0",
                                "approve-task_team": "0", "approve-new_priority": ""}),
        "head": ("reject", {"reject-version": str(escalation.version),
                            "reject-note": "Not now: my own words, kept."}),
    }
    start = threading.Barrier(2)
    responses = {}

    def post(name):
        action, data = forms[name]
        start.wait(timeout=10)
        responses[name] = clients[name].post(f"/staff/approvals/{escalation.id}/{action}",
                                             data=data)

    threads = [threading.Thread(target=post, args=(name,)) for name in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [302, 409], {n: r.status_code for n, r in responses.items()}
    [lost] = [r for r in responses.values() if r.status_code == 409]
    assert "already" in lost.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Escalation, escalation.id).status in (EscalationStatus.APPROVED,
                                                               EscalationStatus.REJECTED)


def test_two_requests_at_once_make_one_escalation(app, org):
    customer = factories.make_customer("alex@example.com", "Alex Carter")
    case = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    services.commit()
    case_id, people = case.id, {"owner": org.sam.id, "manager": org.manager.id}
    start = threading.Barrier(2)
    outcomes = {}

    def ask(name):
        with app.app_context():
            try:
                case = db.session.get(Case, case_id)
                actor = db.session.get(User, people[name])
                start.wait(timeout=10)
                escalation_actions.request_escalation(
                    case, actor=actor, level=EscalationLevel.TEAM_MANAGER, reason=REASON,
                    needs=["people"],
                )
                time.sleep(0.3)
                services.commit()
                outcomes[name] = "asked"
            except RuleViolation as refused:
                services.rollback()
                outcomes[name] = refused.message
            finally:
                db.session.remove()

    threads = [threading.Thread(target=ask, args=(name,)) for name in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert list(outcomes.values()).count("asked") == 1, outcomes
    [refusal] = [words for words in outcomes.values() if words != "asked"]
    assert "already asked for an escalation" in refusal
    assert db.session.scalar(
        select(func.count()).select_from(Escalation).where(Escalation.case_id == case_id)
    ) == 1


def test_resolving_while_a_manager_approves_a_hand_over_leaves_one_outcome(app, org,
                                                                          escalation):
    """Resolving withdraws the open request; a manager approving it at the same moment takes
    the case over. Either may win, neither deadlocks the other, and the loser is told."""
    from shared.services import cases as case_actions

    sam_id, manager_id = org.sam.id, org.manager.id

    def resolve(escalation, version):
        case_actions.resolve_case(
            escalation.case, actor=db.session.get(User, sam_id), resolution="Refunded in full."
        )

    def approve(escalation, version):
        manager = db.session.get(User, manager_id)
        escalation_actions.approve_escalation(
            escalation, actor=manager, note="I take it.", expected_version=version,
            new_owner=manager, handoff_reason="Needs a manager's authority.",
        )

    outcomes = decide_at_once(app, escalation.id, {"resolve": resolve, "approve": approve})

    assert set(outcomes) == {"resolve", "approve"}, outcomes
    assert list(outcomes.values()).count("decided") == 1, outcomes
    db.session.expire_all()
    decided = db.session.get(Escalation, escalation.id)
    case = db.session.get(Case, decided.case_id)
    if outcomes["resolve"] == "decided":
        assert decided.status == EscalationStatus.WITHDRAWN
        assert (case.status, case.owner_id) == ("resolved", sam_id)
        assert "Sam Taylor already withdrew this escalation" in outcomes["approve"]
    else:
        assert decided.status == EscalationStatus.APPROVED
        assert case.is_open and case.owner_id == manager_id
