"""Escalations through the back office and the portal: who may do what, what bad input shows,
the approvals queue, conflicts, and what the customer reads."""

import re
from datetime import timedelta

from sqlalchemy import select

from shared import services
from shared.extensions import db
from shared.models import (
    Escalation,
    EscalationLevel,
    EscalationStatus,
    Notification,
    OutgoingEmail,
    Priority,
    Task,
    utcnow,
)
from shared.services import escalations as escalation_actions
from tests import factories
from tests.support.html import error_summary, field_block, text_of, textarea_text

REASON = "Internal: the courier stonewalls us and a goodwill payment exceeds my limit."
NOTE = "Internal note from the manager: Billing refunds today."
HANDOFF = "Internal hand-off reason: needs someone with authority over the courier."


def requested(case, actor, level=EscalationLevel.TEAM_MANAGER):
    escalation = escalation_actions.request_escalation(
        case, actor=actor, level=level, reason=REASON, needs=["people", "goodwill"]
    )
    services.commit()
    return escalation


def local_input(case, hours_from_now: float) -> str:
    """What a datetime-local input sends: the case calendar's wall clock."""
    zone = case.category.service_level.calendar.zone
    return (utcnow() + timedelta(hours=hours_from_now)).astimezone(zone).strftime(
        "%Y-%m-%dT%H:%M"
    )


def request_form(**fields):
    data = {"escalation-level": "1", "escalation-reason": REASON,
            "escalation-needs": ["people", "supplier"], "escalation-needs_details": ""}
    data.update(fields)
    return data


def approve_form(escalation, **fields):
    data = {"approve-version": str(escalation.version), "approve-note": NOTE,
            "approve-new_owner": "0", "approve-handoff_reason": "", "approve-task_title": "",
            "approve-task_team": "0", "approve-task_due_at": "", "approve-task_details": "",
            "approve-new_priority": "", "approve-agreed_resolve_by": ""}
    data.update(fields)
    return data


def reject_form(escalation, note="Try the courier's escalation line first."):
    return {"reject-version": str(escalation.version), "reject-note": note}


def decision_url(escalation, action=""):
    return f"/staff/approvals/{escalation.id}" + (f"/{action}" if action else "")


# --- Who may do what --------------------------------------------------------------------------


def test_signed_out_people_are_sent_to_the_staff_sign_in(client, case, org):
    escalation = requested(case, org.sam)
    for path in (f"/staff/cases/{case.reference}/escalations",
                 f"/staff/cases/{case.reference}/escalations/{escalation.id}/withdraw",
                 decision_url(escalation, "approve"), decision_url(escalation, "reject")):
        assert client.post(path).headers["Location"].startswith("/staff/login"), path
    for path in ("/staff/approvals", decision_url(escalation)):
        assert client.get(path).headers["Location"].startswith("/staff/login"), path


def test_customers_get_403_on_every_escalation_route(login_as, case, org, customer):
    escalation = requested(case, org.sam)
    client = login_as(customer)
    posts = [
        (f"/staff/cases/{case.reference}/escalations", request_form()),
        (f"/staff/cases/{case.reference}/escalations/{escalation.id}/withdraw", {}),
        (decision_url(escalation, "approve"), approve_form(escalation)),
        (decision_url(escalation, "reject"), reject_form(escalation)),
    ]
    for path, data in posts:
        assert client.post(path, data=data).status_code == 403, path
    for path in ("/staff/approvals", decision_url(escalation)):
        assert client.get(path).status_code == 403, path
    assert db.session.get(Escalation, escalation.id).status == EscalationStatus.PENDING


def test_an_agent_cannot_see_approvals_or_decide(login_as, case, org):
    escalation = requested(case, org.manager)  # not the agent's own request
    client = login_as(org.priya)
    assert client.get("/staff/approvals").status_code == 403
    assert client.get(decision_url(escalation)).status_code == 403
    assert client.post(decision_url(escalation, "approve"),
                       data=approve_form(escalation)).status_code == 403
    assert client.post(decision_url(escalation, "reject"),
                       data=reject_form(escalation)).status_code == 403
    # Not even an agent given an approval level by mistake.
    org.priya.approval_level = 2
    services.commit()
    assert client.post(decision_url(escalation, "approve"),
                       data=approve_form(escalation)).status_code == 403
    assert db.session.get(Escalation, escalation.id).status == EscalationStatus.PENDING
    # And nobody offers them an entry that would answer 403.
    assert "Approvals" not in text_of(client.get("/staff/"))


