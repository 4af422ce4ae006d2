"""Forms for problems: opening and editing one, its owner and status, notes, linking cases.

Each form that changes a problem carries the version its writer saw, so that a save over
someone else's change is refused rather than silently overwriting it.
"""

from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional, ValidationError

from shared import queries
from shared.extensions import db
from shared.form_limits import MaxLength
from shared.models import (
    PROBLEM_TRANSITIONS,
    CauseArea,
    Problem,
    ProblemStatus,
    Product,
    RootCause,
    Team,
)
from shared.services import problems as problem_actions


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _id_or_none(value):
    if value in (None, "", "0", 0):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _VersionedForm(FlaskForm):
    version = HiddenField()

    def submitted_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


# --- Choices -----------------------------------------------------------------------------------


def team_choices() -> list[SelectChoice]:
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    return [SelectChoice("", "Choose a team")] + [SelectChoice(t.id, t.name) for t in teams]


def owner_choices() -> list[SelectChoice]:
    staff = [person for person in queries.assignable_staff() if person.team is not None]
    return [SelectChoice("", "Choose a person")] + [
        SelectChoice(p.id, f"{p.name} ({p.team.name})") for p in staff
    ]


def root_cause_choices(current_id: int | None = None) -> list[SelectChoice]:
    """Live causes under live areas, as "Area → cause"; a retired one only if it is current."""
    live = (RootCause.retired_at.is_(None)) & (CauseArea.retired_at.is_(None))
    condition = or_(live, RootCause.id == current_id) if current_id else live
    rows = db.session.execute(
        select(RootCause.id, CauseArea.name, RootCause.name)
        .join(CauseArea, CauseArea.id == RootCause.area_id)
        .where(condition)
        .order_by(CauseArea.position, CauseArea.name, RootCause.position, RootCause.name)
    ).all()
    return [SelectChoice("", "Not known yet")] + [
        SelectChoice(cause_id, f"{area} → {name}") for cause_id, area, name in rows
    ]


def product_choices(current_id: int | None = None) -> list[SelectChoice]:
    live = Product.retired_at.is_(None)
    condition = or_(live, Product.id == current_id) if current_id else live
    rows = db.session.execute(
        select(Product.id, Product.name).where(condition).order_by(Product.position, Product.name)
    ).all()
    return [SelectChoice("", "Not about one product")] + [
        SelectChoice(product_id, name) for product_id, name in rows
    ]


def category_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Any category")] + [
        SelectChoice(c.id, c.name) for c in queries.active_categories()
    ]


# --- The problem itself ------------------------------------------------------------------------


class _ProblemDetailsForm(FlaskForm):
    title = StringField(
        "Title",
        filters=[_strip],
        description="What is wrong, in a few words, e.g. “Parcels left at the wrong door”.",
        validators=[DataRequired(message="Give the problem a short title"),
                    MaxLength(problem_actions.TITLE_MAX)],
    )
    description = TextAreaField(
        "Description (optional)",
        filters=[_strip],
        description="What we know so far: for colleagues only.",
        validators=[Optional(), MaxLength(problem_actions.DESCRIPTION_MAX)],
    )
    customer_summary = TextAreaField(
        "Summary for customers (needed before it is marked fixed)",
        filters=[_strip],
        description="What went wrong and what was done, in words a customer may read. When it"
        " is fixed, each case owner gets it to send, with {customer_name} and {reference}"
        " filled in for their case.",
        validators=[Optional(), MaxLength(problem_actions.SUMMARY_MAX)],
    )
    root_cause = SelectField("Root cause (optional)", coerce=_id_or_none, validate_choice=True)
    category = SelectField("Category (optional)", coerce=_id_or_none, validate_choice=True)
    product = SelectField("Product or service (optional)", coerce=_id_or_none,
                          validate_choice=True)

    def set_subject_choices(self, problem: Problem | None = None) -> None:
        self.root_cause.choices = root_cause_choices(problem.root_cause_id if problem else None)
        self.category.choices = category_choices()
        self.product.choices = product_choices(problem.product_id if problem else None)


