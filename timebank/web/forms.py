"""Forms and field helpers shared by every feature: limits, filters, buttons, choices."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, HiddenField, SelectChoice, SelectField
from wtforms.validators import DataRequired, Length, Optional

from timebank.core.errors import Refused
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

    return [SelectChoice(value, label) for value, label in pairs]


class QueryForm(FlaskForm):
    """A filter form sent by GET: it only reads, so it carries no CSRF token."""

    class Meta:
        csrf = False


class ActionForm(FlaskForm):
    """A button-only form: carries the CSRF token and nothing else."""


def button_pressed() -> None:
    """A button-only form was sent (``ActionForm``: its CSRF token and nothing else), or
    the request answers 400: the page it came from is shown again with its message."""
    if not ActionForm().validate_on_submit():
        abort(400)


def place(form, error: Refused, default: str | None = None,
          fields: dict[str, str] | None = None) -> None:
    """Put a domain refusal where the person sees it: beside the field it names (through
    ``fields`` when the form calls it otherwise: the ledger's "receiver" is the form's
    "other"), or ``default``, else at the top of the form."""
    name = (fields or {}).get(error.field or "", error.field) if fields is not None else error.field
    name = name if name and name in form else default
    if name and name in form:
        form[name].errors = [*form[name].errors, error.message]
    else:
        form.form_errors.append(error.message)


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
