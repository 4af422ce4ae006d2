"""Escalation rules, at the service level: proposing, requesting, deciding, withdrawing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared import services
from shared.extensions import db
from shared.models import (
    CaseStatus,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EventKind,
    Notification,
    OutgoingEmail,
    Priority,
    Task,
    Visibility,
)
from shared.services import RuleViolation, ownership
from shared.services import cases as case_actions
from shared.services import escalations as escalation_actions
from shared.services.escalations import TaskToGive
from tests import factories
from tests.support.timeline import events_of

REASON = "The courier has ignored us for a week; we cannot fix this alone."
NOTE = "Agreed: Billing refunds today and I take the case."
HANDOFF = "Needs a decision on a goodwill payment above an agent's limit."


def request(case, actor, level=EscalationLevel.TEAM_MANAGER, **fields):
    fields.setdefault("reason", REASON)
    fields.setdefault("needs", ["people", "goodwill"])
    escalation = escalation_actions.request_escalation(case, actor=actor, level=level, **fields)
    services.commit()
    return escalation



def notifications_for(user, kind=None):
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.scalars(query.order_by(Notification.id)).all()


def customer_emails(case):
    return db.session.scalars(
        select(OutgoingEmail)
        .where(OutgoingEmail.recipient == case.customer.email)
        .order_by(OutgoingEmail.id)
    ).all()


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- The sweep's suggestion -------------------------------------------------------------------


def test_propose_creates_an_internal_suggestion_and_tells_the_owner(org, case):
    escalation = escalation_actions.propose_escalation(case, reason="Resolve time breached")
    services.commit()

    assert escalation.status == EscalationStatus.PROPOSED
    assert escalation.requested_by_id is None
    assert escalation.level == EscalationLevel.TEAM_MANAGER
    [event] = events_of(case, EventKind.ESCALATION_PROPOSED)
    assert event.visibility == Visibility.INTERNAL and "Resolve time breached" in event.body
    [note] = notifications_for(org.sam, "escalation_proposed")
    assert case.reference in note.text


def test_propose_does_nothing_while_an_escalation_is_open(org, case):
    first = escalation_actions.propose_escalation(case, reason="At risk")
    services.commit()
    assert escalation_actions.propose_escalation(case, reason="At risk") is None
    services.commit()
    request(case, org.sam)  # the proposal becomes the request: still one open
    assert escalation_actions.propose_escalation(case, reason="Breached") is None
    services.commit()

    assert count(Escalation) == 1
    assert db.session.get(Escalation, first.id).status == EscalationStatus.PENDING
    assert len(events_of(case, EventKind.ESCALATION_PROPOSED)) == 1
    assert len(notifications_for(org.sam, "escalation_proposed")) == 1


# --- Asking -----------------------------------------------------------------------------------


def test_a_request_turns_the_proposal_into_a_pending_one_and_asks_the_team_manager(org, case):
    proposed = escalation_actions.propose_escalation(case, reason="At risk")
    services.commit()

    escalation = request(case, org.sam, needs=["people", "supplier"], needs_details="A courier")

    assert escalation.id == proposed.id
    assert escalation.status == EscalationStatus.PENDING
    assert escalation.requested_by == org.sam
    assert escalation.needs == ["people", "supplier"]
    [event] = events_of(case, EventKind.ESCALATION_REQUESTED)
    assert event.visibility == Visibility.INTERNAL and REASON in event.body
    # The case team's manager decides team-manager requests; nobody else is disturbed.
    [asked] = notifications_for(org.manager, "escalation_requested")
    assert "Sam Taylor" in asked.text and REASON in asked.text
    assert notifications_for(org.head, "escalation_requested") == []
    assert notifications_for(org.sam, "escalation_requested") == []


def test_a_head_of_service_request_goes_to_heads_of_service_only(org, case):
    request(case, org.sam, level=EscalationLevel.HEAD_OF_SERVICE)

    assert len(notifications_for(org.head, "escalation_requested")) == 1
    assert notifications_for(org.manager, "escalation_requested") == []


def test_when_the_team_manager_asks_the_request_goes_to_whoever_else_can_decide(org, case):
    request(case, org.manager)

    assert notifications_for(org.manager, "escalation_requested") == []
    assert len(notifications_for(org.head, "escalation_requested")) == 1


def test_an_away_team_manager_is_not_the_only_one_asked(org, case):
    org.manager.away = True
    services.commit()

    request(case, org.sam)

    assert notifications_for(org.manager, "escalation_requested") == []
    assert len(notifications_for(org.head, "escalation_requested")) == 1


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"reason": "  "}, "reason", "Say why"),
        ({"needs": []}, "needs", "at least one"),
        ({"needs": ["a pony"]}, "needs", "from the list"),
        ({"level": 3}, "level", "who should decide"),
    ],
)
def test_a_request_needs_a_reason_what_is_needed_and_a_known_level(org, case, fields, field,
                                                                   message):
    fields = {"level": EscalationLevel.TEAM_MANAGER, "reason": REASON, "needs": ["people"],
              **fields}
    with pytest.raises(RuleViolation) as refused:
        escalation_actions.request_escalation(case, actor=org.sam, **fields)
    assert refused.value.field == field and message in refused.value.message


def test_only_whoever_coordinates_the_case_can_ask(org, case):
    with pytest.raises(RuleViolation, match="Sam Taylor"):
        escalation_actions.request_escalation(
            case, actor=org.priya, level=1, reason=REASON, needs=["people"]
        )


def test_a_second_request_while_one_waits_is_refused_and_says_who_asked(org, case):
    request(case, org.sam)
    with pytest.raises(RuleViolation, match="Sam Taylor already asked"):
        escalation_actions.request_escalation(
            case, actor=org.manager, level=2, reason=REASON, needs=["decision"]
        )


# --- Who decides ------------------------------------------------------------------------------


def test_an_agent_never_decides_even_with_an_approval_level(org, case):
    escalation = request(case, org.sam)
    org.priya.approval_level = 2
    services.commit()
    with pytest.raises(RuleViolation, match="Only a manager"):
        escalation_actions.approve_escalation(
            escalation, actor=org.priya, note=NOTE, expected_version=escalation.version
        )
    with pytest.raises(RuleViolation, match="Only a manager"):
        escalation_actions.reject_escalation(
            escalation, actor=org.priya, note=NOTE, expected_version=escalation.version
        )


def test_a_team_manager_cannot_decide_a_head_of_service_escalation(org, case):
    escalation = request(case, org.sam, level=EscalationLevel.HEAD_OF_SERVICE)
    with pytest.raises(RuleViolation, match="head of service or above"):
        escalation_actions.approve_escalation(
            escalation, actor=org.manager, expected_version=escalation.version
        )
    # Nor can an admin without an approval level.
    with pytest.raises(RuleViolation, match="head of service or above"):
        escalation_actions.reject_escalation(
            escalation, actor=org.admin, note=NOTE, expected_version=escalation.version
        )


def test_a_head_of_service_may_decide_a_team_manager_escalation(org, case):
    escalation = request(case, org.sam)
    escalation_actions.approve_escalation(
        escalation, actor=org.head, note=NOTE, expected_version=escalation.version
    )
    services.commit()
    assert escalation.status == EscalationStatus.APPROVED and escalation.decided_by == org.head


def test_nobody_decides_their_own_request(org, case):
    escalation = request(case, org.manager)
    assert not escalation_actions.may_decide(org.manager, escalation)
    with pytest.raises(RuleViolation, match="someone else must decide"):
        escalation_actions.approve_escalation(
            escalation, actor=org.manager, expected_version=escalation.version
        )


def test_deciding_again_says_who_decided_and_how(org, case):
    escalation = request(case, org.sam)
    version = escalation.version
    escalation_actions.reject_escalation(
        escalation, actor=org.manager, note="Try the courier's escalation line first.",
        expected_version=version,
    )
    services.commit()
    with pytest.raises(RuleViolation) as refused:
        escalation_actions.approve_escalation(escalation, actor=org.head, expected_version=version)
    assert "Morgan Lee already rejected this escalation" in refused.value.message
    assert "Try the courier's escalation line first." in refused.value.message


def test_a_stale_version_is_refused(org, case):
    escalation = request(case, org.sam)
    with pytest.raises(RuleViolation, match="changed while you were deciding"):
        escalation_actions.approve_escalation(
            escalation, actor=org.manager, expected_version=escalation.version - 1
        )


# --- Approving with resources -----------------------------------------------------------------


def test_approval_commits_every_resource_in_one_unit_and_sends_one_customer_email(org, case):
    escalation = request(case, org.sam, level=EscalationLevel.HEAD_OF_SERVICE)
    emails_before = len(customer_emails(case))
    agreed = factories.in_hours(24 * 30)

    escalation_actions.approve_escalation(
        escalation,
        actor=org.head,
        note=NOTE,
        expected_version=escalation.version,
        new_owner=org.head,
        handoff_reason=HANDOFF,
        tasks=[TaskToGive(title="Refund the delivery charge", team=org.billing,
                          due_at=factories.in_hours(48), details="£4.99")],
        new_priority=Priority.URGENT,
        agreed_resolve_by=agreed,
    )
    services.commit()
    db.session.expire_all()

    assert escalation.status == EscalationStatus.APPROVED
    assert escalation.decision_note == NOTE
    assert case.owner == org.head and case.handoff_count == 1
    assert case.priority == Priority.URGENT
    assert abs(case.resolve_due_at - agreed) < timedelta(seconds=1)
    [task] = db.session.scalars(select(Task).where(Task.case_id == case.id)).all()
    assert task.team == org.billing and task.title == "Refund the delivery charge"
    # The hand-off goes through the ownership service: on the timeline with its reason.
    assert len(events_of(case, EventKind.TRANSFERRED)) == 1
    assert any(HANDOFF in e.body for e in events_of(case, EventKind.NOTE))

    # One email tells the customer everything, in plain words and without internal text.
    new_emails = customer_emails(case)[emails_before:]
    assert [e.kind for e in new_emails] == ["case_escalated"]
    [email] = new_emails
    for body in (email.text_body, email.html_body):
        assert "our head of service, Harper Quinn, who now looks after it" in body
        assert "moved your complaint up our list" in body
        assert "As agreed with you, we will put things right by" in body
        for internal in (REASON, NOTE, HANDOFF, "£4.99", "level", "urgent"):
            assert internal not in body

    public = [e for e in events_of(case, EventKind.ESCALATION_APPROVED)
              if e.visibility == Visibility.PUBLIC]
    assert [e.body for e in public] == [
        "We have escalated your complaint to our head of service, Harper Quinn, "
        "who now looks after it."
    ]


def test_approval_without_a_hand_off_names_the_decider_and_keeps_the_owner(org, case):
    escalation = request(case, org.sam)
    escalation_actions.approve_escalation(
        escalation, actor=org.manager, expected_version=escalation.version
    )
    services.commit()

    [email] = [e for e in customer_emails(case) if e.kind == "case_escalated"]
    assert "to a team manager, Morgan Lee. Sam Taylor still looks after it" in email.text_body
    assert case.owner == org.sam


def test_the_requester_is_told_the_decision_by_whom_and_the_note(org, case):
    escalation = request(case, org.sam)
    escalation_actions.approve_escalation(
        escalation, actor=org.manager, note=NOTE, expected_version=escalation.version,
        new_owner=org.priya, handoff_reason=HANDOFF,
    )
    services.commit()

    [decided] = notifications_for(org.sam, "escalation_decided")
    assert "Morgan Lee approved" in decided.text and NOTE in decided.text
    assert "handed over to Priya Shah" in decided.text
    [email] = [e for e in customer_emails(case) if e.kind == "case_escalated"]
    assert "to a team manager, Morgan Lee. Priya Shah now looks after it." in email.text_body


def test_a_hand_off_needs_a_reason(org, case):
    escalation = request(case, org.sam)
    with pytest.raises(RuleViolation) as refused:
        escalation_actions.approve_escalation(
            escalation, actor=org.manager, expected_version=escalation.version,
            new_owner=org.head, handoff_reason=" ",
        )
    assert refused.value.field == "handoff_reason"


def test_the_priority_can_only_go_up(org, case):
    escalation = request(case, org.sam)
    with pytest.raises(RuleViolation) as refused:
        escalation_actions.approve_escalation(
            escalation, actor=org.manager, expected_version=escalation.version,
            new_priority=Priority.LOW,
        )
    assert refused.value.field == "new_priority"


def test_a_resource_that_fails_leaves_nothing_half_done(org, case):
    escalation = request(case, org.sam)
    version = escalation.version
    with pytest.raises(RuleViolation) as refused:
        escalation_actions.approve_escalation(
            escalation, actor=org.manager, note=NOTE, expected_version=version,
            new_owner=org.head, handoff_reason=HANDOFF, new_priority=Priority.HIGH,
            tasks=[TaskToGive(title="Refund", team=org.billing, due_at=factories.in_hours(-1))],
        )
    assert refused.value.field == "task_due_at"
    services.rollback()
    db.session.expire_all()

    assert escalation.status == EscalationStatus.PENDING and escalation.version == version
    assert case.owner == org.sam and case.handoff_count == 0
    assert case.priority == Priority.NORMAL
    assert count(Task) == 0
    assert [e.kind for e in customer_emails(case)] == ["case_received"]


def test_hand_offs_and_priority_changes_still_email_the_customer_on_their_own(org, case):
    ownership.transfer_owner(case, actor=org.sam, new_owner=org.priya, reason=HANDOFF)
    case_actions.change_priority(case, Priority.URGENT, actor=org.priya, reason="Vulnerable")
    services.commit()
    kinds = [e.kind for e in customer_emails(case)]
    assert "owner_changed" in kinds and "dates_changed" in kinds


# --- Rejecting and withdrawing ----------------------------------------------------------------


def test_a_rejection_needs_a_note_and_tells_the_requester_why(org, case):
    escalation = request(case, org.sam)
    with pytest.raises(RuleViolation) as refused:
        escalation_actions.reject_escalation(
            escalation, actor=org.manager, note="", expected_version=escalation.version
        )
    assert refused.value.field == "note"
    services.rollback()

    escalation_actions.reject_escalation(
        escalation, actor=org.manager, note="Call the courier's escalation line first.",
        expected_version=escalation.version,
    )
    services.commit()

    assert escalation.status == EscalationStatus.REJECTED
    [decided] = notifications_for(org.sam, "escalation_decided")
    assert "Morgan Lee rejected" in decided.text
    assert "Call the courier's escalation line first." in decided.text
    [event] = events_of(case, EventKind.ESCALATION_REJECTED)
    assert event.visibility == Visibility.INTERNAL
    # Nothing reaches the customer.
    assert [e.kind for e in customer_emails(case)] == ["case_received"]


def test_the_requester_can_withdraw_and_then_nobody_can_approve(org, case):
    escalation = request(case, org.sam)
    version = escalation.version
    escalation_actions.withdraw_escalation(escalation, actor=org.sam)
    services.commit()

    assert escalation.status == EscalationStatus.WITHDRAWN
    assert len(events_of(case, EventKind.ESCALATION_WITHDRAWN)) == 1
    with pytest.raises(RuleViolation, match="Sam Taylor already withdrew"):
        escalation_actions.approve_escalation(escalation, actor=org.manager,
                                              expected_version=version)


def test_a_colleague_who_does_not_coordinate_cannot_withdraw(org, case):
    escalation = request(case, org.sam)
    with pytest.raises(RuleViolation, match="withdraw"):
        escalation_actions.withdraw_escalation(escalation, actor=org.jo)


def test_resolving_the_case_withdraws_its_request_and_tells_whoever_asked(org, case):
    escalation = request(case, org.sam)
    assert escalation_actions.approvals_for(org.manager)[1] == 1

    case_actions.resolve_case(case, actor=org.manager, resolution="Refunded in full.",
                              **factories.cause_and_outcome())
    services.commit()

    assert escalation.status == EscalationStatus.WITHDRAWN
    assert escalation.decided_by == org.manager
    assert escalation_actions.approvals_for(org.manager) == ([], 0)
    assert escalation_actions.waiting_count(org.manager) == 0
    [withdrawn] = events_of(case, EventKind.ESCALATION_WITHDRAWN)
    assert withdrawn.visibility == Visibility.INTERNAL
    assert withdrawn.body == (
        "Escalation request withdrawn: the case was resolved by Morgan Lee, so it needs no"
        " decision."
    )
    [told] = notifications_for(org.sam, "escalation_decided")
    assert told.text == (
        f"Your escalation of case {case.reference} was withdrawn: the case was resolved by"
        " Morgan Lee, so no decision is needed."
    )
    # A manager who opened it before it was withdrawn reads why they cannot decide it now.
    with pytest.raises(RuleViolation, match="Morgan Lee already withdrew this escalation .*"
                       "the case was resolved"):
        escalation_actions.approve_escalation(
            escalation, actor=org.manager, expected_version=escalation.version
        )
    services.rollback()
    with pytest.raises(RuleViolation, match="already withdrew"):
        escalation_actions.reject_escalation(
            escalation, actor=org.manager, note="Resolved already.",
            expected_version=escalation.version,
        )


def test_the_requester_resolving_it_themselves_is_not_told_what_they_did(org, case):
    escalation = request(case, org.sam)
    case_actions.resolve_case(case, actor=org.sam, resolution="Refunded in full.",
                              **factories.cause_and_outcome())
    services.commit()
    assert escalation.status == EscalationStatus.WITHDRAWN
    assert notifications_for(org.sam, "escalation_decided") == []
    assert len(events_of(case, EventKind.ESCALATION_WITHDRAWN)) == 1


def test_resolving_dismisses_the_sweeps_suggestion_and_leaves_decided_ones_alone(org, case):
    rejected = request(case, org.sam)
    escalation_actions.reject_escalation(
        rejected, actor=org.manager, note="Not yet.", expected_version=rejected.version
    )
    services.commit()
    suggested = escalation_actions.propose_escalation(case, reason="The resolve-by is near.")
    services.commit()

    case_actions.resolve_case(case, actor=org.sam, resolution="Refunded in full.",
                              **factories.cause_and_outcome())
    services.commit()

    assert rejected.status == EscalationStatus.REJECTED
    assert rejected.decided_by == org.manager
    assert suggested.status == EscalationStatus.WITHDRAWN
    [withdrawn] = events_of(case, EventKind.ESCALATION_WITHDRAWN)
    assert withdrawn.body.startswith("Escalation suggestion withdrawn: the case was resolved")


def test_a_case_without_an_open_escalation_resolves_as_before(org, case):
    case_actions.resolve_case(case, actor=org.sam, resolution="Refunded in full.",
                              **factories.cause_and_outcome())
    services.commit()
    assert events_of(case, EventKind.ESCALATION_WITHDRAWN) == []
    assert count(Escalation) == 0


def test_a_request_on_a_case_closed_another_way_is_off_the_queue_and_cannot_be_approved(
    org, case
):
    escalation = request(case, org.sam)
    # Merging closes a case from any state, outside resolve_case.
    case.status = CaseStatus.CLOSED
    services.commit()

    assert escalation_actions.approvals_for(org.manager) == ([], 0)
    assert escalation_actions.waiting_count(org.manager) == 0
    with pytest.raises(RuleViolation, match="This case is closed"):
        escalation_actions.approve_escalation(
            escalation, actor=org.manager, expected_version=escalation.version
        )
    services.rollback()
    # Saying no still works, so the request does not stay open for ever.
    escalation_actions.reject_escalation(
        escalation, actor=org.manager, note="Closed already.",
        expected_version=escalation.version,
    )
    services.commit()
    assert escalation.status == EscalationStatus.REJECTED


def test_the_waiting_count_is_what_the_approvals_queue_holds_for_each_decider(org, case):
    other = factories.case_owned_by(org.sam, org.delivery, email="kim@example.com")
    services.commit()
    request(case, org.sam)
    request(other, org.sam, level=EscalationLevel.HEAD_OF_SERVICE)

    for person, expected in ((org.manager, 1), (org.head, 2), (org.sam, 0), (org.admin, 0)):
        assert escalation_actions.waiting_count(person) == expected, person.name
        assert escalation_actions.approvals_for(person)[1] == expected, person.name


def test_whoever_is_handed_the_case_is_notified_unless_they_took_it_themselves(org, case):
    escalation = request(case, org.sam)
    escalation_actions.approve_escalation(
        escalation, actor=org.manager, expected_version=escalation.version,
        new_owner=org.priya, handoff_reason=HANDOFF,
    )
    services.commit()
    [assigned] = notifications_for(org.priya, "case_assigned")
    assert "Morgan Lee handed" in assigned.text and case.reference in assigned.text

    ownership.transfer_owner(case, actor=org.head, new_owner=org.head, reason=HANDOFF)
    services.commit()
    assert notifications_for(org.head, "case_assigned") == []
