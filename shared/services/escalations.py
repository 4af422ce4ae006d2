"""Formal escalation: asking someone more senior to commit more to a case.

The sweep may propose one (PROPOSED); staff who coordinate the case request one (PENDING) at
a level: 1 team manager, 2 head of service. A manager at that level or above, never the
requester, nor whoever recorded a remedy waiting in it, and never an agent, approves or
rejects it. Approval can commit resources in the same unit of work: a senior owner, tasks for
other teams, a higher priority, a new resolve-by date agreed with the customer; the customer
then gets one email that says it all. Approving remedies above a limit, and nothing more, is
internal: the customer reads them with the resolution.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload

from shared.clock import describe_due
from shared.extensions import db
from shared.models import (
    ESCALATION_NEEDS,
    OPEN_ESCALATION_STATUSES,
    OPEN_STATUS_VALUES,
    Case,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EventKind,
    Priority,
    Redress,
    RedressState,
    Role,
    Team,
    User,
    Visibility,
    utcnow,
)
from shared.permissions import can_coordinate
from shared.presentation import local_datetime
from shared.services import ownership
from shared.services import tasks as task_actions
from shared.services.cases import begin_work, change_priority, sign_in_url_for
from shared.services.errors import RuleViolation
from shared.services.mail import queue_email
from shared.services.notifications import ESCALATION_ASKS, notify, settle_notifications
from shared.services.timeline import record_event

REASON_MAX = 5000
NOTE_MAX = 5000
PRIORITY_ORDER = list(Priority)  # low to urgent
# Agents never decide escalations, whatever approval level their record carries.
DECIDING_ROLES = frozenset({Role.MANAGER, Role.ADMIN})

# How the customer reads who now has their complaint (never "level 1").
LEVEL_WORDS_FOR_CUSTOMER = {
    EscalationLevel.TEAM_MANAGER: "a team manager",
    EscalationLevel.HEAD_OF_SERVICE: "our head of service",
}


@dataclass(frozen=True)
class TaskToGive:
    """A task an approval gives to another team, created with the decision."""

    title: str
    team: Team
    due_at: datetime
    details: str = ""


# --- Reading -----------------------------------------------------------------------------------


def open_escalation(case: Case) -> Escalation | None:
    """The case's proposed or pending escalation, if any: a case has at most one open."""
    return db.session.scalar(
        select(Escalation)
        .where(
            Escalation.case_id == case.id,
            Escalation.status.in_([s.value for s in OPEN_ESCALATION_STATUSES]),
        )
        .order_by(Escalation.id.desc())
        .limit(1)
    )


def approvals_for(user: User, limit: int = 200) -> tuple[list[Escalation], int]:
    """Pending escalations this person may decide, oldest first, and how many there are.

    Two statements whatever the number: the count, and the page with what each row shows.
    """
    if not can_decide_escalations(user):
        return [], 0
    total = waiting_count(user)
    if not total:
        return [], 0
    page = db.session.scalars(
        select(Escalation)
        .join(Escalation.case)
        .where(*_waiting_for(user))
        .options(
            joinedload(Escalation.requested_by),
            joinedload(Escalation.case).joinedload(Case.owner),
            joinedload(Escalation.case).joinedload(Case.team),
            joinedload(Escalation.case).joinedload(Case.category),
        )
        .order_by(Escalation.created_at, Escalation.id)
        .limit(limit)
    ).all()
    return page, total


def waiting_count(user: User) -> int:
    """How many escalations wait for this person's decision: one indexed count, cheap enough
    for the header of every page."""
    if not can_decide_escalations(user):
        return 0
    return db.session.scalar(
        select(func.count(Escalation.id)).join(Escalation.case).where(*_waiting_for(user))
    )


def _waiting_for(user: User) -> tuple:
    # A case that is no longer open needs nothing more, whatever closed it (resolving also
    # withdraws the request: see withdraw_for_finished_case). Nor does a request that waits
    # on money this person asked for: another manager decides it.
    return (
        Escalation.status == EscalationStatus.PENDING,
        Escalation.level <= user.approval_level,
        or_(Escalation.requested_by_id.is_(None), Escalation.requested_by_id != user.id),
        Case.status.in_(OPEN_STATUS_VALUES),
        ~exists().where(
            Redress.escalation_id == Escalation.id,
            Redress.state == RedressState.AWAITING_APPROVAL,
            Redress.recorded_by_id == user.id,
        ),
    )


