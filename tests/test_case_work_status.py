"""When work moves a case to "in progress", and that both faces show the same state."""

import pytest

from shared import services
from shared.extensions import db
from shared.models import Case, CaseStatus, EscalationLevel, EventKind
from shared.services import cases as case_actions
from shared.services import commitments, escalations, messages, remedies, tasks
from tests import factories
from tests.support.html import hidden_value, text_of
from tests.support.pages import page_url, signed_in_client
from tests.support.timeline import events_of

WORK = {
    "update": lambda case, actor: messages.post_update(case, actor=actor, body="Refund asked."),
    "task": lambda case, actor: tasks.create_task(
        case, actor=actor, title="Check the photos", due_at=factories.in_hours(48),
        team=case.team),
    "promise": lambda case, actor: commitments.make_commitment(
        case, actor=actor, description="Call you", due_at=factories.in_hours(48)),
    "remedies": lambda case, actor: remedies.offer_options(
        case, actor=actor, descriptions=["A refund", "A new parcel"]),
    "escalation": lambda case, actor: escalations.request_escalation(
        case, actor=actor, level=EscalationLevel.TEAM_MANAGER, reason="Over my limit.",
        needs=["goodwill"]),
}


def status_of(case) -> CaseStatus:
    db.session.expire_all()
    return CaseStatus(db.session.get(Case, case.id).status)


@pytest.mark.parametrize("work", sorted(WORK))
def test_work_on_an_acknowledged_case_puts_it_in_progress(org, case, work):
    case_actions.acknowledge_case(case, actor=org.sam)
    services.commit()

    WORK[work](case, org.sam)
    services.commit()

    assert status_of(case) == CaseStatus.IN_PROGRESS
    [moved] = events_of(case, EventKind.STATUS_CHANGED)
    assert moved.body == "Status: Being worked on." and not moved.is_internal


def test_a_first_update_acknowledges_a_new_case_and_starts_the_work(org, case):
    messages.post_update(case, actor=org.sam, body="Sorry: we are on it.")
    services.commit()

    assert status_of(case) == CaseStatus.IN_PROGRESS
    assert len(events_of(case, EventKind.ACKNOWLEDGED)) == 1


@pytest.mark.parametrize("work", ["task", "promise", "escalation"])
def test_internal_work_on_a_new_case_waits_for_the_acknowledgement(org, case, work):
    WORK[work](case, org.sam)
    services.commit()
    assert status_of(case) == CaseStatus.NEW


def test_work_leaves_a_case_waiting_on_the_customer_as_it_is(org, case):
    case_actions.acknowledge_case(case, actor=org.sam)
    case_actions.change_status(case, CaseStatus.WAITING_ON_CUSTOMER, actor=org.sam)
    services.commit()
    WORK["task"](case, org.sam)
    services.commit()
    assert status_of(case) == CaseStatus.WAITING_ON_CUSTOMER


def test_both_faces_show_the_case_in_progress_after_an_update(app, org, case, login_as):
    case_actions.acknowledge_case(case, actor=org.sam)
    services.commit()
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)
    action = page_url(case, "messages")
    sent = sam.post(action, data={"version": hidden_value(page, "version", action),
                                  "seen_event_id": hidden_value(page, "seen_event_id", action),
                                  "kind": "update", "body": "We have asked the courier."})
    assert sent.status_code == 302

    staff_page = text_of(sam.get(page_url(case)))
    customer_page = text_of(login_as(case.customer).get(f"/cases/{case.reference}"))
    assert "Being worked on" in staff_page  # what the staff page says the customer sees
    assert "Being worked on" in customer_page
    assert "Acknowledged</strong>" not in customer_page
