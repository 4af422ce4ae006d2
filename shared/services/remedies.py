"""Resolution options: the owner offers ways to put things right, the customer chooses one.

Offering a choice gives the customer back some control; the choice goes on the timeline.
An offer stays open until it is chosen, withdrawn, or closed because another was chosen.
"""

from shared.extensions import db
from shared.models import Case, EventKind, ResolutionOption, User, utcnow
from shared.services.cases import begin_work, sign_in_url_for
from shared.services.errors import RuleViolation
from shared.services.mail import queue_email
from shared.services.timeline import record_event

MAX_LENGTH = 1000


def open_options(case: Case) -> list[ResolutionOption]:
    return [option for option in case.resolution_options if is_open(option)]


def chosen_option(case: Case) -> ResolutionOption | None:
    return next((o for o in case.resolution_options if o.chosen_at is not None), None)


def is_open(option: ResolutionOption) -> bool:
    return option.chosen_at is None and option.withdrawn_at is None


def offer_options(case: Case, *, actor: User, descriptions: list[str]) -> list[ResolutionOption]:
    """Offer one or more remedies at once; the customer is emailed to choose."""
    descriptions = [d.strip() for d in descriptions if d and d.strip()]
    if not descriptions:
        raise RuleViolation("Describe at least one way to put things right.", field="options")
    if any(len(d) > MAX_LENGTH for d in descriptions):
        raise RuleViolation(f"Keep each option under {MAX_LENGTH} characters.", field="options")
    if len(set(descriptions)) != len(descriptions):
        raise RuleViolation("Two of the options are the same.", field="options")
    if not case.is_open:
        raise RuleViolation("This case is closed: reopen it before offering remedies.",
                            field="options")
    if chosen_option(case) is not None:
        raise RuleViolation("The customer has already chosen how to put things right.",
                            field="options")
    now = utcnow()
    options = [
        ResolutionOption(case=case, description=d, offered_by=actor, offered_at=now)
        for d in descriptions
    ]
    db.session.add_all(options)
    db.session.flush()
    begin_work(case, actor=actor)
    listed = "\n".join(f"• {o.description}" for o in open_options(case))
    record_event(
        case,
        EventKind.OPTIONS_OFFERED,
        actor=actor,
        body=f"We can put this right in these ways; please choose the one you prefer:\n{listed}",
        data={"option_ids": [o.id for o in options], "offered": descriptions},
    )
    queue_email(
        "options_offered",
        case.customer.email,
        f"How would you like us to put things right? ({case.reference})",
        case=case,
        customer_name=case.contact_name,
        owner=actor,
        options=open_options(case),
        sign_in_url=sign_in_url_for(case.customer, case),
    )
    return options


def withdraw_option(case: Case, option: ResolutionOption, *, actor: User) -> None:
    if option.case_id != case.id:
        raise RuleViolation("That offer belongs to another case.")
    if option.chosen_at is not None:
        raise RuleViolation("The customer has chosen this one: it can no longer be withdrawn.")
    if option.withdrawn_at is not None:
        return
    option.withdrawn_at = utcnow()
    still_open = [o for o in open_options(case) if o is not option]
    # The customer saw the offer: tell them why it is gone (there is no separate event kind).
    record_event(
        case,
        EventKind.OPTIONS_OFFERED,
        actor=actor,
        body=f"We are no longer able to offer: {option.description}"
        + ("\nThe other offers still stand." if still_open else ""),
        data={"withdrawn_option_id": option.id, "withdrawn": option.description},
    )


def choose_option(case: Case, option: ResolutionOption, *, customer: User) -> None:
    """The customer chooses exactly one open offer; the others close."""
    if option.case_id != case.id:
        raise RuleViolation("That option is not one of this complaint's.", field="option")
    if chosen_option(case) is not None:
        raise RuleViolation("You have already chosen how we put this right.", field="option")
    if not case.is_open:
        raise RuleViolation("This complaint is closed, so its offers are too.", field="option")
    if not is_open(option):
        raise RuleViolation("That option is no longer on offer. Please choose another.",
                            field="option")
    now = utcnow()
    option.chosen_at = now
    for other in case.resolution_options:
        if other is not option and is_open(other):
            other.withdrawn_at = now
    record_event(
        case,
        EventKind.OPTION_CHOSEN,
        actor=customer,
        body=f"Chosen: {option.description}",
        data={"option_id": option.id},
    )
