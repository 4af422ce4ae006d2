"""Who looks after a case. Every case has one owner; this is the only way to change it.

A hand-off costs the customer (a new person to get to know), so each one needs a reason,
goes on the timeline, tells the customer the new name and is counted on the case.
"""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from shared.extensions import db
from shared.models import STAFF_ROLES, Case, EventKind, User, Visibility
from shared.permissions import can_coordinate
from shared.services.cases import sign_in_url_for
from shared.services.errors import RuleViolation
from shared.services.mail import queue_email
from shared.services.notifications import notify
from shared.services.timeline import record_event


def transfer_candidates(case: Case) -> list[User]:
    """Staff who could take the case over: active, not away, and not its owner already."""
    return db.session.scalars(
        select(User)
        .where(
            User.role.in_(STAFF_ROLES),
            User.active.is_(True),
            User.away.is_(False),
            User.id != case.owner_id,
        )
        .options(joinedload(User.team))
        .order_by(User.name, User.id)
    ).all()


def transfer_owner(
    case: Case, *, actor: User, new_owner: User, reason: str, tell_customer: bool = True
) -> None:
    """Hand the case to `new_owner`. `tell_customer=False` when the caller sends the customer
    one email that covers this hand-off with other news (an approved escalation)."""
    if not can_coordinate(actor, case):
        raise RuleViolation(
            f"Only {case.owner.name}, who looks after this case, or a manager can hand it over."
        )
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("Say why someone else should look after this case.", field="reason")
    if new_owner is None or not new_owner.is_staff or not new_owner.active:
        raise RuleViolation("Choose an active member of staff.", field="new_owner")
    if new_owner.id == case.owner_id:
        raise RuleViolation(
            f"{new_owner.name} already looks after this case. Choose someone else.",
            field="new_owner",
        )
    if new_owner.away:
        raise RuleViolation(
            f"{new_owner.name} is marked as away. Choose someone who is here.", field="new_owner"
        )

    previous = case.owner
    case.owner = new_owner
    # The case goes to the new owner's team, so it shows in that team's work.
    if new_owner.team_id is not None:
        case.team_id = new_owner.team_id
    case.handoff_count = (case.handoff_count or 0) + 1

    record_event(
        case,
        EventKind.TRANSFERRED,
        actor=actor,
        visibility=Visibility.PUBLIC,
        body=f"{new_owner.name} is now looking after your complaint.",
        data={
            "from_owner_id": previous.id,
            "from_owner": previous.name,
            "to_owner_id": new_owner.id,
            "to_owner": new_owner.name,
            "handoff_count": case.handoff_count,
        },
    )
    # Why it moved is for staff only: the customer is told who, not our internal reasons.
    record_event(
        case,
        EventKind.NOTE,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Handed over from {previous.name} to {new_owner.name}: {reason}",
        data={"transfer": True, "reason": reason, "from_owner_id": previous.id,
              "to_owner_id": new_owner.id},
    )
    # Whoever takes a case over on their own initiative knows already.
    if new_owner.id != actor.id:
        notify(
            new_owner,
            "case_assigned",
            f"{actor.name} handed {case.reference} to you: {reason}",
            case=case,
        )
    if not tell_customer:
        return
    queue_email(
        "owner_changed",
        case.customer.email,
        f"{new_owner.name} is now looking after your complaint {case.reference}",
        case=case,
        customer_name=case.contact_name,
        owner=new_owner,
        previous_owner=previous,
        sign_in_url=sign_in_url_for(case.customer, case),
    )