def test_a_team_manager_cannot_decide_a_head_of_service_escalation(login_as, case, org):
    escalation = requested(case, org.sam, level=EscalationLevel.HEAD_OF_SERVICE)
    client = login_as(org.manager)
    assert escalation.id and "Nothing to decide" in text_of(client.get("/staff/approvals"))
    assert client.post(decision_url(escalation, "approve"),
                       data=approve_form(escalation)).status_code == 403
    assert client.post(decision_url(escalation, "reject"),
                       data=reject_form(escalation)).status_code == 403
    page = text_of(client.get(decision_url(escalation)))
    assert "needs a head of service or above to decide it" in page
    assert 'action="/staff/approvals/' not in page


def test_nobody_decides_their_own_request(login_as, case, org):
    escalation = requested(case, org.manager)
    client = login_as(org.manager)
    assert client.post(decision_url(escalation, "approve"),
                       data=approve_form(escalation)).status_code == 403
    assert "You asked for this escalation" in text_of(client.get(decision_url(escalation)))


def test_an_admin_without_an_approval_level_has_no_approvals_entry(login_as, org):
    client = login_as(org.admin)
    assert client.get("/staff/approvals").status_code == 403
    assert 'href="/staff/approvals"' not in text_of(client.get("/staff/"))
    assert 'href="/staff/approvals"' in text_of(login_as(org.manager).get("/staff/"))


def test_a_colleague_who_does_not_coordinate_the_case_cannot_request_or_withdraw(login_as,
                                                                                 case, org):
    client = login_as(org.priya)
    response = client.post(f"/staff/cases/{case.reference}/escalations", data=request_form())
    assert response.status_code == 403
    escalation = requested(case, org.sam)
    response = client.post(
        f"/staff/cases/{case.reference}/escalations/{escalation.id}/withdraw")
    assert response.status_code == 403
    assert db.session.get(Escalation, escalation.id).status == EscalationStatus.PENDING


# --- Asking on the case page ------------------------------------------------------------------


def test_the_owner_requests_from_the_case_page(login_as, case, org):
    client = login_as(org.sam)
    page = text_of(client.get(f"/staff/cases/{case.reference}"))
    assert "Request an escalation" in page and 'id="escalation-reason"' in page

    response = client.post(f"/staff/cases/{case.reference}/escalations", data=request_form())

    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/cases/{case.reference}#escalation"
    [escalation] = db.session.scalars(select(Escalation)).all()
    assert escalation.status == EscalationStatus.PENDING and escalation.needs == ["people",
                                                                                 "supplier"]
    page = text_of(client.get(f"/staff/cases/{case.reference}"))
    assert "Waiting for a decision" in page and REASON in page
    assert "Withdraw the request" in page
    assert 'id="escalation-reason"' not in page  # one open request at a time
    notified = db.session.scalars(
        select(Notification).where(Notification.user_id == org.manager.id)).all()
    assert [n.kind for n in notified] == ["escalation_requested"]


def test_bad_input_shows_the_messages_and_keeps_what_was_typed(login_as, case, org):
    client = login_as(org.sam)
    response = client.post(
        f"/staff/cases/{case.reference}/escalations",
        data=request_form(**{"escalation-needs": [],
                             "escalation-needs_details": "A £150 goodwill payment"}),
    )
    assert response.status_code == 422
    html = text_of(response)
    assert "Choose at least one thing you need" in error_summary(html)
    assert textarea_text(html, "escalation-reason") == REASON
    assert textarea_text(html, "escalation-needs_details") == "A £150 goodwill payment"
    assert db.session.scalars(select(Escalation)).all() == []

    response = client.post(f"/staff/cases/{case.reference}/escalations",
                           data=request_form(**{"escalation-reason": "  "}))
    assert response.status_code == 422
    assert "Say why this case needs escalating" in field_block(text_of(response),
                                                               "escalation-reason")


