"""Log-in, registration and account forms, and the rule for a good enough password."""

from __future__ import annotations

import re
from functools import cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from timebank.web.forms import NAME_MAX, required, strip

PASSWORD_MIN = 10


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn's list of the 30,000 passwords most often found in breaches.

    return frozenset(FREQUENCY_LISTS["passwords"])


def not_common(form, field) -> None:
    """Refuse passwords an attacker tries first: breached favourites, keyboard runs,
    and anything built from the person's own name or address or the site's name.

    zxcvbn scores guessability 0-4; 3 means about 10^8 guesses or more, which the log-in
    limits make impractical to reach.
    """

    password = field.data or ""
    values = [getattr(getattr(form, name, None), "data", None) or ""
              for name in ("email", "display_name")] + getattr(form, "password_hints", [])
    hints = ["timebank", "time bank"]
    for value in filter(None, values):
        local = value.casefold().split("@")[0]
        hints += [value, local, *re.split(r"[^\w]+", local)]
        if "@" in value and local in password.casefold() and len(local) >= len(password) - 3:
            hints.append(password)  # the address with a digit or two added
    if (password.casefold() in _common_passwords()
            or zxcvbn(password[:64], user_inputs=[h for h in hints if h])["score"] < 3):
        raise ValidationError(_l("That password is too easy to guess; please choose "
                                 "another, for example three unrelated words."))


def new_password(label=None):
    return PasswordField(
        label or _l("Password (at least 10 characters)"),
        validators=[DataRequired(),
                    Length(min=PASSWORD_MIN, max=200, message=_l("Use at least 10 characters.")),
                    not_common],
    )


def password_again():
    return PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )


def email_field(label=None):
    return EmailField(
        label or _l("Email address"),
        filters=[strip],
        validators=[*required(254),
                    Email(message=_l("Enter an email address like name@example.org."))],
    )


class RegisterForm(FlaskForm):
    email = email_field()
    display_name = StringField(_l("Your name, as others will see it"),
                               validators=required(NAME_MAX))
    neighbourhood = StringField(_l("Neighbourhood or postcode"), validators=required(NAME_MAX))
    password = new_password()
    confirm = password_again()
    accept = BooleanField(
        _l("I have read and accept the terms of membership and the privacy notice"),
        validators=[DataRequired(message=_l("Please read and accept the terms to join."))])


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), filters=[strip], validators=required(254))
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ForgotForm(FlaskForm):
    email = email_field()


class ResetForm(FlaskForm):
    password = new_password(_l("New password (at least 10 characters)"))
    confirm = password_again()


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = new_password(_l("New password (at least 10 characters)"))
    confirm = password_again()


class ChangeEmailForm(FlaskForm):
    email = email_field(_l("New email address"))
    password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
