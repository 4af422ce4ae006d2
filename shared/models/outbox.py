"""Outgoing email, written in the same transaction as the change that causes it."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    KEPT = "kept"  # no mail server configured: kept for the staff mailbox page
    FAILED = "failed"  # given up after the last attempt


class OutgoingEmail(db.Model):
    __tablename__ = "outgoing_emails"
    __table_args__ = (
        CheckConstraint(f"status IN {tuple(s.value for s in EmailStatus)}", name="status_known"),
        Index("ix_outgoing_emails_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EmailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    next_attempt_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # The sending lease: while it runs, one process is sending the message and every other
    # sender (and an admin's Retry) leaves it alone. A lease that ran out belongs to a sender
    # that died mid-send; the message is then free to be tried again.
    claimed_until = mapped_column(UTCDateTime())
    sent_at = mapped_column(UTCDateTime())
    given_up_at = mapped_column(UTCDateTime())

    case = relationship("Case")
