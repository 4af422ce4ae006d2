"""Forms of the admin pages: what an admin types, checked for shape; the rules live in
shared.services.admin."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    ValidationError,
)
from wtforms.widgets import TimeInput

from shared.form_limits import MaxLength
from shared.models import Priority
from shared.money import parse_limit
from shared.services.accounts import MIN_PASSWORD_LENGTH
from shared.services.admin import (
    DAYS,
    HOURS,
    STAFF_ROLE_LABELS,
    TARGET_LABELS,
    TARGET_NAMES,
    WEEKDAYS,
    TargetMinutes,
    as_amount_and_unit,
    opening_hours_problems,
    to_business_minutes,
    zone_problem,
)
from shared.services.causes import AREA_NAME_MAX, CAUSE_NAME_MAX, PRODUCT_NAME_MAX

# The most a time frame may be: longer would never be a promise worth making.
MAX_TARGET_AMOUNT = Decimal(1000)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _required(what: str):
    return DataRequired(message=f"Enter {what}")


# --- Fields with messages people understand -------------------------------------------------


class WholeNumberField(IntegerField):
    """A whole number; left empty, it is missing (InputRequired says so), not malformed."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("invalid_value_message", "Enter a whole number, like 3")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class DayField(DateField):
    """A date; left empty, it is missing (InputRequired says so), not malformed."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("invalid_value_message", "Enter a date like 2026-12-25")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class TimeOfDayField(StringField):
    """A time like 09:00, kept exactly as typed when it is not one."""

    widget = TimeInput()

    def __init__(self, label=None, validators=None, day: str = "", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.day = day

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            return
        for pattern in ("%H:%M", "%H:%M:%S", "%H.%M"):
            try:
                self.data = datetime.strptime(text, pattern).time()
                return
            except ValueError:
                continue
        raise ValueError(f"{self.day}: enter a time like 09:00 or 17:30")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%H:%M") if self.data else ""


class DurationAmountField(StringField):
    """How many hours or days: a number above 0, such as 4 or 1.5."""

    def __init__(self, label=None, validators=None, priority: Priority = Priority.NORMAL,
                 **kwargs):
        super().__init__(label, validators, **kwargs)
        self.priority = priority
        self.amount: Decimal | None = None

    def pre_validate(self, form):
        self.amount = None
        text = (self.data or "").strip().replace(",", ".")
        where = f"{self.priority.label} priority, “{self.label.text.lower()}”"
        if not text:
            raise ValidationError(f"{where}: enter a number of hours or days")
        try:
            amount = Decimal(text)
        except InvalidOperation as error:
            raise ValidationError(f"{where}: enter a number, like 4 or 1.5") from error
        if not amount.is_finite() or amount <= 0:
            raise ValidationError(f"{where}: enter a number above 0")
        if amount > MAX_TARGET_AMOUNT:
            raise ValidationError(f"{where}: enter {MAX_TARGET_AMOUNT} or less")
        self.amount = amount


# --- Teams ----------------------------------------------------------------------------------


class TeamNameForm(FlaskForm):
    name = StringField(
        "Team name",
        filters=[_strip],
        validators=[_required("the team's name"), MaxLength(120)],
    )


class TeamManagerForm(FlaskForm):
    manager = SelectField(
        "Manager",
        coerce=int,
        invalid_choice_message="Choose an active manager or administrator",
        description="An active manager or administrator. New cases go to them when nobody in"
        " the team is available.",
    )


# --- Staff ----------------------------------------------------------------------------------

ROLE_CHOICES = [SelectChoice(role.value, label) for role, label in STAFF_ROLE_LABELS.items()]
ROLE_HINTS = {
    "agent": "Owns cases and works on tasks.",
    "manager": "Also reassigns cases, approves escalations and sees every team's work.",
    "admin": "Also manages teams, staff, categories, root causes, products, service levels"
    " and calendars, and sets redress limits.",
}


def _role_field():
    return RadioField(
        "Role",
        choices=ROLE_CHOICES,
        invalid_choice_message="Choose agent, manager or administrator",
        validators=[InputRequired(message="Choose agent, manager or administrator")],
    )


def _team_field():
    return SelectField(
        "Team",
        coerce=int,
        invalid_choice_message="Choose a team from the list",
        description="Agents and managers work in a team; administrators may have none.",
    )


class StaffRoleForm(FlaskForm):
    role = _role_field()
    team = _team_field()


class StaffMemberForm(FlaskForm):
    name = StringField(
        "Full name",
        filters=[_strip],
        validators=[_required("their full name"), MaxLength(120)],
    )
    email = EmailField(
        "Work email address",
        filters=[_strip],
        description="We email them a link to choose their password.",
        validators=[
            _required("their work email address"),
            Email("Enter an email address like name@example.com"),
            MaxLength(254),
        ],
    )
    role = _role_field()
    team = _team_field()


class StaffSetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        description=f"At least {MIN_PASSWORD_LENGTH} characters. A few words together are easy"
        " to remember and hard to guess.",
        validators=[
            _required("a password"),
            Length(min=MIN_PASSWORD_LENGTH, max=200,
                   message=f"Use at least {MIN_PASSWORD_LENGTH} characters"),
        ],
    )
    confirm = PasswordField(
        "Type it again",
        validators=[_required("your password again"),
                    EqualTo("password", message="The two passwords do not match")],
    )


# --- Categories -----------------------------------------------------------------------------


class CategoryForm(FlaskForm):
    name = StringField(
        "Name",
        filters=[_strip],
        description="Customers choose it when they make a complaint, e.g. “Delivery or"
        " installation”.",
        validators=[_required("a name for the category"), MaxLength(120)],
    )
    description = TextAreaField(
        "Description (optional)",
        filters=[_strip],
        description="Shown to customers under the name, in plain words.",
        validators=[MaxLength(500)],
    )
    default_team = SelectField(
        "Team that handles it",
        coerce=int,
        description="New complaints in this category go to someone in this team.",
        invalid_choice_message="Choose a team from the list",
    )
    service_level = SelectField(
        "Service level",
        coerce=int,
        description="The time frames promised for complaints in this category.",
        invalid_choice_message="Choose a service level from the list",
    )
    position = WholeNumberField(
        "Position",
        description="Lower numbers are listed first.",
        default=0,
        validators=[
            InputRequired(message="Enter a position, like 1"),
            NumberRange(min=0, max=10000, message="Enter a position from 0 to 10000"),
        ],
    )
    active = BooleanField("Open to new complaints", default=True)


# --- Service levels -------------------------------------------------------------------------

UNIT_CHOICES = [SelectChoice(HOURS, "working hours"), SelectChoice(DAYS, "working days")]


class ServiceLevelForm(FlaskForm):
    name = StringField(
        "Name",
        filters=[_strip],
        validators=[_required("a name for the service level"), MaxLength(120)],
    )
    calendar = SelectField(
        "Business calendar",
        coerce=int,
        invalid_choice_message="Choose a calendar from the list",
        description="Time frames count only the working hours of this calendar.",
    )

    def target_fields(self, priority: Priority):
        """(amount, unit) field pairs of one priority, in the order the page shows them."""
        return [(self[f"{priority}_{name}"], self[f"{priority}_{name}_unit"])
                for name in TARGET_NAMES]

    def targets_in_minutes(self, calendar) -> dict[str, TargetMinutes]:
        targets = {}
        for priority in Priority:
            minutes = {
                name: to_business_minutes(amount.amount, unit.data, calendar)
                for name, (amount, unit) in zip(TARGET_NAMES, self.target_fields(priority),
                                                strict=True)
            }
            targets[priority] = TargetMinutes(**minutes)
        return targets

    def show_targets(self, level) -> None:
        """Fill the fields from a service level's stored minutes."""
        for target in level.targets:
            for name, (amount, unit) in zip(
                TARGET_NAMES, self.target_fields(Priority(target.priority)), strict=True
            ):
                amount.data, unit.data = as_amount_and_unit(
                    getattr(target, f"{name}_minutes"), level.calendar
                )


