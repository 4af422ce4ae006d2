"""Telling staff what needs them: an in-app notification and an email, written together."""

from shared.extensions import db
from shared.models import Case, Notification, User
from shared.services.mail import external_url, queue_email

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
}


def notify(user: User, kind: str, text: str, *, case: Case | None = None) -> Notification | None:
    """Notify one member of staff, in the app and by email; nobody inactive is notified."""
    if user is None or not user.active or not user.is_staff:
        return None
    notification = Notification(user=user, case=case, kind=kind, text=text)
    db.session.add(notification)
    subject = NOTIFICATION_SUBJECTS.get(kind, "Amends: something needs you")
    if case is not None:
        subject = f"{subject}: {case.reference}"
    queue_email(
        "staff_notification",
        user.email,
        subject,
        case=case,
        staff_name=user.first_name,
        text=text,
        case_url=external_url("backoffice.case", reference=case.reference) if case else None,
        notifications_url=external_url("backoffice.notifications"),
    )
    return notification
