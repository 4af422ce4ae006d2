"""Redress: the remedies given to put a complaint right, and the approval of those above a limit.

Whoever coordinates a case records each remedy (a refund, a goodwill gesture, an apology…),
with an amount and currency where money moves. Each member of staff may give up to their
redress limit on one case, in the organisation's currency: the case's money given, approved
and awaiting approval in that currency, with the new remedy, must stay within it. Above it (or
in another currency) the remedy awaits a manager's approval through the escalation path, with
the need "goodwill": a new request to a team manager, or the one already waiting. The case
cannot be resolved while a remedy awaits; the decision settles it (approved, refused, or
withdrawn with the request).

The customer reads the remedies given, in words, when the case is resolved; the states,
limits and approvals stay internal.
"""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from shared.extensions import db
from shared.models import (
    GIVEN_REDRESS_STATES,
    Case,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EventKind,
    Redress,
    RedressKind,
    RedressState,
    User,
    Visibility,
    utcnow,
)
from shared.money import CURRENCIES, format_money, organisation_currency
from shared.permissions import can_coordinate
from shared.services.errors import RuleViolation
from shared.services.notifications import notify
from shared.services.timeline import record_event

DESCRIPTION_MAX = 1000
GOODWILL_NEED = "goodwill"

# Money that counts against the giver's limit: what is given, and what is asked for.
COUNTED_STATES = frozenset(GIVEN_REDRESS_STATES | {RedressState.AWAITING_APPROVAL})

STATE_WORDS = {
    RedressState.GIVEN: "Given",
    RedressState.AWAITING_APPROVAL: "Awaiting a manager's approval",
    RedressState.APPROVED: "Approved",
    RedressState.REFUSED: "Refused",
    RedressState.WITHDRAWN: "Withdrawn",
}


# --- Reading -----------------------------------------------------------------------------------


def redress_of(case: Case) -> list[Redress]:
    """Every remedy recorded on the case, oldest first, with who recorded it (one statement)."""
    return db.session.scalars(
        select(Redress)
        .where(Redress.case_id == case.id)
        .options(joinedload(Redress.recorded_by))
        .order_by(Redress.id)
    ).all()


def awaiting_approval(case: Case) -> list[Redress]:
    """The remedies waiting for a manager's decision: the case cannot be resolved with them."""
    return [r for r in case.redress if r.state == RedressState.AWAITING_APPROVAL]


def given_redress(case: Case) -> list[Redress]:
    """What the customer was given: within the giver's limit, or approved."""
    return [r for r in case.redress if r.state in GIVEN_REDRESS_STATES]


def redress_awaiting_decision(escalation: Escalation) -> list[Redress]:
    """The remedies an escalation decides (shown on its decision page)."""
    return db.session.scalars(
        select(Redress)
        .where(
            Redress.escalation_id == escalation.id,
            Redress.state == RedressState.AWAITING_APPROVAL,
        )
        .options(joinedload(Redress.recorded_by))
        .order_by(Redress.id)
    ).all()


def amount_words(redress: Redress) -> str | None:
    if redress.amount_minor is None:
        return None
    return format_money(redress.amount_minor, redress.currency)


def redress_words(redress: Redress) -> str:
    """How staff and the customer read one remedy: "Goodwill gesture of £80.00: a voucher"."""
    amount = amount_words(redress)
    head = f"{redress.kind_label} of {amount}" if amount else redress.kind_label
    return f"{head}: {redress.description}" if redress.description else head


def short_words(redress: Redress) -> str:
    """Within a sentence: "goodwill gesture of £80.00", "apology"."""
    amount = amount_words(redress)
    kind = redress.kind_label.lower()
    return f"{kind} of {amount}" if amount else kind


def remedies_in_words(case: Case) -> list[str]:
    """The remedies given, as the customer reads them (no states, limits or approvals)."""
    return [redress_words(r) for r in given_redress(case)]


def state_words(redress: Redress) -> str:
    return STATE_WORDS[RedressState(redress.state)]


def limit_words(user: User) -> str:
    return format_money(user.redress_limit_minor or 0, organisation_currency())


def approval_needed_words(redress: Redress) -> str:
    """Why a remedy awaits approval, for the manager deciding it, after "Recorded by Sam
    Taylor, ": "above their limit of £50.00 a case". Its amount is shown beside it already,
    so it is not repeated here. Reads the case's remedies (one statement, on one page)."""
    home = organisation_currency()
    limit_minor = redress.recorded_by.redress_limit_minor or 0
    limit = f"their limit of {format_money(limit_minor, home)} a case"
    if redress.currency != home:
        return f"in {redress.currency}, while {limit} is in {home}"
    total = _counted_total(redress.case.redress, home)
    if total <= limit_minor:  # their limit was raised since they recorded it
        return f"within {limit} now, but it was not when they recorded it"
    if total > (redress.amount_minor or 0):
        return (
            f"with the case's other remedies, {format_money(total, home)} in all: above"
            f" {limit}"
        )
    return f"above {limit}"


