"""What pages read: each loads what the page shows in a bounded number of queries."""

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from shared.extensions import db
from shared.models import (
    OPEN_STATUSES,
    Attachment,
    Calendar,
    Case,
    Category,
    OutgoingEmail,
    ServiceLevel,
    Task,
    TimelineEvent,
    Visibility,
)

# Everything needed to show a case's owner and time frames in the case's own calendar.
_CASE_DISPLAY = (
    joinedload(Case.owner),
    joinedload(Case.category)
    .joinedload(Category.service_level)
    .joinedload(ServiceLevel.calendar),
)


def active_categories() -> list[Category]:
    return db.session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.position, Category.name)
    ).all()


def published_commitments() -> list[Category]:
    """Categories with the time frames we promise, for the portal's home page."""
    return db.session.scalars(
        select(Category)
        .where(Category.active.is_(True))
        .options(
            selectinload(Category.service_level).selectinload(ServiceLevel.targets),
            selectinload(Category.service_level)
            .selectinload(ServiceLevel.calendar)
            .selectinload(Calendar.hours),
        )
        .order_by(Category.position, Category.name)
    ).all()


def customer_cases(customer_id: int, limit: int = 200) -> list[Case]:
    return db.session.scalars(
        select(Case)
        .where(Case.customer_id == customer_id)
        .options(*_CASE_DISPLAY)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(limit)
    ).all()


def customer_case_or_404(reference: str, customer_id: int) -> Case:
    """A customer's own case; anyone else's is indistinguishable from one that does not exist."""
    case = db.session.scalars(
        select(Case)
        .where(Case.reference == reference.upper(), Case.customer_id == customer_id)
        .options(*_CASE_DISPLAY)
    ).first()
    if case is None:
        abort(404)
    return case


def raised_case_or_404(reference: str) -> Case:
    """A case by reference alone: only for the page right after raising it."""
    case = db.session.scalars(
        select(Case).where(Case.reference == reference.upper()).options(*_CASE_DISPLAY)
    ).first()
    if case is None:
        abort(404)
    return case


def public_timeline(case_id: int) -> list[TimelineEvent]:
    """The events a customer may see. Internal events are filtered here, and only here."""
    return db.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.case_id == case_id, TimelineEvent.visibility == Visibility.PUBLIC)
        .options(joinedload(TimelineEvent.actor), selectinload(TimelineEvent.attachments))
        .order_by(TimelineEvent.id)
    ).all()


def customer_attachment_or_404(case: Case, attachment_id: int) -> Attachment:
    """An attachment on one of the customer's case's public events."""
    attachment = db.session.scalars(
        select(Attachment)
        .join(TimelineEvent, Attachment.event_id == TimelineEvent.id)
        .where(
            Attachment.id == attachment_id,
            Attachment.case_id == case.id,
            TimelineEvent.visibility == Visibility.PUBLIC,
        )
    ).first()
    if attachment is None:
        abort(404)
    return attachment


def staff_case_or_404(reference: str) -> Case:
    """A case for the back office, with everything its page shows loaded up front."""
    case = db.session.scalars(
        select(Case)
        .where(Case.reference == reference.upper())
        .options(
            *_CASE_DISPLAY,
            joinedload(Case.customer),
            joinedload(Case.team),
            selectinload(Case.tasks).joinedload(Task.assignee),
            selectinload(Case.tasks).joinedload(Task.team),
            selectinload(Case.commitments),
            selectinload(Case.resolution_options),
        )
    ).first()
    if case is None:
        abort(404)
    return case


def staff_timeline(case_id: int) -> list[TimelineEvent]:
    """Every event of a case, internal ones included: for staff only."""
    return db.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.case_id == case_id)
        .options(joinedload(TimelineEvent.actor), selectinload(TimelineEvent.attachments))
        .order_by(TimelineEvent.id)
    ).all()


def staff_owned_cases(owner_id: int, limit: int = 100) -> list[Case]:
    return db.session.scalars(
        select(Case)
        .where(Case.owner_id == owner_id, Case.status.in_(OPEN_STATUSES))
        .options(*_CASE_DISPLAY)
        .order_by(Case.next_update_due_at.asc().nulls_last(), Case.id)
        .limit(limit)
    ).all()


def mailbox(limit: int = 100) -> list[OutgoingEmail]:
    return db.session.scalars(
        select(OutgoingEmail).order_by(OutgoingEmail.id.desc()).limit(limit)
    ).all()


def mailbox_message_or_404(email_id: int) -> OutgoingEmail:
    return db.get_or_404(OutgoingEmail, email_id)