def test_the_owner_turns_the_sweeps_suggestion_into_a_request_or_dismisses_it(login_as,
                                                                               case, org):
    escalation_actions.propose_escalation(case, reason="Resolve time breached")
    services.commit()
    client = login_as(org.sam)
    page = text_of(client.get(f"/staff/cases/{case.reference}"))
    assert "Suggested" in page and "Dismiss the suggestion" in page

    [proposal] = db.session.scalars(select(Escalation)).all()
    response = client.post(
        f"/staff/cases/{case.reference}/escalations/{proposal.id}/withdraw")
    assert response.status_code == 302
    db.session.expire_all()
    assert proposal.status == EscalationStatus.WITHDRAWN


def test_the_requester_withdraws(login_as, case, org):
    escalation = requested(case, org.sam)
    response = login_as(org.sam).post(
        f"/staff/cases/{case.reference}/escalations/{escalation.id}/withdraw")
    assert response.status_code == 302
    db.session.expire_all()
    assert escalation.status == EscalationStatus.WITHDRAWN


# --- The approvals queue ----------------------------------------------------------------------


def test_the_queue_lists_what_the_viewer_may_decide_oldest_first_with_a_count(login_as, org,
                                                                              customer):
    first = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    second = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    higher = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    own = factories.case_owned_by(org.manager, org.delivery, customer=customer)
    services.commit()
    older = requested(second, org.sam)
    older.created_at = utcnow() - timedelta(days=2)
    services.commit()
    requested(first, org.sam)
    requested(higher, org.sam, level=EscalationLevel.HEAD_OF_SERVICE)
    requested(own, org.manager)

    html = text_of(login_as(org.manager).get("/staff/approvals"))
    assert re.search(r'Approvals <span class="count">2</span>', html)
    references = re.findall(r"Decide (AM-\d+)", html)
    assert references == [second.reference, first.reference]

    html = text_of(login_as(org.head).get("/staff/approvals"))
    assert re.search(r'Approvals <span class="count">4</span>', html)


def test_the_queue_reads_the_same_few_statements_for_few_and_many(app, client, login_as, org,
                                                                  customer, count_queries):
    counts = []
    for more in (2, 10):  # two, then twelve waiting
        for _ in range(more):
            requested(factories.case_owned_by(org.sam, org.delivery, customer=customer), org.sam)
        login_as(org.manager)
        # A context of its own, as in production: nothing cached by an earlier request.
        with app.app_context(), count_queries() as statements:
            response = client.get("/staff/approvals")
        assert response.status_code == 200
        counts.append(len(statements))
    assert db.session.query(Escalation).count() == 12
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10, counts


# --- Deciding ---------------------------------------------------------------------------------


def test_a_manager_approves_with_a_reassignment_a_task_a_priority_and_a_date(login_as, case,
                                                                             org, customer):
    escalation = requested(case, org.sam)
    client = login_as(org.manager)
    page = text_of(client.get(decision_url(escalation)))
    assert REASON in page and "Harper Quinn (manager)" in page

    response = client.post(decision_url(escalation, "approve"), data=approve_form(
        escalation,
        **{"approve-new_owner": str(org.head.id), "approve-handoff_reason": HANDOFF,
           "approve-task_title": "Refund the delivery charge",
           "approve-task_team": str(org.billing.id),
           "approve-task_due_at": local_input(case, 30),
           "approve-new_priority": "high",
           "approve-agreed_resolve_by": local_input(case, 24 * 20)},
    ))

    assert response.status_code == 302, text_of(response)[:2000]
    assert response.headers["Location"] == "/staff/approvals"
    db.session.expire_all()
    assert escalation.status == EscalationStatus.APPROVED
    assert case.owner == org.head and case.handoff_count == 1
    assert case.priority == Priority.HIGH
    assert db.session.scalars(select(Task.title)).all() == ["Refund the delivery charge"]
    customer_kinds = db.session.scalars(
        select(OutgoingEmail.kind).where(OutgoingEmail.recipient == customer.email)
        .order_by(OutgoingEmail.id)).all()
    assert customer_kinds == ["case_received", "case_escalated"]

    # The customer reads that it is escalated and to whom, never the internal words.
    html = text_of(login_as(customer).get(f"/cases/{case.reference}"))
    assert "Your complaint has been escalated" in html
    assert "to a team manager, Morgan Lee. Harper Quinn looks after it" in html
    [email] = db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == "case_escalated")).all()
    for text in (html, email.text_body, email.html_body):
        for internal in (REASON, NOTE, HANDOFF, "Refund the delivery charge"):
            assert internal not in text


