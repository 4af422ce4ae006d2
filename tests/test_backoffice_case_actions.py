"""Changing a case from the staff case page: updates and notes, status, priority, resolving,
handing over, who may do which, and two staff saving the same case at once."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from shared import services
from shared.extensions import db
from shared.models import (
    Case,
    CaseStatus,
    EventKind,
    OutgoingEmail,
    Priority,
    TimelineEvent,
    Visibility,
)
from shared.services import cases as case_actions
from shared.services import messages
from tests import factories
from tests.support.html import field_block, hidden_value, text_of, textarea_text
from tests.support.pages import page_url, signed_in_client
from tests.support.timeline import events_of

MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
UPDATE_TEXT = "We have asked the courier for their photos and will call you on Tuesday."
NOTE_TEXT = "INTERNAL: courier has a history of crushed parcels; do not mention to customer."
REASON = "Sam is on leave for two weeks from Monday."


@pytest.fixture
def owner(client, login_as, case):
    """Sam, who owns `case`, signed in on `client`; Priya is a colleague who does not."""
    return login_as(case.owner)


def form_fields(case, **fields):
    """What the page's forms carry: the case version and the newest event seen."""
    db.session.refresh(case)
    newest = db.session.scalars(
        select(TimelineEvent.id).where(TimelineEvent.case_id == case.id)
        .order_by(TimelineEvent.id.desc())
    ).first()
    return {"version": str(case.version), "seen_event_id": str(newest), **fields}



def emails(kind=None):
    query = select(OutgoingEmail).order_by(OutgoingEmail.id)
    if kind:
        query = query.where(OutgoingEmail.kind == kind)
    return db.session.scalars(query).all()


POSTS = ["messages", "acknowledge", "status", "priority", "resolve", "owner", "presence"]
COORDINATION_POSTS = {
    "acknowledge": {},
    "status": {"status": "in_progress"},
    "priority": {"priority": "high", "priority_reason": "Vulnerable customer"},
    "resolve": {"resolution": "Refunded."},
    "owner": {"new_owner": "0", "transfer_reason": REASON},
    "messages": {"kind": "update", "body": UPDATE_TEXT},
}


