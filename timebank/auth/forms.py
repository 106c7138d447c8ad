"""Log-in and registration forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..forms import NAME_MAX, required, strip

PASSWORD_MIN = 10


class RegisterForm(FlaskForm):
    email = EmailField(
        "Email address",
        filters=[strip],
        validators=[*required(254), Email(message="Enter an email address like name@example.org.")],
    )
    display_name = StringField("Your name, as others will see it", validators=required(NAME_MAX))
    neighbourhood = StringField("Neighbourhood or postcode", validators=required(NAME_MAX))
    password = PasswordField(
        "Password (at least 10 characters)",
        validators=[
            DataRequired(),
            Length(min=PASSWORD_MIN, max=200, message="Use at least 10 characters."),
        ],
    )
    confirm = PasswordField(
        "Password again",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class LoginForm(FlaskForm):
    email = EmailField("Email address", filters=[strip], validators=required(254))
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
