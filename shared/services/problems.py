"""Problems: the shared cause behind many complaints, owned by the team that can fix it.

Who may see and change a problem (the rule the back office follows):

- Managers and admins see every problem.
- An agent sees a problem owned by their team, one linked to a case they own or to a case of
  their team, or one they opened themselves. Any other problem does not exist for them: its
  page answers 404, as if there were no such reference.
- Changing its status, owner or details: members of the owning team, the problem's owner,
  managers and admins (anyone else who can see it gets 403).
- Linking or unlinking a case: whoever may coordinate that case (its owner or a manager,
  `shared.permissions.can_coordinate`) and can see the problem.

The owner of each case stays the single point of contact with its customer: marking a problem
fixed gives each linked open case's owner a task (and a notification) to tell their customer,
with the problem's customer summary filled in for that case. Nothing here emails a customer.

Two people changing the same problem at once: every change carries the version its writer saw
(`expected_version`); a change over someone else's is refused with `ProblemChangedMeanwhile`.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased, joinedload

from shared.extensions import db
from shared.models import (
    OPEN_PROBLEM_STATUS_VALUES,
    OPEN_STATUS_VALUES,
    OPEN_TASK_STATUSES,
    STAFF_ROLES,
    Case,
    Category,
    EventKind,
    Problem,
    ProblemCase,
    ProblemEvent,
    ProblemEventKind,
    ProblemStatus,
    Product,
    RootCause,
    Spike,
    Task,
    TaskStatus,
    Team,
    User,
    Visibility,
    problem_reference,
    utcnow,
)
from shared.permissions import can_coordinate, is_manager
from shared.services.errors import RuleViolation
from shared.services.notifications import notify
from shared.services.saved_replies import fill
from shared.services.timeline import record_event

TITLE_MAX = 200
DESCRIPTION_MAX = 10000
# The filled summary becomes a task's details (at most 5,000 characters): room for the names.
SUMMARY_MAX = 4000
NOTE_MAX = 5000
REASON_MAX = 2000
# Suggestions rank open problems by their linked cases raised this recently.
RECENT_DAYS = 30
# The case page lists at most this many problems a case is linked to.
LINKED_SHOWN = 50
FIX_TASK_TITLE = "Tell the customer about the fix for {reference}"

_REFERENCE = re.compile(r"^\s*(?:PR-?)?0*(\d{1,9})\s*$", re.IGNORECASE)


class ProblemChangedMeanwhile(Exception):
    """The problem changed after the writer read it: their change would overwrite another."""

    message = ("Someone else changed this problem while you were looking at it. Check what"
               " is shown now; what you wrote is kept below, to send again if it still holds.")


@dataclass(frozen=True)
class Suggestion:
    problem: Problem
    recent_matches: int  # linked cases raised in the last RECENT_DAYS days
    why: str  # "same cause", "same category and product" …


# --- Who may do what ---------------------------------------------------------------------------


def can_see_problem(user: User, problem: Problem) -> bool:
    if not (user.is_authenticated and user.is_staff):
        return False
    if is_manager(user):
        return True
    if problem.created_by_id == user.id or problem.owner_id == user.id:
        return True
    if user.team_id is not None and problem.team_id == user.team_id:
        return True
    linked_case_of_theirs = [Case.owner_id == user.id]
    if user.team_id is not None:
        linked_case_of_theirs.append(Case.team_id == user.team_id)
    return bool(db.session.scalar(
        select(exists().where(
            ProblemCase.problem_id == problem.id,
            ProblemCase.case_id == Case.id,
            or_(*linked_case_of_theirs),
        ))
    ))


def can_change_problem(user: User, problem: Problem) -> bool:
    if not (user.is_authenticated and user.is_staff):
        return False
    return (
        is_manager(user)
        or problem.owner_id == user.id
        or (user.team_id is not None and problem.team_id == user.team_id)
    )


def can_link(user: User, problem: Problem, case: Case) -> bool:
    return can_coordinate(user, case) and can_see_problem(user, problem)


def open_problems_for_team_count(user: User) -> int:
    """The open problems of the person's team: one indexed count, for the navigation."""
    if user.team_id is None:
        return 0
    return db.session.scalar(_OPEN_FOR_TEAM, {"team_id": user.team_id}) or 0


_OPEN_FOR_TEAM = select(func.count(Problem.id)).where(
    Problem.team_id == bindparam("team_id"), Problem.status.in_(OPEN_PROBLEM_STATUS_VALUES)
)


