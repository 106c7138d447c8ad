"""Field helpers shared by every blueprint's forms."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms.validators import DataRequired, Length, Optional

NAME_MAX = 80
TEXT_MAX = 2000


def required(max_len: int, message: str = "This field is required."):
    return [DataRequired(message=message), Length(max=max_len)]


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


def like_pattern(text: str, *, prefix_only: bool = False) -> str:
    """A LIKE pattern matching ``text`` literally (use with ``escape="\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


def csv_safe(value):
    """Stop spreadsheet programs from running member text as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
