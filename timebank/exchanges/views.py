"""Read-side queries for exchange pages: dashboard, statements, member lookup."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from .. import ledger
from ..extensions import db
from ..forms import choices
from ..models import Account, Category, Entry, Exchange, ExchangeStatus, Member, MemberStatus

_ID_SUFFIX = re.compile(r"#(\d{1,12})\s*\)?\s*$")


class LookupError_(ValueError):
    pass


def member_label(member: Member) -> str:
    """How a member appears in pickers: a name plus their number, never their email."""
    return f"{member.display_name} (#{member.id})"


def resolve_member(text: str) -> Member:
    """Find the active member meant by ``text``: 'Name (#12)', an email, or a unique name."""
    text = (text or "").strip()
    match = _ID_SUFFIX.search(text)
    member = None
    if match:
        member = db.session.get(Member, int(match.group(1)))
    elif "@" in text:
        member = db.session.scalar(select(Member).where(Member.email == text.casefold()))
    else:
        found = db.session.scalars(
            select(Member).where(func.lower(Member.display_name) == text.lower()).limit(2)
        ).all()
        if len(found) > 1:
            raise LookupError_(
                f"More than one member is called “{text}”. Pick one from the list as you type."
            )
        member = found[0] if found else None
    # One message for "no such member" and "not someone you can trade with", so the
    # form reveals nothing about pending, suspended or council accounts.
    if member is None or member.status != MemberStatus.ACTIVE.value or not member.can_trade:
        raise LookupError_(f"No member matches “{text[:80]}”. Start typing and pick from the list.")
    return member


def category_choices() -> list:
    rows = db.session.execute(
        select(Category.id, Category.name).where(Category.active).order_by(Category.name)
    ).all()
    return choices([(0, "Choose…"), *[(r.id, r.name) for r in rows]])


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


def dashboard_context(member: Member) -> dict:
    account = ledger.account_of(member)
    awaiting = db.session.scalars(
        select(Exchange)
        .where(
            Exchange.awaiting_member_id == member.id,
            Exchange.status == ExchangeStatus.PENDING.value,
        )
        .order_by(Exchange.id)
        .limit(50)
    ).all()
    waiting_on_others = []
    recent = []
    if account is not None:
        waiting_on_others = db.session.scalars(
            select(Exchange)
            .where(
                Exchange.giver_account_id == account.id,
                Exchange.status == ExchangeStatus.PENDING.value,
            )
            .order_by(Exchange.id)
            .limit(50)
        ).all()
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


def iter_statement(account_id: int, batch: int = 1000):
    """Every line of a statement, oldest first, for CSV download (streamed in batches)."""
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