def escalations_of(case: Case) -> list[Escalation]:
    """A case's escalations, newest first, with who asked and who decided (one statement)."""
    return db.session.scalars(
        select(Escalation)
        .where(Escalation.case_id == case.id)
        .options(joinedload(Escalation.requested_by), joinedload(Escalation.decided_by))
        .order_by(Escalation.id.desc())
    ).all()


def owner_candidates(escalation: Escalation) -> tuple[list[User], list[User]]:
    """Who could take the case over: managers first (an escalation moves a case up), then
    everyone else who is here."""
    candidates = ownership.transfer_candidates(escalation.case)
    senior = [p for p in candidates if p.role in DECIDING_ROLES and (p.approval_level or 0) >= 1]
    others = [p for p in candidates if p not in senior]
    return senior, others


def may_decide(user: User, escalation: Escalation) -> bool:
    """A manager at the escalation's level or above, who did not ask for it."""
    return (
        user.is_authenticated
        and user.role in DECIDING_ROLES
        and (user.approval_level or 0) >= escalation.level
        and escalation.requested_by_id != user.id
    )


def can_decide_escalations(user: User) -> bool:
    """Whether this person decides any escalations at all (the approvals page is theirs)."""
    return (
        user.is_authenticated and user.role in DECIDING_ROLES and (user.approval_level or 0) >= 1
    )


def deciders_for(level: int) -> list[User]:
    """Everyone who may decide an escalation at `level`: active managers at or above it."""
    return db.session.scalars(
        select(User)
        .where(
            User.role.in_([r.value for r in DECIDING_ROLES]),
            User.active.is_(True),
            User.approval_level >= level,
        )
        .order_by(User.name, User.id)
    ).all()


def customer_words(escalation: Escalation, new_owner: User | None = None) -> str:
    """What the customer reads: escalated, to whom, and who now looks after the case."""
    to_level = LEVEL_WORDS_FOR_CUSTOMER[EscalationLevel(escalation.level)]
    decider = escalation.decided_by
    if new_owner is not None and new_owner.id == decider.id:
        return (
            f"We have escalated your complaint to {to_level}, {decider.name}, "
            "who now looks after it."
        )
    if new_owner is not None:
        return (
            f"We have escalated your complaint to {to_level}, {decider.name}. "
            f"{new_owner.name} now looks after it."
        )
    return (
        f"We have escalated your complaint to {to_level}, {decider.name}. "
        f"{escalation.case.owner.name} still looks after it, with {decider.first_name}’s support."
    )


# --- The sweep's suggestion --------------------------------------------------------------------


def propose_escalation(
    case: Case, *, reason: str, now: datetime | None = None
) -> Escalation | None:
    """The sweep's suggestion to the owner; nothing when one is already open (idempotent)."""
    _hold_case(case)
    if not case.is_open or open_escalation(case) is not None:
        return None
    escalation = Escalation(
        case=case,
        level=EscalationLevel.TEAM_MANAGER,
        status=EscalationStatus.PROPOSED,
        requested_by=None,
        reason=reason,
        needs=[],
        needs_details="",
        created_at=now or utcnow(),
    )
    db.session.add(escalation)
    record_event(
        case,
        EventKind.ESCALATION_PROPOSED,
        actor=None,
        visibility=Visibility.INTERNAL,
        body=f"Escalation suggested: {reason}",
        data={"level": int(EscalationLevel.TEAM_MANAGER)},
    )
    notify(
        case.owner,
        "escalation_proposed",
        f"Case {case.reference} may need escalating: {reason}",
        case=case,
    )
    db.session.flush()
    return escalation


# --- Asking ------------------------------------------------------------------------------------


