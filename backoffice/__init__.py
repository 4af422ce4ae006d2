"""The staff back office, under /staff."""

from flask import Blueprint

bp = Blueprint("backoffice", __name__)

# Each module attaches its routes to bp and registers its navigation entries.
from backoffice import (  # noqa: E402,F401
    admin,
    cases,
    coordination,
    dashboard,
    escalations,
    notifications,
    outbox,
    patterns,
    problems,
    queues,
    saved_replies,
    two_factor,
    views,
)
from backoffice.navigation import navigation_for_current_user  # noqa: E402


@bp.context_processor
def staff_navigation():
    return {"staff_navigation": navigation_for_current_user()}