# --- Opening and changing ----------------------------------------------------------------------


def open_problem(
    *,
    actor: User,
    title: str,
    description: str = "",
    customer_summary: str = "",
    team: Team | None,
    owner: User | None,
    root_cause: RootCause | None = None,
    category: Category | None = None,
    product: Product | None = None,
    cases=(),
    spike: Spike | None = None,
) -> Problem:
    title, description, customer_summary = _checked_text(title, description, customer_summary)
    _check_owner(team, owner)
    _check_subject(root_cause, product)
    if spike is not None and spike.problem_id is not None:
        raise RuleViolation(
            f"A problem is already open for this rise in complaints: "
            f"{problem_reference(spike.problem_id)}.", field="title"
        )
    problem = Problem(
        title=title,
        description=description,
        customer_summary=customer_summary,
        status=ProblemStatus.INVESTIGATING,
        team=team,
        owner=owner,
        root_cause=root_cause,
        category=category,
        product=product,
        created_by=actor,
    )
    db.session.add(problem)
    db.session.flush()
    _record(problem, ProblemEventKind.CREATED, actor,
            body=f"Opened, owned by {owner.name} ({team.name}).",
            data={"team_id": team.id, "owner_id": owner.id,
                  "spike_id": spike.id if spike is not None else None})
    seen = set()
    for case in cases:
        if case.id in seen:
            continue
        seen.add(case.id)
        _link(problem, case, actor=actor)
    if spike is not None:
        spike.problem_id = problem.id
    return problem


def edit_problem(
    problem: Problem,
    *,
    actor: User,
    title: str,
    description: str,
    customer_summary: str,
    root_cause: RootCause | None,
    category: Category | None,
    product: Product | None,
    expected_version: int,
) -> None:
    _require_change(problem, actor, expected_version)
    title, description, customer_summary = _checked_text(title, description, customer_summary)
    _check_subject(root_cause, product, current=problem)
    changes = {
        "title": (problem.title, title),
        "description": (problem.description, description),
        "customer summary": (problem.customer_summary, customer_summary),
        "root cause": (problem.root_cause_id, root_cause.id if root_cause else None),
        "category": (problem.category_id, category.id if category else None),
        "product": (problem.product_id, product.id if product else None),
    }
    changed = [name for name, (before, after) in changes.items()
               if (before or None) != (after or None)]
    if not changed:
        raise RuleViolation("Nothing has changed: edit a field, or go back to the problem.",
                            field="title")
    problem.title = title
    problem.description = description
    problem.customer_summary = customer_summary
    problem.root_cause = root_cause
    problem.category = category
    problem.product = product
    _record(problem, ProblemEventKind.EDITED, actor,
            body="Changed: " + ", ".join(changed) + ".", data={"fields": changed})


def change_problem_owner(
    problem: Problem, *, actor: User, team: Team | None, owner: User | None, expected_version: int
) -> None:
    _require_change(problem, actor, expected_version)
    _check_owner(team, owner)
    if problem.team_id == team.id and problem.owner_id == owner.id:
        raise RuleViolation(f"{owner.name} ({team.name}) already owns this problem.",
                            field="owner")
    before = f"{problem.owner.name} ({problem.team.name})"
    problem.team = team
    problem.owner = owner
    _record(problem, ProblemEventKind.OWNER_CHANGED, actor,
            body=f"Owner: {owner.name} ({team.name}), was {before}.",
            data={"team_id": team.id, "owner_id": owner.id})


