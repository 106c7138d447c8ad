"""Names of things (kinds of help, kinds of asset) in the reader's language.

A kind's English name is its own column; admins may give it a name in each other
language (``names``: {"cy": "...", "es": "..."}). The names it was seeded with are in the
catalogues, so a new install reads them in Welsh and Spanish with nothing entered; a name
an admin wrote and never translated falls back to English. Every list, filter, chip,
chart, report, CSV, map key, printed sheet and e-mail reads names through here (the
models' ``name``, or ``thing_name`` for rows read as plain values).
"""

from __future__ import annotations

from flask_babel import get_locale, gettext
from sqlalchemy import JSON, String
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from timebank.infra.db import memo
from timebank.infra.extensions import db


class NamedKind:
    """A kind of help or of asset: its English name (the column ``name``) and the names an
    admin gave it in other languages; ``name`` reads it in the reader's language."""

    name_en: Mapped[str] = mapped_column("name", String(80))
    # {"cy": "...", "es": "..."}
    names: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")

    @hybrid_property
    def name(self) -> str:
        return thing_name(self.name_en, self.names)

    @name.inplace.setter
    def _name_setter(self, value: str) -> None:
        self.name_en = value

    @name.inplace.expression
    @classmethod
    def _name_expression(cls):
        return cls.name_en  # queries compare and sort by the English name


def N_(text: str) -> str:
    """Mark a seeded name for the catalogues (`make translations` extracts N_); it is put
    into the reader's words when read, by ``thing_name``."""
    return text


def reader_language() -> str:
    try:
        locale = get_locale()
    except (RuntimeError, KeyError):  # no app or request: a command, in English
        return "en"
    return locale.language if locale is not None else "en"


def thing_name(english: str, names: dict | None) -> str:
    """``english`` in the language of the page (or e-mail) being written."""
    language = reader_language()
    if language == "en" or not english:
        return english
    own = (names or {}).get(language)
    if own:
        return own
    return gettext(english)  # a seeded name is in the catalogue; any other comes back as is


def plain_name(model, english: str | None) -> str | None:
    """A kind's name read as a plain value (a statement line, a report row, a choice), in
    the reader's language. The kinds' other names are read once per transaction."""
    if not english or reader_language() == "en":
        return english
    key = ("kind names", model.__tablename__)
    names = memo().get(key)
    if names is None:
        names = memo()[key] = dict(db.session.execute(db.select(model.name_en,
                                                                model.names)).all())
    return thing_name(english, names.get(english))
