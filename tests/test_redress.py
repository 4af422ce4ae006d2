"""Redress: the remedies given, each staff member's limit, and a manager's approval of what is
above it through the escalation path; what staff read, what the customer reads, and who may
do what."""

import pytest
from sqlalchemy import func, select

from shared import services
from shared.extensions import db
from shared.models import (
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EventKind,
    Notification,
    OutgoingEmail,
    Priority,
    Redress,
    RedressState,
    Visibility,
)
from shared.services import RuleViolation
from shared.services import cases as case_actions
from shared.services import escalations as escalation_actions
from shared.services import redress as redress_actions
from tests import factories
from tests.support.html import error_beside, error_summary, input_value, text_of, textarea_text
from tests.support.timeline import events_of

LIMIT = 50_00  # £50.00
VOUCHER = "A voucher for a meal out, to say sorry for the wait."
REFUND = "A refund of the delivery charge."
FORBIDDEN_IN_PORTAL = (
    "Awaiting", "awaiting", "approval", "Approved", "Refused", "refused", "limit",
    "Remedy recorded", "Remedy approved", "Remedy refused", "£50.00", "escalat",
)


def with_limit(person, amount_minor=LIMIT):
    person.redress_limit_minor = amount_minor
    services.commit()
    return person


def record(case, actor, kind="goodwill", amount_minor=80_00, description=VOUCHER, **fields):
    redress = redress_actions.record_redress(
        case, actor=actor, kind=kind, description=description, amount_minor=amount_minor,
        **fields,
    )
    services.commit()
    return redress


def resolve(case, actor):
    case_actions.resolve_case(case, actor=actor, resolution="We looked into it and put it right.",
                              **factories.cause_and_outcome())
    services.commit()


def notifications_for(user, kind):
    return db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.kind == kind)
        .order_by(Notification.id)
    ).all()


def customer_emails(case, kind=None):
    query = select(OutgoingEmail).where(OutgoingEmail.recipient == case.customer.email)
    if kind:
        query = query.where(OutgoingEmail.kind == kind)
    return db.session.scalars(query.order_by(OutgoingEmail.id)).all()


def escalation_count():
    return db.session.scalar(select(func.count(Escalation.id)))


def public_escalation_events(case):
    return [e for e in events_of(case, EventKind.ESCALATION_APPROVED)
            if e.visibility == Visibility.PUBLIC]


def approve(escalation, actor, **fields):
    told = escalation_actions.approve_escalation(
        escalation, actor=actor, expected_version=escalation.version, **fields)
    services.commit()
    return told


# --- Recording: within the limit, and what each kind needs ---------------------------------------


def test_a_remedy_within_the_limit_is_given_at_once(org, case):
    with_limit(org.sam)
    refund = record(case, org.sam, kind="refund", amount_minor=30_00, description=REFUND)

    assert refund.state == RedressState.GIVEN and refund.currency == "GBP"
    assert refund.escalation is None and escalation_count() == 0
    assert redress_actions.remedies_in_words(case) == [f"Refund of £30.00: {REFUND}"]
    [event] = events_of(case, EventKind.REDRESS_RECORDED)
    assert event.visibility == Visibility.INTERNAL
    assert event.body == f"Remedy recorded: Refund of £30.00: {REFUND}"


def test_an_apology_needs_no_amount_and_refuses_one(org, case):
    apology = record(case, org.sam, kind="apology", amount_minor=None,
                     description="We are sorry the parcel was crushed.")
    assert apology.state == RedressState.GIVEN
    assert apology.amount_minor is None and apology.currency is None
    assert redress_actions.redress_words(apology) == (
        "Apology: We are sorry the parcel was crushed.")

    with pytest.raises(RuleViolation) as refused:
        record(case, org.sam, kind="apology", amount_minor=5_00, description="Sorry.")
    assert refused.value.field == "amount"
    assert "has no amount: leave the amount empty" in refused.value.message


