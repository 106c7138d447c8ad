"""Exchange forms: record time, on behalf of members, group activities, outcomes, reversals."""


from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from timebank.core.models.ledger import OUTCOME_SCALE
from timebank.infra import clock
from timebank.web.forms import TEXT_MAX, choices, optional, required

MINUTE_CHOICES = [(0, _l("0 min")), (15, _l("15 min")), (30, _l("30 min")), (45, _l("45 min"))]


class _TimeFields(FlaskForm):
    """Hours + minutes, the date and what it was: shared by every recording form."""

    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=64)])
    # The introduction or conversation this time came from (pre-filled from its page).
    match = HiddenField(validators=[Optional(), Length(max=12)])
    # "link": the form was opened filled in from a link (someone else may have written
    # it), so confirming time from it needs a second, explicit step naming who and how
    # much (exchanges.routes._needs_a_check).
    opened_from = HiddenField(validators=[Optional(), Length(max=10)])
    hours = IntegerField(
        _l("Hours"),
        default=1,
        validators=[
            InputRequired(message=_l("Enter the number of hours (0 to 24).")),
            NumberRange(min=0, max=24, message=_l("Enter a number of hours from 0 to 24.")),
        ],
    )
    extra_minutes = SelectField(
        _l("and minutes"), choices=choices(MINUTE_CHOICES), coerce=int, default=0
    )
    service_date = DateField(
        _l("Date of the help"),
        default=clock.today,
        validators=[InputRequired(message=_l("Enter the date, like 2026-03-31."))],
    )
    category = SelectField(_l("Kind of help"), coerce=int, validators=[Optional()])
    description = TextAreaField(_l("What was done (optional)"), validators=optional(TEXT_MAX))

    @property
    def total_minutes(self) -> int:
        return (self.hours.data or 0) * 60 + (self.extra_minutes.data or 0)


class RecordForm(_TimeFields):
    direction = RadioField(
        _l("What happened?"),
        choices=choices(
            [("gave", _l("I gave time to someone")), ("received", _l("Someone gave time to me"))]
        ),
        default="gave",
        validators=[InputRequired(message=_l("Choose whether you gave or received time."))],
    )
    other = StringField(
        _l("The other member (start typing a name, or give their email)"),
        validators=required(254, _l("Say who the other member is.")),
    )


class OnBehalfForm(_TimeFields):
    giver = StringField(_l("Who gave the time"),
                        validators=required(254, _l("Say who gave the time.")))
    receiver = StringField(
        _l("Who received the time"), validators=required(254, _l("Say who received the time."))
    )


class GroupForm(_TimeFields):
    direction = RadioField(
        _l("Which way did time flow?"),
        choices=choices([
            ("to_pool", _l("Participants gave time to the community (each earns the hours)")),
            ("from_pool", _l("The community gave time to participants (each spends the hours)")),
        ]),
        default="to_pool",
        validators=[InputRequired(message=_l("Choose which way the time flowed."))],
    )
    participants = TextAreaField(
        _l("Participants, one per line (name with #number, or email)"),
        validators=required(20000, _l("List at least one participant.")),
    )


class ReverseForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=64)])
    reason = TextAreaField(
        _l("Why is this being reversed?"), validators=required(TEXT_MAX, _l("Give a reason."))
    )


class OutcomeForm(FlaskForm):
    score = RadioField(
        _l("What difference did this make to you?"),
        choices=choices(OUTCOME_SCALE),
        coerce=int,
        validators=[InputRequired(message=_l("Choose one of the answers."))],
    )
    text = TextAreaField(_l("Tell us more (optional)"), validators=optional(TEXT_MAX))
    # Say what really happens: the words appear in this bank's report for its coordinators
    # (the council's report has figures only, never members' words).
    share = BooleanField(_l("You may quote my words, without my name, in the bank's reports "
                            "(coordinators see them; the council sees only figures)"))
