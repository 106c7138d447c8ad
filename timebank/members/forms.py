"""Member forms: the profile, a role, a balance floor."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange

from ..forms import NAME_MAX, TEXT_MAX, choices, optional, required
from ..models import Role


class ProfileForm(FlaskForm):
    display_name = StringField("Your name, as others will see it", validators=required(NAME_MAX))
    neighbourhood = StringField("Neighbourhood or postcode", validators=required(NAME_MAX))
    skills = TextAreaField("Skills you could share", validators=optional(TEXT_MAX))
    availability = StringField(
        "When you are usually free (for example: weekday mornings)", validators=optional(200)
    )
    bio = TextAreaField("A little about you", validators=optional(TEXT_MAX))
    phone = StringField("Phone (only coordinators see this)", validators=optional(40))
    address = StringField(
        "Postcode or street, for distances (never shown to others)", validators=optional(200)
    )
    email_preference = SelectField(
        "E-mail me about matches and messages",
        choices=choices([("immediately", "Straight away"), ("weekly", "In a weekly digest"),
                         ("never", "Never (I will check the site)")]),
    )
    matching_opt_out = BooleanField("Don't suggest me to coordinators for requests")
    findable_elsewhere = BooleanField(
        "Let members of other time banks nearby find me, to exchange time with them")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=choices([(r, r.label) for r in Role]))


class FloorForm(FlaskForm):
    floor_hours = IntegerField(
        "Lowest balance allowed, in hours (0 or below)",
        validators=[
            InputRequired(message="Enter a whole number of hours, such as -10."),
            NumberRange(min=-1000, max=0, message="Enter a number from -1000 to 0."),
        ],
    )
