"""Ledger tables: accounts, exchanges, entries and outcomes, and the monthly figures
the ledger keeps beside them for reports.

Only ``timebank/core/ledger/writer.py`` writes Entry rows, Account.balance and the monthly
figures (through ``timebank/core/ledger/rollups.py``); everything here is integer minutes,
never floats.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.core.models.names import N_
from timebank.infra.extensions import Model, db

if TYPE_CHECKING:
    from timebank.core.models.members import Member
    from timebank.core.models.skills import Category

MAX_EXCHANGE_MINUTES = 24 * 60


class AccountKind(StrEnum):
    MEMBER = "member"
    SYSTEM = "system"  # the bank's community pool
    CLEARING = "clearing"  # the bank's side of exchanges with other banks


class ExchangeStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Account(Model):
    __tablename__ = "account"
    __table_args__ = (db.UniqueConstraint("member_id", "bank_id", name="uq_account_member_bank"),
                      db.Index("ix_account_bank_moved", "bank_id", "moved_serial"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=AccountKind.MEMBER)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    # Cached sum of this account's entries, in whole minutes.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # Lowest balance allowed; NULL means no floor (system accounts such as the pool).
    floor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When an exchange of any kind last named this account (who has gone quiet).
    last_exchange_at: Mapped[datetime | None]
    # Minutes given and received in counted exchanges (``rollups.counted``), all time:
    # kept by the ledger beside the balance, so matching never sums the entries.
    given: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # How many of those exchanges (a member's record of taking part shows them).
    exchanges_given: Mapped[int] = mapped_column(default=0, server_default="0")
    exchanges_received: Mapped[int] = mapped_column(default=0, server_default="0")
    # The ``serial`` of the bank's give and take when the totals last moved (written by
    # ``timebank.infra.cache`` as the transaction commits): the workbench reads only the
    # accounts that moved since it last looked.
    moved_serial: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    member: Mapped[Member | None] = relationship("Member", foreign_keys=[member_id], lazy="joined")

    @property
    def label(self) -> str:
        if self.member is not None and self.member.erased_at is not None:

            return _("Former member")  # in the reader's language
        return self.member.display_name if self.member else system_name(self.name)


class Exchange(Model):
    __tablename__ = "exchange"
    __table_args__ = (
        CheckConstraint(f"minutes > 0 AND minutes <= {MAX_EXCHANGE_MINUTES}", name="minutes_range"),
        CheckConstraint("giver_account_id <> receiver_account_id", name="not_self"),
        # A bank's exchanges newest first, and what waits on a giver: index reads only.
        Index("ix_exchange_bank_id_id", "bank_id", "id"),
        Index("ix_exchange_counter_bank_id_id", "counter_bank_id", "id"),
        Index("ix_exchange_giver_status", "giver_account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The giver's bank, and the receiver's when it is another one (an exchange between
    # banks, posted through both banks' clearing accounts).
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))
    counter_bank_id: Mapped[int | None] = mapped_column(ForeignKey("bank.id"))
    giver_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    receiver_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    service_date: Mapped[date]
    status: Mapped[str] = mapped_column(
        String(12), default=ExchangeStatus.PENDING, index=True
    )
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    # Who is asked to confirm a pending exchange (the receiver's member).
    awaiting_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("exchange.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    activity_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # The introduction or conversation the time came from (what matching achieved).
    # How it came: "text" (SMS), or "" (the site, or paper through the office). A proxy
    # who acted for the member who recorded it (recorded "by X for Y").
    via: Mapped[str] = mapped_column(String(10), default="", server_default="")
    # (Indexed: a member's data download lists what they recorded for others.)
    proxy_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    match_id: Mapped[int | None] = mapped_column(ForeignKey("match.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]
    # Facts for reports, fixed when the exchange is confirmed (never later, so a member
    # who moves or changes what they do leaves the history as it was): the named area
    # the receiver lived in, and the kind of help the receiver had given most hours in
    # (None: none yet), so reports can show who helps with what.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("neighbourhood.id"))
    receiver_gives_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))

    giver: Mapped[Account] = relationship("Account", foreign_keys=[giver_account_id], lazy="joined")
    receiver: Mapped[Account] = relationship("Account", foreign_keys=[receiver_account_id],
                                             lazy="joined")
    category: Mapped[Category | None] = relationship("Category", foreign_keys=[category_id],
                                                     lazy="joined")
    recorded_by: Mapped[Member | None] = relationship("Member", foreign_keys=[recorded_by_id])
    proxy: Mapped[Member | None] = relationship("Member", foreign_keys=[proxy_id])

    @property
    def between_banks(self) -> bool:
        return self.counter_bank_id is not None

    def involves_bank(self, bank_id: int | None) -> bool:
        return bank_id is not None and bank_id in (self.bank_id, self.counter_bank_id)

    @property
    def hours_label(self) -> str:
        return format_minutes(self.minutes)


class Entry(Model):
    __tablename__ = "entry"
    __table_args__ = (
        db.UniqueConstraint("exchange_id", "account_id", name="one_per_side"),
        # A statement is an account's entries by date of service, a page at a time:
        # read straight from this index however long the history.
        Index("ix_entry_account_service", "account_id", "service_date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchange.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer)  # signed: giver +m, receiver -m
    # The exchange's date of service, copied when the entry is written (check-ledger
    # compares them), so statements sort without joining every exchange.
    service_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    exchange: Mapped[Exchange] = relationship("Exchange", lazy="joined")


OUTCOME_SCALE = [
    (1, _l("No difference")),
    (2, _l("A little difference")),
    (3, _l("Some difference")),
    (4, _l("A big difference")),
]


class Outcome(Model):
    __tablename__ = "outcome"

    id: Mapped[int] = mapped_column(primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchange.id"), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    score: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    share_consent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # newest words


class MonthTotal(Model):
    """Counted exchanges (confirmed, corrections taken off) per month of service, bank
    pair, kind of help, the receiver's area and what the receiver gives: reports over
    years of history read these few rows, never every exchange."""

    __tablename__ = "month_total"
    __table_args__ = (db.UniqueConstraint("month", "bank_id", "counter_bank_id", "category_id",
                                          "area_id", "gives_id", name="uq_month_total"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]  # its first day
    bank_id: Mapped[int] = mapped_column(Integer)
    counter_bank_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: within one bank
    category_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: not said
    area_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: in no named area
    gives_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: had given nothing yet
    exchanges: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(BigInteger, default=0)


class OutcomeMonth(Model):
    """Outcome answers per month of service, bank pair, kind of help, the receiver's
    area and score."""

    __tablename__ = "outcome_month"
    __table_args__ = (db.UniqueConstraint("month", "bank_id", "counter_bank_id", "category_id",
                                          "area_id", "score", name="uq_outcome_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]
    bank_id: Mapped[int] = mapped_column(Integer)
    counter_bank_id: Mapped[int] = mapped_column(Integer, default=0)
    category_id: Mapped[int] = mapped_column(Integer, default=0)
    area_id: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(Integer)
    answers: Mapped[int] = mapped_column(Integer, default=0)


class MonthPerson(Model):
    """Who stands behind the monthly figures: each member's account once per month and
    cell of ``MonthTotal`` (``role`` "g" gave, "r" received) or of ``OutcomeMonth`` ("o"
    answered, with the score), with how many counted events. Council figures count the
    distinct people here, for any run of months and any filter, so a figure is hidden
    when it is about fewer than five people, however many exchanges it counts."""

    __tablename__ = "month_person"
    __table_args__ = (db.UniqueConstraint("month", "bank_id", "counter_bank_id", "category_id",
                                          "area_id", "gives_id", "score", "role", "account_id",
                                          name="uq_month_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]
    bank_id: Mapped[int] = mapped_column(Integer)
    counter_bank_id: Mapped[int] = mapped_column(Integer, default=0)
    category_id: Mapped[int] = mapped_column(Integer, default=0)
    area_id: Mapped[int] = mapped_column(Integer, default=0)
    gives_id: Mapped[int] = mapped_column(Integer, default=0)  # 0 for answers
    score: Mapped[int] = mapped_column(Integer, default=0)  # 0 for exchanges
    role: Mapped[str] = mapped_column(String(1))
    account_id: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer, default=0)


class AccountMonth(Model):
    """An account's minutes given and received from its first month to this one
    (running totals), for each month it took part in: what anyone gave or received in
    any run of months is two lookups, however long their history."""

    __tablename__ = "account_month"
    __table_args__ = (db.UniqueConstraint("account_id", "month", name="uq_account_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    month: Mapped[date]
    given: Mapped[int] = mapped_column(BigInteger, default=0)
    received: Mapped[int] = mapped_column(BigInteger, default=0)


# The names system accounts are stored with (English), read in the reader's language.
POOL_NAME = N_("Community pool")
CLEARING_NAME = N_("Other banks (clearing)")
SYSTEM_NAMES = frozenset({POOL_NAME, CLEARING_NAME})


def system_name(name: str) -> str:
    """A system account's name in the reader's language; any other name as it is."""
    if name in SYSTEM_NAMES:

        return _(name)
    return name


def format_minutes(minutes: int) -> str:
    """Show minutes as hours and minutes: 90 → '1 h 30 min', -45 → '−45 min'."""

    sign = "−" if minutes < 0 else ""
    hours, mins = divmod(abs(int(minutes)), 60)
    if hours and mins:
        return sign + _("%(hours)s h %(minutes)s min", hours=hours, minutes=mins)
    if hours:
        return sign + _("%(hours)s h", hours=hours)
    return sign + _("%(minutes)s min", minutes=mins)
