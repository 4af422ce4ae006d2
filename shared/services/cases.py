"""Business actions on a case, from raising it to the customer's rating."""

from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy.orm.attributes import flag_modified
from werkzeug.datastructures import FileStorage

from shared.extensions import db
from shared.models import (
    REPRESENTATIVE_RELATIONSHIPS,
    Case,
    CaseStatus,
    Category,
    EventKind,
    Outcome,
    Priority,
    Product,
    RootCause,
    TaskStatus,
    User,
    Visibility,
    reference_for,
    utcnow,
)
from shared.services import accounts
from shared.services.assignment import choose_owner
from shared.services.attachments import check_uploads, store_attachments
from shared.services.errors import RuleViolation
from shared.services.mail import external_url, queue_email
from shared.services.notifications import notify
from shared.services.time_frames import (
    apply_time_frames,
    next_update_due,
    recompute_time_frames,
    time_frames_for,
)
from shared.services.timeline import record_event
from shared.tokens import SIGN_IN, make_link_token


def raise_case(
    *,
    name: str,
    email: str,
    description: str,
    category: Category,
    desired_outcome: str = "",
    external_reference: str | None = None,
    on_behalf_of: str | None = None,
    representative_relationship: str | None = None,
    attachments: list[FileStorage] = (),
    signed_in_customer: User | None = None,
) -> Case:
    """A customer raises a complaint: it gets an owner, time frames and a receipt at once."""
    attachments = list(attachments)
    check_uploads(attachments)
    if on_behalf_of and representative_relationship not in REPRESENTATIVE_RELATIONSHIPS:
        raise RuleViolation(
            "Tell us how you are related to the person you are complaining for.",
            field="representative_relationship",
        )
    customer = signed_in_customer or accounts.find_or_create_customer(email=email, name=name)
    owner = choose_owner(category.default_team)
    now = utcnow()
    frames = time_frames_for(category, Priority.NORMAL, now)
    case = Case(
        status=CaseStatus.NEW,
        priority=Priority.NORMAL,
        customer=customer,
        contact_name=name.strip(),
        contact_email=customer.email,
        on_behalf_of=(on_behalf_of or "").strip() or None,
        representative_relationship=representative_relationship if on_behalf_of else None,
        category=category,
        team=category.default_team,
        owner=owner,
        description=description.strip(),
        desired_outcome=(desired_outcome or "").strip(),
        external_reference=(external_reference or "").strip() or None,
        created_at=now,
        # Until someone acknowledges, the next thing the customer hears is the acknowledgement.
        next_update_due_at=frames.acknowledge_due_at,
    )
    apply_time_frames(case, frames)
    db.session.add(case)
    db.session.flush()
    case.reference = reference_for(case.id)

    created = record_event(
        case,
        EventKind.CREATED,
        actor=customer,
        body=case.description,
        data={"category": category.name, "desired_outcome": case.desired_outcome},
    )
    if attachments:
        store_attachments(case, attachments, uploader=customer, event=created)
    record_event(
        case,
        EventKind.ASSIGNED,
        actor=None,
        body=f"{owner.name} is looking after this complaint.",
        data={"owner_id": owner.id, "owner": owner.name, "automatic": True},
    )
    notify(
        owner,
        "case_assigned",
        f"A new complaint from {case.contact_name} is yours: {case.summary}",
        case=case,
    )
    queue_email(
        "case_received",
        customer.email,
        f"We have received your complaint {case.reference}",
        case=case,
        customer_name=case.contact_name,
        owner=owner,
        sign_in_url=sign_in_url_for(customer, case),
    )
    return case


def sign_in_url_for(customer: User, case: Case | None = None) -> str:
    token = make_link_token(SIGN_IN, customer, case.reference if case else None)
    return external_url("portal.magic_link", token=token)


