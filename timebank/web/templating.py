"""Template globals and filters: hours, dates in the page's language, status words."""

from __future__ import annotations

import functools
from datetime import date, datetime

from flask import Flask
from flask_babel import format_decimal, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from timebank.core.models.ledger import OUTCOME_SCALE, format_minutes
from timebank.core.models.names import plain_name
from timebank.core.models.skills import Category
from timebank.infra import clock
from timebank.web.i18n import date_locale

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


def figure(value) -> str:
    """A number as the page's language writes it (12,345.5 / 12.345,5), at most two
    decimals, never in scientific notation; anything else (a hidden figure) as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return format_decimal(value, format="#,##0.##")


# Lazy, as the status words: the workbench names a component 250 times a page.
COMPONENT_WORDS = {"category": _l("kind of help"), "text": _l("words"),
                   "distance": _l("distance"), "availability": _l("availability"),
                   "reciprocity": _l("give and take")}


def day_words(value: date | datetime | None, width: str) -> str:
    """A day in the page's language ("26 Nov 2026"), a moment on the reader's calendar.
    Babel takes tens of microseconds a date, and a list repeats a few days on every row,
    so each (day, width, language) is worded once per process."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return _day_words(value, width, date_locale())


@functools.lru_cache(maxsize=8192)
def _day_words(day: date, width: str, locale: str) -> str:
    from babel.dates import format_date as babel_date

    return babel_date(day, width, locale=locale)


def component_word(name: str) -> str:
    """The name of a part of the matching score, in the page's language."""
    word = COMPONENT_WORDS.get(name)
    return str(word) if word is not None else name


def reason_words(reason) -> str:
    """A matching reason (matching.ranking.Reason) in the page's language."""
    msgid = getattr(reason, "msgid", None)
    return _(msgid, **reason.params) if msgid else str(reason)


def safe_href(value: str | None) -> str:
    """``value`` if it is fit for an href (a web address or a path of this site), else ''.

    Escaping stops markup, not a ``javascript:`` address: stored addresses (imported
    registers, old rows) pass through here before they become links.
    """
    from urllib.parse import urlsplit

    text = (value or "").strip()
    if text.startswith("/") and not text.startswith("//") and "\\" not in text:
        return text
    parts = urlsplit(text)
    return text if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def import_field(name: str) -> str:
    """An importer field's name as the mapping form shows it."""
    return {"source_id": _("Id"), "name": _("Name"), "description": _("Description"),
            "category": _("Category"), "address": _("Address"), "city": _("Town"),
            "postal_code": _("Postcode"), "latitude": _("Latitude"),
            "longitude": _("Longitude"), "x": _("Easting (x)"), "y": _("Northing (y)"),
            "contact": _("Contact"), "email": _("Email"), "phone": _("Phone"),
            "url": _("Website"), "opening_hours": _("Opening hours"),
            "accessibility": _("Accessibility"), "audience": _("Who it is for"),
            "run_by": _("Run by"), "open_to_all": _("Open to all"),
            "step_free": _("Step-free")}.get(name, name)


def register(app: Flask) -> None:
    app.jinja_env.filters["import_field"] = import_field
    from timebank.core.members.lookup import member_label

    app.jinja_env.globals["member_label"] = member_label
    app.jinja_env.filters["safe_href"] = safe_href
    app.jinja_env.filters["hours"] = format_minutes
    # A kind of help read as a plain value, in the reader's language (models/names.py).
    app.jinja_env.filters["help_kind"] = lambda name: plain_name(Category, name)
    app.jinja_env.filters["figure"] = figure
    app.jinja_env.filters["day"] = lambda d: day_words(d, "medium")
    app.jinja_env.filters["longday"] = lambda d: day_words(d, "long")
    app.jinja_env.filters["status"] = status_word
    app.jinja_env.filters["reason"] = reason_words
    app.jinja_env.filters["component"] = component_word
    from timebank.infra.cache import fragment

    app.jinja_env.globals["remember"] = lambda key, caller: fragment(key, caller)
    app.jinja_env.globals["outcome_word"] = lambda score: str(dict(OUTCOME_SCALE)[score])

    @app.context_processor
    def _unread():
        from flask_login import current_user

        from timebank.core.notify import UNREAD_COUNTED, unread_count

        count = unread_count(current_user.id) if current_user.is_authenticated else 0
        return {"unread_count": count,
                "unread_badge": str(count) if count < UNREAD_COUNTED else f"{UNREAD_COUNTED - 1}+"}

    @app.context_processor
    def _dates():
        return {"today_iso": lambda: clock.today().isoformat()}
