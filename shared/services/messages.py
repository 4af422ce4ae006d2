"""What staff write on a case: updates the customer receives, and notes only staff read."""

from werkzeug.datastructures import FileStorage

from shared.clock import describe_due
from shared.models import Case, CaseStatus, EventKind, TimelineEvent, User, Visibility, utcnow
from shared.permissions import can_add_note, can_coordinate
from shared.services import cases as case_actions
from shared.services.attachments import check_uploads, store_attachments
from shared.services.errors import RuleViolation
from shared.services.mail import queue_email
from shared.services.time_frames import next_update_due
from shared.services.timeline import record_event


def post_update(
    case: Case, *, actor: User, body: str, attachments: list[FileStorage] = ()
) -> TimelineEvent:
    """Write to the customer: emailed at once, and it restarts the update clock."""
    attachments = list(attachments)
    if not can_coordinate(actor, case):
        raise RuleViolation(
            f"Only {case.owner.name}, who looks after this case, or a manager can write to the"
            " customer. Add an internal note instead.",
            field="body",
        )
    if not body.strip():
        raise RuleViolation("Write the update before sending it.", field="body")
    if case.status == CaseStatus.CLOSED:
        raise RuleViolation(
            "This case is closed. Reopen it before writing to the customer.", field="body"
        )
    check_uploads(attachments)

    now = utcnow()
    # What the customer was told is part of the case: a colleague's form written before this
    # update is out of date, even when no date moved. Without this, two updates sent at once
    # would both go through, as neither changes the case row.
    case_actions.mark_changed(case)
    if case.status == CaseStatus.NEW:
        # A first personal word to the customer is their acknowledgement.
        case_actions.acknowledge_case(case, actor=actor)
    case_actions.begin_work(case, actor=actor)
    if case.first_responded_at is None:
        case.first_responded_at = now
    if case.is_open:
        case.next_update_due_at = next_update_due(case, now)

    event = record_event(
        case, EventKind.UPDATE, actor=actor, visibility=Visibility.PUBLIC, body=body.strip()
    )
    stored = (
        store_attachments(case, attachments, uploader=actor, event=event) if attachments else []
    )
    calendar = case.category.service_level.calendar
    queue_email(
        "case_update",
        case.customer.email,
        f"An update on your complaint {case.reference}",
        case=case,
        customer_name=case.contact_name,
        author=actor,
        owner=case.owner,
        body=event.body,
        attachment_names=[attachment.original_name for attachment in stored],
        next_update_words=(
            describe_due(case.next_update_due_at, calendar.zone, calendar.zone_label)
            if case.is_open and case.next_update_due_at is not None
            else None
        ),
        sign_in_url=case_actions.sign_in_url_for(case.customer, case),
    )
    return event


def add_internal_note(
    case: Case, *, actor: User, body: str, attachments: list[FileStorage] = ()
) -> TimelineEvent:
    """A note for colleagues: never emailed, never shown in the portal."""
    attachments = list(attachments)
    if not can_add_note(actor, case):
        raise RuleViolation("Only staff can add internal notes.", field="body")
    if not body.strip():
        raise RuleViolation("Write the note before adding it.", field="body")
    check_uploads(attachments)
    event = record_event(
        case, EventKind.NOTE, actor=actor, visibility=Visibility.INTERNAL, body=body.strip()
    )
    if attachments:
        store_attachments(case, attachments, uploader=actor, event=event)
    return event
