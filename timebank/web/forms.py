"""Forms and field helpers shared by every feature: limits, filters, buttons, choices."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, HiddenField, SelectField
from wtforms.validators import DataRequired, Length, Optional

from timebank.core.models import Category
from timebank.core.models.names import plain_name
from timebank.infra.extensions import db
from timebank.web.i18n import LANGUAGES

NAME_MAX = 80
TEXT_MAX = 2000


def required(max_len: int, message: str | None = None):
    return [DataRequired(message=message or _l("This field is required.")),
            Length(max=max_len)]


def optional(max_len: int):
    return [Optional(), Length(max=max_len)]


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are allowed as redirect targets (no open redirects)."""
    if not target:
        return None
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def strip(value):
    """WTForms filter: drop surrounding spaces people paste in by accident."""
    return value.strip() if isinstance(value, str) else value


def choices(pairs):
    """(value, label) pairs as WTForms SelectChoice objects (tuples are deprecated)."""
    from wtforms import SelectChoice

    return [SelectChoice(value, label) for value, label in pairs]


class QueryForm(FlaskForm):
    """A filter form sent by GET: it only reads, so it carries no CSRF token."""

    class Meta:
        csrf = False


def _typed(field) -> bool:
    """Whether ``field`` is drawn with what was sent as it was sent (words, a number, a
    tick box's value other than its own "y")."""
    if not field.raw_data or field.raw_data == [""]:
        return False
    if field.type == "BooleanField":
        return field.raw_data != ["y"]
    return not hasattr(field, "choices")


def fields_key(name: str, form) -> tuple | None:
    """A key naming everything ``form``'s fields show (answers as read, and the choices
    offered), so a filter form is drawn once per key (``remember`` in a
    template). None, drawn afresh, when it has errors, or words or a number typed in:
    whatever anyone types must not fill the cache (choices and ticks are few)."""
    if form.errors or any(_typed(field) for field in form):
        return None
    # What a choice or a tick shows is its value as read, never as typed: "5", "05" and
    # "+5" draw the same field, and must not make three keys.
    return (name, *((field.name, str(field.data),
                     tuple(tuple(map(str, c)) for c in getattr(field, "choices", None) or ()))
                    for field in form))


def like_pattern(text: str, *, prefix_only: bool = False) -> str:
    """A LIKE pattern matching ``text`` literally (use with ``escape="\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


class ActionForm(FlaskForm):
    """A button-only form: carries the CSRF token and nothing else."""


class LanguageForm(FlaskForm):
    """The language switcher: one button per language, and the page to go back to."""

    lang = SelectField(choices=choices(list(LANGUAGES.items())))
    next = HiddenField()


def category_choices(none_label=None) -> list:
    """The kinds of help in use, for a select field (0 means none chosen)."""
    rows = db.session.execute(
        select(Category.id, Category.name).where(Category.active).order_by(Category.name)
    ).all()
    return choices([(0, none_label or _l("Choose…")),
                    *[(r.id, plain_name(Category, r.name)) for r in rows]])


class PeriodForm(QueryForm):
    """Which dates of service a printed statement covers (empty: all of them, to today)."""

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.start.data and self.end.data and self.start.data > self.end.data:
            self.end.errors.append(_("The end must not be before the start."))
            return False
        return ok
