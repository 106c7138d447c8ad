"""Admin forms: the two taxonomies (kinds of help, kinds of asset)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Regexp

from ..forms import NAME_MAX, required


class CategoryForm(FlaskForm):
    name = StringField(_l("Name of the kind of help"), validators=required(NAME_MAX))


class AssetCategoryForm(FlaskForm):
    name = StringField(_l("Name of the kind of asset"), validators=required(NAME_MAX))
    colour = StringField(_l("Map colour"), default="#555555", validators=[
        Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Choose a colour like #1a2b3c."))])