for _priority in Priority:
    for _name in TARGET_NAMES:
        setattr(ServiceLevelForm, f"{_priority}_{_name}",
                DurationAmountField(TARGET_LABELS[_name], priority=_priority))
        setattr(ServiceLevelForm, f"{_priority}_{_name}_unit",
                SelectField(f"Unit for “{TARGET_LABELS[_name].lower()}”", choices=UNIT_CHOICES,
                            default=HOURS,
                            invalid_choice_message="Choose working hours or working days"))


# --- Business calendars ---------------------------------------------------------------------


class CalendarForm(FlaskForm):
    name = StringField(
        "Name",
        filters=[_strip],
        description="For staff, e.g. “UK office hours”.",
        validators=[_required("a name for the calendar"), MaxLength(120)],
    )
    timezone = StringField(
        "Time zone",
        filters=[_strip],
        description="A name from the IANA time zone list, like Europe/London or"
        " America/New_York.",
        validators=[_required("a time zone, like Europe/London"), MaxLength(64)],
    )
    zone_label = StringField(
        "Time zone as customers read it",
        filters=[_strip],
        description="Shown after every time we give customers, as in “17:00 UK time”.",
        validators=[_required("how customers should read the time zone, like “UK time”"),
                    MaxLength(40)],
    )

    def day_fields(self, weekday: int):
        day = WEEKDAYS[weekday]
        return self[f"{day}_open"], self[f"{day}_opens"], self[f"{day}_closes"]

    def validate(self, extra_validators=None) -> bool:
        """Besides each field's shape, show every broken rule of the zone and the hours at
        once (the rules themselves are the service's)."""
        valid = super().validate(extra_validators)
        for weekday, day in enumerate(WEEKDAYS):
            is_open, opens, closes = self.day_fields(weekday)
            if not is_open.data:
                continue
            for field, what in ((opens, "opening"), (closes, "closing")):
                if field.data is None and not field.errors:
                    field.errors.append(f"{day.capitalize()}: enter the {what} time, like"
                                        f" {'09:00' if what == 'opening' else '17:00'}")
                    valid = False
        if not self.timezone.errors and (problem := zone_problem(self.timezone.data)):
            self.timezone.errors.append(problem)
            valid = False
        complete = {weekday: times for weekday, times in self.opening_hours().items()
                    if None not in times}
        if len(complete) == len(self.opening_hours()):
            for field, message in opening_hours_problems(complete):
                self[field].errors.append(message)
                valid = False
        return valid

    def opening_hours(self) -> dict:
        """The open days, weekday number to (opens, closes)."""
        hours = {}
        for weekday in range(7):
            is_open, opens, closes = self.day_fields(weekday)
            if is_open.data:
                hours[weekday] = (opens.data, closes.data)
        return hours

    def show_hours(self, calendar) -> None:
        by_weekday = {row.weekday: row for row in calendar.hours}
        for weekday in range(7):
            is_open, opens, closes = self.day_fields(weekday)
            row = by_weekday.get(weekday)
            is_open.data = row is not None
            opens.data = row.opens if row else None
            closes.data = row.closes if row else None


