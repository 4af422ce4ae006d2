"""What the organisation commits to: business calendars, service levels, categories."""

import secrets
from datetime import date, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    event,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

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
        """Its working hours and holidays. Pages build one on every request: when the hours
        and holidays are not loaded, one is kept per process while the settings stamp is
        unchanged, which spares reading them (two statements) and building it again."""
        state = inspect(self)
        loaded = "hours" not in state.unloaded or "holidays" not in state.unloaded
        if loaded or state.session is None or self.id is None:
            return self._build_business_calendar()
        # No autoflush: a service may ask while its new objects are half made. Changes
        # already flushed have renewed the stamp; unflushed ones to hours or holidays would
        # have loaded them, and then the calendar is built from them above.
        with state.session.no_autoflush:
            stamp = read_settings_stamp(state.session)
        if stamp is None:
            return self._build_business_calendar()
        key = (self.id, self.timezone, stamp)
        business = _business_calendars.get(key)
        if business is None:
            business = self._build_business_calendar()
            if len(_business_calendars) > 64:  # old stamps are never asked for again
                _business_calendars.clear()
            _business_calendars[key] = business
        return business

    def _build_business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            timezone=self.zone,
            hours={h.weekday: (h.opens, h.closes) for h in self.hours},
            holidays=frozenset(h.day for h in self.holidays),
        )


# (calendar id, time zone, settings stamp) -> its BusinessCalendar, in this process.
_business_calendars: dict[tuple[int, str, int], BusinessCalendar] = {}


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


class SettingsStamp(db.Model):
    """One row whose stamp changes whenever the settings the staff pages read on every request
    change: calendars, their hours and holidays, service levels, categories, teams, staff and
    saved replies.

    Pages may then keep those settings in memory and reread them only when the stamp differs,
    in every process. The stamp is random rather than a counter, so two databases (one per
    test, say) never share a stamp."""

    __tablename__ = "settings_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)


_STAMP_KEY = "settings_stamp"


def read_settings_stamp(session) -> int | None:
    """The current stamp, or None when the row is missing (then nothing may be cached).

    Read once per transaction: a page that builds many business calendars (a list of cases)
    asks for it once per row."""
    if _STAMP_KEY not in session.info:
        session.info[_STAMP_KEY] = session.scalar(_READ_STAMP)
    return session.info[_STAMP_KEY]


# Built once: read on every staff request, where building it would cost more than running it.
_READ_STAMP = select(SettingsStamp.stamp).where(SettingsStamp.id == 1)


def forget_settings_stamp(session) -> None:
    session.info.pop(_STAMP_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_stamp_after_transaction(session, transaction):
    if transaction.parent is None:  # the next transaction may see another process's change
        forget_settings_stamp(session)


def _new_stamp() -> int:
    return secrets.randbits(62)


# What the staff pages show of a staff member: the owner filter lists names and who is active.
_STAFF_SETTINGS = ("name", "active", "role", "team_id")


def _changes_settings(instance, *, existing: bool) -> bool:
    """Whether flushing this new, changed or deleted object changes a setting. Giving a case
    to an owner touches the owner's collections, not the owner: that must not renew the stamp,
    or every new case would."""
    from shared.models.coordination import SavedReply
    from shared.models.users import STAFF_ROLES, Team, User

    if isinstance(instance, Calendar):
        # Hours or holidays taken off the calendar are deleted as orphans, which never shows
        # in session.deleted: only the calendar's collections tell.
        return (not existing or _columns_changed(instance)
                or _collections_changed(instance, ("hours", "holidays")))
    if isinstance(instance, SavedReply):
        # Only the titles are kept with the settings, not what each reply says.
        return not existing or _columns_changed(instance, ("title",))
    if isinstance(instance, WorkingHours | Holiday | ServiceLevel | Category | Team):
        return not existing or _columns_changed(instance)
    if isinstance(instance, User):
        if not existing:
            return instance.role in STAFF_ROLES
        staff = instance.role in STAFF_ROLES or _columns_changed(instance, ("role",))
        return staff and _columns_changed(instance, _STAFF_SETTINGS)
    return False


def _collections_changed(instance, names: tuple[str, ...]) -> bool:
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in names)


def _columns_changed(instance, names: tuple[str, ...] | None = None) -> bool:
    state = inspect(instance)
    columns = state.mapper.column_attrs
    return any(
        state.attrs[column.key].history.has_changes()
        for column in columns
        if names is None or column.key in names
    )


@event.listens_for(Session, "after_flush")
def _renew_settings_stamp(session, flush_context):
    """Whatever changes a setting, through any service, renews the stamp in the same
    transaction: no process can keep serving what was true before the change."""
    changed = any(_changes_settings(instance, existing=False)
                  for instance in (*session.new, *session.deleted))
    changed = changed or any(_changes_settings(instance, existing=True)
                             for instance in session.dirty)
    if not changed:
        return
    connection = session.connection()
    stamp = _new_stamp()
    renewed = connection.execute(
        update(SettingsStamp).where(SettingsStamp.id == 1).values(stamp=stamp)
    )
    if renewed.rowcount == 0:  # a database made without the migrations' row
        connection.execute(insert(SettingsStamp).values(id=1, stamp=stamp))
    session.info[_STAMP_KEY] = stamp
