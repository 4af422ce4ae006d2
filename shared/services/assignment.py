"""Automatic assignment: every case has a named owner from the moment it exists."""

from sqlalchemy import and_, func, select

from shared.extensions import db
from shared.models import OPEN_STATUSES, Case, Role, Team, User
from shared.services.errors import RuleViolation


def choose_owner(team: Team) -> User:
    """The least-loaded available agent of the team; else its manager; else any manager.

    "Available" means active and not marked away. Ties go to the longest-serving (lowest id),
    so the choice is deterministic.
    """
    open_cases = func.count(Case.id)
    least_loaded_agent = db.session.scalars(
        select(User)
        .outerjoin(Case, and_(Case.owner_id == User.id, Case.status.in_(OPEN_STATUSES)))
        .where(
            User.team_id == team.id,
            User.role == Role.AGENT,
            User.active.is_(True),
            User.away.is_(False),
        )
        .group_by(User.id)
        .order_by(open_cases, User.id)
        .limit(1)
    ).first()
    if least_loaded_agent is not None:
        return least_loaded_agent
    if team.manager is not None and team.manager.active:
        return team.manager
    fallback = db.session.scalars(
        select(User)
        .where(User.role.in_([Role.MANAGER, Role.ADMIN]), User.active.is_(True))
        .order_by(User.role.desc(), User.id)  # managers before admins
        .limit(1)
    ).first()
    if fallback is None:
        raise RuleViolation("Nobody is available to look after new complaints.")
    return fallback
