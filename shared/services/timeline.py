"""Writing to a case's timeline: every service action records what it did here."""

from shared.extensions import db
from shared.models import Case, EventKind, TimelineEvent, User, Visibility


def record_event(
    case: Case,
    kind: EventKind,
    *,
    actor: User | None,
    visibility: Visibility = Visibility.PUBLIC,
    body: str = "",
    data: dict | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        case=case,
        kind=kind,
        visibility=visibility,
        actor=actor,
        body=body,
        data=data or {},
    )
    db.session.add(event)
    return event