def acknowledge_case(case: Case, *, actor: User) -> None:
    """The owner has read the complaint and made personal contact."""
    _move(case, CaseStatus.ACKNOWLEDGED, actor=actor)
    now = utcnow()
    case.acknowledged_at = now
    case.next_update_due_at = next_update_due(case, now)
    record_event(case, EventKind.ACKNOWLEDGED, actor=actor,
                 body=f"{actor.name} acknowledged your complaint.")


def begin_work(case: Case, *, actor: User) -> None:
    """Work on an acknowledged case moves it to in progress ("Being worked on" in the portal).

    Work is what is done towards putting it right: an update to the customer, a task given
    out, a promise made, remedies offered, an escalation asked for. A new case waits for its
    acknowledgement, a personal word that no internal step replaces (an update is one, and
    acknowledges it first); a case waiting on the customer stays so until they reply.
    """
    if case.status != CaseStatus.ACKNOWLEDGED:
        return
    _move(case, CaseStatus.IN_PROGRESS, actor=actor)
    record_event(
        case,
        EventKind.STATUS_CHANGED,
        actor=actor,
        body=f"Status: {case.status_words}.",
        data={"from": CaseStatus.ACKNOWLEDGED, "to": case.status, "automatic": True},
    )


def change_status(case: Case, status: CaseStatus, *, actor: User) -> None:
    """Move a case along the allowed transitions, keeping its dates true to the move."""
    status = CaseStatus(status)
    if status == CaseStatus.RESOLVED:
        # Resolving tells the customer what was done: that needs resolve_case's text.
        raise RuleViolation("Resolve the case with a note of what was done.", field="status")
    if status == CaseStatus.ACKNOWLEDGED:
        acknowledge_case(case, actor=actor)
        return
    before = case.status
    _move(case, status, actor=actor)
    now = utcnow()
    if status == CaseStatus.CLOSED:
        case.closed_at = now
        case.next_update_due_at = None
    elif before in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        # Staff reopening it: the case is open again and the update clock restarts.
        case.resolved_at = None
        case.closed_at = None
        case.next_update_due_at = next_update_due(case, now)
    record_event(
        case,
        EventKind.STATUS_CHANGED,
        actor=actor,
        body=f"Status: {case.status_words}.",
        data={"from": before, "to": case.status},
    )


def change_priority(
    case: Case, priority: Priority, *, actor: User, reason: str, tell_customer: bool = True
) -> None:
    """A priority change moves the time frames; the reason goes on the timeline.

    `tell_customer=False` when the caller sends the customer one email covering this change
    with others (an approved escalation), so they do not get several overlapping ones.
    """
    if not reason.strip():
        raise RuleViolation("Say why the priority changes.", field="reason")
    if case.priority == priority:
        return
    before = case.priority
    case.priority = priority
    record_event(
        case,
        EventKind.PRIORITY_CHANGED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Priority changed from {before} to {priority}: {reason.strip()}",
        data={"field": "priority", "from": before, "to": str(priority), "reason": reason.strip()},
    )
    _recompute_and_tell_customer(
        case, actor=actor, reason=f"Priority changed: {reason.strip()}",
        tell_customer=tell_customer,
    )


def change_category(case: Case, category: Category, *, actor: User, reason: str) -> None:
    if not reason.strip():
        raise RuleViolation("Say why the category changes.", field="reason")
    if case.category_id == category.id:
        return
    before = case.category.name
    case.category = category
    record_event(
        case,
        EventKind.CATEGORY_CHANGED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=f"Category changed from {before} to {category.name}: {reason.strip()}",
        data={"field": "category", "from": before, "to": category.name, "reason": reason.strip()},
    )
    _recompute_and_tell_customer(case, actor=actor, reason=f"Category changed: {reason.strip()}")


def _recompute_and_tell_customer(
    case: Case, *, actor: User, reason: str, tell_customer: bool = True
) -> None:
    """New time frames, and, when the dates moved, an email with the new ones."""
    before = (case.acknowledge_due_at, case.first_response_due_at, case.resolve_due_at)
    recompute_time_frames(case, actor=actor, reason=reason)
    if (case.acknowledge_due_at, case.first_response_due_at, case.resolve_due_at) == before:
        return
    if not tell_customer:
        return
    queue_email(
        "dates_changed",
        case.customer.email,
        f"New dates for your complaint {case.reference}",
        case=case,
        customer_name=case.contact_name,
        owner=case.owner,
        sign_in_url=sign_in_url_for(case.customer, case),
    )


