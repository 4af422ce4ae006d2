"""Files chosen on a form that was sent back with an error, kept for the retry."""

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class PendingUpload(db.Model):
    """A checked file waiting for its form to be sent again; removed by the sweep after a day.

    `owner_key` is a random key kept in the sender's signed session cookie, so only the browser
    that chose the file can claim it; `form_key` names the form it belongs to ("raise_case", or
    "reply:<reference>"), so a file kept for one form never turns up on another.
    """

    __tablename__ = "pending_uploads"
    __table_args__ = (Index("ix_pending_uploads_owner_form", "owner_key", "form_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    owner_key: Mapped[str] = mapped_column(String(64))
    form_key: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False, index=True)
