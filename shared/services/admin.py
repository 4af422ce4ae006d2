"""Administration: teams, staff, categories, service levels and business calendars.

One function per action, as elsewhere: each takes the acting admin, checks the rule (raising
RuleViolation with the field it belongs beside), changes the data and never commits. None of
them writes to a case's timeline, except deactivating someone: each of their open cases gets
an internal note, so its history says why it has no active owner. Nothing is reassigned.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from zoneinfo import available_timezones

from flask import current_app
from sqlalchemy import func, select

from shared.extensions import db
from shared.models import (
    OPEN_STATUSES,
    Calendar,
    Case,
    Category,
    EventKind,
    Holiday,
    Priority,
    Role,
    ServiceLevel,
    ServiceTarget,
    Team,
    User,
    Visibility,
    WorkingHours,
    normalise_email,
)
from shared.services.errors import RuleViolation
from shared.services.mail import external_url, queue_email
from shared.services.timeline import record_event
from shared.tokens import SET_PASSWORD, make_link_token

STAFF_ROLE_LABELS = {
    Role.AGENT: "Agent",
    Role.MANAGER: "Manager",
    Role.ADMIN: "Administrator",
}
# Staff set their own password by a link; it works once, for this long.
INVITATION_MAX_AGE_HOURS = 72

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# A service level's four time frames, in the words of the admin pages.
TARGET_NAMES = ("acknowledge", "first_response", "resolve", "update_every")
TARGET_LABELS = {
    "acknowledge": "Acknowledge within",
    "first_response": "Full reply within",
    "resolve": "Put right within",
    "update_every": "Update the customer every",
}
HOURS, DAYS = "hours", "days"


def _name(value: str, field: str, what: str) -> str:
    name = (value or "").strip()
    if not name:
        raise RuleViolation(f"Enter {what}.", field=field)
    return name


def _name_taken(model, name: str, *, other_than: int | None = None) -> bool:
    """Names are unique whatever their capitals: "Billing" and "billing" would confuse."""
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if other_than is not None:
        query = query.where(model.id != other_than)
    return db.session.scalar(query.limit(1)) is not None


def _unique_name(model, value: str, *, what: str, other_than: int | None = None) -> str:
    name = _name(value, "name", f"a name for the {what}")
    if _name_taken(model, name, other_than=other_than):
        raise RuleViolation(
            f"There is already a {what} called “{name}”. Choose another name.", field="name"
        )
    return name


# --- Teams ----------------------------------------------------------------------------------


def create_team(*, actor: User, name: str) -> Team:
    team = Team(name=_unique_name(Team, name, what="team"))
    db.session.add(team)
    db.session.flush()
    return team


def rename_team(team: Team, *, actor: User, name: str) -> None:
    team.name = _unique_name(Team, name, what="team", other_than=team.id)


def can_manage_teams(user: User) -> bool:
    return user.active and user.role in (Role.MANAGER, Role.ADMIN)


def set_team_manager(team: Team, *, actor: User, manager: User | None) -> None:
    """The manager covers for the team: new cases fall to them when no agent is available."""
    if manager is not None and not can_manage_teams(manager):
        raise RuleViolation("Choose an active manager or administrator.", field="manager")
    team.manager = manager


# --- Staff ----------------------------------------------------------------------------------


def _check_role_and_team(role: str, team: Team | None) -> None:
    if role not in STAFF_ROLE_LABELS:
        raise RuleViolation("Choose agent, manager or administrator.", field="role")
    if team is None and role in (Role.AGENT, Role.MANAGER):
        # Automatic assignment and the team queues work by team.
        raise RuleViolation("Choose the team this person works in.", field="team")


def create_staff_member(
    *, actor: User, name: str, email: str, role: str, team: Team | None
) -> User:
    """A new colleague: no password yet; they choose one through the link we email them."""
    name = _name(name, "name", "their full name")
    email = normalise_email(email or "")
    if not email:
        raise RuleViolation("Enter their work email address.", field="email")
    if User.by_email(email) is not None:
        raise RuleViolation("Someone already has an account with that email address.",
                            field="email")
    _check_role_and_team(role, team)
    member = User(name=name, email=email, role=role, team=team, active=True, away=False)
    db.session.add(member)
    db.session.flush()
    send_staff_invitation(member, actor=actor)
    return member


def send_staff_invitation(member: User, *, actor: User) -> None:
    """Email a link to choose a password: for a new colleague, or one who forgot theirs.

    The link stops working once a password is set with it (its marker no longer matches).
    """
    if not member.is_staff or not member.active:
        raise RuleViolation(f"{member.name} is deactivated: reactivate them first.")
    queue_email(
        "staff_invitation",
        member.email,
        f"Your {current_app.config['ORGANISATION_NAME']} back-office account",
        staff_name=member.name,
        invited_by=actor.name,
        role_label=STAFF_ROLE_LABELS[Role(member.role)],
        has_password=member.has_password,
        set_password_url=external_url(
            "backoffice.staff_set_password", token=make_link_token(SET_PASSWORD, member)
        ),
        sign_in_url=external_url("backoffice.login"),
        max_age_hours=INVITATION_MAX_AGE_HOURS,
    )


def change_staff_role_or_team(member: User, *, actor: User, role: str, team: Team | None) -> None:
    _check_role_and_team(role, team)
    if member.id == actor.id and role != member.role:
        # An admin demoting themselves could leave nobody able to undo it.
        raise RuleViolation("You cannot change your own role: ask another administrator.",
                            field="role")
    if role == Role.AGENT:
        managed = _teams_managed_by(member)
        if managed:
            names = ", ".join(team.name for team in managed)
            raise RuleViolation(
                f"{member.name} manages {names}: choose another manager for it first.",
                field="role",
            )
    member.role = role
    member.team = team


def _teams_managed_by(member: User) -> list[Team]:
    return db.session.scalars(
        select(Team).where(Team.manager_id == member.id).order_by(Team.name)
    ).all()


def open_cases_owned_by(member: User) -> list[Case]:
    return db.session.scalars(
        select(Case)
        .where(Case.owner_id == member.id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id)
    ).all()


def deactivate_staff_member(member: User, *, actor: User) -> int:
    """They can no longer sign in. Their open cases keep them as owner (a manager transfers
    each one, with a reason the customer hears) and show in the Unassigned queue; each case's
    timeline gets an internal note saying why. Returns how many open cases they had."""
    if member.id == actor.id:
        raise RuleViolation("You cannot deactivate yourself: ask another administrator.")
    if not member.active:
        raise RuleViolation(f"{member.name} is already deactivated.")
    member.active = False
    cases = open_cases_owned_by(member)
    for case in cases:
        record_event(
            case,
            EventKind.NOTE,
            actor=actor,
            visibility=Visibility.INTERNAL,
            body=(
                f"{member.name}, who owns this case, was deactivated by {actor.name}. The case"
                " has no active owner until a manager transfers it; it shows in the"
                " Unassigned queue."
            ),
            data={"owner_deactivated": member.id, "owner": member.name},
        )
    return len(cases)


def reactivate_staff_member(member: User, *, actor: User) -> None:
    if member.active:
        raise RuleViolation(f"{member.name} is already active.")
    member.active = True


def mark_away(member: User, *, actor: User) -> None:
    """Away people keep their cases but get no new ones from automatic assignment."""
    if member.away:
        raise RuleViolation(f"{member.name} is already marked away.")
    member.away = True


def mark_back(member: User, *, actor: User) -> None:
    if not member.away:
        raise RuleViolation(f"{member.name} is not marked away.")
    member.away = False


# --- Categories -----------------------------------------------------------------------------


def _check_position(position: int | None) -> int:
    if position is None or position < 0:
        raise RuleViolation("Enter a position of 0 or more.", field="position")
    return position


def create_category(
    *,
    actor: User,
    name: str,
    description: str,
    default_team: Team,
    service_level: ServiceLevel,
    position: int,
    active: bool,
) -> Category:
    category = Category(
        name=_unique_name(Category, name, what="category"),
        description=(description or "").strip(),
        default_team=default_team,
        service_level=service_level,
        position=_check_position(position),
        active=active,
    )
    db.session.add(category)
    db.session.flush()
    return category


def update_category(
    category: Category,
    *,
    actor: User,
    name: str,
    description: str,
    default_team: Team,
    service_level: ServiceLevel,
    position: int,
    active: bool,
) -> None:
    """Existing cases keep their category and their dates; new ones use the new settings."""
    name = _unique_name(Category, name, what="category", other_than=category.id)
    if category.active and not active and not _other_active_category_exists(category):
        raise RuleViolation(
            "Customers must always have a category to choose: keep this one open, or open"
            " another first.",
            field="active",
        )
    category.name = name
    category.description = (description or "").strip()
    category.default_team = default_team
    category.service_level = service_level
    category.position = _check_position(position)
    category.active = active


def _other_active_category_exists(category: Category) -> bool:
    return db.session.scalar(
        select(Category.id)
        .where(Category.active.is_(True), Category.id != category.id)
        .limit(1)
    ) is not None


# --- Service levels -------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetMinutes:
    """One priority's time frames, in business minutes of the service level's calendar."""

    acknowledge: int
    first_response: int
    resolve: int
    update_every: int


def working_day_minutes(calendar: Calendar) -> int:
    """How long "one working day" is in this calendar: its average open day."""
    return round(calendar.business_calendar().working_minutes_per_day())


def to_business_minutes(amount: Decimal, unit: str, calendar: Calendar) -> int:
    per_unit = working_day_minutes(calendar) if unit == DAYS else 60
    return int((amount * per_unit).to_integral_value(rounding=ROUND_HALF_UP))


def as_amount_and_unit(minutes: int, calendar: Calendar) -> tuple[str, str]:
    """The friendliest way to show a stored target: whole days if it is some, else hours."""
    per_day = working_day_minutes(calendar)
    if minutes % per_day == 0:
        return str(minutes // per_day), DAYS
    hours = (Decimal(minutes) / 60).quantize(Decimal("0.01")).normalize()
    return f"{hours:f}", HOURS


def target_problems(targets: Mapping[str, TargetMinutes]) -> list[tuple[str, str]]:
    """Every broken rule of a service level's time frames, as (field, message) pairs, so a
    page can show them all at once; the actions below refuse the first."""
    problems = []
    for priority in Priority:
        target = targets.get(priority)
        if target is None:
            problems.append((f"{priority}_acknowledge",
                             f"Give time frames for {priority.label.lower()} priority."))
            continue
        not_positive = [name for name in TARGET_NAMES if getattr(target, name) <= 0]
        for name in not_positive:
            problems.append((f"{priority}_{name}", f"{priority.label} priority:"
                             f" “{TARGET_LABELS[name]}” must be more than 0."))
        if not_positive:
            continue
        if target.acknowledge > target.first_response:
            problems.append((f"{priority}_acknowledge", f"{priority.label} priority:"
                             " acknowledge no later than the full reply."))
        if target.first_response > target.resolve:
            problems.append((f"{priority}_first_response", f"{priority.label} priority:"
                             " give the full reply no later than putting it right."))
    return problems


def _check_targets(targets: Mapping[str, TargetMinutes]) -> dict[str, TargetMinutes]:
    problems = target_problems(targets)
    if problems:
        field, message = problems[0]
        raise RuleViolation(message, field=field)
    return {Priority(p): t for p, t in targets.items()}


def create_service_level(
    *, actor: User, name: str, calendar: Calendar, targets: Mapping[str, TargetMinutes]
) -> ServiceLevel:
    name = _unique_name(ServiceLevel, name, what="service level")
    checked = _check_targets(targets)
    level = ServiceLevel(name=name, calendar=calendar)
    level.targets = [
        ServiceTarget(
            priority=priority,
            acknowledge_minutes=target.acknowledge,
            first_response_minutes=target.first_response,
            resolve_minutes=target.resolve,
            update_every_minutes=target.update_every,
        )
        for priority, target in checked.items()
    ]
    db.session.add(level)
    db.session.flush()
    return level


def update_service_level(
    level: ServiceLevel,
    *,
    actor: User,
    name: str,
    calendar: Calendar,
    targets: Mapping[str, TargetMinutes],
) -> None:
    """Applies to cases raised from now on: existing cases keep the dates they were given."""
    level.name = _unique_name(ServiceLevel, name, what="service level", other_than=level.id)
    update_service_level_targets(level, actor=actor, targets=targets)
    level.calendar = calendar


def update_service_level_targets(
    level: ServiceLevel, *, actor: User, targets: Mapping[str, TargetMinutes]
) -> None:
    checked = _check_targets(targets)
    existing = {target.priority: target for target in level.targets}
    for priority, minutes in checked.items():
        target = existing.get(priority)
        if target is None:
            target = ServiceTarget(priority=priority)
            level.targets.append(target)
        target.acknowledge_minutes = minutes.acknowledge
        target.first_response_minutes = minutes.first_response
        target.resolve_minutes = minutes.resolve
        target.update_every_minutes = minutes.update_every


# --- Business calendars ---------------------------------------------------------------------


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_problem(value: str) -> str | None:
    """What is wrong with a time zone name, if anything: it must be an IANA name, like
    Europe/London, that this machine knows."""
    name = (value or "").strip()
    if not name:
        return "Enter a time zone, like Europe/London."
    if name in _zone_names():
        return None
    near = [zone for zone in _zone_names() if zone.lower() == name.lower()]
    hint = f" Did you mean {near[0]}?" if near else ""
    return (
        f"“{name}” is not a time zone we know. Use a name from the IANA list, like"
        f" Europe/London or America/New_York.{hint}"
    )


def check_zone(value: str) -> str:
    problem = zone_problem(value)
    if problem:
        raise RuleViolation(problem, field="timezone")
    return value.strip()


def opening_hours_problems(hours: Mapping[int, tuple[time, time]]) -> list[tuple[str, str]]:
    """Every broken rule of a week's opening hours (weekday to opens, closes), as (field,
    message) pairs; the actions below refuse the first."""
    if not hours:
        return [("monday_open", "Open on at least one day of the week.")]
    return [
        (f"{WEEKDAYS[weekday]}_closes",
         f"{WEEKDAYS[weekday].capitalize()}: closing time must be after opening time.")
        for weekday, (opens, closes) in sorted(hours.items())
        if not opens < closes
    ]


def _check_hours(hours: Mapping[int, tuple[time, time]]) -> dict[int, tuple[time, time]]:
    problems = opening_hours_problems(hours)
    if problems:
        field, message = problems[0]
        raise RuleViolation(message, field=field)
    return dict(hours)


def _calendar_settings(calendar: Calendar, *, name, timezone, zone_label, hours) -> None:
    calendar.timezone = check_zone(timezone)
    label = (zone_label or "").strip()
    if not label:
        raise RuleViolation(
            "Enter how customers should read the time zone, like “UK time”.", field="zone_label"
        )
    checked = _check_hours(hours)
    calendar.zone_label = label
    calendar.name = name
    # Rows are changed in place: replacing them would clash with (calendar, weekday) unique.
    existing = {row.weekday: row for row in calendar.hours}
    for weekday, row in existing.items():
        if weekday not in checked:
            calendar.hours.remove(row)
    for weekday, (opens, closes) in sorted(checked.items()):
        row = existing.get(weekday)
        if row is None:
            calendar.hours.append(WorkingHours(weekday=weekday, opens=opens, closes=closes))
        else:
            row.opens, row.closes = opens, closes
    calendar.hours.sort(key=lambda row: row.weekday)


def create_calendar(
    *, actor: User, name: str, timezone: str, zone_label: str,
    hours: Mapping[int, tuple[time, time]],
) -> Calendar:
    calendar = Calendar(hours=[], holidays=[])
    _calendar_settings(
        calendar,
        name=_unique_name(Calendar, name, what="calendar"),
        timezone=timezone,
        zone_label=zone_label,
        hours=hours,
    )
    db.session.add(calendar)
    db.session.flush()
    return calendar


def update_calendar(
    calendar: Calendar, *, actor: User, name: str, timezone: str, zone_label: str,
    hours: Mapping[int, tuple[time, time]],
) -> None:
    """New working hours count for cases raised from now on; existing due dates stay."""
    _calendar_settings(
        calendar,
        name=_unique_name(Calendar, name, what="calendar", other_than=calendar.id),
        timezone=timezone,
        zone_label=zone_label,
        hours=hours,
    )


def add_holiday(calendar: Calendar, *, actor: User, day: date | None, name: str) -> Holiday:
    if day is None:
        raise RuleViolation("Enter the date of the holiday, like 2026-12-25.", field="day")
    name = _name(name, "name", "the holiday's name, like “Christmas Day”")
    clash = db.session.scalar(
        select(Holiday).where(Holiday.calendar_id == calendar.id, Holiday.day == day)
    )
    if clash is not None:
        raise RuleViolation(
            f"{clash.name} is already a holiday on {day:%d %B %Y}.", field="day"
        )
    holiday = Holiday(day=day, name=name)
    calendar.holidays.append(holiday)
    db.session.flush()
    return holiday


def remove_holiday(holiday: Holiday, *, actor: User) -> None:
    db.session.delete(holiday)
    db.session.flush()
