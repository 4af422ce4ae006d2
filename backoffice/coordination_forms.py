"""Forms for coordinating a case: understanding, remedies, promises, tasks, merging, replies.

Each form has a prefix, so its field ids stay unique on the case page beside the others.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional, ValidationError
from wtforms.widgets import DateTimeLocalInput

from shared.form_limits import MaxLength
from shared.models import TaskStatus

# What browsers send for <input type="datetime-local">, then what people type without one.
_DATE_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M")
DATE_TIME_MESSAGE = "Enter a date and time like 24/11/2026 17:00"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LocalDateTimeField(StringField):
    """A date and time on the case calendar's wall clock, kept as typed until it is valid.

    `data` stays the text typed (so a bad value is shown back untouched); `local_value`
    is the parsed naive datetime, and `in_zone(zone)` the aware moment.
    """

    widget = DateTimeLocalInput()

    local_value: datetime | None = None

    def pre_validate(self, form):
        self.local_value = None
        if not self.data:
            return
        for pattern in _DATE_TIME_FORMATS:
            try:
                self.local_value = datetime.strptime(self.data.strip(), pattern)
                return
            except ValueError:
                continue
        raise ValidationError(DATE_TIME_MESSAGE)

    def in_zone(self, zone: ZoneInfo) -> datetime | None:
        if self.local_value is None:
            return None
        return self.local_value.replace(tzinfo=zone)


class _PrefixedForm(FlaskForm):
    """A form whose field names and ids start with its own prefix, e.g. "task-title"."""

    form_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.form_prefix)
        super().__init__(*args, **kwargs)


class UnderstandingForm(_PrefixedForm):
    form_prefix = "understanding"

    text = TextAreaField(
        "What we understand",
        filters=[_strip],
        description="In your own words: what happened, how it affected them, and what they want."
        " The customer is emailed to confirm it or correct it.",
        validators=[DataRequired(message="Write what you understand the complaint to be"),
                    MaxLength(5000)],
    )


def _option_field(number: int, description: str = "") -> TextAreaField:
    return TextAreaField(
        f"Option {number}" + (" (optional)" if number > 1 else ""),
        filters=[_strip],
        description=description,
        validators=[Optional(), MaxLength(1000)],
    )


class OfferOptionsForm(_PrefixedForm):
    form_prefix = "options"

    option_1 = _option_field(
        1, "One remedy per box, as the customer would read it, e.g. “A full refund of £42.50”."
    )
    option_2 = _option_field(2)
    option_3 = _option_field(3)

    def validate_option_1(self, field):
        if not self.descriptions():
            raise ValidationError("Describe at least one way to put things right")

    def descriptions(self) -> list[str]:
        return [f.data for f in (self.option_1, self.option_2, self.option_3) if f.data]


class CommitmentForm(_PrefixedForm):
    form_prefix = "commitment"

    description = StringField(
        "What did you promise?",
        filters=[_strip],
        description="As the customer would say it, e.g. “call you to arrange a refund”.",
        validators=[DataRequired(message="Say what you promised the customer"),
                    MaxLength(300)],
    )
    due_at = LocalDateTimeField(
        "By when?",
        validators=[DataRequired(message="Enter when you will have done it")],
    )


class SettleCommitmentForm(_PrefixedForm):
    form_prefix = "settle"

    outcome = RadioField(
        "Did we keep this promise?",
        choices=[SelectChoice("kept", "Kept"), SelectChoice("broken", "Not kept")],
        validators=[DataRequired(message="Choose kept or not kept")],
    )
    note = TextAreaField(
        "Note for the customer (optional)",
        filters=[_strip],
        description="The customer reads this on their timeline.",
        validators=[Optional(), MaxLength(2000)],
    )


class TaskForm(_PrefixedForm):
    form_prefix = "task"

    title = StringField(
        "Task",
        filters=[_strip],
        description="What needs doing, e.g. “Refund the delivery charge”.",
        validators=[DataRequired(message="Give the task a short title"), MaxLength(200)],
    )
    details = TextAreaField(
        "Details (optional)",
        filters=[_strip],
        validators=[Optional(), MaxLength(5000)],
    )
    team = SelectField("Team", coerce=int, validate_choice=True)
    assignee = SelectField(
        "Person",
        coerce=int,
        validate_choice=True,
        description="Choose a team, a person, or both. You stay the owner of the case.",
    )
    due_at = LocalDateTimeField(
        "Due by",
        validators=[DataRequired(message="Enter when the task is due")],
    )

    def set_choices(self, teams, staff) -> None:
        self.team.choices = [SelectChoice(0, "No team")] + [
            SelectChoice(t.id, t.name) for t in teams
        ]
        self.assignee.choices = [SelectChoice(0, "Anyone in the team")] + [
            SelectChoice(p.id, f"{p.name} ({p.team.name})" if p.team else p.name) for p in staff
        ]

    def validate_assignee(self, field):
        if not field.data and not self.team.data:
            raise ValidationError("Choose a team or a person to do this")


class TaskUpdateForm(_PrefixedForm):
    form_prefix = "task-update"

    status = SelectField(
        "Status",
        choices=[SelectChoice(s.value, s.label) for s in TaskStatus],
        validators=[DataRequired(message="Choose a status")],
    )
    outcome = TextAreaField(
        "Progress or outcome",
        filters=[_strip],
        description="What was done, or what is holding it up. The case owner reads this.",
        validators=[Optional(), MaxLength(5000)],
    )
    return_to = HiddenField(default="case")


class MergeForm(_PrefixedForm):
    form_prefix = "merge"

    target_reference = StringField(
        "Merge this case into",
        filters=[_strip],
        description="The reference of the case that carries on, e.g. AM-000123. This case"
        " closes and its reference leads the customer there.",
        validators=[DataRequired(message="Enter the reference of the case to merge into"),
                    MaxLength(20)],
    )


class SavedReplyForm(FlaskForm):
    title = StringField(
        "Title",
        filters=[_strip],
        description="What staff see in the list, e.g. “Refund on its way”.",
        validators=[DataRequired(message="Give the reply a title"), MaxLength(120)],
    )
    body = TextAreaField(
        "Text",
        description="Placeholders: {customer_name}, {reference}, {owner_name}, {resolve_by},"
        " {next_update_by}. Anything else in braces stays as typed.",
        validators=[DataRequired(message="Write the text of the reply"), MaxLength(10000)],
    )
