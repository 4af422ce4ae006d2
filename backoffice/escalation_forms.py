"""Forms for escalations: asking on the case page, and a manager's approve or reject.

Each form has a prefix, so its field ids stay unique on the page beside the others.
"""

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from backoffice.coordination_forms import LocalDateTimeField, _PrefixedForm, _strip
from shared.form_limits import MaxLength
from shared.models import ESCALATION_NEEDS, EscalationLevel, Priority
from shared.services.escalations import NOTE_MAX, REASON_MAX


class RequestEscalationForm(_PrefixedForm):
    form_prefix = "escalation"

    level = RadioField(
        "Who should decide?",
        coerce=int,
        choices=[SelectChoice(int(level), level.label) for level in EscalationLevel],
        default=int(EscalationLevel.TEAM_MANAGER),
        validators=[DataRequired(message="Choose who should decide")],
    )
    reason = TextAreaField(
        "Why does this case need escalating?",
        filters=[_strip],
        description="For managers only: the customer never sees this.",
        validators=[DataRequired(message="Say why this case needs escalating"),
                    MaxLength(REASON_MAX)],
    )
    needs = SelectMultipleField(
        "What do you need?",
        choices=[SelectChoice(key, words) for key, words in ESCALATION_NEEDS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(message="Choose at least one thing you need")],
    )
    needs_details = TextAreaField(
        "More about what you need (optional)",
        filters=[_strip],
        description="For example the amount of a goodwill payment, or the supplier involved.",
        validators=[Optional(), MaxLength(REASON_MAX)],
    )


class _DecisionForm(_PrefixedForm):
    """The escalation's version as the manager read it: a decision made meanwhile wins."""

    version = HiddenField()

    def submitted_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class ApproveEscalationForm(_DecisionForm):
    form_prefix = "approve"

    note = TextAreaField(
        "Note for the person who asked (optional)",
        filters=[_strip],
        description="Staff only: the customer is told that the case is escalated and to whom.",
        validators=[Optional(), MaxLength(NOTE_MAX)],
    )
    new_owner = SelectField(
        "Hand the case to",
        coerce=int,
        validate_choice=True,
        description="Counted as a hand-off. The customer is told the new name, not the reason.",
    )
    handoff_reason = TextAreaField(
        "Why does it move to them?",
        filters=[_strip],
        description="Needed when you hand the case over. For colleagues only.",
        validators=[Optional(), MaxLength(2000)],
    )
    task_title = StringField(
        "Task for another team (optional)",
        filters=[_strip],
        description="What they need to do, e.g. “Approve a goodwill payment of £150”.",
        validators=[Optional(), MaxLength(200)],
    )
    task_team = SelectField("Team for the task", coerce=int, validate_choice=True)
    task_due_at = LocalDateTimeField("Task due by")
    task_details = TextAreaField(
        "Task details (optional)",
        filters=[_strip],
        validators=[Optional(), MaxLength(5000)],
    )
    new_priority = SelectField("Priority", validate_choice=True)
    agreed_resolve_by = LocalDateTimeField(
        "New resolve-by date agreed with the customer (optional)",
    )

    def set_choices(self, *, senior, others, teams, current_priority: str) -> None:
        """Senior people first: an escalation usually moves a case up, not sideways."""
        def label(user, role):
            team = f", {user.team.name}" if user.team is not None else ""
            return f"{user.name} ({role}{team})"

        self.new_owner.choices = (
            [SelectChoice(0, "Keep the current owner")]
            + [SelectChoice(user.id, label(user, "manager")) for user in senior]
            + [SelectChoice(user.id, label(user, user.role)) for user in others]
        )
        self.task_team.choices = [SelectChoice(0, "No task")] + [
            SelectChoice(team.id, team.name) for team in teams
        ]
        higher = list(Priority)[list(Priority).index(Priority(current_priority)) + 1:]
        self.new_priority.choices = [
            SelectChoice("", f"Keep it {Priority(current_priority).label.lower()}")
        ] + [SelectChoice(p.value, f"Raise it to {p.label.lower()}") for p in higher]

    def validate_handoff_reason(self, field):
        if self.new_owner.data and not field.data:
            raise ValidationError("Say why the case moves to someone else")

    def validate_task_team(self, field):
        if self.task_title.data and not field.data:
            raise ValidationError("Choose the team that does the task")

    def validate_task_due_at(self, field):
        if self.task_title.data and not field.data:
            raise ValidationError("Enter when the task is due")

    def validate_task_title(self, field):
        if not field.data and (self.task_team.data or self.task_details.data):
            raise ValidationError("Say what the task is, or choose “No task”")


class RejectEscalationForm(_DecisionForm):
    form_prefix = "reject"

    note = TextAreaField(
        "Why not?",
        filters=[_strip],
        description="The person who asked reads this. The customer does not.",
        validators=[DataRequired(message="Say why: the person who asked reads this"),
                    MaxLength(NOTE_MAX)],
    )


class WithdrawEscalationForm(FlaskForm):
    """Only the CSRF token: what is withdrawn is in the address."""