def test_a_reassignment_without_a_reason_shows_the_message_and_keeps_the_note(login_as, case,
                                                                              org):
    escalation = requested(case, org.sam)
    response = login_as(org.manager).post(decision_url(escalation, "approve"), data=approve_form(
        escalation, **{"approve-new_owner": str(org.head.id)}))
    assert response.status_code == 422
    html = text_of(response)
    assert "Say why the case moves to someone else" in error_summary(html)
    assert textarea_text(html, "approve-note") == NOTE
    db.session.expire_all()
    assert escalation.status == EscalationStatus.PENDING and case.owner == org.sam


def test_a_task_in_the_past_is_refused_beside_its_field(login_as, case, org):
    escalation = requested(case, org.sam)
    response = login_as(org.manager).post(decision_url(escalation, "approve"), data=approve_form(
        escalation, **{"approve-task_title": "Refund", "approve-task_team": str(org.billing.id),
                       "approve-task_due_at": local_input(case, -3)}))
    assert response.status_code == 422
    html = text_of(response)
    assert "already passed" in field_block(html, "approve-task_due_at")
    assert textarea_text(html, "approve-note") == NOTE
    db.session.expire_all()
    assert escalation.status == EscalationStatus.PENDING


def test_a_rejection_needs_a_note_and_tells_the_requester(login_as, case, org, customer):
    escalation = requested(case, org.sam)
    client = login_as(org.manager)
    response = client.post(decision_url(escalation, "reject"), data=reject_form(escalation, ""))
    assert response.status_code == 422
    assert "Say why" in field_block(text_of(response), "reject-note")

    response = client.post(decision_url(escalation, "reject"), data=reject_form(escalation))
    assert response.status_code == 302
    db.session.expire_all()
    assert escalation.status == EscalationStatus.REJECTED
    [told] = db.session.scalars(
        select(Notification).where(Notification.user_id == org.sam.id,
                                   Notification.kind == "escalation_decided")).all()
    assert "Morgan Lee rejected" in told.text
    # A refusal is internal: the customer's page says nothing of it.
    html = text_of(login_as(customer).get(f"/cases/{case.reference}"))
    assert "escalat" not in html.lower()
    assert "courier's escalation line" not in html


def test_pending_and_suggested_escalations_stay_off_the_portal(login_as, case, org, customer):
    requested(case, org.sam)
    html = text_of(login_as(customer).get(f"/cases/{case.reference}"))
    assert "escalat" not in html.lower() and REASON not in html


def test_the_second_manager_sees_the_first_decision_and_keeps_their_note(login_as, case, org):
    escalation = requested(case, org.sam)
    stale = approve_form(escalation, **{"approve-note": "My own reasoning, typed at length."})
    response = login_as(org.head).post(decision_url(escalation, "reject"),
                                       data=reject_form(escalation, "No budget this month."))
    assert response.status_code == 302

    response = login_as(org.manager).post(decision_url(escalation, "approve"), data=stale)

    assert response.status_code == 409
    html = text_of(response)
    assert "Someone else decided first" in html
    assert "Harper Quinn already rejected this escalation" in html
    assert "No budget this month." in html
    assert textarea_text(html, "kept-note") == "My own reasoning, typed at length."
    db.session.expire_all()
    assert escalation.status == EscalationStatus.REJECTED and escalation.decided_by == org.head


