"""Asset forms: suggest or edit an asset, review it, reject it, filter the map, gaps."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    Email,
    InputRequired,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from timebank.core.assets.register import TEXT_FIELDS
from timebank.web.forms import QueryForm, choices, optional, required, strip


class AssetForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip], validators=required(200, _l("Give the name.")))
    category = SelectField(_l("Kind of asset"), coerce=int,
                           validators=[InputRequired(message=_l("Choose a kind of asset."))])
    description = TextAreaField(_l("What it is and what happens there"), validators=optional(5000))
    address_1 = StringField(_l("Street address"), filters=[strip], validators=optional(200))
    city = StringField(_l("Town or city"), filters=[strip], validators=optional(100))
    postal_code = StringField(_l("Postcode"), filters=[strip], validators=optional(20))
    latitude = FloatField(_l("Latitude (set by clicking the map)"), validators=[
        Optional(), NumberRange(min=-90, max=90, message=_l("Latitude is between -90 and 90."))])
    longitude = FloatField(_l("Longitude (set by clicking the map)"), validators=[
        Optional(),
        NumberRange(min=-180, max=180, message=_l("Longitude is between -180 and 180."))])
    opening_hours = StringField(_l("Opening hours"), validators=optional(300))
    audience = StringField(_l("Who it is for"), validators=optional(300))
    open_to_all = BooleanField(_l("Open to everyone"), default=True)
    step_free = BooleanField(_l("Step-free access"))
    accessibility = TextAreaField(_l("Accessibility notes"), validators=optional(2000))
    run_by = StringField(_l("Who runs it"), validators=optional(200))
    url = URLField(_l("Website"), filters=[strip], validators=[
        Optional(), URL(message=_l("Enter a web address starting with https://")),
        *optional(300)])
    email = EmailField(_l("Contact email"), filters=[strip], validators=[
        Optional(), Email(message=_l("Enter an email address like name@example.org.")),
        *optional(254)])
    phone = StringField(_l("Contact phone"), validators=optional(40))
    at_home = BooleanField(_l("It is at someone's home: show only the area, never the "
                              "address"))

    def validate_category(self, field):
        if not any(str(c.value) == str(field.data) for c in field.choices):
            raise ValidationError(_("Choose one of the listed kinds of asset."))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        # Checked here, not in validate_address_1: Optional() would skip that when empty.
        has_point = self.latitude.data is not None and self.longitude.data is not None
        if not has_point and not (self.address_1.data or self.postal_code.data):
            self.address_1.errors = [*self.address_1.errors,
                                     _l("Give a street address or postcode, or pick the place "
                                     "on the map.")]
            ok = False
        return ok

    def validate_longitude(self, field):
        if (field.data is None) != (self.latitude.data is None):
            raise ValidationError(_("Give both latitude and longitude, or neither."))


class CoordinatorAssetForm(AssetForm):
    """What only coordinators record: the council's own land, Assets of Community Value."""

    council_owned = BooleanField(_l("The council owns it (land and assets list)"))
    uprn = StringField(_l("UPRN (Unique Property Reference Number)"), filters=[strip],
                       validators=[Optional(), Regexp(r"^\d{1,12}$", message=_l(
                           "A UPRN is up to 12 digits."))])
    tenure = SelectField(_l("Tenure"), choices=choices([
        ("", _l("Not known")), ("freehold", _l("Freehold")), ("leasehold", _l("Leasehold"))]),
        validators=[Optional()])
    acv_listed_on = DateField(_l("Listed as an Asset of Community Value on"),
                              validators=[Optional()])
    acv_expires_on = DateField(_l("Its listing ends on (five years on, if left empty)"),
                               validators=[Optional()])

    def validate_acv_expires_on(self, field):
        if field.data and not self.acv_listed_on.data:
            raise ValidationError(_("Give the day it was listed too."))
        if field.data and field.data <= self.acv_listed_on.data:
            raise ValidationError(_("The listing ends after the day it was listed."))


class ClosedForm(FlaskForm):
    """A member says an asset has closed or moved."""

    what = RadioField(_l("What has changed?"), choices=choices([
        ("closed", _l("It has closed")), ("moved", _l("It has moved"))]),
        validators=[InputRequired(message=_l("Say whether it closed or moved."))])
    note = TextAreaField(_l("What do you know? (where it went, when it closed)"),
                         validators=optional(1000))


class ReviewForm(FlaskForm):
    still_there = RadioField(_l("Is it still there?"), choices=choices([("yes", _l("Yes")),
                                                                     ("no", _l("No"))]),
                             validators=[InputRequired(
                                 message=_l("Say whether it is still there."))])
    welcoming = RadioField(_l("How welcoming is it?"), coerce=int, choices=choices(
        [(4, _l("Very welcoming")), (3, _l("Welcoming")), (2, _l("Not very")),
         (1, _l("Not at all"))]),
        validators=[InputRequired(message=_l("Choose one."))])
    accessible = RadioField(_l("Is it accessible?"), choices=choices(
        [("yes", _l("Yes")), ("partly", _l("Partly")), ("no", _l("No")),
         ("unsure", _l("Not sure"))]),
        validators=[InputRequired(message=_l("Choose one."))])
    comment = TextAreaField(_l("Anything others should know? (optional)"),
                            validators=optional(1000))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason (shown to the person who suggested it)"),
                           validators=required(1000, _l("Give a reason.")))


class MapFilterForm(QueryForm):
    category = SelectField(_l("Kind of asset"), validators=[Optional()])
    q = StringField(_l("Words"), validators=optional(100))
    open_to_all = BooleanField(_l("Open to everyone"))
    step_free = BooleanField(_l("Step-free access"))


class GapForm(QueryForm):
    category = SelectField(_l("Kind of asset"), validators=[Optional()])
    distance = IntegerField(_l("Distance in a straight line (metres)"), default=800, validators=[
        Optional(), NumberRange(min=100, max=5000, message=_l("Enter 100 to 5000 metres."))])


class UploadForm(FlaskForm):
    file = FileField(_l("A CSV or GeoJSON file (up to 2 MB)"),
                     validators=[FileRequired(message=_l("Choose a file to upload."))])



# What an asset's named contact sees from the e-mailed link: the public details as the
# asset form asks them (the same fields, not copies), and a note.
ContactCheckForm = type("ContactCheckForm", (FlaskForm,), {
    **{name: getattr(AssetForm, name) for name in TEXT_FIELDS},
    "note": TextAreaField(_l("Anything else we should know? (optional)"),
                          validators=optional(1000))})


class BoundaryForm(FlaskForm):
    """A boundary file for the named areas (wards, neighbourhoods)."""

    file = FileField(_l("A GeoJSON file of areas (up to 5 MB)"),
                     validators=[FileRequired(message=_l("Choose a file to upload."))])
    name_field = StringField(_l("The property that holds each area's name (if not "
                                "found by itself)"), filters=[strip], validators=optional(60))
    crs = SelectField(_l("Coordinates"), choices=choices([
        ("", _l("Work it out from the file")), ("EPSG:4326", _l("Longitude and latitude")),
        ("EPSG:27700", _l("British National Grid (metres)"))]), validators=[Optional()])
