"""Log-in and registration forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..forms import NAME_MAX, required, strip

PASSWORD_MIN = 10


class RegisterForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        filters=[strip],
        validators=[*required(254),
                    Email(message=_l("Enter an email address like name@example.org."))],
    )
    display_name = StringField(_l("Your name, as others will see it"),
                               validators=required(NAME_MAX))
    neighbourhood = StringField(_l("Neighbourhood or postcode"), validators=required(NAME_MAX))
    password = PasswordField(
        _l("Password (at least 10 characters)"),
        validators=[
            DataRequired(),
            Length(min=PASSWORD_MIN, max=200, message=_l("Use at least 10 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), filters=[strip], validators=required(254))
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