def request_escalation(
    case: Case,
    *,
    actor: User,
    level: int,
    reason: str,
    needs: list[str],
    needs_details: str = "",
) -> Escalation:
    """Ask for a decision: turns the sweep's proposal into the request, or makes a new one."""
    if not can_coordinate(actor, case):
        raise RuleViolation(
            f"Only {case.owner.name}, who looks after this case, or a manager can escalate it."
        )
    reason, needs_details = (reason or "").strip(), (needs_details or "").strip()
    needs = [need for need in dict.fromkeys(needs or []) if need]
    if level not in (EscalationLevel.TEAM_MANAGER, EscalationLevel.HEAD_OF_SERVICE):
        raise RuleViolation("Choose who should decide.", field="level")
    if not reason:
        raise RuleViolation("Say why this case needs escalating.", field="reason")
    if len(reason) > REASON_MAX:
        raise RuleViolation(f"Keep the reason under {REASON_MAX} characters.", field="reason")
    if not needs:
        raise RuleViolation("Choose at least one thing you need.", field="needs")
    if any(need not in ESCALATION_NEEDS for need in needs):
        raise RuleViolation("Choose what you need from the list.", field="needs")
    if len(needs_details) > REASON_MAX:
        raise RuleViolation(f"Keep the details under {REASON_MAX} characters.",
                            field="needs_details")
    if not case.is_open:
        raise RuleViolation("This case is closed: reopen it before escalating.", field="reason")

    _hold_case(case)
    escalation = open_escalation(case)
    if escalation is not None and escalation.status == EscalationStatus.PENDING:
        raise RuleViolation(
            f"{_requester_words(escalation)} already asked for an escalation on "
            f"{_when(escalation.created_at)}; it is waiting for a decision.",
            field="reason",
        )
    if escalation is None:
        escalation = Escalation(case=case)
        db.session.add(escalation)
    escalation.status = EscalationStatus.PENDING
    escalation.level = int(level)
    escalation.requested_by = actor
    escalation.reason = reason
    escalation.needs = needs
    escalation.needs_details = needs_details
    # The approvals queue counts waiting from the request, not from the sweep's suggestion.
    escalation.created_at = utcnow()
    db.session.flush()
    begin_work(case, actor=actor)

    level_label = EscalationLevel(level).label.lower()
    needs_words = ", ".join(ESCALATION_NEEDS[need] for need in needs)
    record_event(
        case,
        EventKind.ESCALATION_REQUESTED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Escalation to a {level_label} requested: {reason}\nNeeded: {needs_words}"
        + (f"\n{needs_details}" if needs_details else ""),
        data={"escalation_id": escalation.id, "level": int(level), "needs": needs},
    )
    settle_notifications(case, ("escalation_proposed",))  # the owner has acted on it
    for person in people_to_ask(escalation):
        notify(
            person,
            "escalation_requested",
            f"{actor.name} asks for an escalation of case {case.reference} to a "
            f"{level_label}: {reason}",
            case=case,
        )
    return escalation


def people_to_ask(escalation: Escalation) -> list[User]:
    """Who is told a request waits for them.

    Every decider at the level or above may decide it from the approvals page; the
    notification goes to those it is for. A team manager's request goes to the case team's
    manager, who knows the team and its work, so other teams' managers are not disturbed by
    every request in the organisation; when that manager cannot take it (none, away, below
    the level, or the requester), it goes to everyone who can, so no request waits unseen.
    A head of service request goes to every head of service. Whoever is away is told only
    when nobody else could decide. Nobody is asked to decide a remedy they recorded.
    """
    from shared.services.redress import redress_askers  # imported here: redress imports us

    asked = {escalation.requested_by_id, *redress_askers(escalation)}
    deciders = [person for person in deciders_for(escalation.level) if person.id not in asked]
    if escalation.level == EscalationLevel.TEAM_MANAGER:
        team_manager = escalation.case.team.manager if escalation.case.team else None
        if team_manager is not None and team_manager in deciders and not team_manager.away:
            return [team_manager]
    present = [person for person in deciders if not person.away]
    return present or deciders


def withdraw_escalation(escalation: Escalation, *, actor: User) -> None:
    """The requester, or whoever coordinates the case, takes back a request or a suggestion."""
    case = escalation.case
    if not (escalation.requested_by_id == actor.id or can_coordinate(actor, case)):
        raise RuleViolation("Only whoever asked, the case owner or a manager can withdraw this.")
    _lock(escalation)
    if not escalation.is_open:
        raise RuleViolation(already_decided_words(escalation))
    _mark_withdrawn(escalation, actor=actor, because=f" by {actor.name}")
    db.session.flush()


