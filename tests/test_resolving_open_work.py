"""Resolving asks what happens to each promise and task still open, and a resolved case never
shows the customer a promise as on track."""

import re

import pytest

from shared import services
from shared.extensions import db
from shared.models import Case, CaseStatus, CommitmentState, EventKind, TaskStatus
from shared.services import RuleViolation, commitments, tasks
from shared.services import cases as case_actions
from shared.services.cases import Settlement
from tests import factories
from tests.support.html import error_summary, field_block, hidden_value, text_of, textarea_text
from tests.support.pages import page_url, signed_in_client
from tests.support.timeline import events_of

RESOLUTION = "We refunded the parcel in full."


@pytest.fixture
def promise(case, org):
    made = commitments.make_commitment(case, actor=org.sam, description="Call you on Tuesday",
                                       due_at=factories.in_hours(72))
    services.commit()
    return made


@pytest.fixture
def task(case, org):
    given = tasks.create_task(case, actor=org.sam, title="Collect the parcel",
                              due_at=factories.in_hours(72), team=org.care)
    services.commit()
    return given


def resolve_fields(page, case, **fields):
    action = page_url(case, "resolve")
    return {"version": hidden_value(page, "version", action),
            "seen_event_id": hidden_value(page, "seen_event_id", action),
            "resolution": RESOLUTION, **factories.resolve_form_fields(), **fields}


# --- The service ------------------------------------------------------------------------------


def test_resolving_is_refused_while_a_promise_has_no_answer(org, case, promise):
    with pytest.raises(RuleViolation) as refused:
        case_actions.resolve_case(case, actor=org.sam, resolution=RESOLUTION,
                                  **factories.cause_and_outcome())
    assert refused.value.field == f"promise_{promise.id}"
    assert "Call you on Tuesday" in refused.value.message


def test_resolving_is_refused_while_a_task_has_no_answer(org, case, task):
    with pytest.raises(RuleViolation) as refused:
        case_actions.resolve_case(case, actor=org.sam, resolution=RESOLUTION,
                                  **factories.cause_and_outcome())
    assert refused.value.field == f"task_{task.id}"


def test_a_promise_no_longer_needed_says_why(org, case, promise):
    with pytest.raises(RuleViolation) as refused:
        case_actions.resolve_case(case, actor=org.sam, resolution=RESOLUTION,
                                  promises={promise.id: Settlement("cancelled")},
                                  **factories.cause_and_outcome())
    assert refused.value.field == f"promise_{promise.id}_note"


def test_resolving_settles_each_open_promise_and_task(org, case, promise, task):
    case_actions.resolve_case(
        case, actor=org.sam, resolution=RESOLUTION,
        promises={promise.id: Settlement("cancelled", "Refunded before Tuesday.")},
        tasks={task.id: Settlement("cancelled", "Not needed: refunded.")},
        **factories.cause_and_outcome(),
    )
    services.commit()

    db.session.expire_all()
    assert db.session.get(Case, case.id).status == CaseStatus.RESOLVED
    assert promise.state == CommitmentState.CANCELLED
    assert promise.settled_note == "Refunded before Tuesday."
    assert task.status == TaskStatus.CANCELLED and task.outcome == "Not needed: refunded."
    [cancelled] = events_of(case, EventKind.COMMITMENT_CANCELLED)
    assert not cancelled.is_internal


# --- The form ---------------------------------------------------------------------------------


def test_the_resolve_form_asks_about_each_open_promise_and_task(app, org, case, promise, task):
    page = text_of(signed_in_client(app, org.sam).get(page_url(case)))
    assert "Still open: 1 promise and 1 task" in page
    assert "The promise “Call you on Tuesday”" in page
    assert "The task “Collect the parcel”" in page
    for value in ("kept", "broken", "cancelled"):
        assert re.search(rf'name="promise_{promise.id}"[^>]*value="{value}"', page)


def test_resolving_without_answers_keeps_the_text_and_names_each_question(
        app, org, case, promise, task):
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)

    response = sam.post(page_url(case, "resolve"), data=resolve_fields(
        page, case, **{f"task_{task.id}": "done"}))

    assert response.status_code == 422
    html = text_of(response)
    summary = error_summary(html)
    assert "Say what happens to the promise “Call you on Tuesday”" in summary
    assert "Say what was done" in field_block(html, f"task_{task.id}_note")
    assert textarea_text(html, "resolution") == RESOLUTION
    db.session.expire_all()
    assert db.session.get(Case, case.id).is_open


def test_resolving_with_answers_settles_them(app, org, case, promise, task):
    sam = signed_in_client(app, org.sam)
    page = sam.get(page_url(case)).get_data(as_text=True)

    response = sam.post(page_url(case, "resolve"), data=resolve_fields(page, case, **{
        f"promise_{promise.id}": "kept", f"promise_{promise.id}_note": "Called on Monday.",
        f"task_{task.id}": "done", f"task_{task.id}_note": "Collected.",
    }))

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == CaseStatus.RESOLVED
    assert promise.state == CommitmentState.KEPT and task.status == TaskStatus.DONE


# --- The portal -------------------------------------------------------------------------------


def test_a_resolved_case_never_shows_a_promise_as_on_track(app, org, case, promise):
    # A case resolved before promises were asked about (or by an older version) keeps one open.
    case.status = CaseStatus.RESOLVED
    services.commit()

    page = text_of(signed_in_client(app, case.customer).get(f"/cases/{case.reference}"))

    assert "Call you on Tuesday" in page
    assert "On track" not in page