def post_customer_reply(
    case: Case, *, customer: User, body: str, attachments: list[FileStorage] = ()
) -> None:
    attachments = list(attachments)
    if not body.strip():
        raise RuleViolation("Write your message before sending it.", field="body")
    if not case.is_open and case.status != CaseStatus.RESOLVED:
        raise RuleViolation(
            "This complaint is closed. Reopen it if you are still unhappy.", field="body"
        )
    check_uploads(attachments)
    event = record_event(case, EventKind.CUSTOMER_REPLY, actor=customer, body=body.strip())
    if attachments:
        store_attachments(case, attachments, uploader=customer, event=event)
    if case.status == CaseStatus.WAITING_ON_CUSTOMER:
        _move(case, CaseStatus.IN_PROGRESS, actor=customer)
    notify(
        case.owner,
        "customer_replied",
        f"{case.contact_name} replied on {case.reference}: {case.summary}",
        case=case,
    )


@dataclass(frozen=True)
class Settlement:
    """What resolving does with one open promise or task, and the words that go with it."""

    outcome: str
    note: str = ""


# Every open promise is kept, not kept, or no longer needed; every open task done or cancelled.
PROMISE_OUTCOMES = {"kept": "Kept", "broken": "Not kept", "cancelled": "No longer needed"}
TASK_OUTCOMES = {"done": "Done", "cancelled": "Cancelled"}


def resolve_case(
    case: Case,
    *,
    actor: User,
    resolution: str,
    outcome: Outcome | str | None,
    root_cause: RootCause | None,
    root_cause_words: str = "",
    product: Product | None = None,
    promises: Mapping[int, Settlement] | None = None,
    tasks: Mapping[int, Settlement] | None = None,
) -> None:
    """Staff put it right: tell the customer what was done, thank them, invite a rating.

    What we learn is recorded with it: the outcome, the root cause (in words too, for a cause
    such as "Other") and the product affected. The customer reads the resolution and the
    remedies given, in words; never the outcome or the cause.

    Nothing is left hanging: `promises` and `tasks` (by id) say what happens to each one still
    open, and resolving is refused while one has no answer, or while a remedy awaits a
    manager's approval. A resolved case never shows the customer a promise as still on track.
    """
    if not resolution.strip():
        raise RuleViolation("Describe what was done to put things right.", field="resolution")
    outcome, root_cause_words = _check_learning(
        case, outcome=outcome, root_cause=root_cause, root_cause_words=root_cause_words,
        product=product,
    )
    # Imported here: redress imports this module.
    from shared.services import redress as redress_actions

    waiting = redress_actions.awaiting_approval(case)
    if waiting:
        raise RuleViolation(
            "A manager must approve the "
            + " and the ".join(redress_actions.short_words(r) for r in waiting)
            + " before this case can be resolved: it is waiting for their decision. Resolve"
            " once they have, or remove it and record what is within your limit.",
            field="redress",
        )
    _settle_open_work(case, actor=actor, promises=promises or {}, tasks=tasks or {})
    _move(case, CaseStatus.RESOLVED, actor=actor)
    now = utcnow()
    case.resolution = resolution.strip()
    case.resolved_at = now
    case.acknowledged_at = case.acknowledged_at or now
    case.first_responded_at = case.first_responded_at or now
    case.next_update_due_at = None
    case.outcome = outcome.value
    case.root_cause = root_cause
    case.root_cause_words = root_cause_words or None
    case.product = product
    remedies = redress_actions.remedies_in_words(case)
    record_event(
        case,
        EventKind.RESOLVED,
        actor=actor,
        body=case.resolution + _remedies_text(remedies),
    )
    # What we learned, for colleagues only: a later reopen and resolve leaves both on record.
    record_event(
        case,
        EventKind.LEARNING_RECORDED,
        actor=actor,
        visibility=Visibility.INTERNAL,
        body=_learning_text(case),
        data={
            "outcome": case.outcome,
            "root_cause_id": root_cause.id,
            "product_id": product.id if product else None,
        },
    )
    # A request for a manager's decision is moot now. Imported here: escalations imports us.
    from shared.services.escalations import withdraw_for_finished_case

    withdraw_for_finished_case(case, actor=actor, outcome="resolved")
    queue_email(
        "case_resolved",
        case.customer.email,
        f"Your complaint {case.reference} is resolved: thank you",
        case=case,
        customer_name=case.contact_name,
        owner=case.owner,
        reopen_until=reopen_deadline(case),
        sign_in_url=sign_in_url_for(case.customer, case),
        remedies=remedies,
    )


