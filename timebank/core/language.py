"""Which language and date style a bank and a member read (the web layer adds the
page's own choice: ``timebank.web.i18n``)."""

from __future__ import annotations

from babel.dates import format_date
from flask_babel import get_locale
from sqlalchemy import select

from timebank.core.models import Bank, Member, Membership, MemberStatus
from timebank.infra.extensions import db

LANGUAGES = {"en": "English", "cy": "Cymraeg", "es": "Español"}
DEFAULT = "en"

# How English dates may be written, per bank (bank settings).
ENGLISH_DATES = {"en_GB": "United Kingdom: 6 December 2026",
                 "en_IE": "Ireland: 6 December 2026",
                 "en_US": "United States: December 6, 2026"}


def bank_language(bank: Bank | None) -> str | None:
    """The bank's own default language, if it set one."""
    if bank is not None and bank.default_language in LANGUAGES:
        return bank.default_language
    return None


def language_of(member: Member, bank_id: int | None) -> str:
    """The language to write to ``member`` in: theirs, else the bank's (for something
    not about one bank: their first bank's), else English."""
    if member.language:
        return member.language
    if bank_id is None:
        bank_id = db.session.scalar(
            select(Membership.bank_id).where(Membership.member_id == member.id)
            .order_by((Membership.status != MemberStatus.ACTIVE), Membership.bank_id).limit(1))
    bank = db.session.get(Bank, bank_id) if bank_id is not None else None
    return bank_language(bank) or DEFAULT


def date_locale(bank: Bank | None) -> str:
    """The locale dates are written in: the language in force, and for English the bank's
    own way (en_GB unless the bank chose another), so a UK bank never writes "Dec 6"."""
    language = str(get_locale() or DEFAULT)
    if not language.startswith("en"):
        return language
    chosen = getattr(bank, "english_dates", "") or "en_GB"
    return chosen if chosen in ENGLISH_DATES else "en_GB"


def format_day(value, bank: Bank | None, width: str = "long") -> str:
    """A date as the bank's readers write it (the one place dates are put into words)."""

    return format_date(value, width, locale=date_locale(bank))


class Day:
    """A date written when the text around it is (``_l("… %(date)s", date=Day(…))``):
    in the language of whoever reads it, as their bank writes dates."""

    def __init__(self, value, bank_id: int | None):
        self.value, self.bank_id = value, bank_id

    def __str__(self) -> str:
        bank = db.session.get(Bank, self.bank_id) if self.bank_id is not None else None
        return format_day(self.value, bank, "long")
