"""What pages read: each loads what the page shows in a bounded number of queries."""

from functools import cache

from flask import abort
from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy import case as sa_case
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from shared.extensions import db
from shared.models import (
    OPEN_STATUSES,
    OPEN_TASK_STATUSES,
    STAFF_ROLES,
    Attachment,
    Calendar,
    Case,
    Category,
    Commitment,
    CommitmentState,
    Escalation,
    OutgoingEmail,
    RootCause,
    SavedReply,
    ServiceLevel,
    Task,
    TimelineEvent,
    User,
    Visibility,
    utcnow,
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
        _CUSTOMER_CASE, {"reference": reference.upper(), "customer_id": customer_id}
    ).first()
    if case is None:
        abort(404)
    return case


# The statements run on every view of a case page are built once, their values bound on each
# call: building a statement and working out its cache key costs more than running it.
_CUSTOMER_CASE = (
    select(Case)
    .where(Case.reference == bindparam("reference"), Case.customer_id == bindparam("customer_id"))
    .options(*_CASE_DISPLAY)
)


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
    return db.session.scalars(_PUBLIC_TIMELINE, {"case_id": case_id}).all()


_PUBLIC_TIMELINE = (
    select(TimelineEvent)
    .where(
        TimelineEvent.case_id == bindparam("case_id"),
        TimelineEvent.visibility == Visibility.PUBLIC,
    )
    .options(joinedload(TimelineEvent.actor), selectinload(TimelineEvent.attachments))
    .order_by(TimelineEvent.id)
)


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
    case = db.session.scalars(_STAFF_CASE, {"reference": reference.upper()}).first()
    if case is None:
        abort(404)
    return load_case_collections(case, "tasks", "commitments", "resolution_options")


_STAFF_CASE = (
    select(Case)
    .where(Case.reference == bindparam("reference"))
    .options(
        *_CASE_DISPLAY, joinedload(Case.customer), joinedload(Case.team),
        # What was learned at resolve, shown in the header: joined, so no statement more.
        joinedload(Case.root_cause).joinedload(RootCause.area), joinedload(Case.product),
    )
)


def load_case_collections(case: Case, *collections: str) -> Case:
    """Load these collections of one case now, each by its own simple statement, handed to the
    case as loaded. For one case that costs less than selectinload's "IN (...)", made for many
    parents, than immediateload, which carries every loader option of the case query into each
    statement, and than lazy loads from a template, built afresh each time."""
    for key in collections:
        rows = db.session.scalars(_collection_statement(key), {"case_id": case.id}).all()
        set_committed_value(case, key, rows)
    return case


# What each collection's items show besides themselves.
_COLLECTION_OPTIONS = {
    "tasks": (joinedload(Task.assignee), joinedload(Task.team)),
    "escalations": (joinedload(Escalation.decided_by),),
}


@cache
def _collection_statement(key: str) -> Select:
    """One collection of a case, in the collection's own order. Built on first use, once the
    mappers know each relationship's order."""
    collection = getattr(Case, key).property
    item = collection.mapper.class_
    return (
        select(item)
        .where(item.case_id == bindparam("case_id"))
        .options(*_COLLECTION_OPTIONS.get(key, ()))
        .order_by(*collection.order_by)
    )


def staff_timeline(case_id: int) -> list[TimelineEvent]:
    """Every event of a case, internal ones included: for staff only.

    One statement: most events have no file, so joining the files repeats few rows and
    keeps the staff case page within its query budget."""
    return db.session.scalars(_STAFF_TIMELINE, {"case_id": case_id}).unique().all()


_STAFF_TIMELINE = (
    select(TimelineEvent)
    .where(TimelineEvent.case_id == bindparam("case_id"))
    .options(joinedload(TimelineEvent.actor), joinedload(TimelineEvent.attachments))
    .order_by(TimelineEvent.id)
)


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


# --- Coordination: tasks, promises, saved replies, merged cases --------------------------------


def overdue_commitments_for_owner(owner_id: int, now=None, limit: int = 50) -> list[Commitment]:
    """Open promises past their time, on cases this person owns: the most overdue first."""
    now = now or utcnow()
    return db.session.scalars(
        select(Commitment)
        .join(Case, Commitment.case_id == Case.id)
        .where(
            Case.owner_id == owner_id,
            Commitment.state == CommitmentState.OPEN,
            Commitment.due_at < now,
        )
        .options(
            contains_eager(Commitment.case)
            .joinedload(Case.category)
            .joinedload(Category.service_level)
            .joinedload(ServiceLevel.calendar)
        )
        .order_by(Commitment.due_at, Commitment.id)
        .limit(limit)
    ).all()


def tasks_for_staff(user: User, limit: int = 200) -> list[Task]:
    """Tasks given to this person or to their team: open ones first, then by due time."""
    given_to_them = Task.assignee_id == user.id
    if user.team_id is not None:
        given_to_them = or_(given_to_them, Task.team_id == user.team_id)
    still_open = sa_case((Task.status.in_(OPEN_TASK_STATUSES), 0), else_=1)
    return db.session.scalars(
        select(Task)
        .where(given_to_them)
        .options(
            joinedload(Task.assignee),
            joinedload(Task.team),
            joinedload(Task.case).options(*_CASE_DISPLAY),
        )
        .order_by(still_open, Task.due_at, Task.id)
        .limit(limit)
    ).all()


def task_of_case_or_404(case: Case, task_id: int) -> Task:
    task = next((t for t in case.tasks if t.id == task_id), None)
    if task is None:
        abort(404)
    return task


def assignable_staff() -> list[User]:
    """Active staff with their teams, for choosing who does a task (one query)."""
    return db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.role.in_(STAFF_ROLES))
        .options(joinedload(User.team))
        .order_by(User.name)
    ).all()


def saved_replies() -> list[SavedReply]:
    return db.session.scalars(select(SavedReply).order_by(SavedReply.title)).all()


def saved_reply_or_404(reply_id: int) -> SavedReply:
    return db.get_or_404(SavedReply, reply_id)


def case_by_reference(reference: str) -> Case | None:
    return db.session.scalars(
        select(Case).where(Case.reference == reference.strip().upper())
    ).first()


# A merge never targets a merged case, but a survivor may itself be merged later.
_MAX_MERGE_HOPS = 10


def surviving_case_for_customer(case: Case, customer_id: int) -> Case | None:
    """Where a merged case's reference leads: the case that carries on, if it is this
    customer's too; None when the case is not merged or the survivor is someone else's."""
    current = case
    for _ in range(_MAX_MERGE_HOPS):
        if current.merged_into_id is None:
            break
        current = db.session.get(Case, current.merged_into_id)
    if current is case or current is None or current.customer_id != customer_id:
        return None
    return current