# --- Who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize("action", POSTS)
def test_signed_out_posts_go_to_the_staff_sign_in(client, case, action):
    response = client.post(page_url(case, action), data={"body": "x"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize("action", POSTS)
def test_customers_cannot_post_to_the_back_office(client, login_as, case, action):
    login_as(case.customer)
    response = client.post(page_url(case, action), data={"body": "x", "kind": "note"})
    assert response.status_code == 403
    assert events_of(case, EventKind.NOTE) == []


@pytest.mark.parametrize("action", sorted(COORDINATION_POSTS))
def test_a_colleague_who_does_not_own_the_case_cannot_coordinate_it(
    client, login_as, org, case, action
):
    login_as(org.priya)
    before = len(case.events)
    response = client.post(
        page_url(case, action), data=form_fields(case, **COORDINATION_POSTS[action])
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert len(case.events) == before
    assert emails("case_update") == []


def test_a_colleague_who_does_not_own_the_case_can_add_a_note(client, login_as, org, case):
    login_as(org.priya)
    response = client.post(page_url(case, "messages"),
                           data=form_fields(case, kind="note", body=NOTE_TEXT))
    assert response.status_code == 302
    [note] = events_of(case, EventKind.NOTE)
    assert note.body == NOTE_TEXT and note.actor == org.priya
    assert note.visibility == Visibility.INTERNAL


def test_a_manager_covering_for_the_owner_can_write_to_the_customer(client, login_as, org, case):
    login_as(org.manager)
    response = client.post(page_url(case, "messages"),
                           data=form_fields(case, kind="update", body=UPDATE_TEXT))
    assert response.status_code == 302
    [update_event] = events_of(case, EventKind.UPDATE)
    assert update_event.actor == org.manager


# --- Updates to the customer -----------------------------------------------------------------


@pytest.fixture
def monday_morning(frozen_now):
    """The clock stopped at 10:00 on Monday 23 November 2026, UK time (GMT, so UTC too).
    Request it before `case` so that the case is raised then."""
    return frozen_now(MONDAY_10AM)


def test_an_update_is_emailed_and_restarts_the_update_clock(
    monday_morning, client, owner, org, case
):
    response = owner.post(page_url(case, "messages"),
                          data=form_fields(case, kind="update", body=UPDATE_TEXT))

    [update_event] = events_of(case, EventKind.UPDATE)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{page_url(case)}#event-{update_event.id}")
    assert update_event.visibility == Visibility.PUBLIC
    db.session.refresh(case)
    # The first word to the customer acknowledges the case and is its first response; being
    # work on the case as well, it puts the case in progress.
    assert case.status == CaseStatus.IN_PROGRESS and case.acknowledged_at is not None
    assert case.first_responded_at == MONDAY_10AM
    # Every two working days (normal priority), 09:00 to 17:00: Wednesday at 10:00.
    assert case.next_update_due_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

    [mail] = emails("case_update")
    assert mail.recipient == "alex@example.com"
    assert UPDATE_TEXT in mail.text_body and UPDATE_TEXT in mail.html_body
    assert "Sam Taylor is looking after your complaint" in mail.text_body
    assert "We will update you again by" in mail.text_body
    assert "http://localhost/sign-in/" in mail.text_body
    assert "Update sent to Alex Carter." in text_of(client.get(page_url(case)))


def test_a_later_update_moves_the_next_update_but_not_the_first_response(
    monday_morning, frozen_now, owner, case
):
    owner.post(page_url(case, "messages"), data=form_fields(case, kind="update", body="First."))
    frozen_now(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))  # Thursday

    owner.post(page_url(case, "messages"), data=form_fields(case, kind="update", body="Second."))
    db.session.refresh(case)

    assert case.first_responded_at == MONDAY_10AM
    # Two working days from Thursday 10:00, over the weekend: Monday 30 November at 10:00.
    assert case.next_update_due_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert len(emails("case_update")) == 2


def test_the_customer_reads_the_update_in_the_portal(client, owner, org, case):
    owner.post(page_url(case, "messages"), data=form_fields(case, kind="update", body=UPDATE_TEXT))
    portal = signed_in_client(client.application, case.customer)
    assert UPDATE_TEXT in text_of(portal.get(f"/cases/{case.reference}"))


def test_an_update_with_files_emails_their_names(owner, case):
    response = owner.post(
        page_url(case, "messages"),
        data=form_fields(case, kind="update", body=UPDATE_TEXT,
                         attachments=[factories.upload("label.png")]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    [update_event] = events_of(case, EventKind.UPDATE)
    assert [a.original_name for a in update_event.attachments] == ["label.png"]
    assert "label.png" in emails("case_update")[0].text_body


def test_an_empty_message_is_refused_beside_the_field_with_the_choice_kept(owner, case):
    response = owner.post(page_url(case, "messages"), data=form_fields(case, kind="note", body=" "))
    assert response.status_code == 422
    html = text_of(response)
    assert "Write your message first" in field_block(html, "composer-body")
    assert re.search(r'<input checked id="kind-1" name="kind"[^>]*value="note">', html)
    assert events_of(case, EventKind.NOTE) == []


def test_a_refused_file_keeps_everything_typed(owner, case):
    response = owner.post(
        page_url(case, "messages"),
        data=form_fields(case, kind="update", body=UPDATE_TEXT,
                         attachments=[factories.upload("virus.exe", b"MZ", "application/x-msdos")]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = text_of(response)
    assert "is not a file type we accept" in field_block(html, "composer-attachments")
    assert textarea_text(html, "composer-body") == UPDATE_TEXT
    assert "Please attach again: virus.exe" in html
    assert events_of(case, EventKind.UPDATE) == [] and emails("case_update") == []


def test_the_two_buttons_say_what_they_do_and_the_one_pressed_decides(owner, case):
    # The radio says "update" but the note button was pressed: a note, never an email.
    data = form_fields(case, body=NOTE_TEXT)
    data["kind"] = ["update", "note"]
    response = owner.post(page_url(case, "messages"), data=data)
    assert response.status_code == 302
    assert len(events_of(case, EventKind.NOTE)) == 1
    assert events_of(case, EventKind.UPDATE) == [] and emails("case_update") == []


# --- Internal notes never reach the customer -------------------------------------------------


def test_an_internal_note_never_reaches_the_customer_by_page_or_email(
    client, login_as, org, case
):
    staff = signed_in_client(client.application, org.priya)
    staff.post(page_url(case, "messages"), data=form_fields(case, kind="note", body=NOTE_TEXT,
                                                            attachments=[factories.upload("x.png")]),
               content_type="multipart/form-data")
    sam = signed_in_client(client.application, org.sam)
    # Everything else that emails the customer, after the note was written.
    sam.post(page_url(case, "messages"), data=form_fields(case, kind="update", body="Hello"))
    sam.post(page_url(case, "priority"),
             data=form_fields(case, priority="urgent", priority_reason="Vulnerable"))
    sam.post(page_url(case, "owner"), data=form_fields(
        case, new_owner=str(org.priya.id), transfer_reason=REASON))
    signed_in_client(client.application, org.priya).post(
        page_url(case, "resolve"), data=form_fields(case, resolution="Refunded in full.",
                                                   **factories.resolve_form_fields()))
    kinds = {mail.kind for mail in emails()}
    assert {"case_received", "case_update", "dates_changed", "owner_changed",
            "case_resolved"} <= kinds

    note = events_of(case, EventKind.NOTE)[0]
    assert note.body == NOTE_TEXT
    for mail in emails():
        assert NOTE_TEXT not in mail.text_body and NOTE_TEXT not in mail.html_body
        assert "x.png" not in mail.text_body
    customer = signed_in_client(client.application, case.customer)
    portal_page = text_of(customer.get(f"/cases/{case.reference}"))
    portal_timeline = text_of(customer.get(
        f"/cases/{case.reference}", headers={"HX-Request": "true", "HX-Target": "timeline"}))
    for html in (portal_page, portal_timeline):
        assert "Hello" in html  # the update is there …
        assert NOTE_TEXT not in html and "x.png" not in html  # … the note is not
        assert REASON not in html
    file_id = note.attachments[0].id
    assert customer.get(f"/cases/{case.reference}/files/{file_id}").status_code == 404


# --- Status, acknowledgement, priority, resolution -------------------------------------------


def test_acknowledging_is_recorded_for_the_customer_to_see(owner, case):
    response = owner.post(page_url(case, "acknowledge"), data=form_fields(case))
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.ACKNOWLEDGED and case.acknowledged_at is not None
    [acknowledged] = events_of(case, EventKind.ACKNOWLEDGED)
    assert acknowledged.visibility == Visibility.PUBLIC


def test_the_status_moves_only_along_the_allowed_transitions(owner, case):
    refused = owner.post(page_url(case, "status"), data=form_fields(case, status="closed"))
    assert refused.status_code == 422
    assert "Not a valid choice" in field_block(text_of(refused), "status-choice")

    moved = owner.post(page_url(case, "status"), data=form_fields(case, status="in_progress"))
    assert moved.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.IN_PROGRESS
    [changed] = events_of(case, EventKind.STATUS_CHANGED)
    assert changed.data == {"from": "new", "to": "in_progress"}


def test_the_status_form_offers_only_the_next_steps(owner, case):
    html = text_of(owner.get(page_url(case)))
    block = field_block(html, "status-choice")
    assert 'value="in_progress"' in block
    for status in ("new", "closed", "resolved", "acknowledged", "waiting_on_customer"):
        assert f'value="{status}"' not in block


def test_staff_reopening_a_resolved_case_restarts_its_update_clock(owner, org, case):
    case_actions.resolve_case(case, actor=org.sam, resolution="Refunded.",
                              **factories.cause_and_outcome())
    services.commit()
    response = owner.post(page_url(case, "status"), data=form_fields(case, status="in_progress"))
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.resolved_at is None and case.next_update_due_at is not None


def test_a_priority_change_needs_a_reason(owner, case):
    response = owner.post(page_url(case, "priority"),
                          data=form_fields(case, priority="urgent", priority_reason=""))
    assert response.status_code == 422
    assert "Say why the priority changes" in field_block(text_of(response), "priority_reason")
    db.session.refresh(case)
    assert case.priority == Priority.NORMAL


def test_a_priority_that_is_already_set_is_refused(owner, case):
    response = owner.post(page_url(case, "priority"),
                          data=form_fields(case, priority="normal", priority_reason="Why not"))
    assert response.status_code == 422
    assert "It is already Normal" in field_block(text_of(response), "priority-choice")


def test_a_priority_change_recomputes_the_dates_and_emails_them(owner, case):
    before = case.resolve_due_at
    response = owner.post(page_url(case, "priority"), data=form_fields(
        case, priority="urgent", priority_reason="Customer is vulnerable"))

    assert response.status_code == 302
    db.session.refresh(case)
    assert case.priority == Priority.URGENT and case.resolve_due_at < before
    [moved] = events_of(case, EventKind.DUE_DATES_CHANGED)
    assert moved.visibility == Visibility.PUBLIC
    [reason] = events_of(case, EventKind.PRIORITY_CHANGED)
    assert reason.visibility == Visibility.INTERNAL and "vulnerable" in reason.body
    [mail] = emails("dates_changed")
    assert mail.recipient == "alex@example.com"
    assert "changed the dates we gave you" in mail.text_body
    zone = case.category.service_level.calendar
    from shared.clock import describe_due

    assert describe_due(case.resolve_due_at, zone.zone, zone.zone_label) in mail.text_body
    assert "vulnerable" not in mail.text_body  # the reason is for colleagues


def test_resolving_needs_a_description_of_what_was_done(owner, case):
    response = owner.post(page_url(case, "resolve"), data=form_fields(case, resolution=""))
    assert response.status_code == 422
    assert "Describe what was done to put things right" in field_block(
        text_of(response), "resolution")
    assert "Resolve and tell the customer" in text_of(response)


def test_resolving_tells_the_customer(owner, case):
    response = owner.post(page_url(case, "resolve"),
                          data=form_fields(case, resolution="A new vase is on its way.",
                                           **factories.resolve_form_fields()))
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.status == CaseStatus.RESOLVED
    [mail] = emails("case_resolved")
    assert "A new vase is on its way." in mail.text_body


# --- Handing over ------------------------------------------------------------------------------


def test_handing_over_needs_a_reason_and_someone_else(owner, org, case):
    no_reason = owner.post(page_url(case, "owner"),
                           data=form_fields(case, new_owner=str(org.priya.id), transfer_reason=""))
    assert no_reason.status_code == 422
    assert "Say why someone else should look after this case" in field_block(
        text_of(no_reason), "transfer_reason")

    to_self = owner.post(page_url(case, "owner"),
                         data=form_fields(case, new_owner=str(org.sam.id), transfer_reason=REASON))
    assert to_self.status_code == 422
    html = text_of(to_self)
    assert "Not a valid choice" in field_block(html, "new_owner")
    assert textarea_text(html, "transfer_reason") == REASON
    db.session.refresh(case)
    assert case.owner == org.sam and case.handoff_count == 0


def test_someone_away_or_deactivated_cannot_be_given_the_case(owner, org, case):
    org.priya.away = True
    org.jo.active = False
    services.commit()
    html = text_of(owner.get(page_url(case)))
    choices = field_block(html, "new_owner")
    assert "Priya Shah" not in choices and "Jo Evans" not in choices
    assert "Morgan Lee" in choices


def test_handing_over_tells_the_customer_the_new_name_and_counts_the_hand_off(
    client, owner, org, case
):
    response = owner.post(page_url(case, "owner"),
                          data=form_fields(case, new_owner=str(org.priya.id),
                                           transfer_reason=REASON))

    assert response.status_code == 302
    db.session.refresh(case)
    assert case.owner == org.priya and case.handoff_count == 1
    [moved] = events_of(case, EventKind.TRANSFERRED)
    assert moved.visibility == Visibility.PUBLIC
    assert moved.body == "Priya Shah is now looking after your complaint."
    assert REASON not in str(moved.data)
    why = events_of(case, EventKind.NOTE)[-1]
    assert why.visibility == Visibility.INTERNAL and REASON in why.body
    [mail] = emails("owner_changed")
    assert mail.recipient == "alex@example.com"
    assert "Priya Shah is now looking after your complaint" in mail.text_body
    assert REASON not in mail.text_body and REASON not in mail.html_body

    staff_page = text_of(client.get(page_url(case)))
    assert "Hand-offs" in staff_page
    assert re.search(r"Hand-offs</dt>\s*<dd[^>]*>1 ", staff_page)


def test_a_manager_can_hand_over_a_case_they_do_not_own(client, login_as, org, case):
    login_as(org.manager)
    response = client.post(page_url(case, "owner"),
                           data=form_fields(case, new_owner=str(org.priya.id),
                                            transfer_reason=REASON))
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.owner == org.priya


def test_only_the_ownership_service_changes_a_case_owner():
    """"No other path changes the owner": after raise_case builds the case with its first
    owner, the only assignment of an owner in the application is in transfer_owner."""
    # A problem has an owner of its own (shared/services/problems.py), not a case owner.
    assignment = re.compile(r"(?<!problem)\.owner(_id)?\s*=(?!=)")
    root = Path(__file__).resolve().parent.parent
    assignments = []
    for package in ("shared", "portal", "backoffice"):
        for path in sorted((root / package).rglob("*.py")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if assignment.search(line.split("#")[0]):
                    assignments.append((str(path.relative_to(root)), line.strip()))
    assert assignments == [("shared/services/ownership.py", "case.owner = new_owner")]


# --- Two staff saving the same case at once ----------------------------------------------------


def test_the_second_of_two_writers_gets_a_conflict_and_keeps_what_they_typed(app, org, case):
    sam = signed_in_client(app, org.sam)
    morgan = signed_in_client(app, org.manager)
    sams_page = sam.get(page_url(case)).get_data(as_text=True)
    morgans_page = morgan.get(page_url(case)).get_data(as_text=True)
    action = page_url(case, "messages")

    def sent_from(page, body):
        return {"version": hidden_value(page, "version", action),
                "seen_event_id": hidden_value(page, "seen_event_id", action),
                "kind": "update", "body": body}

    first = sam.post(action, data=sent_from(sams_page, "Sam's update to Alex."))
    assert first.status_code == 302
    second = morgan.post(action, data=sent_from(morgans_page, "Morgan's words, kept."))

    assert second.status_code == 409
    html = text_of(second)
    assert "Someone else changed this case while you were writing" in html
    conflict = html[html.index('id="conflict"'): html.index("</div>", html.index('id="conflict"'))]
    assert "Update" in conflict and "by Sam Taylor" in conflict
    assert "Sam's update to Alex." in conflict
    assert textarea_text(html, "composer-body") == "Morgan's words, kept."
    assert re.search(r'<input checked id="kind-0" name="kind"[^>]*value="update">', html)
    # Nothing of Morgan's is saved or sent until she sends it again.
    assert [e.body for e in events_of(case, EventKind.UPDATE)] == ["Sam's update to Alex."]
    assert len(emails("case_update")) == 1

    again = morgan.post(action, data=sent_from(second.get_data(as_text=True),
                                               "Morgan's words, kept."))
    assert again.status_code == 302
    assert [e.body for e in events_of(case, EventKind.UPDATE)] == [
        "Sam's update to Alex.", "Morgan's words, kept."]


def test_a_conflicting_action_form_keeps_its_input_too(app, org, case):
    sam = signed_in_client(app, org.sam)
    stale = form_fields(case)
    sam.post(page_url(case, "acknowledge"), data=stale)
    response = sam.post(page_url(case, "priority"),
                        data={**stale, "priority": "urgent", "priority_reason": "Vulnerable"})
    assert response.status_code == 409
    html = text_of(response)
    assert "Acknowledged" in html[html.index('id="conflict"'):]
    assert textarea_text(html, "priority_reason") == "Vulnerable"
    assert "<details class=\"case-actions__item\" open>" in html
    db.session.refresh(case)
    assert case.priority == Priority.NORMAL


def test_a_save_racing_another_is_caught_by_the_version_column(app, owner, org, case):
    """Between reading the case and writing it, someone else saves: the UPDATE matches no
    row, nothing is kept, and the writer is shown the conflict."""

    def someone_else_saves_first(mapper, connection, target):
        connection.execute(update(Case).where(Case.id == target.id)
                           .values(version=Case.version + 1))

    event.listen(Case, "before_update", someone_else_saves_first)
    try:
        response = owner.post(page_url(case, "messages"),
                              data=form_fields(case, kind="update", body=UPDATE_TEXT))
    finally:
        event.remove(Case, "before_update", someone_else_saves_first)

    assert response.status_code == 409
    assert "Someone else changed this case while you were writing" in text_of(response)
    assert textarea_text(text_of(response), "composer-body") == UPDATE_TEXT
    assert events_of(case, EventKind.UPDATE) == [] and emails("case_update") == []


def test_a_note_alone_does_not_make_a_colleague_s_form_stale(app, org, case):
    sam = signed_in_client(app, org.sam)
    fields = form_fields(case)
    messages.add_internal_note(case, actor=org.priya, body="FYI")
    services.commit()
    response = sam.post(page_url(case, "messages"), data={**fields, "kind": "update", "body": "Hi"})
    assert response.status_code == 302
