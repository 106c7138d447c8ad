"""Asset forms: suggest or edit an asset, review it, reject it, filter the map, gaps."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, Email, InputRequired, NumberRange, Optional, ValidationError

from ..forms import QueryForm, choices, optional, required, strip


class AssetForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=required(200, "Give the name."))
    category = SelectField("Kind of asset", coerce=int,
                           validators=[InputRequired(message="Choose a kind of asset.")])
    description = TextAreaField("What it is and what happens there", validators=optional(5000))
    address_1 = StringField("Street address", filters=[strip], validators=optional(200))
    city = StringField("Town or city", filters=[strip], validators=optional(100))
    postal_code = StringField("Postcode", filters=[strip], validators=optional(20))
    latitude = FloatField("Latitude (set by clicking the map)", validators=[
        Optional(), NumberRange(min=-90, max=90, message="Latitude is between -90 and 90.")])
    longitude = FloatField("Longitude (set by clicking the map)", validators=[
        Optional(), NumberRange(min=-180, max=180, message="Longitude is between -180 and 180.")])
    opening_hours = StringField("Opening hours", validators=optional(300))
    audience = StringField("Who it is for", validators=optional(300))
    open_to_all = BooleanField("Open to everyone", default=True)
    step_free = BooleanField("Step-free access")
    accessibility = TextAreaField("Accessibility notes", validators=optional(2000))
    run_by = StringField("Who runs it", validators=optional(200))
    url = URLField("Website", filters=[strip], validators=[
        Optional(), URL(message="Enter a web address starting with https://"),
        *optional(300)])
    email = EmailField("Contact email", filters=[strip], validators=[
        Optional(), Email(message="Enter an email address like name@example.org."),
        *optional(254)])
    phone = StringField("Contact phone", validators=optional(40))

    def validate_category(self, field):
        if not any(str(c.value) == str(field.data) for c in field.choices):
            raise ValidationError("Choose one of the listed kinds of asset.")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        # Checked here, not in validate_address_1: Optional() would skip that when empty.
        has_point = self.latitude.data is not None and self.longitude.data is not None
        if not has_point and not (self.address_1.data or self.postal_code.data):
            self.address_1.errors = [*self.address_1.errors,
                                     "Give a street address or postcode, or pick the place "
                                     "on the map."]
            ok = False
        return ok

    def validate_longitude(self, field):
        if (field.data is None) != (self.latitude.data is None):
            raise ValidationError("Give both latitude and longitude, or neither.")


class ReviewForm(FlaskForm):
    still_there = RadioField("Is it still there?", choices=choices([("yes", "Yes"),
                                                                     ("no", "No")]),
                             validators=[InputRequired(message="Say whether it is still there.")])
    welcoming = RadioField("How welcoming is it?", coerce=int, choices=choices(
        [(4, "Very welcoming"), (3, "Welcoming"), (2, "Not very"), (1, "Not at all")]),
        validators=[InputRequired(message="Choose one.")])
    accessible = RadioField("Is it accessible?", choices=choices(
        [("yes", "Yes"), ("partly", "Partly"), ("no", "No"), ("unsure", "Not sure")]),
        validators=[InputRequired(message="Choose one.")])
    comment = TextAreaField("Anything others should know? (optional)",
                            validators=optional(1000))


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason (shown to the person who suggested it)",
                           validators=required(1000, "Give a reason."))


class MapFilterForm(QueryForm):
    category = SelectField("Kind of asset", validators=[Optional()])
    q = StringField("Words", validators=optional(100))
    open_to_all = BooleanField("Open to everyone")
    step_free = BooleanField("Step-free access")


class GapForm(QueryForm):
    category = SelectField("Kind of asset", validators=[Optional()])
    distance = IntegerField("Walking distance (metres)", default=800, validators=[
        Optional(), NumberRange(min=100, max=5000, message="Enter 100 to 5000 metres.")])
