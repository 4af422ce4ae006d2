"""Portal forms: plain words, hints that say what a good answer looks like."""

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    MultipleFileField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from shared.form_limits import MaxLength
from shared.models import REPRESENTATIVE_RELATIONSHIPS
from shared.services.accounts import MIN_PASSWORD_LENGTH
from shared.services.attachments import ALLOWED_EXTENSIONS_WORDS

EMAIL_MESSAGE = "Enter an email address like name@example.com"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _required(what: str):
    return DataRequired(message=f"Enter {what}")


class RaiseCaseForm(FlaskForm):
    name = StringField(
        "Your name",
        validators=[_required("your name"), MaxLength(120)],
    )
    email = EmailField(
        "Your email address",
        filters=[_strip],
        description="We will send you a link to follow your complaint. We never share it.",
        validators=[_required("your email address"), Email(EMAIL_MESSAGE), MaxLength(254)],
    )
    category = RadioField(
        "What is your complaint about?",
        coerce=int,
        validate_choice=True,
        validators=[DataRequired(message="Choose what your complaint is about")],
    )
    description = TextAreaField(
        "What happened?",
        description="Tell us in your own words: what happened, when, and how it affected you.",
        validators=[_required("what happened"), MaxLength(10000)],
    )
    desired_outcome = TextAreaField(
        "What would put it right? (optional)",
        description="For example: a refund, a repair, an apology, or a change so it does not"
        " happen to anyone else.",
        validators=[Optional(), MaxLength(5000)],
    )
    external_reference = StringField(
        "Order or account number (optional)",
        description="If you have one, it helps us find your details quickly.",
        validators=[Optional(), MaxLength(120)],
    )
    on_behalf_of = StringField(
        "Their name (optional)",
        description="Only if you are complaining for someone else, such as a relative you care"
        " for.",
        validators=[Optional(), MaxLength(120)],
    )
    representative_relationship = SelectField(
        "How do you know them? (optional)",
        choices=[SelectChoice("", "Choose one")]
        + [SelectChoice(value, label) for value, label in REPRESENTATIVE_RELATIONSHIPS.items()],
        # Checked below: Optional() would stop that check from running on an empty choice.
        validate_choice=False,
    )
    attachments = MultipleFileField(
        "Attach files (optional)",
        description=f"Photos, receipts or letters: up to 5 files, 10 MB each"
        f" ({ALLOWED_EXTENSIONS_WORDS}).",
    )

    def validate_representative_relationship(self, field):
        if field.data and field.data not in REPRESENTATIVE_RELATIONSHIPS:
            raise ValidationError("Choose one of the options")
        if self.on_behalf_of.data and not field.data:
            raise ValidationError("Choose how you know the person you are complaining for")


class ReplyForm(FlaskForm):
    body = TextAreaField(
        "Your message",
        validators=[_required("your message"), MaxLength(10000)],
    )
    attachments = MultipleFileField(
        "Attach files (optional)",
        description=f"Up to 5 files, 10 MB each ({ALLOWED_EXTENSIONS_WORDS}).",
    )


class ConfirmResolutionForm(FlaskForm):
    """Only a CSRF token: the button is the whole answer."""


class ReopenForm(FlaskForm):
    reason = TextAreaField(
        "What is still wrong?",
        validators=[_required("what is still wrong"), MaxLength(5000)],
    )


class RatingForm(FlaskForm):
    rating = RadioField(
        "How well did we handle your complaint?",
        choices=[
            SelectChoice(1, "1 Very poorly"),
            SelectChoice(2, "2 Poorly"),
            SelectChoice(3, "3 Acceptably"),
            SelectChoice(4, "4 Well"),
            SelectChoice(5, "5 Very well"),
        ],
        coerce=int,
        validators=[DataRequired(message="Choose a rating from 1 to 5")],
    )
    comment = TextAreaField(
        "Anything you would like to tell us? (optional)",
        validators=[Optional(), MaxLength(2000)],
    )


class SignInForm(FlaskForm):
    email = EmailField(
        "Email address",
        filters=[_strip], validators=[_required("your email address"), Email(EMAIL_MESSAGE)]
    )
    password = PasswordField("Password", validators=[_required("your password")])


class SignInLinkForm(FlaskForm):
    email = EmailField(
        "Email address",
        filters=[_strip],
        description="The address you used when you raised your complaint.",
        validators=[_required("your email address"), Email(EMAIL_MESSAGE)],
    )


class RegisterForm(FlaskForm):
    name = StringField("Your name", validators=[_required("your name"), MaxLength(120)])
    email = EmailField(
        "Email address",
        filters=[_strip],
        description="We will email you a link to choose your password.",
        validators=[_required("your email address"), Email(EMAIL_MESSAGE), MaxLength(254)],
    )


class SetPasswordForm(FlaskForm):
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


class ConfirmUnderstandingForm(FlaskForm):
    """Only a CSRF token: "Yes, that's right" is the whole answer."""


class CorrectUnderstandingForm(FlaskForm):
    correction = TextAreaField(
        "What have we got wrong?",
        description="Tell us in your own words what is missing or not right.",
        validators=[_required("what we have got wrong"), MaxLength(5000)],
    )


class ChooseOptionForm(FlaskForm):
    # The choices are this case's open offers, set by the view; an id that is not one of the
    # case's offers is refused there (404), not here.
    option = RadioField(
        "Which would you prefer?",
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(message="Choose one of the ways to put it right")],
    )
