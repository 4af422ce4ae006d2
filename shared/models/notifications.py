"""In-app notifications for staff: a count in the header, a list, marked read."""

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    read_at = mapped_column(UTCDateTime())

    user = relationship("User")
    case = relationship("Case")


class SweepMark(db.Model):
    """What the sweep has already done, so that running it twice does nothing twice.

    One row per (case, what, for which due time): a reminder about the update due at 14:00
    is sent once, and a new one only when the due time moves.
    """

    __tablename__ = "sweep_marks"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    due_at = mapped_column(UTCDateTime(), primary_key=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
