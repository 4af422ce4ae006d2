"""Business actions: one function per action.

Each takes the actor, checks the rule, changes the data, writes the timeline and queues
mail, and never commits. The caller (a view or a command) commits once through
`commit()`, which then hands the mail the action queued to whoever sends it (see
shared/services/delivery.py).
"""

from shared.extensions import db
from shared.services import delivery as _delivery
from shared.services import mail as _mail
from shared.services.errors import RuleViolation

__all__ = ["RuleViolation", "commit", "rollback"]


def commit() -> None:
    """Commit the unit of work, then hand on what it queued: mail never precedes the data."""
    db.session.commit()
    _delivery.dispatch(_mail.take_queued_ids())


def rollback() -> None:
    db.session.rollback()
    _mail.forget_queued()
