"""Listing forms: an offer or request, one posted for a member, the browse filters."""


from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from timebank.core.models.listings import DAYS, MAX_TRAVEL_KM, PARTS
from timebank.infra import clock
from timebank.web.forms import TEXT_MAX, QueryForm, choices, optional, required

SLOT_CHOICES = [(str(d * len(PARTS) + p),
                 LazyString(lambda d=d, p=p: f"{DAYS[d]} {PARTS[p]}"))
                for d in range(len(DAYS)) for p in range(len(PARTS))]


class ListingForm(FlaskForm):
    kind = RadioField(
        _l("Is this an offer or a request?"),
        choices=choices([("offer", _l("I can… (an offer of help)")),
                         ("request", _l("I need… (a request for help)"))]),
        validators=[InputRequired(message=_l("Choose offer or request."))],
    )
    category = SelectField(_l("Kind of help"), coerce=int,
                           validators=[InputRequired(message=_l("Choose a kind of help."))])
    title = StringField(_l("Short title"), validators=required(120, _l("Give a short title.")))
    description = TextAreaField(_l("More detail (optional)"), validators=optional(TEXT_MAX))
    availability = SelectMultipleField(
        _l("When (leave empty for any time)"), choices=choices(SLOT_CHOICES),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        validators=[Optional()],
    )
    travel_km = IntegerField(
        _l("Can travel up to (km, optional)"),
        validators=[Optional(), NumberRange(min=0, max=MAX_TRAVEL_KM,
                                            message=f"Enter 0 to {MAX_TRAVEL_KM} km.")],
    )
    remote_ok = BooleanField(_l("Can be done online or by phone"))
    expires_on = DateField(_l("Show until"), validators=[InputRequired(
        message=_l("Enter a date, like 2026-12-31."))])

    def validate_expires_on(self, field):
        if field.data and field.data < clock.today():
            raise ValidationError(_("The date has already passed; choose a date from today on."))
        if field.data and (field.data - clock.today()).days > 366:
            raise ValidationError(_("Choose a date within a year."))

    def validate_category(self, field):
        if not any(str(c.value) == str(field.data) for c in field.choices if c.value):
            raise ValidationError(_("Choose one of the listed kinds of help."))

    @property
    def availability_mask(self) -> int:
        mask = 0
        for value in self.availability.data or []:
            mask |= 1 << int(value)
        return mask

    def values(self) -> dict:
        """What the form says, in the listing's own attribute names."""
        return {"kind": self.kind.data, "category_id": self.category.data,
                "title": self.title.data, "description": self.description.data,
                "availability": self.availability_mask, "travel_km": self.travel_km.data,
                "remote_ok": self.remote_ok.data, "expires_on": self.expires_on.data}

    def set_mask(self, mask: int) -> None:
        self.availability.data = [v for v, _ in SLOT_CHOICES if mask & (1 << int(v))]


class OnBehalfListingForm(ListingForm):
    member = StringField(_l("For which member (name with #number, or email)"),
                         validators=required(254, _l("Say which member this is for.")))


class BrowseForm(QueryForm):
    """The browse filters: a plain GET form (no CSRF needed for reading)."""

    kind = SelectField(_l("Show"), choices=choices([("", _l("Offers and requests")),
                                                ("offer", _l("Offers")),
                                                ("request", _l("Requests"))]),
                       validators=[Optional()])
    category = SelectField(_l("Kind of help"), coerce=int, validators=[Optional()])
    q = StringField(_l("Words"), validators=optional(100))
    within_km = IntegerField(
        _l("Within (km of me)"),
        validators=[Optional(), NumberRange(min=1, max=MAX_TRAVEL_KM,
                                            message=_l("Enter 1 to %(km)s km.",
                                                       km=MAX_TRAVEL_KM))],
    )
    expiring = BooleanField(_l("Only those ending within a week"))

