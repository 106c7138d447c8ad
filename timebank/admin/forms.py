"""Admin forms: the two taxonomies (kinds of help, kinds of asset) and the audit filter."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional, Regexp

from ..forms import NAME_MAX, QueryForm, optional, required, strip


class CategoryForm(FlaskForm):
    name = StringField(_l("Name of the kind of help"), validators=required(NAME_MAX))


class AssetCategoryForm(FlaskForm):
    name = StringField(_l("Name of the kind of asset"), validators=required(NAME_MAX))
    colour = StringField(_l("Map colour"), default="#555555", validators=[
        Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Choose a colour like #1a2b3c."))])


class AuditFilterForm(QueryForm):
    who = StringField(_l("Who (name, e-mail or number)"), filters=[strip],
                      validators=optional(120))
    action = StringField(_l("Action contains"), filters=[strip], validators=optional(60))
    object_type = SelectField(_l("Object"), validators=[Optional()])
    object_id = IntegerField(_l("Object number"), validators=[
        Optional(), NumberRange(min=1, max=2**31, message=_l("Enter a whole number."))])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def filters(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "who", "action", "object_type", "object_id", "since", "until")
            if getattr(self, name).data not in (None, "")}
