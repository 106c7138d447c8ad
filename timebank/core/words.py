"""Words the domain says in the reader's language: statuses and figures."""

from __future__ import annotations

from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

# Lazy: a list page asks for a status word per row, and only that word is translated.
STATUS_WORDS = {
    "pending": _l("pending"), "confirmed": _l("confirmed"), "declined": _l("declined"),
    "cancelled": _l("cancelled"), "active": _l("active"), "suspended": _l("suspended"),
    "open": _l("open"), "matched": _l("matched"), "closed": _l("closed"),
    "proposed": _l("proposed"), "accepted": _l("accepted"), "completed": _l("completed"),
    "published": _l("published"), "rejected": _l("rejected"), "archived": _l("archived"),
}


def status_word(status: str) -> str:
    """A status as the page's language says it (exchanges, listings, matches, members)."""
    word = STATUS_WORDS.get(status)
    return str(word) if word is not None else status


def figure(value) -> Any:
    """A number as the page's language writes it (12,345.5 / 12.345,5), at most two
    decimals, never in scientific notation; anything else (a hidden figure) as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return format_decimal(value, format="#,##0.##")
