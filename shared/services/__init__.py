"""Business actions: one function per action.

Each takes the actor, checks the rule, changes the data, writes the timeline and queues
mail, and never commits. The caller (a view or a command) commits once through
`commit()`, which then delivers the mail the action queued.
"""

import logging

from shared.extensions import db
from shared.services import mail as _mail
from shared.services.errors import RuleViolation

log = logging.getLogger(__name__)

__all__ = ["RuleViolation", "commit", "rollback"]


def commit() -> None:
    """Commit the unit of work, then send what it queued: mail never precedes the data."""
    db.session.commit()
    queued = _mail.take_queued_ids()
    if queued:
        try:
            _mail.deliver(queued)
        except Exception:  # the data is saved; the outbox keeps the message for a retry
            log.exception("delivering queued email failed")
            db.session.rollback()


def rollback() -> None:
    db.session.rollback()
    _mail.forget_queued()