def change_problem_status(
    problem: Problem, status: ProblemStatus | str, *, actor: User, reason: str = "",
    expected_version: int,
) -> list[Task]:
    """Move the problem on. Marked fixed, each linked open case's owner gets a task: the tasks
    made are returned."""
    _require_change(problem, actor, expected_version)
    try:
        status = ProblemStatus(status)
    except ValueError:
        raise RuleViolation("Choose what has happened to the problem.", field="status") from None
    current = ProblemStatus(problem.status)
    reason = (reason or "").strip()
    if status == current:
        raise RuleViolation(f"This problem is already “{current.label}”.", field="status")
    if not problem.can_move_to(status):
        raise RuleViolation(
            f"A problem that is “{current.label}” cannot become “{status.label}”.",
            field="status",
        )
    if len(reason) > REASON_MAX:
        raise RuleViolation(f"Keep the reason under {REASON_MAX:,} characters.", field="reason")
    if status == ProblemStatus.WONT_FIX and not reason:
        raise RuleViolation("Say why it will not be fixed: the case owners read this.",
                            field="reason")
    if status == ProblemStatus.FIXED and not problem.customer_summary.strip():
        raise RuleViolation(
            "Write the summary for customers first (Edit the problem): each case owner sends"
            " it to their customer when it is fixed.", field="status",
        )
    now = utcnow()
    problem.status = status
    problem.wont_fix_reason = reason if status == ProblemStatus.WONT_FIX else None
    if status == ProblemStatus.FIXED:
        problem.fixed_at = now
    if status == ProblemStatus.CONFIRMED_FIXED:
        problem.confirmed_fixed_at = now
    if status in (ProblemStatus.CONFIRMED_FIXED, ProblemStatus.WONT_FIX):
        problem.closed_at = now
    if status == ProblemStatus.INVESTIGATING:
        # Back to investigating: the fix did not hold, or it is worth fixing after all.
        problem.closed_at = None
        problem.confirmed_fixed_at = None
    _record(problem, ProblemEventKind.STATUS_CHANGED, actor,
            body=f"Status: {status.label}." + (f"\n{reason}" if reason else ""),
            data={"from": current.value, "to": status.value})
    if status == ProblemStatus.FIXED:
        return _tell_case_owners(problem, actor, now)
    return []


def link_case(problem: Problem, case: Case, *, actor: User) -> ProblemCase:
    if not can_see_problem(actor, problem):
        raise RuleViolation("There is no problem with that reference.", field="problem")
    return _link(problem, case, actor=actor)


def unlink_case(problem: Problem, case: Case, *, actor: User) -> None:
    if not can_coordinate(actor, case):
        raise RuleViolation(
            f"Only {case.owner.name}, who looks after {case.reference}, or a manager can unlink"
            " it.", field="case",
        )
    link = db.session.get(ProblemCase, (problem.id, case.id))
    if link is None:
        raise RuleViolation(f"{case.reference} is not linked to {problem.reference}.",
                            field="case")
    db.session.delete(link)
    _record(problem, ProblemEventKind.CASE_UNLINKED, actor,
            body=f"{case.reference} unlinked.", data={"case_id": case.id})
    record_event(case, EventKind.PROBLEM_UNLINKED, actor=actor, visibility=Visibility.INTERNAL,
                 body=f"Unlinked from problem {problem.reference}: {problem.title}",
                 data={"problem_id": problem.id})


def add_problem_note(problem: Problem, *, actor: User, body: str) -> ProblemEvent:
    body = (body or "").strip()
    if not body:
        raise RuleViolation("Write the note.", field="body")
    if len(body) > NOTE_MAX:
        raise RuleViolation(f"Keep the note under {NOTE_MAX:,} characters.", field="body")
    if not can_see_problem(actor, problem):
        raise RuleViolation("There is no problem with that reference.", field="body")
    return _record(problem, ProblemEventKind.NOTE, actor, body=body)


# --- Reading ----------------------------------------------------------------------------------


def parse_problem_reference(text: str) -> int | None:
    """"PR-00012", "pr12" or "12" → 12; None for anything else."""
    match = _REFERENCE.match(text or "")
    return int(match.group(1)) if match else None


def problems_of_case(case: Case) -> list[Problem]:
    """The problems a case is linked to, newest link first (one query)."""
    return db.session.scalars(
        select(Problem)
        .join(ProblemCase, ProblemCase.problem_id == Problem.id)
        .where(ProblemCase.case_id == case.id)
        .options(joinedload(Problem.owner), joinedload(Problem.team))
        .order_by(ProblemCase.linked_at.desc(), Problem.id.desc())
    ).all()


def suggested_problems(case: Case, limit: int = 5, now: datetime | None = None
                       ) -> list[Suggestion]:
    """Open problems sharing the case's cause, category or product, not linked to it yet,
    those with the most linked cases raised in the last 30 days first (one query)."""
    matches = _matches(case)
    if not matches:
        return []
    since = (now or utcnow()) - timedelta(days=RECENT_DAYS)
    recent = (
        select(ProblemCase.problem_id, func.count().label("recent"))
        .join(Case, Case.id == ProblemCase.case_id)
        .where(Case.created_at >= since)
        .group_by(ProblemCase.problem_id)
        .subquery()
    )
    already_linked = exists().where(
        ProblemCase.problem_id == Problem.id, ProblemCase.case_id == case.id
    )
    recent_count = func.coalesce(recent.c.recent, 0)
    rows = db.session.execute(
        select(Problem, recent_count.label("recent"))
        .outerjoin(recent, recent.c.problem_id == Problem.id)
        .where(Problem.status.in_(OPEN_PROBLEM_STATUS_VALUES), or_(*matches), ~already_linked)
        .options(joinedload(Problem.owner), joinedload(Problem.team))
        .order_by(recent_count.desc(), Problem.created_at.desc(), Problem.id.desc())
        .limit(limit)
    ).all()
    return [Suggestion(problem, recent, _why(problem, case)) for problem, recent in rows]


