"""Matching forms: the workbench's filters, an introduction, a response, a message."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from timebank.web.forms import NAME_MAX, QueryForm, choices, optional, required


class IntroduceForm(FlaskForm):
    """One per request on the workbench: the button pressed names the candidate (its
    value), or "other" with a member found by name in ``helper``."""

    request_id = IntegerField(validators=[InputRequired()])
    helper_id = StringField(validators=[InputRequired(), Length(max=12)])
    helper = StringField(_l("Or someone else (type a name)"), validators=optional(254))
    note = TextAreaField(_l("Note to both (optional)"), validators=optional(1000))


class WorkbenchForm(QueryForm):
    category = SelectField(_l("Kind of help"), coerce=int, validators=[Optional()])
    neighbourhood = StringField(_l("Neighbourhood of the person asking"),
                                validators=optional(NAME_MAX))
    waiting = SelectField(_l("Waiting"), coerce=int, validators=[Optional()], choices=choices(
        [(0, _l("Any time")), (7, _l("A week or more")), (30, _l("A month or more"))]))
    order = SelectField(_l("Order"), validators=[Optional()], choices=choices(
        [("oldest", _l("Oldest first")), ("newest", _l("Newest first"))]))
    unhelped = BooleanField(_l("Only those a week old with nobody introduced"))


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Your message"),
                         validators=required(2000, _l("Write a message first.")))


class RespondForm(FlaskForm):
    message = TextAreaField(_l("A message to them (optional): when you could, or a question"),
                            validators=optional(2000))