@pytest.mark.parametrize("amount_minor", [None, 0, -100])
def test_money_needs_an_amount_more_than_zero(org, case, amount_minor):
    with pytest.raises(RuleViolation) as refused:
        record(case, org.sam, kind="refund", amount_minor=amount_minor, description=REFUND)
    assert refused.value.field == "amount"
    assert refused.value.message == "Enter the amount of the refund, like 25.50."
    db.session.rollback()
    assert db.session.scalar(select(func.count(Redress.id))) == 0


def test_money_needs_a_known_currency(org, case):
    with pytest.raises(RuleViolation) as refused:
        record(case, org.sam, kind="compensation", amount_minor=10_00, currency="JPY",
               description="For the time lost.")
    assert refused.value.field == "currency"
    assert refused.value.message == "Choose the currency from the list."


def test_a_remedy_needs_a_kind_from_the_list(org, case):
    with pytest.raises(RuleViolation) as refused:
        record(case, org.sam, kind="voucher", amount_minor=None)
    assert refused.value.field == "kind"


@pytest.mark.parametrize("description, words", [
    ("   ", "Describe the remedy in words the customer can read"),
    ("x" * 1001, "Keep the description under 1,000 characters."),
])
def test_the_description_is_required_and_limited(org, case, description, words):
    with pytest.raises(RuleViolation) as refused:
        record(case, org.sam, kind="apology", amount_minor=None, description=description)
    assert refused.value.field == "description"
    assert words in refused.value.message


def test_the_case_total_counts_against_the_limit(org, case):
    with_limit(org.sam)
    first = record(case, org.sam, kind="refund", amount_minor=30_00, description=REFUND)
    second = record(case, org.sam, kind="goodwill", amount_minor=30_00)

    assert first.state == RedressState.GIVEN
    assert second.state == RedressState.AWAITING_APPROVAL
    assert second.escalation is not None and second.escalation.needs == ["goodwill"]
    newest = events_of(case, EventKind.REDRESS_RECORDED)[-1]
    assert newest.body.endswith(
        "Awaiting a manager's approval: with the £30.00 already given or asked for, this"
        " case's total of £60.00 is above Sam Taylor's limit of £50.00.")
    # The manager deciding it reads why, without the amount said twice.
    assert redress_actions.approval_needed_words(second) == (
        "with the case's other remedies, £60.00 in all: above their limit of £50.00 a case")


def test_another_currency_always_needs_approval(org, case):
    with_limit(org.sam)
    euros = record(case, org.sam, kind="refund", amount_minor=10_00, currency="EUR",
                   description=REFUND)
    assert euros.state == RedressState.AWAITING_APPROVAL
    assert euros.escalation.status == EscalationStatus.PENDING
    [event] = events_of(case, EventKind.REDRESS_RECORDED)
    assert "Sam Taylor's limit is in GBP, and this is in EUR" in event.body
    assert redress_actions.approval_needed_words(euros) == (
        "in EUR, while their limit of £50.00 a case is in GBP")


def test_a_closed_case_takes_no_remedies(org, case):
    resolve(case, org.sam)
    with pytest.raises(RuleViolation, match="reopen it before recording a remedy"):
        record(case, org.sam, kind="apology", amount_minor=None, description="Sorry.")


# --- Above the limit: the escalation path -----------------------------------------------------


def test_above_the_limit_a_goodwill_request_goes_to_the_team_manager(org, case):
    with_limit(org.sam)
    goodwill = record(case, org.sam)

    assert goodwill.state == RedressState.AWAITING_APPROVAL
    [escalation] = db.session.scalars(select(Escalation)).all()
    assert goodwill.escalation == escalation
    assert escalation.status == EscalationStatus.PENDING
    assert escalation.level == EscalationLevel.TEAM_MANAGER
    assert escalation.requested_by == org.sam and escalation.needs == ["goodwill"]
    [asked] = notifications_for(org.manager, "escalation_requested")
    assert case.reference in asked.text
    [event] = events_of(case, EventKind.REDRESS_RECORDED)
    assert "Awaiting a manager's approval: £80.00 is above Sam Taylor's limit of £50.00" in (
        event.body)
    assert redress_actions.remedies_in_words(case) == []