def problems_for_case_page(case: Case, limit: int = 5, now: datetime | None = None
                           ) -> tuple[list[Problem], list[Suggestion]]:
    """What the case page shows, in one statement: the problems the case is linked to, and
    the suggestions (as `suggested_problems`)."""
    link = aliased(ProblemCase)
    since = (now or utcnow()) - timedelta(days=RECENT_DAYS)
    recent = (
        select(ProblemCase.problem_id, func.count().label("recent"))
        .join(Case, Case.id == ProblemCase.case_id)
        .where(Case.created_at >= since)
        .group_by(ProblemCase.problem_id)
        .subquery()
    )
    matches = _matches(case)
    shown = [link.case_id.is_not(None)]
    if matches:
        shown.append(and_(Problem.status.in_(OPEN_PROBLEM_STATUS_VALUES), or_(*matches)))
    recent_count = func.coalesce(recent.c.recent, 0)
    is_linked = sql_case((link.case_id.is_not(None), 1), else_=0)
    rows = db.session.execute(
        select(Problem, recent_count.label("recent"), is_linked.label("linked"))
        .outerjoin(link, and_(link.problem_id == Problem.id, link.case_id == case.id))
        .outerjoin(recent, recent.c.problem_id == Problem.id)
        .where(or_(*shown))
        .options(joinedload(Problem.owner), joinedload(Problem.team))
        .order_by(is_linked.desc(), link.linked_at.desc(), recent_count.desc(),
                  Problem.created_at.desc(), Problem.id.desc())
        .limit(LINKED_SHOWN + limit)
    ).all()
    linked = [problem for problem, _recent, is_it in rows if is_it]
    suggestions = [Suggestion(problem, recent, _why(problem, case))
                   for problem, recent, is_it in rows if not is_it][:limit]
    return linked, suggestions


def _matches(case: Case) -> list:
    matches = []
    if case.root_cause_id is not None:
        matches.append(Problem.root_cause_id == case.root_cause_id)
    if case.category_id is not None:
        matches.append(Problem.category_id == case.category_id)
    if case.product_id is not None:
        matches.append(Problem.product_id == case.product_id)
    return matches


def _why(problem: Problem, case: Case) -> str:
    shared = []
    if case.root_cause_id is not None and problem.root_cause_id == case.root_cause_id:
        shared.append("cause")
    if case.category_id is not None and problem.category_id == case.category_id:
        shared.append("category")
    if case.product_id is not None and problem.product_id == case.product_id:
        shared.append("product")
    if len(shared) > 1:
        return "Same " + ", ".join(shared[:-1]) + " and " + shared[-1]
    return f"Same {shared[0]}"


@dataclass(frozen=True)
class ProblemFigures:
    linked: int
    open_cases: int
    closed_cases: int
    customers: int
    # (currency, total in minor units) of redress given or approved on the linked cases
    redress: list[tuple[str, int]]


def problem_figures(problem: Problem) -> ProblemFigures:
    """The counts a problem page shows, in two statements however many cases are linked."""
    is_open = sql_case((Case.status.in_(OPEN_STATUS_VALUES), 1), else_=0)
    linked, open_cases, customers = db.session.execute(
        select(func.count(Case.id), func.coalesce(func.sum(is_open), 0),
               func.count(func.distinct(Case.customer_id)))
        .join(ProblemCase, ProblemCase.case_id == Case.id)
        .where(ProblemCase.problem_id == problem.id)
    ).one()
    return ProblemFigures(
        linked=linked,
        open_cases=open_cases,
        closed_cases=linked - open_cases,
        customers=customers,
        redress=redress_paid(problem),
    )


def case_counts_subquery():
    """Per problem: its linked cases and how many of them are open (for lists)."""
    is_open = sql_case((Case.status.in_(OPEN_STATUS_VALUES), 1), else_=0)
    return (
        select(ProblemCase.problem_id.label("problem_id"),
               func.count(Case.id).label("linked"),
               func.sum(is_open).label("open_cases"))
        .join(Case, Case.id == ProblemCase.case_id)
        .group_by(ProblemCase.problem_id)
        .subquery("problem_case_counts")
    )


