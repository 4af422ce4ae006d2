"""Tasks: the owner gives work to a fixer team or one person, and stays the owner.

Coordinating through tasks, rather than handing the case on, keeps one person in charge: no
function here ever changes a case's owner.
"""

from datetime import datetime

from sqlalchemy import select

from shared.extensions import db
from shared.models import (
    STAFF_ROLES,
    Case,
    EventKind,
    Task,
    TaskStatus,
    Team,
    User,
    Visibility,
    utcnow,
)
from shared.permissions import can_coordinate
from shared.services.cases import begin_work
from shared.services.errors import RuleViolation
from shared.services.mail import external_url
from shared.services.notifications import notify
from shared.services.timeline import record_event

TITLE_MAX = 200
TEXT_MAX = 5000

# Finished tasks stay finished: new work is a new task, so the record stays honest.
TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


def create_task(
    case: Case,
    *,
    actor: User,
    title: str,
    details: str = "",
    due_at: datetime,
    team: Team | None = None,
    assignee: User | None = None,
) -> Task:
    title, details = (title or "").strip(), (details or "").strip()
    if not title:
        raise RuleViolation("Give the task a short title.", field="title")
    if len(title) > TITLE_MAX:
        raise RuleViolation(f"Keep the title under {TITLE_MAX} characters.", field="title")
    if len(details) > TEXT_MAX:
        raise RuleViolation(f"Keep the details under {TEXT_MAX} characters.", field="details")
    if team is None and assignee is None:
        raise RuleViolation("Choose a team or a person to do this.", field="assignee")
    if assignee is not None and not (assignee.active and assignee.role in STAFF_ROLES):
        raise RuleViolation("Choose someone who works here now.", field="assignee")
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if due_at <= utcnow():
        raise RuleViolation("That time has already passed: choose a time in the future.",
                            field="due_at")
    if not case.is_open:
        raise RuleViolation("This case is closed: reopen it before giving out work.",
                            field="title")
    task = Task(
        case=case,
        title=title,
        details=details,
        due_at=due_at,
        team=team,
        assignee=assignee,
        status=TaskStatus.OPEN,
        created_by=actor,
    )
    db.session.add(task)
    db.session.flush()
    begin_work(case, actor=actor)
    record_event(
        case,
        EventKind.TASK_CREATED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Task for {assignee_words(task)}: {title}" + (f"\n{details}" if details else ""),
        data={
            "task_id": task.id,
            "assignee_id": assignee.id if assignee else None,
            "team_id": team.id if team else None,
            "due_at": due_at.isoformat(),
        },
    )
    whom = "you" if task.assignee is not None else f"the {task.team.name} team"
    for recipient in _people_to_tell(task, actor):
        notify(
            recipient,
            "task_assigned",
            f"{actor.name} has given {whom} a task on {case.reference}: {title}",
            case=case,
            email_kind="task_assigned",
            subject=f"A task for you on case {case.reference}: {title}",
            task=task,
            person=recipient,
            assigned_by=actor,
            tasks_url=external_url("backoffice.my_tasks"),
        )
    return task


def update_task(task: Task, *, actor: User, status: TaskStatus, outcome: str = "") -> None:
    """Move a task on (or add a progress note without moving it)."""
    outcome = (outcome or "").strip()
    current = TaskStatus(task.status)
    if len(outcome) > TEXT_MAX:
        raise RuleViolation(f"Keep the note under {TEXT_MAX} characters.", field="outcome")
    if status == current:
        if not task.is_open:
            raise RuleViolation(f"This task is already {current.label.lower()}.", field="status")
        if not outcome:
            raise RuleViolation("Choose a new status or write a progress note.", field="outcome")
    elif status not in TASK_TRANSITIONS[current]:
        raise RuleViolation(
            f"A task that is {current.label.lower()} cannot become {status.label.lower()}.",
            field="status",
        )
    if status == TaskStatus.CANCELLED and not can_coordinate(actor, task.case):
        raise RuleViolation("Only the case owner or a manager can cancel a task.",
                            field="status")
    if status in (TaskStatus.DONE, TaskStatus.CANCELLED) and not outcome:
        what = "was done" if status == TaskStatus.DONE else "it is cancelled"
        raise RuleViolation(f"Say what {what}: the owner reads this.", field="outcome")
    task.status = status
    if outcome:
        task.outcome = outcome
    if status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        task.completed_at = utcnow()
    record_event(
        task.case,
        EventKind.TASK_UPDATED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Task “{task.title}”: {status.label}." + (f"\n{outcome}" if outcome else ""),
        data={"task_id": task.id, "from": current.value, "to": status.value},
    )


def assignee_words(task: Task) -> str:
    if task.assignee is not None and task.team is not None:
        return f"{task.assignee.name} ({task.team.name})"
    if task.assignee is not None:
        return task.assignee.name
    return f"the {task.team.name} team"


def overdue_words(due_at: datetime, now: datetime | None = None) -> str | None:
    """E.g. "2 days overdue", in calendar time; None while the time has not come."""
    late = (now or utcnow()) - due_at
    minutes = int(late.total_seconds() // 60)
    if minutes <= 0:
        return None
    if minutes < 60:
        amount, unit = minutes, "minute"
    elif minutes < 24 * 60:
        amount, unit = minutes // 60, "hour"
    else:
        amount, unit = minutes // (24 * 60), "day"
    return f"{amount} {unit}{'s' if amount != 1 else ''} overdue"


def _people_to_tell(task: Task, actor: User) -> list[User]:
    if task.assignee is not None:
        people = [task.assignee]
    else:
        people = db.session.scalars(
            select(User)
            .where(User.team_id == task.team_id, User.active.is_(True),
                   User.role.in_(STAFF_ROLES))
            .order_by(User.name)
        ).all()
    # Whoever set the task knows about it already.
    return [person for person in people if person.id != actor.id]