def _record_outcome(escalation: Escalation, status: EscalationStatus, *,
                    actor: User | None, note: str | None) -> None:
    """How it ended (approved, rejected, withdrawn), by whom, when, and the note."""
    escalation.status = status
    escalation.decided_by = actor
    escalation.decided_at = utcnow()
    escalation.decision_note = note
    settle_notifications(escalation.case, ESCALATION_ASKS)


def _mark_withdrawn(escalation: Escalation, *, actor: User | None, because: str,
                    note: str | None = None, data: dict | None = None) -> None:
    """Withdraw it and say so on the internal timeline: "Escalation request withdrawn" and
    then `because` (" by Sam Taylor", ": the case was resolved …")."""
    was = escalation.status
    _record_outcome(escalation, EscalationStatus.WITHDRAWN, actor=actor, note=note)
    what = "suggestion" if was == EscalationStatus.PROPOSED else "request"
    from shared.services import redress as redress_actions  # imported here: it imports us

    redress_actions.settle_redress_for(escalation, RedressState.WITHDRAWN)
    record_event(
        escalation.case,
        EventKind.ESCALATION_WITHDRAWN,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Escalation {what} withdrawn{because}.",
        data={"escalation_id": escalation.id, "from": str(was), **(data or {})},
    )


def withdraw_for_finished_case(case: Case, *, actor: User | None, outcome: str) -> None:
    """A case that is resolved (or closed) needs no manager to commit more: its open request
    or suggestion is withdrawn, on the timeline, and whoever asked is told why. Should the
    customer reopen the case, its owner can ask again.

    `outcome` completes "the case was …", e.g. "resolved".
    """
    # The escalation is locked before the case's new state is written, in the order a
    # decision takes them (escalation, then case), so that the two never deadlock: a manager
    # deciding at this moment goes first, and whatever they decided stands.
    with db.session.no_autoflush:
        escalation = open_escalation(case)
        if escalation is None:
            return
        _lock(escalation)
    if not escalation.is_open:
        return
    who = actor.name if actor is not None else "Amends"
    _mark_withdrawn(
        escalation,
        actor=actor,
        because=f": the case was {outcome} by {who}, so it needs no decision",
        note=f"Withdrawn because the case was {outcome}: it needs no decision.",
        data={"because": outcome},
    )
    if escalation.requested_by is not None and escalation.requested_by_id != getattr(
        actor, "id", None
    ):
        _tell_requester(
            escalation,
            f"Your escalation of case {case.reference} was withdrawn: the case was {outcome}"
            f" by {who}, so no decision is needed.",
        )
    db.session.flush()


# --- Deciding ----------------------------------------------------------------------------------