def test_a_remedy_joins_the_request_already_waiting(org, case):
    with_limit(org.sam)
    waiting = escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER,
        reason="The courier will not answer us.", needs=["people"])
    services.commit()

    goodwill = record(case, org.sam)

    assert escalation_count() == 1
    assert goodwill.escalation == waiting
    db.session.refresh(waiting)
    assert waiting.needs == ["people", "goodwill"]
    assert "also asks for approval of a remedy" in (
        notifications_for(org.manager, "escalation_requested")[-1].text)
    # A second remedy adds nothing more to the needs.
    record(case, org.sam, kind="compensation", amount_minor=20_00, description="For the wait.")
    db.session.refresh(waiting)
    assert waiting.needs == ["people", "goodwill"] and escalation_count() == 1


def test_resolving_is_refused_while_a_remedy_awaits(org, case):
    with_limit(org.sam)
    record(case, org.sam)

    with pytest.raises(RuleViolation) as refused:
        resolve(case, org.sam)

    assert refused.value.field == "redress"
    assert refused.value.message.startswith(
        "A manager must approve the goodwill gesture of £80.00 before this case can be resolved")
    db.session.rollback()
    assert case.is_open


def test_approval_lets_the_case_resolve_with_the_remedy(org, case):
    with_limit(org.sam)
    goodwill = record(case, org.sam)

    approve(goodwill.escalation, org.manager)

    db.session.refresh(goodwill)
    assert goodwill.state == RedressState.APPROVED and goodwill.decided_at is not None
    [decided] = notifications_for(org.sam, "escalation_decided")
    assert "goodwill gesture of £80.00 approved, so the case can be resolved with it" in (
        decided.text)
    resolve(case, org.sam)
    assert redress_actions.remedies_in_words(case) == [f"Goodwill gesture of £80.00: {VOUCHER}"]
    [resolved] = events_of(case, EventKind.RESOLVED)
    assert f"To put things right:\n• Goodwill gesture of £80.00: {VOUCHER}" in resolved.body
    [email] = customer_emails(case, "case_resolved")
    assert "Goodwill gesture of £80.00" in email.text_body


def test_a_rejection_refuses_the_remedy_and_tells_who_asked(org, case):
    with_limit(org.sam)
    kept = record(case, org.sam, kind="refund", amount_minor=20_00, description=REFUND)
    goodwill = record(case, org.sam)

    escalation_actions.reject_escalation(
        goodwill.escalation, actor=org.manager, note="Offer the refund only.",
        expected_version=goodwill.escalation.version)
    services.commit()

    db.session.refresh(goodwill)
    assert goodwill.state == RedressState.REFUSED
    [told] = notifications_for(org.sam, "escalation_decided")
    assert "Offer the refund only." in told.text
    assert "The goodwill gesture of £80.00 is refused: it cannot be given." in told.text
    assert redress_actions.remedies_in_words(case) == [redress_actions.redress_words(kept)]
    resolve(case, org.sam)
    [email] = customer_emails(case, "case_resolved")
    assert VOUCHER not in email.text_body and REFUND in email.text_body


def test_removing_the_only_remedy_waiting_withdraws_its_request(org, case):
    with_limit(org.sam)
    goodwill = record(case, org.sam)
    escalation = goodwill.escalation

    redress_actions.remove_redress(goodwill, actor=org.sam)
    services.commit()

    db.session.refresh(escalation)
    assert escalation.status == EscalationStatus.WITHDRAWN
    assert db.session.scalar(select(func.count(Redress.id))) == 0
    assert escalation_actions.waiting_count(org.manager) == 0
    [removed] = [e for e in events_of(case, EventKind.REDRESS_RECORDED)
                 if e.data.get("removed")]
    assert "(it was awaiting a manager's approval)" in removed.body
    resolve(case, org.sam)  # nothing waits now


