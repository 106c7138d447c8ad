"""Forms for proxies ("guardian angels"): naming one, and recording time as one."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField
from wtforms.validators import InputRequired

from timebank.web.exchanges.forms import RecordForm
from timebank.web.forms import choices, required


class NameForm(FlaskForm):
    proxy = StringField(_l("Who will act for you (their name or member number)"),
                        validators=required(254, _l("Say who will act for you.")))
    until = DateField(_l("Until (at most two years)"),
                      validators=[InputRequired(message=_l("Enter the date, like 2027-03-31."))])


class NameForMemberForm(NameForm):
    proxy = StringField(_l("Who the member named to act for them (name or member number)"),
                        validators=required(254, _l("Say who will act for them.")))


class RecordForForm(RecordForm):
    member = SelectField(_l("You act for"), coerce=int,
                         validators=[InputRequired(message=_l("Choose whom you act for."))])
    direction = RadioField(
        _l("What happened?"),
        choices=choices([("gave", _l("They gave time to someone")),
                         ("received", _l("Someone gave time to them"))]),
        default="gave",
        validators=[InputRequired(message=_l("Choose whether they gave or received time."))])
    other = StringField(_l("The other member (their name or member number)"),
                        validators=required(254, _l("Say who the other member is.")))
