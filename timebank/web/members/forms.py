"""Member forms: the profile, details kept by a coordinator, a role, a balance floor."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from timebank.core.models import Role
from timebank.core.models.checks import CHECK_WORDS
from timebank.web.forms import (
    NAME_MAX,
    TEXT_MAX,
    QueryForm,
    choices,
    optional,
    required,
    strip,
)
from timebank.web.i18n import LANGUAGES


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Your name, as others will see it"),
                               validators=required(NAME_MAX))
    neighbourhood = StringField(_l("Neighbourhood or postcode"), validators=required(NAME_MAX))
    skills = TextAreaField(_l("Skills you could share"), validators=optional(TEXT_MAX))
    availability = StringField(
        _l("When you are usually free (for example: weekday mornings)"), validators=optional(200)
    )
    bio = TextAreaField(_l("A little about you"), validators=optional(TEXT_MAX))
    phone = StringField(_l("Phone (coordinators see it; others only if you choose below)"),
                        validators=optional(40))
    address = StringField(
        _l("Postcode or street, for distances (never shown to others)"), validators=optional(200)
    )
    language = SelectField(_l("Language for the site and your e-mails"), choices=choices(
        [("", _l("As my browser says")), *LANGUAGES.items()]), validators=[Optional()])
    email_preference = SelectField(
        _l("E-mail me about matches and messages"),
        choices=choices([("immediately", _l("Straight away")), ("weekly", _l("In a weekly digest")),
                         ("never", _l("Never (I will check the site)"))]),
    )
    matching_opt_out = BooleanField(_l("Don't suggest me to coordinators for requests"))
    findable_elsewhere = BooleanField(
        _l("Let members of other time banks nearby find me, to exchange time with them"))
    share_contact = BooleanField(
        _l("Show my phone number and e-mail address to the people I am introduced to"))
    directory_contact = BooleanField(
        _l("Show my phone number and e-mail address to every member, in the member directory"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices([(r, r.label) for r in Role]))


class FloorForm(FlaskForm):
    floor_hours = IntegerField(
        _l("Lowest balance allowed, in hours (0 or below)"),
        validators=[
            InputRequired(message=_l("Enter a whole number of hours, such as -10.")),
            NumberRange(min=-1000, max=0, message=_l("Enter a number from -1000 to 0.")),
        ],
    )


class ErasureForm(FlaskForm):
    password = PasswordField(_l("Your password, to confirm it is you"),
                             validators=[DataRequired(), Length(max=200)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Why? They will be told this"),
                           validators=[DataRequired(message=_l("Give a reason; they will be "
                                                               "told it.")), Length(max=1000)])


class DetailsForm(FlaskForm):
    """What a coordinator keeps for a member, including one without e-mail or computer."""

    display_name = StringField(_l("Name"), validators=required(NAME_MAX))
    neighbourhood = StringField(_l("Neighbourhood or postcode"), validators=required(NAME_MAX))
    phone = StringField(_l("Phone"), validators=optional(40))
    address = StringField(_l("Postal address (for letters and distances; never shown to others)"),
                          validators=optional(200))
    email = EmailField(_l("E-mail address (leave empty if they have none)"), filters=[strip],
                       validators=[Optional(), Length(max=254), Email(
                           message=_l("Enter an email address like name@example.org."))])
    skills = TextAreaField(_l("Skills they could share"), validators=optional(TEXT_MAX))
    availability = StringField(_l("When they are usually free"), validators=optional(200))
    language = SelectField(_l("Language for letters and e-mails"), choices=choices(
        [("", _l("The bank's")), *LANGUAGES.items()]), validators=[Optional()])


class DirectoryForm(QueryForm):
    name = StringField(_l("Name"), filters=[strip], validators=optional(NAME_MAX))
    category = SelectField(_l("Offers this kind of help"), coerce=int, validators=[Optional()])
    neighbourhood = StringField(_l("Neighbourhood"), filters=[strip], validators=optional(NAME_MAX))


class CheckForm(FlaskForm):
    """A safeguarding check a coordinator saw: never the certificate's contents."""

    kind = SelectField(_l("Check"), choices=choices([(str(k), w) for k, w in CHECK_WORDS.items()]))
    done_on = DateField(_l("Done on"), validators=[InputRequired(message=_l("Give a date."))])
    expires_on = DateField(_l("Valid until (empty: it does not expire)"),
                           validators=[Optional()])


class CallForm(FlaskForm):
    """A note of a call made to a quiet member (one per member on the page: a prefix
    keeps their fields apart)."""

    note = TextAreaField(_l("How the call went"), validators=required(2000))
