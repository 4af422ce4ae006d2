"""What we understand: the owner paraphrases the complaint, the customer confirms or corrects it.

Listening and paraphrasing back is how a customer knows they were heard; a correction is as
valuable as a confirmation, so both go on the timeline in the customer's own words.
"""

from shared.models import Case, EventKind, Understanding, User
from shared.services.cases import sign_in_url_for
from shared.services.errors import RuleViolation
from shared.services.mail import queue_email
from shared.services.timeline import record_event

MAX_LENGTH = 5000


def propose_understanding(case: Case, *, actor: User, text: str) -> None:
    """The owner writes their paraphrase; the customer is asked by email to confirm it."""
    text = (text or "").strip()
    if not text:
        raise RuleViolation("Write what you understand the complaint to be.", field="text")
    if len(text) > MAX_LENGTH:
        raise RuleViolation(f"Keep it under {MAX_LENGTH} characters.", field="text")
    if not case.is_open:
        raise RuleViolation("This case is closed: reopen it before asking the customer.",
                            field="text")
    case.understanding = text
    case.understanding_state = Understanding.PROPOSED
    # The customer's earlier correction stays on the timeline; it belonged to the old wording.
    case.understanding_correction = None
    record_event(
        case,
        EventKind.UNDERSTANDING_PROPOSED,
        actor=actor,
        body=text,
        data={"state": Understanding.PROPOSED.value},
    )
    queue_email(
        "understanding_to_confirm",
        case.customer.email,
        f"Have we understood your complaint {case.reference}?",
        case=case,
        customer_name=case.contact_name,
        owner=actor,
        understanding=text,
        sign_in_url=sign_in_url_for(case.customer, case),
    )


def confirm_understanding(case: Case, *, customer: User) -> None:
    _require_proposed(case)
    case.understanding_state = Understanding.CONFIRMED
    record_event(
        case,
        EventKind.UNDERSTANDING_CONFIRMED,
        actor=customer,
        body="You confirmed that we have understood your complaint.",
        data={"state": Understanding.CONFIRMED.value},
    )


def correct_understanding(case: Case, *, customer: User, correction: str) -> None:
    correction = (correction or "").strip()
    if not correction:
        raise RuleViolation("Tell us what we have got wrong.", field="correction")
    if len(correction) > MAX_LENGTH:
        raise RuleViolation(f"Keep it under {MAX_LENGTH} characters.", field="correction")
    _require_proposed(case, field="correction")
    case.understanding_state = Understanding.CORRECTED
    case.understanding_correction = correction
    record_event(
        case,
        EventKind.UNDERSTANDING_CORRECTED,
        actor=customer,
        body=correction,
        data={"state": Understanding.CORRECTED.value},
    )


def _require_proposed(case: Case, field: str | None = None) -> None:
    if case.understanding_state != Understanding.PROPOSED:
        raise RuleViolation(
            "There is nothing waiting for your answer here any more: the page has changed.",
            field=field,
        )
