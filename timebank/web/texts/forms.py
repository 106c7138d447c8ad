"""Forms for a member's mobile and what reaches it by text."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField

from timebank.web.forms import choices, required


class MobileForm(FlaskForm):
    mobile = StringField(_l("Mobile number"), validators=required(40))


class CodeForm(FlaskForm):
    code = StringField(_l("The code we texted you"), validators=required(8))


class PreferenceForm(FlaskForm):
    preference = RadioField(_l("What should reach you by text?"), choices=choices([
        ("confirm", _l("Time recorded with me, and requests to confirm it")),
        ("weekly", _l("Those, and a weekly text of new offers and requests near me")),
        ("never", _l("Nothing"))]), default="confirm")