def redress_paid(problem: Problem) -> list[tuple[str, int]]:
    from shared.models import GIVEN_REDRESS_STATES, Redress

    given = sorted(state.value for state in GIVEN_REDRESS_STATES)
    return [
        (currency, total)
        for currency, total in db.session.execute(
            select(Redress.currency, func.sum(Redress.amount_minor))
            .join(ProblemCase, ProblemCase.case_id == Redress.case_id)
            .where(ProblemCase.problem_id == problem.id, Redress.state.in_(given),
                   Redress.amount_minor.is_not(None))
            .group_by(Redress.currency)
            .order_by(Redress.currency)
        ).all()
    ]


def fix_update_text(problem: Problem, case: Case) -> str:
    """The problem's customer summary, filled in for this case's customer."""
    return fill(problem.customer_summary or "", case)


def fix_updates_offered(case: Case, problems: list[Problem]) -> set[int]:
    """Of the case's fixed problems, those whose update the case page offers to write: while
    the owner's task to tell the customer is open. A case linked after the fix got no task:
    the offer stands for it while the case is open. Reads the case's tasks, which the case
    page shows anyway."""
    fixed = [problem for problem in problems
             if problem.status in (ProblemStatus.FIXED, ProblemStatus.CONFIRMED_FIXED)
             and problem.customer_summary and case.is_open]
    if not fixed:
        return set()
    fix_tasks = {}  # title -> whether one of them is open
    for task in case.tasks:
        fix_tasks[task.title] = fix_tasks.get(task.title, False) or task.is_open
    return {problem.id for problem in fixed
            if fix_tasks.get(FIX_TASK_TITLE.format(reference=problem.reference), True)}


def open_fix_task(case: Case, user: User) -> Task | None:
    """The person's newest open task to tell the case's customer about a fix (one statement)."""
    return db.session.scalars(
        select(Task)
        .where(Task.case_id == case.id, Task.assignee_id == user.id,
               Task.status.in_(sorted(OPEN_TASK_STATUSES)),
               Task.title.like(FIX_TASK_TITLE.format(reference="%")))
        .order_by(Task.id.desc())
        .limit(1)
    ).first()


def owners_told_words(tasks: list[Task]) -> str:
    """ "3 tasks given to 2 case owners to tell their customers", for the flash and the
    problem's timeline."""
    owners = len({task.assignee_id for task in tasks})
    if not tasks:
        return "No linked case is open, so no case owner was given a task."
    if len(tasks) == owners:
        return (f"{owners} case owner{'s were' if owners != 1 else ' was'} given a task to tell"
                f" {'their customers' if owners != 1 else 'the customer'}.")
    return (f"{len(tasks)} tasks given to {owners} case owner{'s' if owners != 1 else ''}"
            " to tell their customers.")


# --- Inside ------------------------------------------------------------------------------------


def _record(problem: Problem, kind: ProblemEventKind, actor: User | None, *, body: str = "",
            data: dict | None = None) -> ProblemEvent:
    event = ProblemEvent(problem=problem, kind=kind, actor=actor, body=body, data=data or {})
    db.session.add(event)
    return event


def _require_change(problem: Problem, actor: User, expected_version: int) -> None:
    if not can_change_problem(actor, problem):
        raise RuleViolation(
            f"Only the {problem.team.name} team, the problem's owner or a manager can change"
            " this problem.", field="status",
        )
    if expected_version is None or int(expected_version) != problem.version:
        raise ProblemChangedMeanwhile(ProblemChangedMeanwhile.message)


def _checked_text(title: str, description: str, customer_summary: str) -> tuple[str, str, str]:
    title = (title or "").strip()
    description = (description or "").strip()
    customer_summary = (customer_summary or "").strip()
    if not title:
        raise RuleViolation("Give the problem a short title colleagues will recognise.",
                            field="title")
    if len(title) > TITLE_MAX:
        raise RuleViolation(f"Keep the title under {TITLE_MAX} characters.", field="title")
    if len(description) > DESCRIPTION_MAX:
        raise RuleViolation(f"Keep the description under {DESCRIPTION_MAX:,} characters.",
                            field="description")
    if len(customer_summary) > SUMMARY_MAX:
        raise RuleViolation(f"Keep the summary for customers under {SUMMARY_MAX:,} characters.",
                            field="customer_summary")
    return title, description, customer_summary


