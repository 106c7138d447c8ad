"""Template globals and filters: hours, dates in the page's language, status words."""

from __future__ import annotations

import functools
from datetime import date, datetime
from urllib.parse import urlsplit

from babel.dates import format_date as babel_date
from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from flask_login import current_user

from timebank.core.members.lookup import member_label
from timebank.core.models.checks import CHECK_WORDS, CheckKind
from timebank.core.models.ledger import OUTCOME_SCALE, format_minutes
from timebank.core.models.names import plain_name
from timebank.core.models.skills import Category
from timebank.core.notify import UNREAD_COUNTED, unread_count
from timebank.core.words import figure, status_word  # noqa: F401  (filters)
from timebank.infra import clock
from timebank.web.caching import remember
from timebank.web.i18n import date_locale
from timebank.web.menu import menu
from timebank.web.permissions import may
from timebank.web.tenancy import current_bank_id

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


def role_of(member) -> str | None:
    """A member's role in the page's bank (None: not a member of it)."""
    return member.role_in(current_bank_id())


def role_label(member) -> str:
    return member.role_label_in(current_bank_id())


def status_of(member) -> str:
    """Pending, active or suspended in the page's bank (a directory row knows its own)."""
    own = getattr(member, "bank_status", None)
    return own if own is not None else member.status_in(current_bank_id())


def register(app: Flask) -> None:
    app.jinja_env.globals.update(may=may, menu=menu, role_of=role_of, role_label=role_label,
                                 status_of=status_of)
    app.jinja_env.filters["import_field"] = import_field
    app.jinja_env.globals["member_label"] = member_label
    app.jinja_env.filters["safe_href"] = safe_href
    app.jinja_env.filters["hours"] = format_minutes
    # A kind of help read as a plain value, in the reader's language (models/names.py).
    app.jinja_env.filters["help_kind"] = lambda name: plain_name(Category, name)
    app.jinja_env.filters["figure"] = figure
    app.jinja_env.filters["day"] = lambda d: day_words(d, "medium")
    app.jinja_env.filters["longday"] = lambda d: day_words(d, "long")
    app.jinja_env.filters["status"] = status_word
    app.jinja_env.filters["check_word"] = lambda kind: str(CHECK_WORDS[CheckKind(kind)])
    app.jinja_env.filters["reason"] = reason_words
    app.jinja_env.filters["component"] = component_word
    app.jinja_env.globals["remember"] = remember
    app.jinja_env.globals["outcome_word"] = lambda score: str(dict(OUTCOME_SCALE)[score])

    @app.context_processor
    def _unread():
        count = (unread_count(current_user.id, current_bank_id())
                 if current_user.is_authenticated else 0)
        return {"unread_count": count,
                "unread_badge": str(count) if count < UNREAD_COUNTED else f"{UNREAD_COUNTED - 1}+"}

    @app.context_processor
    def _dates():
        return {"today_iso": lambda: clock.today().isoformat()}
