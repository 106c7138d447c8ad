"""Bank forms: a new bank, its settings (admins), its contact details (coordinators)."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    NumberRange,
    Optional,
    Regexp,
)

from timebank.web.forms import choices, optional, required, strip

LANGUAGES = [("en", _l("English")), ("cy", _l("Cymraeg (Welsh)")), ("es", _l("Español (Spanish)"))]


class NewBankForm(FlaskForm):
    slug = StringField(_l("Short name for web addresses (/b/short-name/)"), filters=[strip],
                       validators=[*required(40), Regexp(
                           r"^[a-z0-9][a-z0-9-]*$",
                           message=_l("Use lower-case letters, digits and hyphens."))])
    name = StringField(_l("Name of the bank"), filters=[strip], validators=required(120))


class JoinForm(FlaskForm):
    """A member of another bank asks to join this one."""

    message = TextAreaField(_l("A word for the coordinators (optional): what you can offer, "
                               "where you live"), filters=[strip], validators=optional(500))
    accept = BooleanField(
        _l("I have read and accept this bank's terms of membership and privacy notice"),
        validators=[DataRequired(message=_l("Please read and accept the terms to join."))])


class AddMemberForm(FlaskForm):
    """An admin gives an existing person a role in a bank."""

    email = StringField(_l("Their e-mail address"), filters=[strip], validators=required(254))
    role = SelectField(_l("Role in this bank"), choices=choices([
        ("resident", _l("Resident")), ("coordinator", _l("Coordinator"))]))


class ContactForm(FlaskForm):
    """What coordinators keep up to date: how people without computers reach the bank."""

    office_address = StringField(_l("Office address"), filters=[strip], validators=optional(300))
    phone = StringField(_l("Phone"), filters=[strip], validators=optional(40))
    email = StringField(_l("E-mail"), filters=[strip], validators=[
        Optional(), Email(message=_l("Enter an e-mail address such as office@example.org."))])
    opening_hours = StringField(_l("Opening hours (for example: Tue and Thu 10–2)"),
                                filters=[strip], validators=optional(300))
    welcome_text = TextAreaField(_l("Welcome text on the bank's home page"), filters=[strip],
                                 validators=optional(2000))
    terms_text = TextAreaField(_l("Terms of membership (empty: the standard terms)"),
                               filters=[strip], validators=optional(20000))
    privacy_text = TextAreaField(_l("Privacy notice (empty: the standard notice)"),
                                 filters=[strip], validators=optional(20000))
    asset_check_months = IntegerField(
        _l("Flag a community asset nobody has checked for this many months"), default=12,
        validators=[Optional(), NumberRange(min=1, max=120,
                                            message=_l("Enter 1 to 120 months."))])


def _bbox_field(label: str, low: float, high: float):
    return FloatField(label, validators=[Optional(), NumberRange(
        min=low, max=high, message=f"Enter a number from {low:g} to {high:g}.")])


class BankSettingsForm(ContactForm):
    """Everything about a bank, for admins of the install."""

    name = StringField(_l("Name of the bank"), filters=[strip], validators=required(120))
    floor_hours = IntegerField(_l("Lowest balance for new accounts, in hours (0 or below)"),
                               validators=[NumberRange(
                                   min=-1000, max=0,
                                   message=_l("Enter a number from -1000 to 0."))])
    default_language = SelectField(_l("Default language"), choices=choices(
        [("", _l("None: each visitor's browser decides")), *LANGUAGES]))
    english_dates = SelectField(_l("English dates are written as in"), default="en_GB",
                                choices=choices([
                                    ("en_GB", _l("the United Kingdom: 6 December 2026")),
                                    ("en_IE", _l("Ireland: 6 December 2026")),
                                    ("en_US", _l("the United States: December 6, 2026"))]))
    pool_floor_hours = IntegerField(
        _l("Most the community pool may pay out, in hours (its lowest balance, 0 or below)"),
        default=-500, validators=[NumberRange(min=-100000, max=0,
                                              message=_l("Enter a number from -100000 to 0."))])
    pool_cap_hours = IntegerField(
        _l("Most the community pool may take in, in hours"), default=500,
        validators=[NumberRange(min=0, max=100000, message=_l("Enter 0 or more."))])
    pool_alone_hours = IntegerField(
        _l("Hours one coordinator may pay from the pool alone in 30 days (more: a second "
           "agrees)"), default=20,
        validators=[NumberRange(min=0, max=100000, message=_l("Enter 0 or more."))])
    interbank = BooleanField(_l("Members may exchange time with members of other banks"))
    clearing_limit_hours = IntegerField(
        _l("Most hours owed to or by other banks (empty: no limit)"),
        validators=[Optional(), NumberRange(min=0, max=100000, message=_l("Enter 0 or more."))])
    country = StringField(_l("Country its members' phone numbers are in (two letters, "
                             "like GB or ES)"), default="GB", filters=[strip],
                          validators=[Regexp(r"^[A-Za-z]{2}$", message=_l(
                              "Enter the two-letter country code, like GB."))])
    sms_monthly_cap = IntegerField(
        _l("Most texts sent a month (they cost money; 0: none)"), default=500,
        validators=[NumberRange(min=0, max=1000000, message=_l("Enter 0 or more."))])
    min_lon = _bbox_field(_l("Area: west edge (longitude)"), -180, 180)
    min_lat = _bbox_field(_l("Area: south edge (latitude)"), -90, 90)
    max_lon = _bbox_field(_l("Area: east edge (longitude)"), -180, 180)
    max_lat = _bbox_field(_l("Area: north edge (latitude)"), -90, 90)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        box = [self.min_lon.data, self.min_lat.data, self.max_lon.data, self.max_lat.data]
        if ok and any(v is not None for v in box):
            if any(v is None for v in box):
                self.min_lon.errors.append(_("Give all four edges of the area, or none."))
                return False
            if box[0] >= box[2] or box[1] >= box[3]:
                self.min_lon.errors.append(
                    _("West must be less than east, south less than north."))
                return False
        return ok

    def values(self) -> dict:
        data = {name: getattr(self, name).data for name in (
            "name", "office_address", "phone", "email", "opening_hours", "welcome_text",
            "terms_text", "privacy_text", "default_language", "english_dates", "min_lon",
            "min_lat", "max_lon", "max_lat", "sms_monthly_cap", "asset_check_months")}
        data["country"] = (self.country.data or "GB").upper()
        data["interbank"] = bool(self.interbank.data)
        data["default_floor"] = self.floor_hours.data * 60
        data["pool_floor"] = self.pool_floor_hours.data * 60
        data["pool_cap"] = self.pool_cap_hours.data * 60
        data["pool_alone_minutes"] = self.pool_alone_hours.data * 60
        limit = self.clearing_limit_hours.data
        data["clearing_limit"] = None if limit is None else limit * 60
        return data