def test_removing_a_remedy_leaves_a_request_that_asks_for_more(org, case):
    with_limit(org.sam)
    waiting = escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER,
        reason="The courier will not answer us.", needs=["people"])
    services.commit()
    goodwill = record(case, org.sam)

    redress_actions.remove_redress(goodwill, actor=org.sam)
    services.commit()

    db.session.refresh(waiting)
    assert waiting.status == EscalationStatus.PENDING


# --- Approving money alone is internal -------------------------------------------------------


def test_approving_only_money_does_not_tell_the_customer_of_an_escalation(org, case):
    with_limit(org.sam)
    goodwill = record(case, org.sam)
    emails_before = customer_emails(case)

    told = approve(goodwill.escalation, org.manager, note="Fair, given the wait.")

    assert told is False
    assert customer_emails(case) == emails_before
    assert public_escalation_events(case) == []
    # Staff still read it, and whoever asked is told.
    [internal] = events_of(case, EventKind.ESCALATION_APPROVED)
    assert internal.visibility == Visibility.INTERNAL
    assert "approved by Morgan Lee" in internal.body
    assert "goodwill gesture of £80.00 approved" in internal.body
    [decided] = notifications_for(org.sam, "escalation_decided")
    assert "Morgan Lee approved your escalation" in decided.text


def test_approving_money_with_a_new_owner_still_tells_the_customer(org, case, login_as,
                                                                   customer):
    with_limit(org.sam)
    goodwill = record(case, org.sam)

    told = approve(goodwill.escalation, org.manager, new_owner=org.manager,
                   handoff_reason="I will see this one through.")

    assert told is True
    assert [e.kind for e in customer_emails(case, "case_escalated")] == ["case_escalated"]
    [public] = public_escalation_events(case)
    assert "Morgan Lee, who now looks after it" in public.body
    assert "£80.00" not in public.body
    html = text_of(login_as(customer).get(f"/cases/{case.reference}"))
    assert "Your complaint has been escalated" in html and "£80.00" not in html


def test_approving_money_with_a_higher_priority_still_tells_the_customer(org, case):
    with_limit(org.sam)
    goodwill = record(case, org.sam)
    assert approve(goodwill.escalation, org.manager, new_priority=Priority.HIGH) is True
    assert len(customer_emails(case, "case_escalated")) == 1


def test_approving_money_with_other_needs_tells_the_customer_as_before(org, case):
    with_limit(org.sam)
    escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER,
        reason="The courier will not answer us.", needs=["people"])
    services.commit()
    goodwill = record(case, org.sam)

    assert approve(goodwill.escalation, org.manager) is True
    assert len(public_escalation_events(case)) == 1
    assert len(customer_emails(case, "case_escalated")) == 1


def test_a_goodwill_request_with_no_remedy_recorded_tells_the_customer_as_before(org, case):
    escalation = escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER,
        reason="A goodwill payment is above my limit.", needs=["goodwill"])
    services.commit()
    assert approve(escalation, org.manager) is True
    assert len(public_escalation_events(case)) == 1
    assert len(customer_emails(case, "case_escalated")) == 1


# --- Who decides ----------------------------------------------------------------------------


def test_whoever_asked_cannot_decide(org, case):
    with_limit(org.manager, 0)
    own_case = factories.case_owned_by(org.manager, org.delivery, customer=case.customer)
    services.commit()
    goodwill = record(own_case, org.manager)
    escalation = goodwill.escalation
    assert escalation.requested_by == org.manager

    with pytest.raises(RuleViolation, match="You asked for this escalation"):
        approve(escalation, org.manager)
    db.session.rollback()
    assert not escalation_actions.may_decide(org.manager, escalation)
    # Nobody else in the team manages, so the request goes to whoever else can decide.
    assert escalation_actions.people_to_ask(escalation) == [org.head]
    approve(escalation, org.head)
    db.session.refresh(goodwill)
    assert goodwill.state == RedressState.APPROVED