# --- A case that is done, and the count in the navigation ---------------------------------------


def resolve_form(case, resolution="Refunded in full."):
    db.session.refresh(case)
    newest = max(event.id for event in case.events)
    return {"version": str(case.version), "seen_event_id": str(newest),
            "resolution": resolution, **factories.resolve_form_fields()}


def approvals_entry(html: str) -> str:
    """The Approvals link in the header, as HTML."""
    match = re.search(r'<a class="site-nav__link" href="/staff/approvals".*?</a>', html, re.S)
    assert match, "no Approvals entry"
    return match.group(0)


def test_resolving_on_the_case_page_takes_the_request_off_the_approvals_queue(login_as, case,
                                                                              org):
    escalation = requested(case, org.sam)
    client = login_as(org.sam)
    response = client.post(f"/staff/cases/{case.reference}/resolve", data=resolve_form(case))
    assert response.status_code == 302

    case_page = text_of(client.get(f"/staff/cases/{case.reference}"))
    assert "Withdrawn" in case_page and "by Sam Taylor" in case_page
    assert "Withdrawn because the case was resolved: it needs no decision." in case_page
    assert "Escalation request withdrawn: the case was resolved by Sam Taylor" in case_page

    manager = login_as(org.manager)
    queue = text_of(manager.get("/staff/approvals"))
    assert re.search(r'Approvals <span class="count">0</span>', queue)
    assert case.reference not in queue
    # A manager who kept the decision page open reads why there is nothing to decide.
    decision = text_of(manager.get(decision_url(escalation)))
    assert "Approve and tell the customer" not in decision
    assert "Withdrawn by Sam Taylor" in decision
    response = manager.post(decision_url(escalation, "approve"), data=approve_form(escalation))
    assert response.status_code == 409
    assert "Sam Taylor already withdrew this escalation" in text_of(response)
    assert db.session.get(Escalation, escalation.id).status == EscalationStatus.WITHDRAWN


def test_the_approvals_entry_shows_how_many_wait_for_each_decider(login_as, case, org,
                                                                  customer):
    other = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    services.commit()
    requested(case, org.sam)
    requested(other, org.sam, level=EscalationLevel.HEAD_OF_SERVICE)

    manager_entry = approvals_entry(text_of(login_as(org.manager).get("/staff/")))
    assert re.sub(r"<[^>]+>|\s+", " ", manager_entry).split() == ["Approvals", "1", "waiting"]
    head_page = text_of(login_as(org.head).get("/staff/approvals"))
    assert re.sub(r"<[^>]+>|\s+", " ", approvals_entry(head_page)).split() == [
        "Approvals", "2", "waiting"]
    assert 'class="count nav-count">2<span class="visually-hidden"> waiting</span>' in head_page
    # Agents have no entry, and so no count; nor has an admin who decides nothing.
    assert 'href="/staff/approvals"' not in text_of(login_as(org.sam).get("/staff/"))
    assert 'href="/staff/approvals"' not in text_of(login_as(org.admin).get("/staff/"))


def test_with_nothing_waiting_the_entry_shows_no_number(login_as, org):
    entry = approvals_entry(text_of(login_as(org.manager).get("/staff/")))
    assert re.sub(r"<[^>]+>|\s+", " ", entry).split() == ["Approvals"]


def test_the_count_is_one_statement_and_only_for_people_who_decide(app, client, login_as, org,
                                                                   customer, count_queries):
    for _ in range(3):
        requested(factories.case_owned_by(org.sam, org.delivery, customer=customer), org.sam)

    def counts_of_escalations(user):
        login_as(user)
        with app.app_context(), count_queries() as statements:
            assert client.get("/staff/notifications").status_code == 200
        return [s for s in statements if "count(escalations.id)" in s.lower()]

    assert len(counts_of_escalations(org.manager)) == 1
    assert counts_of_escalations(org.sam) == []
    assert counts_of_escalations(org.admin) == []