def approve_escalation(
    escalation: Escalation,
    *,
    actor: User,
    note: str = "",
    expected_version: int,
    new_owner: User | None = None,
    handoff_reason: str | None = None,
    tasks: list[TaskToGive] = (),
    new_priority: Priority | str | None = None,
    agreed_resolve_by: datetime | None = None,
) -> bool:
    """Approve, and commit the resources that come with it, all in this one unit of work.

    Returns whether the customer was told. Approving remedies above someone's limit, and
    nothing else the customer would notice, is internal: they read the remedies with the
    resolution, not as an escalation of their complaint."""
    note = (note or "").strip()
    handoff_reason = (handoff_reason or "").strip()
    _check_decision(escalation, actor=actor, note=note, expected_version=expected_version)
    case = escalation.case
    if not case.is_open:
        raise RuleViolation(
            "This case is closed, so there is nothing to commit to it: reject the escalation,"
            " or reopen the case first."
        )
    if new_owner is not None and not handoff_reason:
        raise RuleViolation("Say why the case moves to someone else.", field="handoff_reason")
    if new_priority:
        new_priority = Priority(new_priority)
        if PRIORITY_ORDER.index(new_priority) <= PRIORITY_ORDER.index(Priority(case.priority)):
            raise RuleViolation(
                f"The priority is already {Priority(case.priority).label.lower()}: "
                "choose a higher one, or leave it as it is.",
                field="new_priority",
            )
    if agreed_resolve_by is not None:
        if agreed_resolve_by.tzinfo is None:
            raise ValueError("agreed_resolve_by must be timezone-aware")
        if agreed_resolve_by <= utcnow():
            raise RuleViolation("That date has passed: choose one in the future.",
                                field="agreed_resolve_by")

    _record_outcome(escalation, EscalationStatus.APPROVED, actor=actor, note=note)
    # The version check happens here: a decision saved meanwhile makes this fail.
    db.session.flush()

    done = []
    # Remedies awaiting this approval are approved with it. Imported here: redress imports us.
    from shared.services import redress as redress_actions

    approved = redress_actions.settle_redress_for(escalation, RedressState.APPROVED)
    if approved:
        done.append(redress_actions.settled_words(approved, RedressState.APPROVED))
    # Only when remedies are what it approves: a goodwill request typed with nothing recorded
    # to approve tells the customer, as any other approval does.
    only_remedies = bool(approved) and list(escalation.needs or []) == [
        redress_actions.GOODWILL_NEED
    ]
    tells_customer = bool(
        not only_remedies or new_owner is not None or new_priority or agreed_resolve_by
    )
    if new_owner is not None:
        ownership.transfer_owner(
            case, actor=actor, new_owner=new_owner, reason=handoff_reason, tell_customer=False
        )
        done.append(f"handed over to {new_owner.name}")
    for task in tasks:
        try:
            task_actions.create_task(
                case, actor=actor, title=task.title, details=task.details,
                due_at=task.due_at, team=task.team,
            )
        except RuleViolation as violation:
            raise RuleViolation(violation.message, field=f"task_{violation.field}") from None
        done.append(f"task for the {task.team.name} team")
    if new_priority:
        change_priority(
            case, new_priority, actor=actor,
            reason=f"escalation approved by {actor.name}", tell_customer=False,
        )
        done.append(f"priority raised to {new_priority.label.lower()}")
    if agreed_resolve_by is not None:
        _agree_resolve_by(case, agreed_resolve_by, actor=actor)
        done.append("new resolve-by date agreed")

    level_label = escalation.level_label.lower()
    record_event(
        case,
        EventKind.ESCALATION_APPROVED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Escalation to a {level_label} approved by {actor.name}."
        + (f"\n{note}" if note else "")
        + (f"\nWith it: {'; '.join(done)}." if done else ""),
        data={"escalation_id": escalation.id, "level": escalation.level, "note": note},
    )
    if tells_customer:
        _tell_customer(case, escalation, new_owner=new_owner,
                       priority_raised=bool(new_priority), agreed_resolve_by=agreed_resolve_by)
    _tell_requester(
        escalation,
        f"{actor.name} approved your escalation of case {case.reference}"
        + (f": {note}" if note else ".")
        + (f" With it: {'; '.join(done)}." if done else ""),
    )
    return tells_customer


def _tell_customer(case: Case, escalation: Escalation, *, new_owner: User | None,
                   priority_raised: bool, agreed_resolve_by: datetime | None) -> None:
    """The customer's own record and one email: plain words, no internal reason or note."""
    words = customer_words(escalation, new_owner)
    record_event(
        case,
        EventKind.ESCALATION_APPROVED,
        actor=escalation.decided_by,
        visibility=Visibility.PUBLIC,
        body=words,
        data={"escalation_id": escalation.id,
              "new_owner_id": new_owner.id if new_owner else None},
    )
    queue_email(
        "case_escalated",
        case.customer.email,
        f"Your complaint {case.reference} has been escalated",
        case=case,
        customer_name=case.contact_name,
        escalated_words=words,
        owner=case.owner,
        new_owner=new_owner,
        priority_raised=priority_raised,
        agreed_resolve_by=_customer_date(case, agreed_resolve_by) if agreed_resolve_by else None,
        sign_in_url=sign_in_url_for(case.customer, case),
    )


