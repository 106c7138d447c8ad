"""Forms for events: posting or changing one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange, Optional

from timebank.web.forms import optional, required

WHEN = "%Y-%m-%dT%H:%M"


class EventForm(FlaskForm):
    title = StringField(_l("What it is"), validators=required(120))
    purpose = TextAreaField(_l("What it is for"), validators=optional(2000))
    starts_at = DateTimeLocalField(_l("Starts"), format=WHEN, validators=[
        InputRequired(message=_l("Give a date and time."))])
    ends_at = DateTimeLocalField(_l("Ends (optional)"), format=WHEN, validators=[Optional()])
    place = StringField(_l("Where"), validators=required(200))
    accessibility = TextAreaField(_l("Access: step-free, hearing loop, language, childcare…"),
                                  validators=optional(1000))
    area_wide = BooleanField(_l("Open to members of every time bank in the area"))
    category = SelectField(_l("Kind of help the helpers give"), coerce=int, default=0)
    helpers_wanted = IntegerField(_l("Helpers wanted"), default=0, validators=[
        InputRequired(), NumberRange(min=0, max=200, message=_l("Enter 0 to 200."))])
    helper_minutes = IntegerField(_l("Time each helper earns (minutes)"), default=0,
                                  validators=[InputRequired(), NumberRange(
                                      min=0, max=480, message=_l("Enter 0 to 480 minutes."))])
    places = IntegerField(_l("Places for those coming (empty: no limit)"),
                          validators=[Optional(), NumberRange(
                              min=1, max=5000, message=_l("Enter 1 to 5000."))])

    def values(self) -> dict:
        return {"title": self.title.data, "purpose": self.purpose.data or "",
                "starts_at": self.starts_at.data, "ends_at": self.ends_at.data,
                "place": self.place.data, "accessibility": self.accessibility.data or "",
                "area_wide": bool(self.area_wide.data),
                "category_id": self.category.data or None,
                "helpers_wanted": self.helpers_wanted.data,
                "helper_minutes": self.helper_minutes.data, "places": self.places.data}
