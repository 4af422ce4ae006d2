"""The debrief of a case: its time frames and whole timeline, with response times.

"Document communications, response times and actions taken, for the debrief": each event
carries the time since the case was raised, in business time (what the service level counts)
and in calendar time (what the customer lived through).
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from shared.clock import describe_due, humanise_duration, short_due
from shared.models import Case, EventKind, TimelineEvent, utcnow
from shared.presentation import EVENT_TITLES

CSV_COLUMNS = [
    "Reference",
    "Event",
    "Visible to",
    "By",
    "When (local)",
    "When (UTC)",
    "Business minutes since raised",
    "Business time since raised",
    "Calendar minutes since raised",
    "Calendar time since raised",
    "Text",
]

# OWASP's CSV injection list: a spreadsheet may read a cell starting with one of these as a
# formula. Some spreadsheets fold full-width and small forms to their ASCII sign, so those
# count as well.
_FORMULA_SIGNS = (
    "=+\\-@"
    "\uff1d\uff0b\uff0d\uff20"  # full-width ＝ ＋ － ＠
    "\ufe66\ufe62\ufe63\ufe6b"  # small ﹦ ﹢ ﹣ ﹫
)
# A formula sign at the start of the text (where a tab or line break counts too), or after a
# field separator or a line break: a spreadsheet that splits on ";" (many locales do) or ignores
# the quotes starts a cell there. Quotes and spaces in front of the sign do not disarm it.
_FORMULA_START = re.compile(
    f"^([ \"'\u3000]*)(?=[{_FORMULA_SIGNS}\t\r\n])"
    f"|([,;|\r\n][ \"'\u3000]*)(?=[{_FORMULA_SIGNS}])"
)


@dataclass(frozen=True)
class DebriefRow:
    event_id: int
    title: str
    is_internal: bool
    by: str
    at: datetime
    at_words: str
    business_minutes: int
    business_words: str
    calendar_minutes: int
    calendar_words: str
    body: str


@dataclass(frozen=True)
class TimeFrameRow:
    label: str
    due_words: str
    met_words: str
    verdict: str  # met, missed, pending, overdue, not_needed
    verdict_words: str


def timeline_rows(case: Case, events: list[TimelineEvent]) -> list[DebriefRow]:
    calendar_model = case.category.service_level.calendar
    business = calendar_model.business_calendar()
    zone = calendar_model.zone
    rows = []
    for event in events:
        business_minutes = max(0, business.business_minutes_between(case.created_at,
                                                                      event.created_at))
        calendar_minutes = max(0, int((event.created_at - case.created_at).total_seconds()
                                      // 60))
        rows.append(
            DebriefRow(
                event_id=event.id,
                title=EVENT_TITLES.get(EventKind(event.kind), event.kind),
                is_internal=event.is_internal,
                by=_actor_words(case, event),
                at=event.created_at,
                at_words=short_due(event.created_at, zone),
                business_minutes=business_minutes,
                business_words=humanise_duration(business_minutes),
                calendar_minutes=calendar_minutes,
                calendar_words=calendar_duration(calendar_minutes),
                body=event.body or "",
            )
        )
    return rows


def time_frame_rows(case: Case, now: datetime | None = None) -> list[TimeFrameRow]:
    now = now or utcnow()
    calendar = case.category.service_level.calendar
    zone, label = calendar.zone, calendar.zone_label
    frames = [
        ("Acknowledge", case.acknowledge_due_at, case.acknowledged_at),
        ("First full response", case.first_response_due_at, case.first_responded_at),
        ("Put right", case.resolve_due_at, case.resolved_at),
    ]
    rows = []
    for name, due_at, met_at in frames:
        if met_at is not None:
            met = met_at <= due_at
            verdict = "met" if met else "missed"
            words = "Met" if met else (
                f"Missed by {calendar_duration(int((met_at - due_at).total_seconds() // 60))}"
            )
        elif not case.is_open:
            verdict, words = "not_needed", "Not reached before the case closed"
        elif now > due_at:
            verdict = "overdue"
            words = f"Overdue by {calendar_duration(int((now - due_at).total_seconds() // 60))}"
        else:
            verdict, words = "pending", "Not yet due"
        rows.append(
            TimeFrameRow(
                label=name,
                due_words=describe_due(due_at, zone, label),
                met_words=describe_due(met_at, zone, label) if met_at else "–",
                verdict=verdict,
                verdict_words=words,
            )
        )
    return rows


def calendar_duration(minutes: int) -> str:
    """E.g. "2 days 3 hours": the two largest units are enough to read a gap."""
    days, rest = divmod(max(0, minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{amount} {unit}{'s' if amount != 1 else ''}"
        for amount, unit in ((days, "day"), (hours, "hour"), (mins, "minute"))
        if amount
    ]
    return " ".join(parts[:2]) or "0 minutes"


def debrief_csv(case: Case, rows: list[DebriefRow]) -> str:
    zone = case.category.service_level.calendar.zone
    buffer = io.StringIO()
    # Every cell in double quotes (inner quotes doubled), as OWASP advises: a separator inside
    # the text then stays inside its cell, whichever separator the spreadsheet expects.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                safe_cell(case.reference),
                safe_cell(row.title),
                "Staff only" if row.is_internal else "Customer",
                safe_cell(row.by),
                row.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                row.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                row.business_minutes,
                row.business_words,
                row.calendar_minutes,
                row.calendar_words,
                safe_cell(row.body),
            ]
        )
    return buffer.getvalue()


def safe_cell(value: str) -> str:
    """Text a spreadsheet shows as text: a quote in front disarms each would-be formula.

    "=1+2" becomes "'=1+2"; "Hi;=1+2" becomes "Hi;'=1+2", because a spreadsheet splitting on
    ";" would start a cell at the "=".
    """
    return _FORMULA_START.sub(_disarm, value)


def _disarm(match: re.Match) -> str:
    at_start, after_separator = match.group(1), match.group(2)
    if after_separator is None:  # the start of the text: the quote goes first, as expected
        return "'" + at_start
    return after_separator + "'"


def _actor_words(case: Case, event: TimelineEvent) -> str:
    if event.actor is None:
        return "System"
    if event.actor_id == case.customer_id:
        return f"{event.actor.name} (customer)"
    return event.actor.name
