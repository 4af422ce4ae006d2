from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email


class StaffSignInForm(FlaskForm):
    email = EmailField(
        "Work email address",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[DataRequired(message="Enter your work email address"),
                    Email("Enter an email address like name@example.com")],
    )
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password")])