ROOT_CAUSE_WORDS_MAX = 2000


def _learning_text(case: Case) -> str:
    """“Outcome: upheld. Cause: Delivery → Carrier missed the slot. Product: Parcels.”"""
    cause = case.root_cause.full_name
    if case.root_cause_words:
        cause += f" ({case.root_cause_words})"
    parts = [f"Outcome: {Outcome(case.outcome).label.lower()}", f"Cause: {cause}"]
    if case.product is not None:
        parts.append(f"Product: {case.product.name}")
    return ". ".join(parts) + "."


def _check_learning(
    case: Case, *, outcome, root_cause: RootCause | None, root_cause_words: str,
    product: Product | None,
) -> tuple[Outcome, str]:
    """The outcome, cause and product resolving records: refused with the field to fix.
    A retired cause or product stays acceptable on the case that already has it."""
    try:
        outcome = Outcome(outcome)
    except ValueError:
        raise RuleViolation(
            "Choose the outcome: upheld, partly upheld, not upheld or withdrawn.",
            field="outcome",
        ) from None
    if root_cause is None:
        raise RuleViolation(
            "Choose the root cause: what went wrong, from the list. Choose “Other” and say"
            " in words if none fits.",
            field="root_cause",
        )
    if (root_cause.is_retired or root_cause.area.is_retired) and (
        root_cause.id != case.root_cause_id
    ):
        raise RuleViolation(
            f"The cause “{root_cause.name}” is no longer in use: choose another.",
            field="root_cause",
        )
    root_cause_words = (root_cause_words or "").strip() if root_cause.asks_for_words else ""
    if root_cause.asks_for_words and not root_cause_words:
        raise RuleViolation(
            f"Say in words what caused it: “{root_cause.name}” needs a few words.",
            field="root_cause_words",
        )
    if len(root_cause_words) > ROOT_CAUSE_WORDS_MAX:
        raise RuleViolation(
            f"Keep the cause under {ROOT_CAUSE_WORDS_MAX:,} characters.",
            field="root_cause_words",
        )
    if product is not None and product.is_retired and product.id != case.product_id:
        raise RuleViolation(
            f"“{product.name}” is no longer in the list of products: choose another.",
            field="product",
        )
    return outcome, root_cause_words


def _remedies_text(remedies: list[str]) -> str:
    """The remedies given, after the resolution, as the customer reads them."""
    if not remedies:
        return ""
    return "\n\nTo put things right:\n" + "\n".join(f"• {words}" for words in remedies)


def promise_field(commitment_id: int) -> str:
    return f"promise_{commitment_id}"


def task_field(task_id: int) -> str:
    return f"task_{task_id}"


