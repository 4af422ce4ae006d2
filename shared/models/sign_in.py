"""Sign-in sessions kept on the server, and the sign-in links already followed.

A browser's session cookie names its sign-in session by a random token. Only the token's hash
is stored, so a copy of this table signs nobody in; ending the row ends the session wherever
the cookie has been copied to.
"""

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class Face(StrEnum):
    """The two faces of Amends: each keeps its own sign-in, in a cookie of its own."""

    PORTAL = "portal"
    STAFF = "staff"


class SignInSession(db.Model):
    __tablename__ = "sign_in_sessions"
    __table_args__ = (
        CheckConstraint(f"face IN {tuple(f.value for f in Face)}", name="face_known"),
        # "Sign out everywhere" ends the live sessions of one person.
        Index("ix_sign_in_sessions_user_id_ended_at", "user_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    face: Mapped[str] = mapped_column(String(8))
    # A fingerprint of the password hash at sign-in: a new password ends the older sessions.
    password_marker: Mapped[str] = mapped_column(String(32))
    # Which browser, in a few words, for whoever looks at the table.
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_seen_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    ended_at = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<SignInSession {self.id} user {self.user_id} {self.face}>"


class UsedSignInLink(db.Model):
    """A sign-in link that has been followed once: it then works only until `reusable_until`."""

    __tablename__ = "used_sign_in_links"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    first_used_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    reusable_until = mapped_column(UTCDateTime(), nullable=False)
