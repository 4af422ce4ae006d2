"""People: customers and staff, and the teams staff belong to."""

from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from shared.extensions import db
from shared.models.types import UTCDateTime, utcnow


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, ondelete="SET NULL")
    )

    manager: Mapped["User | None"] = relationship(foreign_keys=[manager_id])
    members: Mapped[list["User"]] = relationship(
        back_populates="team", foreign_keys="User.team_id", order_by="User.name"
    )

    def __repr__(self) -> str:
        return f"<Team {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {tuple(r.value for r in Role)}", name="role_known"),
        # Staff among many customers, e.g. deactivated owners for the unassigned queue;
        # created by migration 5c1d2e3f4a5b.
        Index("ix_users_role_active", "role", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=Role.CUSTOMER)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified_at = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(default=True)
    away: Mapped[bool] = mapped_column(default=False)
    # Which escalations this person may decide: 1 team manager, 2 head of service, 0 none.
    approval_level: Mapped[int] = mapped_column(default=0)
    # The most redress (in the organisation's currency, minor units) this person may give on
    # one case without a manager's approval.
    redress_limit_minor: Mapped[int] = mapped_column(default=0, server_default="0")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_login_at = mapped_column(UTCDateTime())

    team: Mapped[Team | None] = relationship(back_populates="members", foreign_keys=[team_id])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated people
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.name

    @property
    def initials(self) -> str:
        parts = [p for p in self.name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(
            self.password_hash, password
        )

    @classmethod
    def by_email(cls, email: str) -> "User | None":
        return db.session.scalar(select(cls).where(cls.email == normalise_email(email)))

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


def normalise_email(email: str) -> str:
    return email.strip().lower()