class NewProblemForm(_ProblemDetailsForm):
    team = SelectField("Team that can fix it", coerce=_id_or_none, validate_choice=True)
    owner = SelectField("Owner", coerce=_id_or_none, validate_choice=True,
                        description="One named person in that team.")
    cases = TextAreaField(
        "Cases to link (optional)",
        filters=[_strip],
        description="Case references, separated by spaces or new lines, e.g. AM-000123.",
        validators=[Optional(), MaxLength(20000)],
    )
    spike = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_subject_choices()
        self.team.choices = team_choices()
        self.owner.choices = owner_choices()

    def validate_team(self, field):
        if field.data is None:
            raise ValidationError("Choose the team that can fix it")

    def validate_owner(self, field):
        if field.data is None:
            raise ValidationError("Choose who in that team owns the problem")

    def case_references(self) -> list[str]:
        text = (self.cases.data or "").replace(",", " ").replace(";", " ")
        seen = []
        for word in text.split():
            reference = word.strip().upper()
            if reference not in seen:
                seen.append(reference)
        return seen

    def spike_id(self) -> int | None:
        return _id_or_none(self.spike.data)


class EditProblemForm(_ProblemDetailsForm, _VersionedForm):
    def __init__(self, *args, problem: Problem, **kwargs):
        kwargs.setdefault("prefix", "edit")
        super().__init__(*args, **kwargs)
        self.set_subject_choices(problem)


class ProblemOwnerForm(_VersionedForm):
    team = SelectField("Team", coerce=_id_or_none, validate_choice=True)
    owner = SelectField("Owner", coerce=_id_or_none, validate_choice=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "owner")
        super().__init__(*args, **kwargs)
        self.team.choices = team_choices()
        self.owner.choices = owner_choices()

    def validate_team(self, field):
        if field.data is None:
            raise ValidationError("Choose the team that can fix it")

    def validate_owner(self, field):
        if field.data is None:
            raise ValidationError("Choose who in that team owns the problem")


class ProblemStatusForm(_VersionedForm):
    status = RadioField("What has happened?", validators=[
        DataRequired(message="Choose what has happened to the problem")])
    reason = TextAreaField(
        "Why it will not be fixed (needed for “Won't fix”)",
        filters=[_strip],
        validators=[Optional(), MaxLength(problem_actions.REASON_MAX)],
    )

    def __init__(self, *args, problem: Problem, **kwargs):
        kwargs.setdefault("prefix", "status")
        super().__init__(*args, **kwargs)
        allowed = PROBLEM_TRANSITIONS[ProblemStatus(problem.status)]
        self.status.choices = [(s.value, s.label) for s in ProblemStatus if s in allowed]


class ProblemNoteForm(FlaskForm):
    body = TextAreaField(
        "Note",
        filters=[_strip],
        description="For the problem's timeline: what you found, tried or decided.",
        validators=[DataRequired(message="Write the note"),
                    MaxLength(problem_actions.NOTE_MAX)],
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "note")
        super().__init__(*args, **kwargs)


class LinkCaseForm(FlaskForm):
    """On the problem page: a case to link, by its reference."""

    case_reference = StringField(
        "Link a case",
        filters=[_strip],
        description="Its reference, e.g. AM-000123.",
        validators=[DataRequired(message="Enter the case's reference, e.g. AM-000123"),
                    MaxLength(20)],
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "link")
        super().__init__(*args, **kwargs)


class LinkProblemForm(FlaskForm):
    """On the case page: a problem to link this case to, by its reference."""

    problem = StringField(
        "Link to a problem",
        filters=[_strip],
        description="Its reference, e.g. PR-00012.",
        validators=[DataRequired(message="Enter the problem's reference, e.g. PR-00012"),
                    MaxLength(20)],
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "problem-link")
        super().__init__(*args, **kwargs)

    def validate_problem(self, field):
        if problem_actions.parse_problem_reference(field.data) is None:
            raise ValidationError("Enter a problem reference like PR-00012")


class UnlinkForm(FlaskForm):
    """A button: its token is all it carries."""