def manager_joins_sams_request(org, case):
    """Sam asks for more people; Morgan, covering, records £80 above his own £0 limit, which
    joins Sam's request: Morgan asked for that money."""
    with_limit(org.manager, 0)
    escalation = escalation_actions.request_escalation(
        case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER,
        reason="The courier will not answer us.", needs=["people"])
    services.commit()
    goodwill = record(case, org.manager)
    assert goodwill.escalation == escalation
    return escalation, goodwill


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_manager_who_recorded_a_remedy_in_the_request_cannot_decide_it(org, case, decide):
    escalation, goodwill = manager_joins_sams_request(org, case)

    with pytest.raises(RuleViolation) as refused:
        if decide == "approve":
            approve(escalation, org.manager)
        else:
            escalation_actions.reject_escalation(
                escalation, actor=org.manager, note="No.", expected_version=escalation.version)
    assert refused.value.message == (
        "You asked for a remedy in this request: another manager must decide it.")
    db.session.rollback()
    assert escalation.status == EscalationStatus.PENDING

    # Not on their queue, nor counted for them; another manager is asked and decides.
    assert escalation_actions.approvals_for(org.manager) == ([], 0)
    assert escalation_actions.waiting_count(org.head) == 1
    assert "also asks for approval of a remedy" in (
        notifications_for(org.head, "escalation_requested")[-1].text)
    assert not any("also asks" in n.text
                   for n in notifications_for(org.manager, "escalation_requested"))
    approve(escalation, org.head)
    db.session.refresh(goodwill)
    assert goodwill.state == RedressState.APPROVED


def test_only_whoever_coordinates_the_case_records_or_removes_remedies(org, case):
    given = record(case, org.sam, kind="apology", amount_minor=None, description="Sorry.")
    with pytest.raises(RuleViolation, match="Only Sam Taylor, who looks after this case"):
        record(case, org.priya, kind="apology", amount_minor=None, description="Sorry too.")
    with pytest.raises(RuleViolation, match="Only Sam Taylor, who looks after this case"):
        redress_actions.remove_redress(given, actor=org.priya)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Redress.id))) == 1


# --- The pages ------------------------------------------------------------------------------


def redress_form(**fields):
    data = {"redress-kind": "goodwill", "redress-description": VOUCHER,
            "redress-amount": "80.00", "redress-currency": "GBP"}
    data.update(fields)
    return data


def test_the_owner_records_a_remedy_from_the_case_page(login_as, case, org):
    with_limit(org.sam)
    client = login_as(org.sam)
    response = client.post(f"/staff/cases/{case.reference}/redress",
                           data=redress_form(**{"redress-amount": "£30"}))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/cases/{case.reference}#redress"
    [given] = db.session.scalars(select(Redress)).all()
    assert given.amount_minor == 30_00 and given.state == RedressState.GIVEN
    page = text_of(client.get(f"/staff/cases/{case.reference}"))
    assert f"Recorded: Goodwill gesture of £30.00: {VOUCHER}" in page

    response = client.post(f"/staff/cases/{case.reference}/redress", data=redress_form())
    assert response.status_code == 302
    page = text_of(client.get(f"/staff/cases/{case.reference}"))
    assert "It is above your limit of £50.00, so a manager must approve it" in page
    assert "A manager must approve the goodwill gesture of £80.00 before this case" in page


