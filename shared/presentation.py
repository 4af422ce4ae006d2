"""How dates, time frames and events read to people: used by templates and emails."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from shared import permissions
from shared.clock import describe_due, humanise_duration, short_due
from shared.models import (
    Calendar,
    Case,
    CaseStatus,
    EventKind,
    TimelineEvent,
    User,
    utcnow,
)


@dataclass(frozen=True)
class TimeFrameView:
    label: str  # what the customer reads, e.g. "Full reply by"
    due_at: datetime
    due_words: str  # "Thursday 26 November, 17:00 UK time"
    met_at: datetime | None
    state: str  # done, on_track, at_risk, late
    state_words: str  # "On track", "Late: 1 day past the date we gave you"


def case_zone(case: Case) -> tuple[ZoneInfo, str]:
    calendar = case.category.service_level.calendar
    return calendar.zone, calendar.zone_label


def time_frames_of(case: Case, now: datetime | None = None) -> list[TimeFrameView]:
    """The agreed time frames, each with its state in words (never colour alone)."""
    now = now or utcnow()
    zone, zone_label = case_zone(case)
    owner_first_name = case.owner.first_name
    # Once done, the first contact is nobody's promise any more: whoever owns the case now
    # may not be who made it.
    contact_label = (
        "We contacted you by" if case.acknowledged_at else f"{owner_first_name} will contact you by"
    )
    rows = [
        (contact_label, case.acknowledge_due_at, case.acknowledged_at),
        ("Full reply by", case.first_response_due_at, case.first_responded_at),
        ("Put right by", case.resolve_due_at, case.resolved_at),
    ]
    if case.is_open and case.next_update_due_at is not None:
        rows.append(("Next update by", case.next_update_due_at, None))
    views = []
    for label, due_at, met_at in rows:
        state, words = _state(due_at, met_at, now, owner_first_name, zone, closed=not case.is_open)
        views.append(
            TimeFrameView(
                label, due_at, describe_due(due_at, zone, zone_label), met_at, state, words
            )
        )
    return views


def _state(due_at, met_at, now, owner_first_name, zone, *, closed):
    if met_at is not None:
        on_time = "on time" if met_at <= due_at else "late"
        return "done", f"Done {short_due(met_at, zone)} ({on_time})"
    if closed:
        return "done", "No longer needed"
    if now <= due_at:
        return "on_track", "On track"
    days_late = (now.astimezone(zone).date() - due_at.astimezone(zone).date()).days
    if days_late <= 0:
        late_by = "we are past the time we gave you today"
    else:
        late_by = f"we are {days_late} day{'s' if days_late != 1 else ''} past the date we gave you"
    return "late", f"Late: {late_by}; {owner_first_name} has been told"


def status_tag_class(case: Case) -> str:
    if case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return "tag--done"
    if case.status == CaseStatus.WAITING_ON_CUSTOMER:
        return "tag--at-risk"
    return "tag--neutral"


def latest_event(events: list[TimelineEvent], kind: EventKind) -> TimelineEvent | None:
    """The newest of `events` (oldest first, as timelines load them) of this kind."""
    return next((event for event in reversed(events) if event.kind == kind), None)


def looking_after_words(case: Case, events: list[TimelineEvent] | None = None) -> str:
    """What the customer reads under the owner's name. "From start to finish" holds only while
    nobody else has had the case; after a hand-off it says since when this person has."""
    handed_over = latest_event(events or [], EventKind.TRANSFERRED)
    if handed_over is not None:
        since = day_words(handed_over.created_at, case_zone(case)[0])
        return f"has been looking after your complaint since {since}"
    if case.handoff_count:
        return "is now looking after your complaint"
    return "is looking after your complaint from start to finish"


def understanding_writer(case: Case, events: list[TimelineEvent] | None = None) -> User:
    """Who wrote the wording the customer is asked to confirm: whoever owned the case then,
    not necessarily whoever owns it now."""
    proposed = latest_event(events or [], EventKind.UNDERSTANDING_PROPOSED)
    if proposed is not None and proposed.actor is not None:
        return proposed.actor
    return case.owner


def day_words(moment: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
    """ "3 December", with the year when it is not this year's."""
    local, today = moment.astimezone(zone), (now or utcnow()).astimezone(zone)
    return f"{local.day} {local:%B}" + (f" {local.year}" if local.year != today.year else "")


