"""Business-time arithmetic: service-level time frames counted in a calendar's open hours."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

UTC = UTC

# Enough for a year of holidays many times over; a walk this long means the
# calendar can never open and looping further would never end.
MAX_WALK_DAYS = 3660

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def _require_aware(moment: datetime, name: str = "moment") -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment


def _to_utc(moment: datetime, name: str = "moment") -> datetime:
    return _require_aware(moment, name).astimezone(UTC)


def local_instant(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant a local clock in zone shows wall_time on day.

    A wall time the clocks skip (02:30 when they jump from 02:00 to 03:00) becomes the moment
    the clocks change, so hours that open or close in the gap open or close at the jump. A wall
    time that happens twice when the clocks go back is its first occurrence (fold=0).
    """
    local = datetime.combine(day, wall_time, tzinfo=zone)
    as_utc = local.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return as_utc
    # In a gap, fold=0 reads the wall time with the offset from before the change and fold=1
    # with the one after, so the change lies between the two instants.
    return _offset_change_between(local.replace(fold=1).astimezone(UTC), as_utc, zone)


def _offset_change_between(earlier: datetime, later: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second after earlier with a different UTC offset (zones change on one)."""

    def offset_at(second: int) -> timedelta | None:
        return zone.utcoffset(datetime.fromtimestamp(second, zone))

    before, after = int(earlier.timestamp()), math.ceil(later.timestamp())
    offset_before = offset_at(before)
    while after - before > 1:
        middle = (before + after) // 2
        if offset_at(middle) == offset_before:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: ZoneInfo
    # Excluded from the hash because a mapping is unhashable; still compared for equality.
    hours: Mapping[int, tuple[time, time]] = field(hash=False)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.hours:
            raise ValueError("a business calendar needs opening hours on at least one weekday")
        for weekday, interval in self.hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            opens, closes = interval
            if not (isinstance(opens, time) and isinstance(closes, time)):
                raise ValueError(f"opening hours for weekday {weekday} must be times")
            if not opens < closes:
                raise ValueError(f"weekday {weekday} opens at {opens} but closes at {closes}")
        # Copy so later changes to the caller's dict or set cannot alter a frozen calendar.
        object.__setattr__(self, "hours", MappingProxyType(dict(self.hours)))
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @classmethod
    def standard(
        cls,
        tz: str | ZoneInfo = "Europe/London",
        opens: time = time(9),
        closes: time = time(17),
        holidays=(),
    ) -> BusinessCalendar:
        """Monday to Friday, same hours every day."""
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        return cls(
            timezone=zone,
            hours={weekday: (opens, closes) for weekday in range(5)},
            holidays=frozenset(holidays),
        )

    # -- open intervals -------------------------------------------------

    def _open_interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants a local date opens and closes, or None if closed all day."""
        if day in self.holidays:
            return None
        wall_hours = self.hours.get(day.weekday())
        if wall_hours is None:
            return None
        opens, closes = wall_hours
        # Each wall time becomes a UTC instant on its own: subtracting two aware datetimes
        # in the same zone ignores a DST change between them.
        opens_at = local_instant(day, opens, self.timezone)
        closes_at = local_instant(day, closes, self.timezone)
        if closes_at <= opens_at:  # only possible with hours inside a DST gap
            return None
        return opens_at, closes_at

    def _open_intervals_from(self, moment_utc: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals that end after moment_utc, in order, walking day by day."""
        day = moment_utc.astimezone(self.timezone).date()
        for _ in range(MAX_WALK_DAYS):
            interval = self._open_interval(day)
            if interval is not None and interval[1] > moment_utc:
                yield interval
            day += timedelta(days=1)
        raise ValueError(
            f"no business time found within {MAX_WALK_DAYS} days of {moment_utc.isoformat()}"
        )

    # -- queries --------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        moment_utc = _to_utc(moment)
        interval = self._open_interval(moment_utc.astimezone(self.timezone).date())
        return interval is not None and interval[0] <= moment_utc < interval[1]

    def next_opening(self, moment: datetime) -> datetime:
        moment_utc = _to_utc(moment)
        opens_at, _ = next(self._open_intervals_from(moment_utc))
        return max(opens_at, moment_utc)

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        start_utc = _to_utc(start, "start")
        if minutes == 0:
            return self.next_opening(start_utc)
        remaining = timedelta(minutes=minutes)
        for opens_at, closes_at in self._open_intervals_from(start_utc):
            counting_from = max(opens_at, start_utc)
            available = closes_at - counting_from
            # "<=" keeps a result that lands on closing time at that closing time.
            if remaining <= available:
                return counting_from + remaining
            remaining -= available
        raise AssertionError("unreachable: the interval walk raises when exhausted")

    def business_minutes_between(self, start: datetime, end: datetime) -> int:
        start_utc = _to_utc(start, "start")
        end_utc = _to_utc(end, "end")
        if end_utc < start_utc:
            return -self.business_minutes_between(end_utc, start_utc)
        open_time = timedelta()
        day = start_utc.astimezone(self.timezone).date()
        last_day = end_utc.astimezone(self.timezone).date()
        while day <= last_day:
            interval = self._open_interval(day)
            if interval is not None:
                overlap = min(interval[1], end_utc) - max(interval[0], start_utc)
                if overlap > timedelta():
                    open_time += overlap
            day += timedelta(days=1)
        return open_time // timedelta(minutes=1)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """Closing time of the days-th open day after the day counting starts on.

        Counting starts at next_opening(start); that day is day 0.
        """
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        start_utc = _to_utc(start, "start")
        for open_days_passed, (_, closes_at) in enumerate(self._open_intervals_from(start_utc)):
            if open_days_passed == days:
                return closes_at
        raise AssertionError("unreachable: the interval walk raises when exhausted")

    def working_minutes_per_day(self) -> float:
        """Average wall-clock open minutes over the weekdays that open."""
        total = 0.0
        for opens, closes in self.hours.values():
            total += (
                datetime.combine(date.min, closes) - datetime.combine(date.min, opens)
            ) / timedelta(minutes=1)
        return total / len(self.hours)


# -- wording for people -------------------------------------------------


def describe_due(due: datetime, calendar_tz: ZoneInfo, zone_label: str) -> str:
    """E.g. "Thursday 26 November, 17:00 UK time"."""
    local = _require_aware(due, "due").astimezone(calendar_tz)
    # Names spelt out here rather than strftime("%A") so the locale cannot change them.
    return (
        f"{_WEEKDAY_NAMES[local.weekday()]} {local.day} {_MONTH_NAMES[local.month - 1]}, "
        f"{local:%H:%M} {zone_label}"
    )


def short_due(due: datetime, tz: ZoneInfo) -> str:
    """E.g. "Thu 26 Nov, 17:00"."""
    local = _require_aware(due, "due").astimezone(tz)
    return (
        f"{_WEEKDAY_NAMES[local.weekday()][:3]} {local.day} "
        f"{_MONTH_NAMES[local.month - 1][:3]}, {local:%H:%M}"
    )


def humanise_duration(minutes: int) -> str:
    """E.g. 90 -> "1 hour 30 minutes"."""
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("" if hours == 1 else "s"))
    if rest or not hours:
        parts.append(f"{rest} minute" + ("" if rest == 1 else "s"))
    return " ".join(parts)
