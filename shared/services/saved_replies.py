"""Saved replies: shared wording staff start from, with the case's details filled in.

Placeholders are replaced by plain substitution of known names, never by a template engine:
the text is written by staff and must not be able to run anything or reach any attribute.
"""

import re

from sqlalchemy import func, select

from shared.clock import describe_due
from shared.extensions import db
from shared.models import Case, SavedReply, User, utcnow
from shared.services.errors import RuleViolation

TITLE_MAX = 120
BODY_MAX = 10000

PLACEHOLDERS = {
    "customer_name": "the customer's name as they gave it",
    "reference": "the case reference, e.g. AM-000123",
    "owner_name": "the case owner's full name",
    "resolve_by": "the date we promised to put it right by",
    "next_update_by": "when the customer hears from us next",
}

# Only {name} made of lower-case letters and underscores is a placeholder; anything else in
# braces ("{0}", "{name.attr}", a lone "{") is ordinary text and stays as typed.
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class _LeaveUnknown(dict):
    """Known placeholders are filled; unknown ones are left exactly as typed."""

    def __missing__(self, key):
        return "{" + key + "}"


def placeholder_values(case: Case) -> dict[str, str]:
    calendar = case.category.service_level.calendar
    values = _LeaveUnknown(
        customer_name=case.contact_name,
        reference=case.reference,
        owner_name=case.owner.name,
        resolve_by=describe_due(case.resolve_due_at, calendar.zone, calendar.zone_label),
    )
    if case.next_update_due_at is not None:
        values["next_update_by"] = describe_due(
            case.next_update_due_at, calendar.zone, calendar.zone_label
        )
    return values


def fill(body: str, case: Case) -> str:
    values = placeholder_values(case)
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], body)


def create_saved_reply(*, actor: User, title: str, body: str) -> SavedReply:
    title, body = _checked(title, body)
    _require_unique(title)
    reply = SavedReply(title=title, body=body, updated_by_id=actor.id)
    db.session.add(reply)
    db.session.flush()
    return reply


def update_saved_reply(reply: SavedReply, *, actor: User, title: str, body: str) -> None:
    title, body = _checked(title, body)
    _require_unique(title, except_id=reply.id)
    reply.title = title
    reply.body = body
    reply.updated_by_id = actor.id
    reply.updated_at = utcnow()


def delete_saved_reply(reply: SavedReply, *, actor: User) -> None:
    db.session.delete(reply)


def _checked(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise RuleViolation("Give the reply a title staff will recognise.", field="title")
    if len(title) > TITLE_MAX:
        raise RuleViolation(f"Keep the title under {TITLE_MAX} characters.", field="title")
    if not body:
        raise RuleViolation("Write the text of the reply.", field="body")
    if len(body) > BODY_MAX:
        raise RuleViolation(f"Keep the text under {BODY_MAX} characters.", field="body")
    return title, body


def _require_unique(title: str, except_id: int | None = None) -> None:
    query = select(SavedReply.id).where(func.lower(SavedReply.title) == title.lower())
    if except_id is not None:
        query = query.where(SavedReply.id != except_id)
    if db.session.scalar(query) is not None:
        raise RuleViolation("Another saved reply has this title: choose another.",
                            field="title")