@pytest.mark.parametrize("fields, field_id, message", [
    ({"redress-kind": "apology", "redress-amount": "12.50"}, "redress-amount",
     "Apology is given in kind or in words, so it has no amount"),
    ({"redress-amount": "12.5.0"}, "redress-amount", "Enter the amount as a number"),
    ({"redress-amount": ""}, "redress-amount", "Enter the amount of the goodwill gesture"),
])
def test_bad_input_shows_the_message_and_keeps_what_was_typed(login_as, case, org, fields,
                                                              field_id, message):
    response = login_as(org.sam).post(f"/staff/cases/{case.reference}/redress",
                                      data=redress_form(**fields))
    assert response.status_code == 422
    html = text_of(response)
    assert message in error_summary(html)
    assert message in error_beside(html, field_id)
    assert input_value(html, "redress-amount") == fields["redress-amount"]
    assert textarea_text(html, "redress-description") == VOUCHER
    assert db.session.scalar(select(func.count(Redress.id))) == 0


def test_a_missing_description_keeps_the_amount(login_as, case, org):
    response = login_as(org.sam).post(f"/staff/cases/{case.reference}/redress",
                                      data=redress_form(**{"redress-description": " "}))
    assert response.status_code == 422
    html = text_of(response)
    assert "Describe the remedy" in error_beside(html, "redress-description")
    assert input_value(html, "redress-amount") == "80.00"


def test_an_agent_who_does_not_own_the_case_cannot_add_or_remove(login_as, case, org):
    given = record(case, org.sam, kind="apology", amount_minor=None, description="Sorry.")
    client = login_as(org.priya)
    assert client.post(f"/staff/cases/{case.reference}/redress",
                       data=redress_form()).status_code == 403
    assert client.post(
        f"/staff/cases/{case.reference}/redress/{given.id}/remove").status_code == 403
    assert db.session.scalars(select(Redress.description)).all() == ["Sorry."]
    # Nor is either form offered to them.
    page = text_of(client.get(f"/staff/cases/{case.reference}"))
    assert "Record this remedy" not in page and "/remove" not in page


def test_the_owner_removes_a_remedy_from_the_case_page(login_as, case, org):
    with_limit(org.sam)
    goodwill = record(case, org.sam)
    client = login_as(org.sam)
    response = client.post(f"/staff/cases/{case.reference}/redress/{goodwill.id}/remove")
    assert response.status_code == 302
    page = text_of(client.get(f"/staff/cases/{case.reference}"))
    assert f"Removed: Goodwill gesture of £80.00: {VOUCHER}." in page
    assert db.session.scalar(select(func.count(Redress.id))) == 0
    assert db.session.scalars(select(Escalation.status)).all() == [EscalationStatus.WITHDRAWN]


def test_the_resolve_form_says_why_it_cannot_resolve_yet(login_as, case, org):
    with_limit(org.sam)
    record(case, org.sam)
    db.session.refresh(case)
    newest = max(event.id for event in case.events)
    response = login_as(org.sam).post(f"/staff/cases/{case.reference}/resolve", data={
        "version": str(case.version), "seen_event_id": str(newest),
        "resolution": "Refunded in full.", **factories.resolve_form_fields()})
    assert response.status_code == 422
    html = text_of(response)
    assert "A manager must approve the goodwill gesture of £80.00" in html
    assert textarea_text(html, "resolution") == "Refunded in full."
    db.session.expire_all()
    assert case.is_open


def test_agents_cannot_set_redress_limits(login_as, org):
    for person in (org.sam, org.manager):
        response = login_as(person).post(f"/staff/admin/staff/{org.sam.id}/redress-limit",
                                         data={"limit-redress_limit": "5000"})
        assert response.status_code == 403
    db.session.expire_all()
    assert org.sam.redress_limit_minor == 0


