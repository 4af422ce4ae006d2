"""Who may do what: small checks used by views and templates alike."""

from functools import wraps

from flask import abort
from flask_login import current_user

from shared.extensions import login_manager
from shared.models import Case, Role, User


def is_customer_of(user: User, case: Case) -> bool:
    return user.is_authenticated and case.customer_id == user.id


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