for _weekday, _day in enumerate(WEEKDAYS):
    setattr(CalendarForm, f"{_day}_open", BooleanField(f"Open on {_day.capitalize()}s"))
    setattr(CalendarForm, f"{_day}_opens", TimeOfDayField("Opens", day=_day.capitalize()))
    setattr(CalendarForm, f"{_day}_closes", TimeOfDayField("Closes", day=_day.capitalize()))


class HolidayForm(FlaskForm):
    day = DayField(
        "Date",
        validators=[InputRequired(message="Enter the date of the holiday, like 2026-12-25")],
    )
    name = StringField(
        "Name",
        filters=[_strip],
        description="E.g. “Christmas Day”.",
        validators=[_required("the holiday's name"), MaxLength(120)],
    )


# --- Root causes and products ---------------------------------------------------------------


class CauseAreaForm(FlaskForm):
    name = StringField(
        "Area name",
        filters=[_strip],
        description="A part of the business where causes lie, e.g. “Delivery” or “Billing”.",
        validators=[_required("a name for the area"), MaxLength(AREA_NAME_MAX)],
    )


class CauseForm(FlaskForm):
    name = StringField(
        "Cause",
        filters=[_strip],
        description="Why complaints happen, in a few words, e.g. “Carrier missed the slot”.",
        validators=[_required("a name for the cause"), MaxLength(CAUSE_NAME_MAX)],
    )
    asks_for_words = BooleanField("Ask for the cause in words, as for “Other”")


class NewCauseForm(CauseForm):
    """Adding a cause, on the area's page beside the area's own name form."""

    form_prefix = "cause"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.form_prefix)
        super().__init__(*args, **kwargs)


class ProductForm(FlaskForm):
    name = StringField(
        "Product or service",
        filters=[_strip],
        description="As staff know it, e.g. “Home broadband” or “Kitchen installation”.",
        validators=[_required("a name for the product or service"),
                    MaxLength(PRODUCT_NAME_MAX)],
    )


# --- Redress authority ----------------------------------------------------------------------


class LimitField(StringField):
    """An amount of money of 0 or more, kept exactly as typed when it is not one."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.amount_minor: int | None = None

    def pre_validate(self, form):
        self.amount_minor = None
        if not (self.data or "").strip():
            raise ValidationError("Enter a limit, like 50.00, or 0 if every payment they"
                                  " record needs approval")
        try:
            self.amount_minor = parse_limit(self.data or "")
        except ValueError as refused:
            raise ValidationError(str(refused).replace("an amount", "a limit")) from refused


class RedressLimitForm(FlaskForm):
    """On a staff member's page, beside the role and team form."""

    form_prefix = "limit"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.form_prefix)
        super().__init__(*args, **kwargs)

    redress_limit = LimitField(
        "Redress limit",
        filters=[_strip],
        description="The most money they may give on one case without a manager’s approval."
        " 0 means every payment they record needs approval.",
    )
