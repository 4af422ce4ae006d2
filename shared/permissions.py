"""Who may do what: small checks used by views and templates alike."""

from functools import wraps

from flask import abort
from flask_login import current_user

from shared.extensions import login_manager
from shared.models import Case, Role, User


def is_customer_of(user: User, case: Case) -> bool:
    return user.is_authenticated and case.customer_id == user.id


def is_manager(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.MANAGER, Role.ADMIN)


def can_coordinate(user: User, case: Case) -> bool:
    """Change a case, write to its customer, give tasks, make promises: its owner, or a
    manager covering for them. Everyone else on staff may read it and add internal notes."""
    return user.is_authenticated and (case.owner_id == user.id or is_manager(user))


def can_add_note(user: User, case: Case) -> bool:
    return user.is_authenticated and user.is_staff


def can_work_on_task(user: User, task) -> bool:
    """The person given the task, anyone in the team given it, or whoever coordinates the case."""
    return user.is_authenticated and (
        task.assignee_id == user.id
        or (task.team_id is not None and task.team_id == user.team_id)
        or can_coordinate(user, task.case)
    )


def can_read_mailbox(user: User) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


def customer_required(view):
    """Portal pages for the signed-in customer; staff have their own back office."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_customer:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def staff_required(*roles: Role):
    """Back-office pages: signed-in staff, optionally only some roles."""
    allowed = set(roles) or {Role.AGENT, Role.MANAGER, Role.ADMIN}

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