def _settle_open_work(
    case: Case, *, actor: User, promises: Mapping[int, Settlement], tasks: Mapping[int, Settlement]
) -> None:
    # Imported here: both modules import this one.
    from shared.services import commitments as promise_actions
    from shared.services import tasks as task_actions

    for commitment in promise_actions.open_commitments(case):
        field = promise_field(commitment.id)
        settlement = promises.get(commitment.id)
        if settlement is None or settlement.outcome not in PROMISE_OUTCOMES:
            raise RuleViolation(
                f"Say what happens to the promise “{commitment.description}”.", field=field
            )
        with _errors_on(field, note_field="note"):
            if settlement.outcome == "cancelled":
                promise_actions.cancel_commitment(
                    case, commitment, actor=actor, reason=settlement.note
                )
            else:
                promise_actions.settle_commitment(
                    case, commitment, actor=actor, kept=settlement.outcome == "kept",
                    note=settlement.note,
                )
    for task in [task for task in case.tasks if task.is_open]:
        field = task_field(task.id)
        settlement = tasks.get(task.id)
        if settlement is None or settlement.outcome not in TASK_OUTCOMES:
            raise RuleViolation(f"Say what happens to the task “{task.title}”.", field=field)
        # A task's words are its "outcome".
        with _errors_on(field, note_field="outcome"):
            task_actions.update_task(
                task, actor=actor, status=TaskStatus(settlement.outcome), outcome=settlement.note
            )


@contextmanager
def _errors_on(field: str, *, note_field: str):
    """A promise's or a task's own rule, shown beside its question on the resolve form, or
    beside the words that go with the answer."""
    try:
        yield
    except RuleViolation as violation:
        where = f"{field}_note" if violation.field == note_field else field
        raise RuleViolation(violation.message, field=where) from violation


def reopen_deadline(case: Case):
    if case.resolved_at is None:
        return None
    return case.resolved_at + timedelta(days=current_app.config["REOPEN_WINDOW_DAYS"])


def can_reopen(case: Case) -> bool:
    deadline = reopen_deadline(case)
    return (
        case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        and deadline is not None
        and utcnow() <= deadline
    )


def confirm_resolution(case: Case, *, customer: User) -> None:
    """The customer agrees it is put right: the case closes."""
    if case.status != CaseStatus.RESOLVED:
        raise RuleViolation("Only a resolved complaint can be closed.")
    _move(case, CaseStatus.CLOSED, actor=customer)
    case.closed_at = utcnow()
    record_event(
        case, EventKind.CLOSED, actor=customer, body="You confirmed that this is put right."
    )


def reopen_case(case: Case, *, customer: User, reason: str) -> None:
    if not reason.strip():
        raise RuleViolation("Tell us what is still wrong.", field="reason")
    if not can_reopen(case):
        raise RuleViolation(
            "This complaint can no longer be reopened here. Please raise a new one.",
            field="reason",
        )
    _move(case, CaseStatus.IN_PROGRESS, actor=customer)
    now = utcnow()
    case.resolved_at = None
    case.closed_at = None
    case.next_update_due_at = next_update_due(case, now)
    record_event(case, EventKind.REOPENED, actor=customer, body=reason.strip())


def rate_case(case: Case, *, customer: User, rating: int, comment: str = "") -> None:
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        raise RuleViolation("You can rate how we did once your complaint is resolved.")
    if case.rating is not None:
        raise RuleViolation("You have already rated this complaint: thank you.")
    if rating not in range(1, 6):
        raise RuleViolation("Choose a rating from 1 to 5.", field="rating")
    case.rating = rating
    case.rating_comment = comment.strip() or None
    case.rated_at = utcnow()
    record_event(
        case,
        EventKind.RATED,
        actor=customer,
        body=f"Rated {rating} out of 5."
        + (f" “{case.rating_comment}”" if case.rating_comment else ""),
        data={"rating": rating},
    )


def mark_changed(case: Case) -> None:
    """Save the case row with its next version even if no column changes: a form written
    against the old version then conflicts, and a save running at the same moment waits on the
    row's lock and then finds its version gone."""
    flag_modified(case, "status")


def _move(case: Case, status: CaseStatus, *, actor: User | None) -> None:
    if not case.can_move_to(status):
        raise RuleViolation(
            f"A case that is {CaseStatus(case.status).value.replace('_', ' ')} cannot become"
            f" {status.value.replace('_', ' ')}."
        )
    case.status = status
