"""The agreed time frames of a case, computed from its service level in business time."""

from dataclasses import dataclass
from datetime import datetime

from shared.models import Case, Category, EventKind, User, Visibility
from shared.services.timeline import record_event


@dataclass(frozen=True)
class TimeFrames:
    acknowledge_due_at: datetime
    first_response_due_at: datetime
    resolve_due_at: datetime
    update_every_minutes: int


def time_frames_for(category: Category, priority: str, start: datetime) -> TimeFrames:
    service_level = category.service_level
    target = service_level.target_for(priority)
    calendar = service_level.calendar.business_calendar()
    return TimeFrames(
        acknowledge_due_at=calendar.add_business_minutes(start, target.acknowledge_minutes),
        first_response_due_at=calendar.add_business_minutes(start, target.first_response_minutes),
        resolve_due_at=calendar.add_business_minutes(start, target.resolve_minutes),
        update_every_minutes=target.update_every_minutes,
    )


def next_update_due(case: Case, after: datetime) -> datetime:
    """When the customer should next hear from us, counted from `after`."""
    target = case.category.service_level.target_for(case.priority)
    calendar = case.category.service_level.calendar.business_calendar()
    return calendar.add_business_minutes(after, target.update_every_minutes)


def apply_time_frames(case: Case, frames: TimeFrames) -> None:
    case.acknowledge_due_at = frames.acknowledge_due_at
    case.first_response_due_at = frames.first_response_due_at
    case.resolve_due_at = frames.resolve_due_at


def recompute_time_frames(case: Case, *, actor: User | None, reason: str) -> None:
    """Recompute the dates from when the case was raised, and record why they moved."""
    before = {
        "acknowledge_due_at": case.acknowledge_due_at,
        "first_response_due_at": case.first_response_due_at,
        "resolve_due_at": case.resolve_due_at,
    }
    frames = time_frames_for(case.category, case.priority, case.created_at)
    apply_time_frames(case, frames)
    after = {name: getattr(case, name) for name in before}
    if after == before:
        return
    record_event(
        case,
        EventKind.DUE_DATES_CHANGED,
        actor=actor,
        visibility=Visibility.PUBLIC,
        body=reason,
        data={
            "before": {k: v.isoformat() for k, v in before.items()},
            "after": {k: v.isoformat() for k, v in after.items()},
        },
    )
