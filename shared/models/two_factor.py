"""Two-step sign-in for staff: an authenticator app's secret, and single-use recovery codes."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class StaffTwoFactor(db.Model):
    """One per staff member who has started setting up an authenticator app.

    The row exists from the moment the QR code is first shown, so that reloading the page shows
    the same code; only `confirmed_at` (a correct code typed back) makes the second step count.
    """

    __tablename__ = "staff_two_factor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Base32 TOTP secret. Shown only while setting up; never again after a code confirms it.
    secret: Mapped[str] = mapped_column(String(64))
    confirmed_at = mapped_column(UTCDateTime())
    # The 30-second step of the last code accepted: a code is refused if its step is not
    # later, so a code seen over someone's shoulder cannot be used again.
    last_used_step: Mapped[int | None] = mapped_column()
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class StaffRecoveryCode(db.Model):
    """A one-time code for when the phone is lost; only its hash is kept."""

    __tablename__ = "staff_recovery_codes"
    __table_args__ = (Index("ix_staff_recovery_codes_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at = mapped_column(UTCDateTime())
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
