"""Field helpers shared by every blueprint's forms."""

from __future__ import annotations

from urllib.parse import urlsplit

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
