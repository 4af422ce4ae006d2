"""Forms of the staff case page. Each one that changes the case carries the case's version
and the newest event the writer had seen, so a save over someone else's change is caught."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, ValidationError

from shared.clock import short_due
from shared.form_limits import MaxLength
from shared.models import CaseStatus, CommitmentState, Outcome, Priority, RedressKind
from shared.money import CURRENCIES, CURRENCY_NAMES, organisation_currency, parse_amount
from shared.services.attachments import ALLOWED_EXTENSIONS_WORDS
from shared.services.cases import (
    PROMISE_OUTCOMES,
    TASK_OUTCOMES,
    Settlement,
    promise_field,
    task_field,
)
from shared.services.tasks import assignee_words

UPDATE = "update"
NOTE = "note"

STATUS_LABELS = {
    CaseStatus.NEW: "New",
    CaseStatus.ACKNOWLEDGED: "Acknowledged",
    CaseStatus.IN_PROGRESS: "In progress",
    CaseStatus.WAITING_ON_CUSTOMER: "Waiting on the customer",
    CaseStatus.RESOLVED: "Resolved",
    CaseStatus.CLOSED: "Closed",
}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CaseChangeForm(FlaskForm):
    """The version fields every form that changes a case carries."""

    version = HiddenField()
    seen_event_id = HiddenField()

    def submitted_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None

    def submitted_seen_event_id(self) -> int | None:
        try:
            return int(self.seen_event_id.data)
        except (TypeError, ValueError):
            return None

    def refresh_version(self, version: int, newest_event_id: int) -> None:
        """After a conflict: the writer has now seen the case as it is."""
        self.version.data = str(version)
        self.seen_event_id.data = str(newest_event_id)


class ComposerKindField(RadioField):
    """Update or note. The radios and the two submit buttons share the name "kind"; the
    clicked button comes after the radios in the form, and its label said what happens, so
    the last value sent wins."""

    def process_formdata(self, valuelist):
        if valuelist:
            super().process_formdata(valuelist[-1:])


class ComposerForm(CaseChangeForm):
    kind = ComposerKindField(
        "What are you writing?",
        choices=[
            SelectChoice(UPDATE, "Update to the customer"),
            SelectChoice(NOTE, "Internal note"),
        ],
        default=UPDATE,
        validators=[DataRequired(message="Choose an update to the customer or an internal note")],
    )
    body = TextAreaField(
        "Your message",
        id="composer-body",
        filters=[lambda value: value.rstrip() if isinstance(value, str) else value],
        validators=[DataRequired(message="Write your message first"), MaxLength(10000)],
    )
    attachments = MultipleFileField(
        "Attach files (optional)",
        id="composer-attachments",
        description=f"Up to 5 files, 10 MB each ({ALLOWED_EXTENSIONS_WORDS}).",
    )

    @staticmethod
    def kind_sent(formdata) -> str | None:
        """What was asked for, read as ComposerKindField reads it."""
        values = formdata.getlist("kind")
        return values[-1] if values else None


class AcknowledgeForm(CaseChangeForm):
    """Only the version fields: the button is the whole answer."""


class StatusForm(CaseChangeForm):
    status = SelectField("New status", id="status-choice",
                         validators=[DataRequired(message="Choose the new status")])

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Resolving and acknowledging have forms of their own (they tell the customer).
        self.status.choices = [
            SelectChoice(status.value, STATUS_LABELS[status])
            for status in CaseStatus
            if case is not None
            and case.can_move_to(status)
            and status not in (CaseStatus.RESOLVED, CaseStatus.ACKNOWLEDGED)
        ]


class PriorityForm(CaseChangeForm):
    priority = SelectField(
        "New priority",
        id="priority-choice",
        choices=[SelectChoice(p.value, p.label) for p in Priority],
    )
    priority_reason = TextAreaField(
        "Why does the priority change?",
        description="For colleagues: the customer is only told the new dates.",
        filters=[_strip],
        validators=[DataRequired(message="Say why the priority changes"), MaxLength(2000)],
    )

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._current = case.priority if case is not None else None

    def validate_priority(self, field):
        if field.data == self._current:
            raise ValidationError(f"It is already {Priority(field.data).label}: choose another")


def _chosen_id(value) -> int:
    """A choice's id as sent; anything that is not one reads as "nothing chosen" (0)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class ResolveForm(CaseChangeForm):
    """What was done, what we learn from it (outcome, cause, product), and what happens to
    each promise and task still open (resolve_form_for adds a question for each one)."""

    resolution = TextAreaField(
        "What was done to put it right?",
        description="The customer reads this in an email and in the portal, with a thank-you"
        " and a short rating question.",
        filters=[_strip],
        validators=[
            DataRequired(message="Describe what was done to put things right"),
            MaxLength(10000),
        ],
    )
    outcome = RadioField(
        "What was the outcome?",
        description="For our records and the regulator's figures: the customer does not see"
        " it.",
        choices=[SelectChoice(outcome.value, outcome.label) for outcome in Outcome],
        validators=[InputRequired(message="Choose the outcome")],
        invalid_choice_message="Choose the outcome from the list",
    )
    root_cause = SelectField(
        "What caused it?",
        description="The root cause, from the list: the customer does not see it.",
        coerce=_chosen_id,
        default=0,
        validate_choice=True,
        invalid_choice_message="Choose the root cause from the list",
    )
    root_cause_words = TextAreaField(
        "The cause in words",
        filters=[_strip],
        validators=[MaxLength(2000)],
    )
    product = SelectField(
        "Which product or service was affected? (optional)",
        coerce=_chosen_id,
        default=0,
        validate_choice=True,
        invalid_choice_message="Choose the product or service from the list",
    )
    # (kind, the promise or task, its choice field's name); set by resolve_form_for.
    open_work: tuple = ()
    # The ids of the causes that ask for words ("Other"); set by set_learning_choices.
    causes_asking_for_words: frozenset = frozenset()

    def set_learning_choices(self, causes, products) -> None:
        """`causes` as cause_choices() gives them, grouped by area; `products` as
        product_choices() does. The causes become <optgroup>s of the select."""
        groups = {None: [SelectChoice(0, "Choose the cause")]}
        for area_name, area_causes in causes:
            groups[area_name] = [SelectChoice(cause_id, name) for cause_id, name, _ in area_causes]
        self.root_cause.choices = groups
        asking = [(cause_id, name) for _, area_causes in causes
                  for cause_id, name, asks in area_causes if asks]
        self.causes_asking_for_words = frozenset(cause_id for cause_id, _ in asking)
        names = sorted({name for _, name in asking})
        self.root_cause_words.description = (
            "Needed when the cause is " + " or ".join(f"“{name}”" for name in names)
            + ": say what went wrong. Leave it empty for the others."
            if names else "Only needed for a cause that asks for words."
        )
        self.product.choices = [SelectChoice(0, "None in particular")] + [
            SelectChoice(product_id, name) for product_id, name in products
        ]

    def validate_root_cause(self, field):
        if not field.data:
            raise ValidationError("Choose the root cause: choose “Other” and say in words if"
                                  " none fits")

    def validate_root_cause_words(self, field):
        if self.root_cause.data in self.causes_asking_for_words and not field.data:
            raise ValidationError("Say in words what caused it")

    def open_work_fields(self):
        """(kind, the promise or task, its choice field, its words field), in page order."""
        return [
            (kind, item, self[name], self[f"{name}_note"]) for kind, item, name in self.open_work
        ]

    def settlements(self, kind: str) -> dict:
        """{id: Settlement} of the promises (kind "promise") or tasks ("task") answered."""
        return {
            item.id: Settlement(outcome=choice.data, note=note.data or "")
            for work_kind, item, choice, note in self.open_work_fields()
            if work_kind == kind and choice.data
        }

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for kind, _item, choice, note in self.open_work_fields():
            # A promise no longer needed says why (a task's words are always required).
            if kind == "promise" and choice.data == "cancelled" and not note.data:
                note.errors = [*note.errors, "Say why the promise is no longer needed"]
                valid = False
        return valid