def _check_owner(team: Team | None, owner: User | None) -> None:
    if team is None:
        raise RuleViolation("Choose the team that can fix it.", field="team")
    if owner is None:
        raise RuleViolation("Choose who in that team owns the problem.", field="owner")
    if not (owner.active and owner.role in STAFF_ROLES):
        raise RuleViolation("Choose someone who works here now.", field="owner")
    if owner.team_id != team.id:
        raise RuleViolation(f"{owner.name} is not in the {team.name} team: choose someone who"
                            " is, or another team.", field="owner")


def _check_subject(root_cause: RootCause | None, product: Product | None,
                   current: Problem | None = None) -> None:
    # A retired cause or product stays only where it already was.
    if root_cause is not None and root_cause.is_retired and (
        current is None or current.root_cause_id != root_cause.id
    ):
        raise RuleViolation("That cause is no longer used: choose another.", field="root_cause")
    if product is not None and product.is_retired and (
        current is None or current.product_id != product.id
    ):
        raise RuleViolation("That product is no longer offered: choose another.",
                            field="product")


def _link(problem: Problem, case: Case, *, actor: User) -> ProblemCase:
    if not can_coordinate(actor, case):
        raise RuleViolation(
            f"Only {case.owner.name}, who looks after {case.reference}, or a manager can link"
            " it to a problem.", field="cases",
        )
    if not problem.is_open:
        raise RuleViolation(
            f"{problem.reference} is closed ({problem.status_label}): reopen it before linking"
            " cases to it.", field="problem",
        )
    if db.session.get(ProblemCase, (problem.id, case.id)) is not None:
        raise RuleViolation(f"{case.reference} is already linked to {problem.reference}.",
                            field="problem")
    link = ProblemCase(problem=problem, case=case, linked_by=actor)
    db.session.add(link)
    _record(problem, ProblemEventKind.CASE_LINKED, actor, body=f"{case.reference} linked.",
            data={"case_id": case.id})
    record_event(case, EventKind.PROBLEM_LINKED, actor=actor, visibility=Visibility.INTERNAL,
                 body=f"Linked to problem {problem.reference}: {problem.title}",
                 data={"problem_id": problem.id})
    return link


def _tell_case_owners(problem: Problem, actor: User, now: datetime) -> list[Task]:
    """A task for each linked open case's owner, due by the case's next update (or one
    business day from now when that is sooner than an hour away or not set)."""
    cases = db.session.scalars(
        select(Case)
        .join(ProblemCase, ProblemCase.case_id == Case.id)
        .where(ProblemCase.problem_id == problem.id, Case.status.in_(OPEN_STATUS_VALUES))
        .options(joinedload(Case.owner), joinedload(Case.category))
        .order_by(Case.id)
    ).all()
    business_days = {}  # calendar id -> one business day from now, worked out once
    title = FIX_TASK_TITLE.format(reference=problem.reference)
    tasks = []
    for case in cases:
        due_at = case.next_update_due_at
        if due_at is None or due_at <= now + timedelta(hours=1):
            calendar = case.category.service_level.calendar
            if calendar.id not in business_days:
                business_days[calendar.id] = calendar.business_calendar().add_business_days(
                    now, 1)
            due_at = business_days[calendar.id]
        details = fix_update_text(problem, case)
        task = Task(case=case, title=title, details=details, due_at=due_at,
                    assignee=case.owner, status=TaskStatus.OPEN,
                    created_by=actor)
        db.session.add(task)
        db.session.flush()
        tasks.append(task)
        record_event(
            case, EventKind.PROBLEM_FIXED, actor=actor, visibility=Visibility.INTERNAL,
            body=f"Problem {problem.reference} is fixed: {problem.title}\n"
                 f"Task for {case.owner.name}: tell {case.contact_name} about the fix.",
            data={"problem_id": problem.id, "task_id": task.id,
                  "due_at": due_at.isoformat()},
        )
        if case.owner_id != actor.id:
            notify(case.owner, "problem_fixed",
                   f"{problem.reference} is fixed: tell {case.contact_name} about the fix on"
                   f" {case.reference}. The update is written for you in the task.", case=case)
    _record(problem, ProblemEventKind.OWNERS_TOLD, actor,
            body=owners_told_words(tasks) if cases else "No open cases to tell.",
            data={"case_ids": [case.id for case in cases],
                  "task_ids": [task.id for task in tasks]})
    return tasks
