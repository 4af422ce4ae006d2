"""Telling staff what needs them: an in-app notification and an email, written together."""

from flask import abort
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from shared.extensions import db
from shared.models import Case, Notification, User, utcnow
from shared.services.errors import RuleViolation
from shared.services.mail import external_url, queue_email

# The notifications that ask for something about a case's escalation: whether to ask for one
# (the sweep's suggestion) and the decision itself. They stop asking once it is settled.
ESCALATION_ASKS = ("escalation_proposed", "escalation_requested")

# What each kind of notification is about, for the email's subject.
NOTIFICATION_SUBJECTS = {
    "case_assigned": "A case is now yours",
    "task_assigned": "A task for you",
    "escalation_requested": "An escalation needs your decision",
    "escalation_decided": "Your escalation was decided",
    "customer_replied": "A customer replied",
    "update_overdue": "A customer is waiting for an update",
    "commitment_overdue": "A promise to a customer is overdue",
    "escalation_proposed": "A case may need escalating",
    "spike_detected": "More complaints than usual",
    "problem_fixed": "A problem is fixed: tell your customer",
}


def notify(
    user: User,
    kind: str,
    text: str,
    *,
    case: Case | None = None,
    email_kind: str = "staff_notification",
    subject: str | None = None,
    **email_context,
) -> Notification | None:
    """Notify one member of staff, in the app and by email; nobody inactive is notified.

    The email is the general "staff_notification" unless the action has a fuller one of its
    own (`email_kind`, with its `subject` and template context): one email either way.
    """
    if user is None or not user.active or not user.is_staff:
        return None
    notification = Notification(user=user, case=case, kind=kind, text=text)
    db.session.add(notification)
    if subject is None:
        subject = NOTIFICATION_SUBJECTS.get(kind, "Amends: something needs you")
        if case is not None:
            subject = f"{subject}: {case.reference}"
    queue_email(
        email_kind,
        user.email,
        subject,
        case=case,
        staff_name=user.first_name,
        text=text,
        case_url=external_url("backoffice.case", reference=case.reference) if case else None,
        notifications_url=external_url("backoffice.notifications"),
        **email_context,
    )
    return notification


# --- Reading and marking read: always scoped to the person they were written for -------------

PAGE_SIZE = 25


def unread_count(user: User) -> int:
    """One indexed count (user_id, read_at): cheap enough for the header of every page."""
    return db.session.scalar(_UNREAD_COUNT, {"user_id": user.id})


# Built once: on every staff page, building it would cost more than running it.
_UNREAD_COUNT = select(func.count(Notification.id)).where(
    Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None)
)


def notifications_page(
    user: User, *, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[Notification], int | None]:
    """Newest first, `size` at a time; keyset on the id so a long history pages as fast as a
    short one. Returns the page and the id to continue before (None on the last page)."""
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .options(joinedload(Notification.case))
        .order_by(Notification.id.desc())
        .limit(size + 1)
    )
    if before is not None:
        query = query.where(Notification.id < before)
    rows = db.session.scalars(query).all()
    page = rows[:size]
    return page, (page[-1].id if len(rows) > size else None)


def notification_of_user_or_404(user: User, notification_id: int) -> Notification:
    """Someone else's notification does not exist, as far as this person can tell."""
    notification = db.session.scalars(
        select(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user.id)
        .options(joinedload(Notification.case))
    ).first()
    if notification is None:
        abort(404)
    return notification


def mark_read(notification: Notification, *, actor: User) -> None:
    if notification.user_id != actor.id:
        raise RuleViolation("This notification is someone else's.")
    if notification.read_at is None:
        notification.read_at = utcnow()


def settle_notifications(case: Case, kinds: tuple[str, ...]) -> int:
    """Something these notifications asked for is done (an escalation decided): they stop
    asking for attention, for everyone they went to, whoever did it. Returns how many."""
    return db.session.execute(
        update(Notification)
        .where(
            Notification.case_id == case.id,
            Notification.kind.in_(kinds),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    ).rowcount


def mark_all_read(actor: User) -> int:
    """Mark every unread notification of this person read; returns how many there were."""
    return db.session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