def asked_for_redress(user: User, escalation: Escalation) -> bool:
    """Whether this person recorded a remedy that awaits this escalation's decision: they
    asked for that money, so another manager decides it."""
    return user.id in redress_askers(escalation)


def redress_askers(escalation: Escalation) -> set[int]:
    """The ids of whoever recorded a remedy awaiting this escalation's decision."""
    return set(db.session.scalars(
        select(Redress.recorded_by_id).where(
            Redress.escalation_id == escalation.id,
            Redress.state == RedressState.AWAITING_APPROVAL,
        )
    ))


def _counted_total(remedies, currency: str) -> int:
    """The money a case gives or asks for in `currency`, which counts against a limit."""
    return sum(
        r.amount_minor
        for r in remedies
        if r.currency == currency and r.state in COUNTED_STATES and r.amount_minor
    )


# --- Recording ---------------------------------------------------------------------------------


def record_redress(
    case: Case,
    *,
    actor: User,
    kind: RedressKind | str,
    description: str,
    amount_minor: int | None = None,
    currency: str | None = None,
    beyond_request: bool = False,
) -> Redress:
    """Record a remedy. Money above the actor's limit awaits a manager's approval."""
    if not can_coordinate(actor, case):
        raise RuleViolation(
            f"Only {case.owner.name}, who looks after this case, or a manager can record"
            " remedies on it."
        )
    if not case.is_open:
        raise RuleViolation(
            "This case is no longer open: reopen it before recording a remedy.", field="kind"
        )
    try:
        kind = RedressKind(kind)
    except ValueError:
        raise RuleViolation("Choose what kind of remedy it is.", field="kind") from None
    description = (description or "").strip()
    if not description:
        raise RuleViolation(
            "Describe the remedy in words the customer can read, e.g. “A refund of the"
            " delivery charge”.",
            field="description",
        )
    if len(description) > DESCRIPTION_MAX:
        raise RuleViolation(
            f"Keep the description under {DESCRIPTION_MAX:,} characters.", field="description"
        )
    if kind.moves_money:
        if amount_minor is None or amount_minor <= 0:
            raise RuleViolation(
                f"Enter the amount of the {kind.label.lower()}, like 25.50.", field="amount"
            )
        currency = (currency or organisation_currency()).upper()
        if currency not in CURRENCIES:
            raise RuleViolation("Choose the currency from the list.", field="currency")
    else:
        if amount_minor is not None:
            raise RuleViolation(
                f"{kind.label} is given in kind or in words, so it has no amount: leave the"
                " amount empty, or choose a refund, compensation or a goodwill gesture.",
                field="amount",
            )
        currency = None

    # Worked out before the remedy joins the case's list, which it then counts in.
    above = _above_limit_words(case, actor, amount_minor, currency) if kind.moves_money else None
    redress = Redress(
        case=case,
        kind=kind.value,
        description=description,
        amount_minor=amount_minor,
        currency=currency,
        beyond_request=bool(beyond_request),
        state=RedressState.GIVEN,
        recorded_by=actor,
    )
    if above:
        redress.state = RedressState.AWAITING_APPROVAL
    db.session.add(redress)
    db.session.flush()
    # Recording a remedy is work towards putting things right.
    from shared.services.cases import begin_work  # imported here: cases imports us

    begin_work(case, actor=actor)

    if above:
        redress.escalation = _ask_for_approval(case, redress, actor=actor, why=above)
    record_event(
        case,
        EventKind.REDRESS_RECORDED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Remedy recorded: {redress_words(redress)}"
        + (" (more than the customer asked for)" if redress.beyond_request else "")
        + (f"\nAwaiting a manager's approval: {above}." if above else ""),
        data=_event_data(redress),
    )
    db.session.flush()
    return redress


def _above_limit_words(case: Case, actor: User, amount_minor: int, currency: str) -> str | None:
    """Why this money needs approval, in words, or None when it is within the actor's limit."""
    home = organisation_currency()
    limit = actor.redress_limit_minor or 0
    if currency != home:
        return (
            f"{actor.name}'s limit is in {home}, and this is in {currency}"
        )
    already = _counted_total(case.redress, home)
    total = already + amount_minor
    if total <= limit:
        return None
    if already:
        return (
            f"with the {format_money(already, home)} already given or asked for, this case's"
            f" total of {format_money(total, home)} is above {actor.name}'s limit of"
            f" {format_money(limit, home)}"
        )
    return (
        f"{format_money(amount_minor, home)} is above {actor.name}'s limit of"
        f" {format_money(limit, home)}"
    )


