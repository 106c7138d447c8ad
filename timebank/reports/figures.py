"""What difference it made, in figures: aggregated in SQL (GROUP BY over indexed
columns), never by looping over rows in Python.

Every function takes the banks it is about, so a coordinator's report (their bank)
and the council's (the banks of the area) share the same arithmetic. Council pages
then pass the figures through ``suppress``: a figure describing fewer than
``SMALL`` people shows as "fewer than 5".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, exists, extract, func, or_, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..main.queue import quiet_members
from ..models import (
    Account,
    AccountKind,
    Bank,
    Category,
    Entry,
    Exchange,
    ExchangeStatus,
    Member,
    Membership,
    MemberStatus,
    Outcome,
)

SMALL = 5  # fewer people than this are never shown to council viewers


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def default(cls, today: date | None = None) -> Period:
        today = today or date.today()
        return cls(today.replace(day=1) - timedelta(days=365), today)


_REVERSAL = aliased(Exchange)


def _counted(bank_ids: list[int], period: Period):
    """Confirmed exchanges touching these banks, served in the period, corrections taken
    off: an exchange that was reversed counts nowhere, and neither does its reversal."""
    return and_(Exchange.status == ExchangeStatus.CONFIRMED,
                or_(Exchange.bank_id.in_(bank_ids), Exchange.counter_bank_id.in_(bank_ids)),
                Exchange.service_date.between(period.start, period.end),
                Exchange.reverses_id.is_(None),
                ~exists().where(_REVERSAL.reverses_id == Exchange.id))



def members(bank_ids: list[int], period: Period, now: datetime | None = None) -> dict:
    """Active, new in the period, pending (address confirmed) and dormant (no exchange
    for 90 days) members of these banks."""
    now = now or datetime.combine(period.end, time.max)
    start = datetime.combine(period.start, time.min)
    status = dict(db.session.execute(
        select(Membership.status, func.count(func.distinct(Membership.member_id)))
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.bank_id.in_(bank_ids), Member.erased_at.is_(None),
               or_(Membership.status != MemberStatus.PENDING,
                   Member.email_verified_at.is_not(None), Member.email.is_(None)))
        .group_by(Membership.status)).all())
    new = db.session.scalar(
        select(func.count(func.distinct(Membership.member_id)))
        .where(Membership.bank_id.in_(bank_ids), Membership.approved_at.between(start, now)))
    quiet = quiet_members(bank_ids, now).with_only_columns(Member.id).order_by(None)
    dormant = db.session.scalar(select(func.count(func.distinct(quiet.subquery().c.id))))
    return {"active": status.get(MemberStatus.ACTIVE, 0), "new": new or 0,
            "pending": status.get(MemberStatus.PENDING, 0), "dormant": dormant or 0}


def by_month(bank_ids: list[int], period: Period) -> list[tuple[str, int, int]]:
    """(YYYY-MM, exchanges, minutes) for each month of the period that had any."""
    year, month = extract("year", Exchange.service_date), extract("month",
                                                                  Exchange.service_date)
    rows = db.session.execute(
        select(year, month, func.count(Exchange.id), func.sum(Exchange.minutes))
        .where(_counted(bank_ids, period)).group_by(year, month).order_by(year, month)).all()
    return [(f"{int(y):04d}-{int(m):02d}", int(n or 0), int(minutes or 0))
            for y, m, n, minutes in rows]


def by_category(bank_ids: list[int], period: Period) -> list[tuple[str, int, int]]:
    """(kind of help, exchanges, minutes), most hours first."""
    rows = db.session.execute(
        select(Category.name, func.count(Exchange.id), func.sum(Exchange.minutes))
        .select_from(Exchange).outerjoin(Category, Category.id == Exchange.category_id)
        .where(_counted(bank_ids, period)).group_by(Category.name)
        .order_by(func.sum(Exchange.minutes).desc(), Category.name)).all()
    return [(name or "", int(n or 0), int(minutes or 0)) for name, n, minutes in rows]


def reciprocity(bank_ids: list[int], period: Period) -> dict:
    """Members who gave and received in the period, only gave, only received, or neither;
    and who only gives or only receives (for coordinators, to invite)."""
    given = func.coalesce(func.sum(case((Entry.minutes > 0, Entry.minutes), else_=0)), 0)
    received = func.coalesce(func.sum(case((Entry.minutes < 0, -Entry.minutes), else_=0)), 0)
    per_member = (
        select(Account.member_id.label("member_id"), given.label("given"),
               received.label("received"))
        .join(Entry, Entry.account_id == Account.id)
        .join(Exchange, Exchange.id == Entry.exchange_id)
        .where(Account.kind == AccountKind.MEMBER, Account.bank_id.in_(bank_ids),
               _counted(bank_ids, period))
        .group_by(Account.member_id).subquery())
    active = (select(func.distinct(Membership.member_id))
              .where(Membership.bank_id.in_(bank_ids),
                     Membership.status == MemberStatus.ACTIVE).subquery())
    rows = db.session.execute(
        select(Member.id, Member.display_name,
               func.coalesce(per_member.c.given, 0), func.coalesce(per_member.c.received, 0))
        .join(active, active.c[0] == Member.id)
        .outerjoin(per_member, per_member.c.member_id == Member.id)
        .order_by(Member.display_name)).all()
    both = [r for r in rows if r[2] > 0 and r[3] > 0]
    only_gave = [r for r in rows if r[2] > 0 and r[3] == 0]
    only_received = [r for r in rows if r[2] == 0 and r[3] > 0]
    return {"members": len(rows), "both": len(both), "only_gave": len(only_gave),
            "only_received": len(only_received),
            "neither": len(rows) - len(both) - len(only_gave) - len(only_received),
            "only_gave_list": [(r[0], r[1], int(r[2])) for r in only_gave],
            "only_received_list": [(r[0], r[1], int(r[3])) for r in only_received]}


def outcomes(bank_ids: list[int], period: Period) -> list[tuple[int, int]]:
    """(score on the fixed scale, how many said so)."""
    return [(int(score), int(n)) for score, n in db.session.execute(
        select(Outcome.score, func.count())
        .join(Exchange, Exchange.id == Outcome.exchange_id)
        .where(_counted(bank_ids, period)).group_by(Outcome.score)
        .order_by(Outcome.score)).all()]


def bank_names(bank_ids: list[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Bank.id, Bank.name).where(Bank.id.in_(bank_ids))))


# -- small numbers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A figure as a council viewer may see it."""

    value: int | None  # None: suppressed

    @property
    def suppressed(self) -> bool:
        return self.value is None


def suppress(counts: list[int]) -> list[Shown]:
    """Hide every count from 1 to SMALL-1; and if exactly one is hidden, hide the next
    smallest too, so that a total minus the shown cells never reveals a hidden one."""
    hidden = {i for i, n in enumerate(counts) if 0 < n < SMALL}
    if len(hidden) == 1:
        rest = sorted((n, i) for i, n in enumerate(counts) if i not in hidden and n > 0)
        if rest:
            hidden.add(rest[0][1])
    return [Shown(None if i in hidden else n) for i, n in enumerate(counts)]
