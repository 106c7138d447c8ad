"""The ledger's read side: totals, statements with running balances, dashboard figures.

``ledger.py`` writes; this module only reads, so pages and downloads can ask
for what they show without ever touching a balance.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from timebank.core import proxies
from timebank.core.ledger import writer as ledger
from timebank.core.models import (
    Account,
    Category,
    Entry,
    Exchange,
    ExchangeStatus,
    Member,
    Outcome,
)
from timebank.core.models.ledger import format_minutes, system_name
from timebank.core.models.names import plain_name
from timebank.core.rhythm import WAIT_DAYS
from timebank.infra import clock
from timebank.infra.db import keyset_page
from timebank.infra.extensions import db

STATEMENT_CSV_HEADER = (_l("entry"), _l("exchange"), _l("date"), _l("with"), _l("kind of help"),
                        _l("description"), _l("minutes"), _l("balance after (minutes)"))


@dataclass
class Totals:
    given: int
    received: int


def totals(account: Account) -> Totals:
    """Minutes given and received, corrections taken off: kept on the account by the
    ledger, so a long history costs nothing here."""
    return Totals(int(account.given), int(account.received))


def _pending(*conditions, limit: int = 50) -> list[list[Exchange]]:
    """The exchanges still waiting under each condition, oldest first, up to ``limit``
    each. The ids first, from one table, every condition's in one statement (one
    indexed query each; usually there are none); then the exchanges, in one more, with
    both accounts, their members and the kind of help (six tables, which PostgreSQL
    took longer to plan than to answer). A round trip each on PostgreSQL."""
    parts = [select(Exchange.id, literal(n).label("part"))
             .where(condition, Exchange.status == ExchangeStatus.PENDING)
             .order_by(Exchange.id).limit(limit).subquery() for n, condition in
             enumerate(conditions)]
    # (Each part a subquery: SQLite takes no ORDER BY or LIMIT before a UNION.)
    found = db.session.execute(union_all(*[select(p.c.id, p.c.part) for p in parts])).all()
    lists: list[list[Exchange]] = [[] for _ in conditions]
    if not found:
        return lists
    # (Still waiting: on PostgreSQL each statement sees the data as it starts.)
    exchanges = {e.id: e for e in db.session.scalars(select(Exchange).where(
        Exchange.id.in_({row.id for row in found}),
        Exchange.status == ExchangeStatus.PENDING))}
    for row in sorted(found, key=lambda row: row.id):
        if row.id in exchanges:
            lists[row.part].append(exchanges[row.id])
    return lists


def dashboard_context(member: Member, bank_id: int | None) -> dict:
    """What a member's home page in a bank shows: balance, what waits on them and on
    others, recent."""
    account = ledger.account_of(member, bank_id)
    waiting_on_others: list[Exchange] = []
    recent: list[Line] = []
    if account is None:
        (awaiting,) = _pending(Exchange.awaiting_member_id == member.id)
    else:
        awaiting, waiting_on_others = _pending(Exchange.awaiting_member_id == member.id,
                                               Exchange.giver_account_id == account.id)
        recent = statement_page(account.id, before=None, size=5)[0]
    return {
        "account": account,
        "totals": totals(account) if account else Totals(0, 0),
        "awaiting": awaiting,
        "waiting_on_others": waiting_on_others,
        "recent": recent,
    }


@dataclass(frozen=True)
class Line:
    """One entry of an account's statement, as shown: plain values read in one query
    (a page of 25, or a printed year, never loads the exchanges, accounts and members
    behind them as objects)."""

    entry_id: int
    exchange_id: int
    service_date: date
    minutes: int  # into this account: given when positive
    description: str
    category: str | None
    reverses_id: int | None
    other_name: str | None  # the other party (see ``_party_name``)
    via: str = ""  # "text": recorded by text message
    proxy_name: str | None = None  # who recorded it, acting for a member (a proxy)
    balance_after: int = 0

    def __post_init__(self) -> None:
        # Read as its English name; shown in the reader's language.
        object.__setattr__(self, "category", plain_name(Category, self.category))

    @property
    def counterparty(self) -> str:
        return _party(self.other_name)

    @property
    def what(self) -> str:
        """The description, else the kind of help, else the word for an exchange."""
        if self.description or self.category:
            return self.description or self.category or ""

        return _("Exchange")


_PARTY = aliased(Account), aliased(Member)
_PROXY = aliased(Member)


def _party_name(account_id):
    """The name of account ``account_id`` as a scalar subquery: its member's, or a system
    account's own; NULL for a former (erased) member, named in the reader's language.

    A subquery, not joins: PostgreSQL spent longer choosing the order of five or six
    joined tables than answering (0.7 ms to plan the bank's exchanges, 0.3 ms run)."""
    account, member = _PARTY  # its own, never the outer query's
    return (select(case((member.erased_at.is_(None),
                         func.coalesce(member.display_name, account.name))))
            .select_from(account).outerjoin(member, member.id == account.member_id)
            .where(account.id == account_id).correlate_except(account, member)
            .scalar_subquery())


def _party(name: str | None) -> str:
    if name is None:

        return _("Former member")  # in the reader's language
    return system_name(name)  # "Community pool" in the reader's words; a member's as it is


def _lines():
    """Entries as statement lines (see ``Line``), to be filtered and ordered by date of
    service then entry (the index's order)."""
    return (
        select(Entry.id, Entry.exchange_id, Entry.service_date, Entry.minutes,
               Exchange.description,
               select(Category.name).where(Category.id == Exchange.category_id)
               .scalar_subquery(),
               Exchange.reverses_id,
               # The other party: the receiver of what this account gave, else the giver.
               _party_name(case((Entry.minutes > 0, Exchange.receiver_account_id),
                                else_=Exchange.giver_account_id)),
               Exchange.via,
               select(_PROXY.display_name).where(_PROXY.id == Exchange.proxy_id,
                                                 _PROXY.erased_at.is_(None))
               .correlate_except(_PROXY).scalar_subquery())
        .join(Exchange, Exchange.id == Entry.exchange_id))


def _after(cursor: tuple[date, int]):
    """Entries later than ``cursor`` (service date, entry id) in service order."""
    day, entry_id = cursor
    return or_(Entry.service_date > day, and_(Entry.service_date == day, Entry.id > entry_id))


def _cursor(entry_id: int) -> tuple[date, int] | None:
    day = db.session.scalar(select(Entry.service_date).where(Entry.id == entry_id))
    return (day, entry_id) if day is not None else None


def statement_page(account_id: int, before: int | None, size: int) -> tuple[list[Line], int | None]:
    """Newest first by date of service, ``size`` at a time, with the balance after each line
    reading consistently down the page; ``before`` is the entry the previous page ended on.

    The running balance comes from the cached balance minus the entries later than the
    page: one aggregate, not a scan of the whole history.
    """
    account = db.session.get(Account, account_id)
    query = _lines().where(Entry.account_id == account_id)
    cursor = _cursor(before) if before is not None else None
    if cursor is not None:
        query = query.where(~_after(cursor), Entry.id != cursor[1])
    entries = db.session.execute(query.order_by(Entry.service_date.desc(), Entry.id.desc())
                                 .limit(size + 1)).all()
    more = len(entries) > size
    entries = entries[:size]
    later = 0
    if cursor is not None:
        later = db.session.scalar(
            select(func.coalesce(func.sum(Entry.minutes), 0))
            .where(Entry.account_id == account_id,
                   or_(_after(cursor), Entry.id == cursor[1])))
    running = account.balance - int(later)
    lines = []
    for row in entries:
        # (a row holds the fields before balance_after)
        lines.append(Line(*row, balance_after=running))  # type: ignore[misc]
        running -= row.minutes
    next_before = entries[-1].id if more and entries else None
    return lines, next_before


def iter_statement(account_id: int, batch: int = 1000, start: date | None = None,
                   end: date | None = None, opening: int = 0) -> Iterator[Line]:
    """Lines oldest first by date of service (between ``start`` and ``end`` when given),
    read in batches, the balance running on from ``opening``."""
    running = opening
    cursor: tuple[date, int] | None = None
    while True:
        query = _lines().where(Entry.account_id == account_id)
        if start is not None:
            query = query.where(Entry.service_date >= start)
        if end is not None:
            query = query.where(Entry.service_date <= end)
        if cursor is not None:
            query = query.where(_after(cursor))
        entries = db.session.execute(
            query.order_by(Entry.service_date, Entry.id).limit(batch)).all()
        if not entries:
            return
        for row in entries:
            running += row.minutes
            yield Line(*row, balance_after=running)  # type: ignore[misc]
        cursor = (entries[-1].service_date, entries[-1].id)


@dataclass
class Period:
    start: date
    end: date
    opening: int
    lines: list[Line]

    @property
    def closing(self) -> int:
        return self.lines[-1].balance_after if self.lines else self.opening


def statement_period(account_id: int, start: date | None, end: date | None) -> Period:
    """The whole statement between two dates of service (default: all of it, to today),
    with the balance brought forward: what a printed statement shows."""
    end = end or clock.today()
    if start is None:
        start = db.session.scalar(
            select(func.min(Entry.service_date)).where(Entry.account_id == account_id)) or end
    opening = int(db.session.scalar(
        select(func.coalesce(func.sum(Entry.minutes), 0))
        .where(Entry.account_id == account_id, Entry.service_date < start)))
    return Period(start, end, opening,
                  list(iter_statement(account_id, start=start, end=end, opening=opening)))


def statement_csv_rows(account_id: int | None) -> Iterator[tuple]:
    """The statement as CSV rows (see ``STATEMENT_CSV_HEADER``)."""
    if account_id is None:
        return
    for line in iter_statement(account_id):
        yield (line.entry_id, line.exchange_id, line.service_date.isoformat(),
               line.counterparty, line.category or "", line.description, line.minutes,
               line.balance_after)


EXCHANGES_PAGE = 25  # as the statement: on a phone each row is a card


@dataclass(frozen=True)
class ExchangeRow:
    """An exchange as the bank's list shows it: plain values read with the page (not the
    exchange, its two accounts and their members as objects)."""

    id: int
    service_date: date
    minutes: int
    status: ExchangeStatus
    reverses_id: int | None
    giver_name: str | None  # (see ``_party_name``)
    receiver_name: str | None

    @property
    def giver(self) -> str:
        return _party(self.giver_name)

    @property
    def receiver(self) -> str:
        return _party(self.receiver_name)

    @property
    def hours_label(self) -> str:
        return format_minutes(self.minutes)


def exchange_rows(ids) -> list[ExchangeRow]:
    """The exchanges whose ids ``ids`` (a SELECT) names, newest first, as list rows."""
    return [ExchangeRow(*row) for row in db.session.execute(
        _exchange_rows().where(Exchange.id.in_(ids)).order_by(Exchange.id.desc()))]


@functools.cache
def _exchange_rows():
    return select(Exchange.id, Exchange.service_date, Exchange.minutes, Exchange.status,
                  Exchange.reverses_id, _party_name(Exchange.giver_account_id),
                  _party_name(Exchange.receiver_account_id))


def bank_exchanges_page(bank_id: int, before: int | None, size: int = EXCHANGES_PAGE
                        ) -> tuple[list[ExchangeRow], int | None]:
    """Exchanges touching a bank (given from it or received in it), newest first, ``size``
    at a time: the newest of each side read from its index, then merged, so a page
    costs the same after a million exchanges as after ten."""
    params = {"bank": bank_id, "size": size + 1, "before": before}
    rows = db.session.execute(_bank_exchanges(before is not None), params).all()
    return keyset_page([ExchangeRow(*row) for row in rows], size)


@functools.cache
def _bank_exchanges(before: bool):
    """``bank_exchanges_page``'s statement (bank, size and before bound), built once per
    shape: building it took as long as the database took to answer."""
    bank: Any = bindparam("bank")
    size: Any = bindparam("size")
    sides = []
    for mine in (Exchange.bank_id == bank,
                 and_(Exchange.counter_bank_id == bank, Exchange.bank_id != bank)):
        side = select(Exchange.id).where(mine)
        if before:
            side = side.where(Exchange.id < bindparam("before"))
        sides.append(select(side.order_by(Exchange.id.desc()).limit(size).subquery().c.id))
    ids = union_all(*sides).subquery()
    return (_exchange_rows().where(Exchange.id.in_(select(ids.c.id)))
            .order_by(Exchange.id.desc()).limit(size))


def stale_exchanges(bank_id: int, now: datetime):
    """Exchanges touching the bank, waiting for a confirmation for more than a week."""
    return (select(Exchange).where(or_(Exchange.bank_id == bank_id,
                                       Exchange.counter_bank_id == bank_id),
                                   Exchange.status == ExchangeStatus.PENDING,
                                   Exchange.created_at <= now - timedelta(days=WAIT_DAYS))
            .order_by(Exchange.created_at, Exchange.id))


def stale_exchanges_page(bank_id: int, now: datetime, before: int | None):
    """``stale_exchanges`` as the bank's list shows them, newest first, a page at a time
    before the exchange ``before`` (keyset paging, as ``statements.bank_exchanges_page``)."""
    query = stale_exchanges(bank_id, now).with_only_columns(Exchange.id)
    if before:
        query = query.where(Exchange.id < before)
    return keyset_page(exchange_rows(query.order_by(None).order_by(Exchange.id.desc())
                                     .limit(EXCHANGES_PAGE + 1)), EXCHANGES_PAGE)


def may_view(exchange: Exchange, person: Member) -> bool:
    """A party to it, staff of a bank it involves (its own or the other side's), or
    someone acting today for a party (a proxy follows the news they are sent)."""
    return (person.id in (exchange.giver.member_id, exchange.receiver.member_id)
            or any(person.is_staff_in(bank) for bank in (exchange.bank_id,
                                                          exchange.counter_bank_id) if bank)
            or any(account.member_id is not None
                   and proxies.acting(person.id, account.member_id, account.bank_id,
                                      clock.today()) is not None
                   for account in (exchange.giver, exchange.receiver)))


def activity_exchanges(activity_id: str, bank_id: int) -> list[Exchange]:
    """The exchanges one group activity made in the bank, in the order recorded."""
    return list(db.session.scalars(select(Exchange).where(
        Exchange.activity_id == activity_id[:64], Exchange.bank_id == bank_id)
        .order_by(Exchange.id)))


def outcome_of(exchange: Exchange) -> Outcome | None:
    return db.session.scalar(select(Outcome).where(Outcome.exchange_id == exchange.id))


def reversal_of(exchange: Exchange) -> Exchange | None:
    return db.session.scalar(select(Exchange).where(Exchange.reverses_id == exchange.id))