# How each kind of event is titled in a timeline; the customer's own words come as the body.
EVENT_TITLES = {
    EventKind.CREATED: "Complaint raised",
    EventKind.ACKNOWLEDGED: "Acknowledged",
    EventKind.ASSIGNED: "Owner",
    EventKind.UPDATE: "Update",
    EventKind.NOTE: "Internal note",
    EventKind.CUSTOMER_REPLY: "Message",
    EventKind.STATUS_CHANGED: "Status changed",
    EventKind.DUE_DATES_CHANGED: "Dates changed",
    EventKind.EMAIL_SENT: "Email sent",
    EventKind.EMAIL_FAILED: "Email failed",
    EventKind.RESOLVED: "Resolved",
    EventKind.CLOSED: "Closed",
    EventKind.REOPENED: "Reopened",
    EventKind.RATED: "Rating",
    EventKind.PRIORITY_CHANGED: "Priority changed",
    EventKind.CATEGORY_CHANGED: "Category changed",
    EventKind.TRANSFERRED: "New owner",
    EventKind.UNDERSTANDING_PROPOSED: "What we understand",
    EventKind.UNDERSTANDING_CONFIRMED: "Understanding confirmed",
    EventKind.UNDERSTANDING_CORRECTED: "Understanding corrected",
    EventKind.OPTIONS_OFFERED: "Ways to put it right",
    EventKind.OPTION_CHOSEN: "Remedy chosen",
    EventKind.COMMITMENT_MADE: "Promise",
    EventKind.COMMITMENT_KEPT: "Promise kept",
    EventKind.COMMITMENT_BROKEN: "Promise not kept",
    EventKind.COMMITMENT_CANCELLED: "Promise no longer needed",
    EventKind.TASK_CREATED: "Task",
    EventKind.TASK_UPDATED: "Task updated",
    EventKind.MERGED: "Merged",
    EventKind.ESCALATION_PROPOSED: "Escalation proposed",
    EventKind.ESCALATION_REQUESTED: "Escalation requested",
    EventKind.ESCALATION_APPROVED: "Escalated",
    EventKind.ESCALATION_REJECTED: "Escalation not approved",
    EventKind.ESCALATION_WITHDRAWN: "Escalation withdrawn",
    EventKind.REMINDER_SENT: "Reminder",
    EventKind.REDRESS_RECORDED: "Redress",
    EventKind.REDRESS_DECIDED: "Redress decided",
    EventKind.PROBLEM_LINKED: "Linked to a problem",
    EventKind.PROBLEM_UNLINKED: "Unlinked from a problem",
    EventKind.PROBLEM_FIXED: "Problem fixed",
    EventKind.LEARNING_RECORDED: "What we learned",
}


WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def calendar_hours_words(calendar: Calendar) -> str:
    """E.g. "09:00 to 17:00 UK time, Monday to Friday, except public holidays"."""
    if not calendar.hours:
        return "no working hours are set"
    first, last = calendar.hours[0], calendar.hours[-1]
    same_hours = all((h.opens, h.closes) == (first.opens, first.closes) for h in calendar.hours)
    weekdays = [h.weekday for h in calendar.hours]
    consecutive = weekdays == list(range(first.weekday, last.weekday + 1))
    if same_hours and consecutive:
        days = f"{WEEKDAY_NAMES[first.weekday]} to {WEEKDAY_NAMES[last.weekday]}"
        return (
            f"{first.opens:%H:%M} to {first.closes:%H:%M} {calendar.zone_label}, {days},"
            " except public holidays"
        )
    return "; ".join(
        f"{WEEKDAY_NAMES[h.weekday]} {h.opens:%H:%M}–{h.closes:%H:%M}" for h in calendar.hours
    ) + f" ({calendar.zone_label}), except public holidays"


def business_duration(minutes: int, minutes_per_day: int = 8 * 60) -> str:
    """A target in working time: "4 working hours", "2 working days"."""
    if minutes >= minutes_per_day and minutes % minutes_per_day == 0:
        days = minutes // minutes_per_day
        return f"{days} working day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} working hour{'s' if hours != 1 else ''}"
    return f"{humanise_duration(minutes)} of working time"


