"""Listing forms: an offer or request, one posted for a member, the browse filters."""

from datetime import date

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

from ..forms import TEXT_MAX, QueryForm, choices, optional, required
from ..models.listings import DAYS, MAX_TRAVEL_KM, PARTS

SLOT_CHOICES = [(str(d * len(PARTS) + p), f"{DAYS[d]} {PARTS[p]}")
                for d in range(len(DAYS)) for p in range(len(PARTS))]


class ListingForm(FlaskForm):
    kind = RadioField(
        "Is this an offer or a request?",
        choices=choices([("offer", "I can… (an offer of help)"),
                         ("request", "I need… (a request for help)")]),
        validators=[InputRequired(message="Choose offer or request.")],
    )
    category = SelectField("Kind of help", coerce=int,
                           validators=[InputRequired(message="Choose a kind of help.")])
    title = StringField("Short title", validators=required(120, "Give a short title."))
    description = TextAreaField("More detail (optional)", validators=optional(TEXT_MAX))
    availability = SelectMultipleField(
        "When (leave empty for any time)", choices=choices(SLOT_CHOICES),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        validators=[Optional()],
    )
    travel_km = IntegerField(
        "Can travel up to (km, optional)",
        validators=[Optional(), NumberRange(min=0, max=MAX_TRAVEL_KM,
                                            message=f"Enter 0 to {MAX_TRAVEL_KM} km.")],
    )
    remote_ok = BooleanField("Can be done online or by phone")
    expires_on = DateField("Show until", validators=[InputRequired(
        message="Enter a date, like 2026-12-31.")])

    def validate_expires_on(self, field):
        if field.data and field.data < date.today():
            raise ValidationError("The date has already passed; choose a date from today on.")
        if field.data and (field.data - date.today()).days > 366:
            raise ValidationError("Choose a date within a year.")

    def validate_category(self, field):
        if not any(str(c.value) == str(field.data) for c in field.choices if c.value):
            raise ValidationError("Choose one of the listed kinds of help.")

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
    member = StringField("For which member (name with #number, or email)",
                         validators=required(254, "Say which member this is for."))


class BrowseForm(QueryForm):
    """The browse filters: a plain GET form (no CSRF needed for reading)."""

    kind = SelectField("Show", choices=choices([("", "Offers and requests"),
                                                ("offer", "Offers"),
                                                ("request", "Requests")]),
                       validators=[Optional()])
    category = SelectField("Kind of help", coerce=int, validators=[Optional()])
    q = StringField("Words", validators=optional(100))
    within_km = IntegerField(
        "Within (km of me)",
        validators=[Optional(), NumberRange(min=1, max=MAX_TRAVEL_KM,
                                            message=f"Enter 1 to {MAX_TRAVEL_KM} km.")],
    )