def test_the_customer_reads_the_remedies_given_and_nothing_internal(login_as, case, org,
                                                                    customer):
    with_limit(org.sam)
    record(case, org.sam, kind="refund", amount_minor=30_00, description=REFUND)
    refused = record(case, org.sam)
    portal = login_as(customer)
    waiting_page = text_of(portal.get(f"/cases/{case.reference}"))
    for internal in (*FORBIDDEN_IN_PORTAL, VOUCHER, REFUND, "£80.00", "£30.00"):
        assert internal not in waiting_page, internal

    escalation_actions.reject_escalation(refused.escalation, actor=org.manager,
                                         note="Internal: too much.",
                                         expected_version=refused.escalation.version)
    services.commit()
    approved = record(case, org.sam, kind="compensation", amount_minor=25_00,
                      description="For the time lost.")
    approve(approved.escalation, org.manager)
    resolve(case, org.sam)

    html = text_of(login_as(customer).get(f"/cases/{case.reference}"))
    assert f"Refund of £30.00: {REFUND}" in html
    assert "Compensation of £25.00: For the time lost." in html
    for internal in (*FORBIDDEN_IN_PORTAL, VOUCHER, "£80.00", "Internal: too much."):
        assert internal not in html, internal


# --- The decision page ------------------------------------------------------------------------


def decision_url(escalation, action=""):
    return f"/staff/approvals/{escalation.id}" + (f"/{action}" if action else "")


def approve_form(escalation, **fields):
    data = {"approve-version": str(escalation.version), "approve-note": "",
            "approve-new_owner": "0", "approve-handoff_reason": "", "approve-task_title": "",
            "approve-task_team": "0", "approve-task_due_at": "", "approve-task_details": "",
            "approve-new_priority": "", "approve-agreed_resolve_by": ""}
    data.update(fields)
    return data


def test_the_decision_page_shows_the_remedy_once(login_as, case, org):
    with_limit(org.sam)
    goodwill = record(case, org.sam)
    html = text_of(login_as(org.manager).get(decision_url(goodwill.escalation)))

    assert html.count(VOUCHER) == 1
    assert html.count("£80.00") == 1
    assert "Goodwill gesture of £80.00</strong>: " + VOUCHER in html
    assert "Recorded by Sam Taylor, above their limit of £50.00 a case" in html
    # Approving money is internal: the page does not promise to tell the customer.
    assert "Approve and tell the customer" not in html
    assert "Approving money is internal" in html
    assert "the customer is told that the case is escalated" not in html


def test_approving_money_on_the_page_says_the_customer_is_not_told(login_as, case, org):
    with_limit(org.sam)
    goodwill = record(case, org.sam)
    client = login_as(org.manager)
    response = client.post(decision_url(goodwill.escalation, "approve"),
                           data=approve_form(goodwill.escalation))
    assert response.status_code == 302
    page = text_of(client.get("/staff/approvals"))
    assert "Approved: Sam Taylor has been told. Approving money is internal" in page
    assert customer_emails(case, "case_escalated") == []
    db.session.expire_all()
    assert db.session.get(Redress, goodwill.id).state == RedressState.APPROVED


def test_the_manager_who_recorded_the_remedy_is_not_offered_the_decision(login_as, case, org):
    escalation, goodwill = manager_joins_sams_request(org, case)
    client = login_as(org.manager)

    html = text_of(client.get(decision_url(escalation)))
    assert "You asked for a remedy in this request: another manager must decide it." in html
    assert f'action="/staff/approvals/{escalation.id}/approve"' not in html
    assert f'action="/staff/approvals/{escalation.id}/reject"' not in html
    assert case.reference not in text_of(client.get("/staff/approvals"))
    assert "Decide this escalation" not in text_of(client.get(f"/staff/cases/{case.reference}"))
    assert client.post(decision_url(escalation, "approve"),
                       data=approve_form(escalation)).status_code == 403
    assert client.post(decision_url(escalation, "reject"), data={
        "reject-version": str(escalation.version), "reject-note": "No."}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Escalation, escalation.id).status == EscalationStatus.PENDING

    # Another manager decides it as usual.
    head = text_of(login_as(org.head).get(decision_url(escalation)))
    assert f'action="/staff/approvals/{escalation.id}/approve"' in head
    assert "Recorded by Morgan Lee, above their limit of £0.00 a case" in head
