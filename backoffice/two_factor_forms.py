"""Forms of two-step sign-in: the code typed after the password, and the one that confirms
an authenticator app while setting it up."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class SignInCodeForm(FlaskForm):
    code = StringField(
        "Code",
        description="The 6-digit code your authenticator app shows for Amends now, or one of"
        " your recovery codes if you do not have your phone.",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message="Enter the 6-digit code from your authenticator app"),
            Length(max=40, message="A code is at most 11 characters: check what you typed"),
        ],
    )


class ConfirmAppForm(FlaskForm):
    code = StringField(
        "Code from your app",
        description="6 digits, for example 123456. A new one shows every 30 seconds.",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message="Enter the 6-digit code your app shows for Amends"),
            Length(max=20, message="Enter the 6 digits your app shows, for example 123456"),
        ],
    )