def _ask_for_approval(case: Case, redress: Redress, *, actor: User, why: str) -> Escalation:
    """Link the remedy to a pending escalation with the need "goodwill": the one already
    waiting (which now asks for this too), or a new request to a team manager.

    The remedy itself, with its amount and why it needs approval, is on the timeline and on
    the decision page: the request's reason and details do not repeat it."""
    from shared.services import escalations  # imported here: escalations imports us

    escalation = escalations.open_escalation(case)
    if escalation is not None and escalation.status == EscalationStatus.PENDING:
        needs = list(escalation.needs or [])
        if GOODWILL_NEED not in needs:
            needs.append(GOODWILL_NEED)
            escalation.needs = needs  # a new list, so the JSON column is saved
        # Linked before anyone is told, so that whoever recorded it is not asked to decide it.
        redress.escalation = escalation
        db.session.flush()
        for person in escalations.people_to_ask(escalation):
            notify(
                person,
                "escalation_requested",
                f"{actor.name} also asks for approval of a remedy on case {case.reference}:"
                f" {redress_words(redress)} ({why}).",
                case=case,
            )
        return escalation
    return escalations.request_escalation(
        case,
        actor=actor,
        level=EscalationLevel.TEAM_MANAGER,
        reason="A remedy I recorded is more than I may give on my own, so it needs a"
        " manager's approval.",
        needs=[GOODWILL_NEED],
    )


def remove_redress(redress: Redress, *, actor: User) -> None:
    """Take back a remedy recorded by mistake, before the case is resolved (recorded).

    A remedy awaiting approval goes with its request when nothing else is asked: the request
    is withdrawn, so no manager decides what is no longer wanted.
    """
    case = redress.case
    if not can_coordinate(actor, case):
        raise RuleViolation(
            f"Only {case.owner.name}, who looks after this case, or a manager can remove"
            " remedies from it."
        )
    if not case.is_open:
        raise RuleViolation(
            "This case is resolved: its remedies are part of what the customer was told,"
            " so they stay. Reopen the case to change them."
        )
    escalation = redress.escalation
    was_awaiting = redress.state == RedressState.AWAITING_APPROVAL
    record_event(
        case,
        EventKind.REDRESS_RECORDED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Remedy removed: {redress_words(redress)}"
        + (" (it was awaiting a manager's approval)" if was_awaiting else ""),
        data={**_event_data(redress), "removed": True},
    )
    case.redress.remove(redress)
    db.session.delete(redress)
    db.session.flush()
    if (
        was_awaiting
        and escalation is not None
        and escalation.status == EscalationStatus.PENDING
        and list(escalation.needs or []) == [GOODWILL_NEED]
        and not redress_awaiting_decision(escalation)
    ):
        from shared.services import escalations

        escalations.withdraw_escalation(escalation, actor=actor)


# --- Deciding ----------------------------------------------------------------------------------


def settle_redress_for(escalation: Escalation, outcome: RedressState) -> list[Redress]:
    """The escalation was decided: its remedies awaiting approval take the outcome
    (approved, refused or withdrawn), each on the internal timeline. Returns them."""
    outcome = RedressState(outcome)
    if outcome not in (RedressState.APPROVED, RedressState.REFUSED, RedressState.WITHDRAWN):
        raise ValueError(f"a decision cannot leave a remedy {outcome}")
    settled = redress_awaiting_decision(escalation)
    now = utcnow()
    verb = {
        RedressState.APPROVED: "approved",
        RedressState.REFUSED: "refused",
        RedressState.WITHDRAWN: "withdrawn with the escalation request",
    }[outcome]
    decider = escalation.decided_by
    for redress in settled:
        redress.state = outcome
        redress.decided_at = now
        record_event(
            escalation.case,
            EventKind.REDRESS_DECIDED,
            actor=decider,
            visibility=Visibility.INTERNAL,
            body=f"Remedy {verb}"
            + (f" by {decider.name}" if decider is not None and outcome != RedressState.WITHDRAWN
               else "")
            + f": {redress_words(redress)}",
            data={**_event_data(redress), "escalation_id": escalation.id},
        )
    # Whoever asked is told with the decision; anyone else who recorded one of these is told
    # here, so nobody waits on a remedy that was decided.
    words = settled_words(settled, outcome)
    told = {escalation.requested_by_id}
    for redress in settled:
        if redress.recorded_by_id in told:
            continue
        told.add(redress.recorded_by_id)
        notify(
            redress.recorded_by,
            "escalation_decided",
            f"On case {escalation.case.reference}: {words}.",
            case=escalation.case,
        )
    return settled


def settled_words(settled: list[Redress], outcome: RedressState) -> str:
    """For whoever asked, after "the": "goodwill gesture of £80.00 is refused: it cannot be
    given" (empty when none was settled)."""
    if not settled:
        return ""
    what = " and the ".join(short_words(r) for r in settled)
    is_, it = ("is", "it") if len(settled) == 1 else ("are", "they")
    return {
        RedressState.APPROVED: f"{what} approved, so the case can be resolved with {it}",
        RedressState.REFUSED: f"{what} {is_} refused: {it} cannot be given",
        RedressState.WITHDRAWN: f"{what} {is_} withdrawn with the request",
    }[RedressState(outcome)]


def _event_data(redress: Redress) -> dict:
    return {
        "redress_id": redress.id,
        "kind": redress.kind,
        "amount_minor": redress.amount_minor,
        "currency": redress.currency,
        "state": str(redress.state),
        "beyond_request": redress.beyond_request,
    }
