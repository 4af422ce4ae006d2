"""What the organisation commits to: business calendars, service levels, categories."""

from datetime import date, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.clock import BusinessCalendar
from shared.extensions import db


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Calendar(db.Model):
    """Working hours per weekday, a time zone and public holidays."""

    __tablename__ = "calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    # Shown to customers after every date, e.g. "17:00 UK time".
    zone_label: Mapped[str] = mapped_column(String(40), default="UK time")

    hours: Mapped[list["WorkingHours"]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="WorkingHours.weekday"
    )
    holidays: Mapped[list["Holiday"]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="Holiday.day"
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            timezone=self.zone,
            hours={h.weekday: (h.opens, h.closes) for h in self.hours},
            holidays=frozenset(h.day for h in self.holidays),
        )


class WorkingHours(db.Model):
    __tablename__ = "working_hours"
    __table_args__ = (
        UniqueConstraint("calendar_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"))
    weekday: Mapped[int]  # 0 = Monday
    opens: Mapped[time]
    closes: Mapped[time]

    calendar: Mapped[Calendar] = relationship(back_populates="hours")


class Holiday(db.Model):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"))
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(120))

    calendar: Mapped[Calendar] = relationship(back_populates="holidays")


class ServiceLevel(db.Model):
    """Time frames promised to customers, counted in business minutes of a calendar."""

    __tablename__ = "service_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"))

    calendar: Mapped[Calendar] = relationship()
    targets: Mapped[list["ServiceTarget"]] = relationship(
        back_populates="service_level", cascade="all, delete-orphan"
    )

    def target_for(self, priority: str) -> "ServiceTarget":
        for target in self.targets:
            if target.priority == priority:
                return target
        raise LookupError(f"service level {self.name!r} has no target for {priority!r}")


class ServiceTarget(db.Model):
    """The time frames of one service level at one priority, in business minutes."""

    __tablename__ = "service_targets"
    __table_args__ = (
        UniqueConstraint("service_level_id", "priority"),
        CheckConstraint(
            f"priority IN {tuple(p.value for p in Priority)}", name="priority_known"
        ),
        CheckConstraint(
            "acknowledge_minutes > 0 AND first_response_minutes > 0 AND resolve_minutes > 0"
            " AND update_every_minutes > 0",
            name="positive_minutes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_level_id: Mapped[int] = mapped_column(
        ForeignKey("service_levels.id", ondelete="CASCADE")
    )
    priority: Mapped[str] = mapped_column(String(16))
    acknowledge_minutes: Mapped[int]
    first_response_minutes: Mapped[int]
    resolve_minutes: Mapped[int]
    update_every_minutes: Mapped[int]

    service_level: Mapped[ServiceLevel] = relationship(back_populates="targets")


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    default_team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    service_level_id: Mapped[int] = mapped_column(ForeignKey("service_levels.id"))

    default_team = relationship("Team")
    service_level: Mapped[ServiceLevel] = relationship()

    def __repr__(self) -> str:
        return f"<Category {self.name}>"
