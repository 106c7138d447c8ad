"""The ledger's read side: totals, statements with running balances, dashboard figures.

``ledger.py`` writes; this module only reads, so pages and downloads can ask
for what they show without ever touching a balance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from . import ledger
from .extensions import db
from .models import Account, Entry, Exchange, ExchangeStatus, Member

STATEMENT_CSV_HEADER = (_l("entry"), _l("exchange"), _l("date"), _l("with"), _l("kind of help"),
                        _l("description"), _l("minutes"), _l("balance after (minutes)"))


@dataclass
class Totals:
    given: int
    received: int


def totals(account_id: int) -> Totals:
    given, received = db.session.execute(
        select(
            func.coalesce(func.sum(Entry.minutes).filter(Entry.minutes > 0), 0),
            func.coalesce(-func.sum(Entry.minutes).filter(Entry.minutes < 0), 0),
        ).where(Entry.account_id == account_id)
    ).one()
    return Totals(int(given), int(received))


def _pending(condition, limit: int = 50) -> list[Exchange]:
    return list(db.session.scalars(
        select(Exchange)
        .where(condition, Exchange.status == ExchangeStatus.PENDING)
        .order_by(Exchange.id)
        .limit(limit)
    ))


def dashboard_context(member: Member) -> dict:
    """What a member's home page shows: balance, what waits on them and on others, recent."""
    account = ledger.account_of(member)
    awaiting = _pending(Exchange.awaiting_member_id == member.id)
    waiting_on_others: list[Exchange] = []
    recent: list[Line] = []
    if account is not None:
        waiting_on_others = _pending(Exchange.giver_account_id == account.id)
        recent = statement_page(account.id, before=None, size=5)[0]
    return {
        "account": account,
        "totals": totals(account.id) if account else Totals(0, 0),
        "awaiting": awaiting,
        "waiting_on_others": waiting_on_others,
        "recent": recent,
    }


@dataclass
class Line:
    entry: Entry
    balance_after: int

    @property
    def exchange(self) -> Exchange:
        return self.entry.exchange

    @property
    def counterparty(self) -> str:
        ex = self.entry.exchange
        other = ex.receiver if self.entry.minutes > 0 else ex.giver
        return other.label


def statement_page(account_id: int, before: int | None, size: int) -> tuple[list[Line], int | None]:
    """Newest entries first, keyset-paginated by entry id, with the balance after each.

    The running balance comes from the cached balance minus the entries newer
    than the page: one aggregate, not a scan of the whole history.
    """
    account = db.session.get(Account, account_id)
    query = select(Entry).where(Entry.account_id == account_id)
    if before is not None:
        query = query.where(Entry.id < before)
    entries = db.session.scalars(query.order_by(Entry.id.desc()).limit(size + 1)).all()
    more = len(entries) > size
    entries = entries[:size]
    newer = 0
    if before is not None:
        newer = db.session.scalar(
            select(func.coalesce(func.sum(Entry.minutes), 0)).where(
                Entry.account_id == account_id, Entry.id >= before
            )
        )
    running = account.balance - int(newer)
    lines = []
    for entry in entries:
        lines.append(Line(entry, running))
        running -= entry.minutes
    next_before = entries[-1].id if more and entries else None
    return lines, next_before


def iter_statement(account_id: int, batch: int = 1000) -> Iterator[Line]:
    """Every line of a statement, oldest first, read in batches (for downloads)."""
    running = 0
    after = 0
    while True:
        entries = db.session.scalars(
            select(Entry)
            .where(Entry.account_id == account_id, Entry.id > after)
            .order_by(Entry.id)
            .limit(batch)
        ).all()
        if not entries:
            return
        for entry in entries:
            running += entry.minutes
            yield Line(entry, running)
        after = entries[-1].id


def statement_csv_rows(account_id: int | None) -> Iterator[tuple]:
    """The statement as CSV rows (see ``STATEMENT_CSV_HEADER``)."""
    if account_id is None:
        return
    for line in iter_statement(account_id):
        ex = line.exchange
        yield (line.entry.id, ex.id, ex.service_date.isoformat(), line.counterparty,
               ex.category.name if ex.category else "", ex.description, line.entry.minutes,
               line.balance_after)
