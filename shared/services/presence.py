"""Someone else is here: which staff have a case open right now, and who is writing.

Each open case page reports in every few seconds; a report older than PRESENT_FOR means
the person has gone. Writing is reported by the composer as the person types; a plain
report does not clear it straight away, so a short pause in typing does not make the
"is writing a reply" notice flicker.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from shared.extensions import db
from shared.models import Case, CaseViewer, User, utcnow

PRESENT_FOR = timedelta(seconds=30)
# How long "is writing" lasts after the last keystroke report, unless renewed.
WRITING_FOR = timedelta(seconds=15)

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class Presence:
    name: str
    composing: bool

    @property
    def words(self) -> str:
        return f"{self.name} is writing a reply" if self.composing else f"{self.name} is viewing"


def report_presence(case: Case, user: User, *, composing: bool | None) -> None:
    """Record that `user` has the case open; `composing` None means "no news on writing"."""
    now = utcnow()
    insert = _INSERTS[db.session.get_bind().dialect.name]
    table = CaseViewer.__table__
    values = {"case_id": case.id, "user_id": user.id, "last_seen_at": now}
    statement = insert(table).values(**values, composing=bool(composing))
    if composing is None:
        # Keep a recent "writing" as it is; clear a stale one and note the visit.
        recent_writing = table.c.composing & (table.c.last_seen_at > now - WRITING_FOR)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.case_id, table.c.user_id],
            set_={"last_seen_at": now, "composing": False},
            where=~recent_writing,
        )
    else:
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.case_id, table.c.user_id],
            set_={"last_seen_at": now, "composing": bool(composing)},
        )
    # One statement either way: two tabs reporting at once cannot both insert.
    db.session.execute(statement)


def others_present(case: Case, user: User, now: datetime | None = None) -> list[Presence]:
    """Other staff seen on this case lately, writers first."""
    now = now or utcnow()
    viewers = db.session.scalars(
        select(CaseViewer)
        .where(
            CaseViewer.case_id == case.id,
            CaseViewer.user_id != user.id,
            CaseViewer.last_seen_at > now - PRESENT_FOR,
        )
        .options(joinedload(CaseViewer.user))
    ).all()
    present = [Presence(viewer.user.name, viewer.composing) for viewer in viewers]
    return sorted(present, key=lambda p: (not p.composing, p.name))