def resolve_form_for(case, *args, **kwargs) -> ResolveForm:
    """The resolve form of this case: one question for each promise and each task still open,
    so that nothing is left on track, or assigned, on a resolved case."""
    open_promises = [c for c in case.commitments if c.state == CommitmentState.OPEN]
    open_tasks = [task for task in case.tasks if task.is_open]
    calendar = case.category.service_level.calendar

    def due_words(due_at) -> str:
        return f"{short_due(due_at, calendar.zone)} {calendar.zone_label}"

    class CaseResolveForm(ResolveForm):
        open_work = tuple(
            [("promise", c, promise_field(c.id)) for c in open_promises]
            + [("task", task, task_field(task.id)) for task in open_tasks]
        )

    for commitment in open_promises:
        name = promise_field(commitment.id)
        setattr(CaseResolveForm, name, RadioField(
            f"The promise “{commitment.description}”",
            description=f"Due {due_words(commitment.due_at)}",
            choices=[SelectChoice(value, label) for value, label in PROMISE_OUTCOMES.items()],
            validators=[InputRequired(
                message=f"Say what happens to the promise “{commitment.description}”")],
        ))
        setattr(CaseResolveForm, f"{name}_note", TextAreaField(
            "What the customer reads about it",
            description="Optional when kept or not kept; say why if it is no longer needed.",
            filters=[_strip],
            validators=[MaxLength(2000)],
        ))
    for task in open_tasks:
        name = task_field(task.id)
        setattr(CaseResolveForm, name, RadioField(
            f"The task “{task.title}”",
            description=f"For {assignee_words(task)}, due {due_words(task.due_at)}",
            choices=[SelectChoice(value, label) for value, label in TASK_OUTCOMES.items()],
            validators=[InputRequired(message=f"Say what happens to the task “{task.title}”")],
        ))
        setattr(CaseResolveForm, f"{name}_note", TextAreaField(
            "What was done, or why it is cancelled",
            description="For colleagues: the customer does not see tasks.",
            filters=[_strip],
            validators=[
                DataRequired(message=f"Say what was done for “{task.title}”, or why it is"
                             " cancelled"),
                MaxLength(5000),
            ],
        ))
    if kwargs.get("formdata", True) is None:
        # A case resolved before and reopened: what was recorded then is the starting point.
        kwargs.setdefault("outcome", case.outcome)
        kwargs.setdefault("root_cause", case.root_cause_id or 0)
        kwargs.setdefault("root_cause_words", case.root_cause_words or "")
        kwargs.setdefault("product", case.product_id or 0)
    form = CaseResolveForm(*args, **kwargs)
    # Imported here: the managed lists are read only when a resolve form is built.
    from shared.services.causes import cause_choices, product_choices

    form.set_learning_choices(
        cause_choices(current_id=case.root_cause_id),
        product_choices(current_id=case.product_id),
    )
    return form


