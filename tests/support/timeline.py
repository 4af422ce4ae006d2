"""Reading a case's timeline from the database, oldest first."""

from sqlalchemy import select

from shared.extensions import db
from shared.models import TimelineEvent


def events_of(case, kind) -> list[TimelineEvent]:
    """The case's events of one kind, in the order they were written."""
    return db.session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.case_id == case.id, TimelineEvent.kind == kind)
        .order_by(TimelineEvent.id)
    ).all()