def local_datetime(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    if moment is None:
        return ""
    zone = zone or ZoneInfo(current_app.config.get("DISPLAY_TIMEZONE", "Europe/London"))
    return short_due(moment, zone)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["business_duration"] = business_duration
    app.jinja_env.globals.update(
        time_frames_of=time_frames_of,
        status_tag_class=status_tag_class,
        event_title=lambda event: EVENT_TITLES.get(EventKind(event.kind), event.kind),
        case_zone=case_zone,
        looking_after_words=looking_after_words,
        understanding_writer=understanding_writer,
        calendar_hours_words=calendar_hours_words,
        permissions=permissions,
    )

    @app.context_processor
    def organisation():
        return {
            "organisation_name": app.config["ORGANISATION_NAME"],
            "ombudsman_name": app.config["OMBUDSMAN_NAME"],
            "ombudsman_url": app.config["OMBUDSMAN_URL"],
            "ombudsman_after_weeks": app.config["OMBUDSMAN_AFTER_WEEKS"],
        }


# --- Staff clocks: each time frame's countdown in business time, for the back office ---------


@dataclass(frozen=True)
class StaffClock:
    label: str  # "Acknowledge", "First response", "Resolve", "Next update"
    due_at: datetime
    due_words: str  # in the case's calendar zone
    countdown: str  # "3 working hours left", "overdue by 2 working hours", "met on time"
    state: str  # on_track, at_risk, breached, met, not_needed
    state_words: str
    tag_class: str


STAFF_CLOCK_TAGS = {
    "on_track": "tag--on-track",
    "at_risk": "tag--at-risk",
    "breached": "tag--late",
    "met": "tag--done",
    "not_needed": "tag--neutral",
}
STAFF_CLOCK_WORDS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "breached": "Breached",
    "met": "Met",
    "not_needed": "Not needed",
}


def working_time_words(minutes: int, minutes_per_day: int) -> str:
    """Business time for staff: "45 working minutes", "3 working hours 20 minutes",
    "2 working days 3 hours"."""
    if minutes_per_day and minutes >= minutes_per_day:
        days, rest = divmod(minutes, minutes_per_day)
        words = f"{days} working day{'s' if days != 1 else ''}"
        hours = rest // 60
        return words + (f" {hours} hour{'s' if hours != 1 else ''}" if hours else "")
    amount, unit_and_rest = humanise_duration(minutes).split(" ", 1)
    return f"{amount} working {unit_and_rest}"


def staff_clocks(case: Case, now: datetime | None = None) -> list[StaffClock]:
    """Each time frame of the case with its countdown and state, counted in the case's
    own calendar. At risk means due before the end of the next business day."""
    now = now or utcnow()
    calendar = case.category.service_level.calendar
    business = calendar.business_calendar()
    per_day = round(business.working_minutes_per_day())
    at_risk_before = business.add_business_days(now, 1)
    rows = [
        ("Acknowledge", case.acknowledge_due_at, case.acknowledged_at),
        ("First response", case.first_response_due_at, case.first_responded_at),
        ("Resolve", case.resolve_due_at, case.resolved_at),
    ]
    if case.is_open and case.next_update_due_at is not None:
        rows.append(("Next update", case.next_update_due_at, None))
    clocks = []
    for label, due_at, met_at in rows:
        if met_at is not None:
            late_by = business.business_minutes_between(due_at, met_at)
            # The tag says "Met"; the countdown goes on from it ("Met on time").
            state = "met"
            countdown = (
                f"{working_time_words(late_by, per_day)} late" if late_by > 0 else "on time"
            )
        elif not case.is_open:
            state, countdown = "not_needed", "the case is closed"
        else:
            left = business.business_minutes_between(now, due_at)
            # Outside working hours no business time may separate now and the due time.
            if now > due_at:
                state = "breached"
                countdown = (
                    f"overdue by {working_time_words(-left, per_day)}" if left < 0
                    else f"overdue since {short_due(due_at, calendar.zone)}"
                )
            else:
                state = "at_risk" if due_at < at_risk_before else "on_track"
                countdown = (
                    f"{working_time_words(left, per_day)} left" if left > 0
                    else f"due {short_due(due_at, calendar.zone)}, when work starts"
                )
        clocks.append(
            StaffClock(
                label=label,
                due_at=due_at,
                due_words=describe_due(due_at, calendar.zone, calendar.zone_label),
                countdown=countdown,
                state=state,
                state_words=STAFF_CLOCK_WORDS[state],
                tag_class=STAFF_CLOCK_TAGS[state],
            )
        )
    return clocks
