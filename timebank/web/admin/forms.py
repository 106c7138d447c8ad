"""Admin forms: the two taxonomies (kinds of help, kinds of asset) and the audit filter."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional, Regexp

from timebank.web.forms import NAME_MAX, QueryForm, optional, required, strip
from timebank.web.i18n import LANGUAGES

# The languages a kind is named in besides English (the name itself).
OTHER_LANGUAGES = [(code, name) for code, name in LANGUAGES.items() if code != "en"]


class NamesForm(FlaskForm):
    """A kind's names in the other languages; empty: English (or, for a kind the site was
    seeded with, the catalogue's translation)."""

    def names(self) -> dict[str, str]:
        return {code: (getattr(self, f"name_{code}").data or "").strip()
                for code, _name in OTHER_LANGUAGES}


for _code, _language in OTHER_LANGUAGES:
    setattr(NamesForm, f"name_{_code}", StringField(
        _l("Name in %(language)s", language=_language), filters=[strip],
        validators=optional(NAME_MAX)))


class CategoryForm(NamesForm):
    name = StringField(_l("Name of the kind of help (English)"), validators=required(NAME_MAX))


class AssetCategoryForm(NamesForm):
    name = StringField(_l("Name of the kind of asset (English)"), validators=required(NAME_MAX))
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
