"""Forms for ideas: proposing (and revising), rating, commenting, answering, filtering."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange, Optional

from timebank.core.models.ideas import CRITERIA, STATUS_WORDS
from timebank.web.forms import QueryForm, choices, optional, required

SCALE = [(4, _l("Very much")), (3, _l("Quite")), (2, _l("A little")), (1, _l("Not at all"))]


class IdeaForm(FlaskForm):
    title = StringField(_l("Your idea, in a few words"), validators=required(120))
    need = TextAreaField(_l("What need would it meet, and for whom?"),
                         validators=required(3000))
    builds_on = TextAreaField(
        _l("What would it build on? (places, groups, skills neighbours already offer)"),
        validators=optional(3000))
    takes = TextAreaField(_l("What would it take? (people, time, a place, money)"),
                          validators=optional(3000))
    category = SelectField(_l("Kind of community asset it is about"), coerce=int,
                           validators=[Optional()])
    neighbourhood = SelectField(_l("Neighbourhood"), coerce=int, validators=[Optional()])
    show_name = BooleanField(_l("Show my name with the idea on the public pages"))
    asset_id = HiddenField()
    gap_cell = HiddenField()
    latitude = FloatField(widget=HiddenField.widget, validators=[
        Optional(), NumberRange(min=-90, max=90)])
    longitude = FloatField(widget=HiddenField.widget, validators=[
        Optional(), NumberRange(min=-180, max=180)])


class RatingForm(FlaskForm):
    benefits = RadioField(CRITERIA["benefits"], coerce=int, choices=choices(SCALE),
                          validators=[InputRequired(message=_l("Choose one."))])
    builds = RadioField(CRITERIA["builds"], coerce=int, choices=choices(SCALE),
                        validators=[InputRequired(message=_l("Choose one."))])
    together = RadioField(CRITERIA["together"], coerce=int, choices=choices(SCALE),
                          validators=[InputRequired(message=_l("Choose one."))])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=required(2000))


class AnswerForm(FlaskForm):
    status = SelectField(_l("Status"), choices=choices(list(STATUS_WORDS.items())),
                         validators=[InputRequired()])
    answer = TextAreaField(_l("Answer, in public (for “not now”, say why)"),
                           validators=required(3000, _l("Write the answer people will read.")))


class IdeaFilterForm(QueryForm):
    status = SelectField(_l("Status"), validators=[Optional()])
    neighbourhood = SelectField(_l("Neighbourhood"), coerce=int, validators=[Optional()])
    category = SelectField(_l("Kind of community asset"), coerce=int, validators=[Optional()])


def offer_choices(form, categories, neighbourhoods, blank) -> None:
    """Fill the select fields: ``blank`` (0) first, then the register's kinds and areas."""
    form.category.choices = choices([(0, blank), *[(c.id, c.name) for c in categories]])
    form.neighbourhood.choices = choices([(0, blank), *[(n.id, n.name)
                                                        for n in neighbourhoods]])




class SessionForm(FlaskForm):
    title = StringField(_l("What the session is"), validators=required(120))
    starts_at = DateTimeLocalField(_l("Date and time"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(message=_l("Give a date and time."))])
    place = StringField(_l("Where"), validators=required(200))
    accessibility = TextAreaField(_l("Access: step-free, hearing loop, language, childcare…"),
                                  validators=optional(1000))
    seats = IntegerField(_l("Seats"), default=20, validators=[
        InputRequired(), NumberRange(min=1, max=500, message=_l("Enter 1 to 500."))])
    minutes = IntegerField(_l("Time credited to each person who comes (minutes)"), default=120,
                           validators=[InputRequired(), NumberRange(
                               min=15, max=480, message=_l("Enter 15 to 480 minutes."))])


class RoleForm(FlaskForm):
    """A role a planned idea needs (its kind of help: the skills taxonomy)."""

    title = StringField(_l("A role it needs"), validators=required(120))
    category = SelectField(_l("Kind of help"), coerce=int,
                           validators=[InputRequired(message=_l("Choose one."))])
    people = IntegerField(_l("How many people"), default=1, validators=[
        InputRequired(), NumberRange(min=1, max=50, message=_l("Enter 1 to 50."))])