class TransferForm(CaseChangeForm):
    new_owner = SelectField(
        "Who should look after it now?",
        coerce=int,
        validate_choice=True,
        validators=[DataRequired(message="Choose who should look after it")],
    )
    transfer_reason = TextAreaField(
        "Why are you handing it over?",
        description="For colleagues. The customer is told the new owner's name, not the reason.",
        filters=[_strip],
        validators=[
            DataRequired(message="Say why someone else should look after this case"),
            MaxLength(2000),
        ],
    )

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.new_owner.choices = [SelectChoice(0, "Choose someone")] + [
            SelectChoice(user.id, _candidate_label(user)) for user in candidates
        ]


def _candidate_label(user) -> str:
    team = f", {user.team.name}" if user.team is not None else ""
    return f"{user.name} ({user.role}{team})"


REDRESS_KIND_CHOICES = [SelectChoice("", "Choose the kind of remedy")] + [
    SelectChoice(kind.value, kind.label) for kind in RedressKind
]


class RedressForm(FlaskForm):
    """A remedy given: its kind, in words, and the amount where money moves."""

    kind = SelectField(
        "What kind of remedy?",
        choices=REDRESS_KIND_CHOICES,
        validators=[DataRequired(message="Choose the kind of remedy")],
    )
    description = TextAreaField(
        "What was given, in words the customer can read",
        description="For example “A refund of the delivery charge”. The customer reads it"
        " when the case is resolved.",
        filters=[_strip],
        validators=[DataRequired(message="Describe the remedy in words the customer can read"),
                    MaxLength(1000)],
    )
    amount = StringField(
        "Amount (for a refund, compensation or goodwill gesture)",
        description="Like 25.50. Leave it empty for a remedy given in kind or in words.",
        filters=[_strip],
    )
    currency = SelectField("Currency", choices=[
        SelectChoice(code, f"{CURRENCY_NAMES.get(code, code)} ({code})") for code in CURRENCIES
    ])
    beyond_request = BooleanField("More than the customer asked for")

    amount_minor: int | None = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "redress")
        super().__init__(*args, **kwargs)
        if not self.currency.data:
            self.currency.data = organisation_currency()

    def validate_amount(self, field):
        """The amount as typed, read into minor units; the service decides whether one is
        needed for the kind chosen."""
        self.amount_minor = None
        if not field.data:
            return
        try:
            self.amount_minor = parse_amount(field.data)
        except ValueError as problem:
            raise ValidationError(str(problem)) from None



class RemoveRedressForm(FlaskForm):
    """Only the CSRF token: the button is the whole answer."""