def reject_escalation(
    escalation: Escalation, *, actor: User, note: str, expected_version: int
) -> None:
    """Say no, and tell whoever asked why: the note is required."""
    note = (note or "").strip()
    _check_decision(escalation, actor=actor, note=note, expected_version=expected_version)
    if not note:
        raise RuleViolation("Say why: the person who asked reads this.", field="note")
    _record_outcome(escalation, EscalationStatus.REJECTED, actor=actor, note=note)
    db.session.flush()
    from shared.services import redress as redress_actions  # imported here: it imports us

    refused = redress_actions.settle_redress_for(escalation, RedressState.REFUSED)
    refused_words = redress_actions.settled_words(refused, RedressState.REFUSED)
    record_event(
        escalation.case,
        EventKind.ESCALATION_REJECTED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Escalation not approved by {actor.name}: {note}",
        data={"escalation_id": escalation.id, "level": escalation.level, "note": note},
    )
    _tell_requester(
        escalation,
        f"{actor.name} rejected your escalation of case {escalation.case.reference}: {note}"
        + (f" The {refused_words}." if refused_words else ""),
    )


def _check_decision(escalation: Escalation, *, actor: User, note: str,
                    expected_version: int) -> None:
    if actor.role not in DECIDING_ROLES:
        raise RuleViolation("Only a manager can decide an escalation.")
    if escalation.requested_by_id == actor.id:
        raise RuleViolation("You asked for this escalation: someone else must decide it.")
    if (actor.approval_level or 0) < escalation.level:
        raise RuleViolation(
            f"This escalation needs a {escalation.level_label.lower()} or above to decide it."
        )
    if len(note) > NOTE_MAX:
        raise RuleViolation(f"Keep the note under {NOTE_MAX} characters.", field="note")
    _lock(escalation)
    if escalation.status != EscalationStatus.PENDING:
        raise RuleViolation(already_decided_words(escalation))
    from shared.services.redress import asked_for_redress  # imported here: redress imports us

    if asked_for_redress(actor, escalation):
        raise RuleViolation(
            "You asked for a remedy in this request: another manager must decide it."
        )
    if escalation.version != expected_version:
        raise RuleViolation(
            "This escalation changed while you were deciding it: read it again, then decide."
        )


def _hold_case(case: Case) -> None:
    """Lock the case's row: two requests (or a request and the sweep) at once then take
    turns, and the second finds the first's escalation open instead of adding another."""
    db.session.execute(select(Case.id).where(Case.id == case.id).with_for_update())


def _lock(escalation: Escalation) -> None:
    """Read the escalation afresh and hold it: a second decider waits here for the first,
    then sees the first decision instead of overwriting it."""
    db.session.refresh(escalation, with_for_update=True)


def already_decided_words(escalation: Escalation) -> str:
    status = EscalationStatus(escalation.status)
    if status == EscalationStatus.PENDING:
        return "This escalation is still waiting for a decision."
    if status == EscalationStatus.PROPOSED:
        return "This escalation was only suggested: nobody has asked for it yet."
    who = escalation.decided_by.name if escalation.decided_by else "Someone"
    how = {
        EscalationStatus.APPROVED: "approved",
        EscalationStatus.REJECTED: "rejected",
        EscalationStatus.WITHDRAWN: "withdrew",
    }[status]
    words = f"{who} already {how} this escalation on {_when(escalation.decided_at)}"
    if escalation.decision_note:
        words += f": “{escalation.decision_note}”"
    return words + "."


def _agree_resolve_by(case: Case, resolve_by: datetime, *, actor: User) -> None:
    before = case.resolve_due_at
    case.resolve_due_at = resolve_by
    record_event(
        case,
        EventKind.DUE_DATES_CHANGED,
        actor=actor,
        visibility=Visibility.PUBLIC,
        body=f"New date agreed with you: we will put things right by "
        f"{_customer_date(case, resolve_by)}.",
        data={
            "before": {"resolve_due_at": before.isoformat() if before else None},
            "after": {"resolve_due_at": resolve_by.isoformat()},
            "agreed": True,
        },
    )


def _tell_requester(escalation: Escalation, text: str) -> None:
    if escalation.requested_by is not None:
        notify(escalation.requested_by, "escalation_decided", text, case=escalation.case)


def _customer_date(case: Case, moment: datetime) -> str:
    calendar = case.category.service_level.calendar
    return describe_due(moment, calendar.zone, calendar.zone_label)


def _when(moment: datetime | None) -> str:
    return local_datetime(moment) if moment else "an earlier date"


def _requester_words(escalation: Escalation) -> str:
    return escalation.requested_by.name if escalation.requested_by else "Someone"
