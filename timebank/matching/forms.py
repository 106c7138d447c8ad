"""Matching forms: an introduction and a message."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..forms import optional, required


class IntroduceForm(FlaskForm):
    request_id = IntegerField(validators=[InputRequired()])
    helper_id = IntegerField(validators=[InputRequired()])
    score = HiddenField(validators=[Optional(), Length(max=20)])
    note = TextAreaField(_l("Note to both (optional)"), validators=optional(1000))


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Your message"),
                         validators=required(2000, _l("Write a message first.")))


class RespondForm(FlaskForm):
    message = TextAreaField(_l("A message to them (optional): when you could, or a question"),
                            validators=optional(2000))
