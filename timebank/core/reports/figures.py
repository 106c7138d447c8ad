"""What difference it made, in figures: aggregated in SQL, never by looping over rows
in Python, and read from the monthly figures the ledger keeps (``timebank.core.ledger.rollups``)
so that a page costs the same after years of history as after a month.

Reports count whole months of service. Every function takes the ``Scope`` it is
about (banks, months, kind of help), so a coordinator's report (their bank) and
the council's (the banks of the area) share the same arithmetic. Council pages then
pass the figures through ``suppress``: a figure describing fewer than ``SMALL``
people shows as "fewer than 5". The people behind each figure are counted from
``MonthPerson`` (``people_*``): five exchanges between two neighbours are about two
people, and stay hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from itertools import combinations

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import and_, case, extract, func, literal, or_, select

from timebank.core.assets import register
from timebank.core.ledger.rollups import counted, touching
from timebank.core.models import (
    Account,
    AccountKind,
    AccountMonth,
    Asset,
    AssetCategory,
    AssetReview,
    AssetStatus,
    Bank,
    Category,
    CouncilArea,
    Exchange,
    Listing,
    ListingKind,
    ListingStatus,
    Match,
    MatchStatus,
    Member,
    Membership,
    MemberStatus,
    MonthPerson,
    MonthTotal,
    Neighbourhood,
    Outcome,
    OutcomeMonth,
)
from timebank.core.models.assets import area_named
from timebank.core.models.base import utcnow
from timebank.core.models.names import plain_name
from timebank.core.participation import quiet_members
from timebank.infra import clock
from timebank.infra.db import days_between
from timebank.infra.extensions import db

SMALL = 5  # fewer people than this are never shown to council viewers
SHOWN = 50  # names listed on a page; the CSV has them all
LISTING_QUIET_DAYS = 90  # an open listing nobody has touched for this long is stale


def _last_day(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """Whole months of service: ``start`` is the first day of the first month, ``end``
    the last day of the last."""

    start: date
    end: date

    @classmethod
    def months(cls, start: date, end: date) -> Period:
        return cls(start.replace(day=1), _last_day(end))

    @classmethod
    def default(cls, today: date | None = None) -> Period:
        """The last twelve months, this one included."""
        today = today or clock.today()
        year, month = divmod(today.year * 12 + today.month - 1 - 11, 12)
        return cls.months(date(year, month + 1, 1), today)


@dataclass(frozen=True)
class Scope:
    bank_ids: list[int]
    period: Period
    category_id: int | None = None  # kind of help; None: all
    area_id: int | None = None  # named neighbourhood; None: all
    # For the difference of two views (``complements``): the filters named here are
    # negated together, and rows touching these banks left out.
    negate: frozenset[str] = frozenset()
    not_banks: tuple[int, ...] = ()
    # The banks a view of fewer (one chosen bank) is part of: the area's.
    area_banks: tuple[int, ...] = ()
    # Council views: whole quarters only, and a figure stands for five people in each
    # quarter it has any in, so two periods' difference (whole quarters) never shows
    # fewer than five (``_people``).
    by_quarter: bool = False

    def totals(self, table=MonthTotal):
        """Monthly-figure rows in scope (each exchange once, even between two banks)."""
        where = [touching(self.bank_ids, table), table.month.between(self.period.start,
                                                                     self.period.end)]
        filters = {}
        if self.category_id is not None:
            filters["category"] = table.category_id == self.category_id
        if self.area_id is not None:
            filters["area"] = table.area_id == self.area_id
        where += [f for name, f in filters.items() if name not in self.negate]
        negated = [f for name, f in filters.items() if name in self.negate]
        if negated:
            where.append(~and_(*negated))
        if self.not_banks:
            where.append(~touching(list(self.not_banks), table))
        return and_(*where)

    def complements(self) -> list[Scope]:
        """What another view may be differenced with this one to show: this view with
        any of its filters dropped, less this view (the rows a filter left out); and the
        area's view less one bank's (which that bank's coordinators see exactly). A
        council figure shows only if each of these stands for 0 or 5 people or more."""

        active = [name for name, value in (("category", self.category_id),
                                           ("area", self.area_id)) if value is not None]
        found = [replace(self, negate=frozenset(names)) for n in range(1, len(active) + 1)
                 for names in combinations(active, n)]
        if len(self.bank_ids) > 1:
            found += [replace(self, not_banks=(bank,)) for bank in self.bank_ids]
        wider = [b for b in self.area_banks if b not in self.bank_ids]
        if wider:  # one bank chosen: the area's view less this one is the others'
            found.append(replace(self, bank_ids=list(self.area_banks),
                                 not_banks=tuple(self.bank_ids)))
        return found

    def comparable(self) -> list[Scope]:
        """The views whose counts of people may be set beside this one's: this view
        without any of its filters, each bank's alone (its coordinators' exact figures),
        the area's when one bank is chosen. (For figures that count people directly, as
        the give and take does: ``complements`` is for those read from the rollups.)"""

        active = [name for name, value in (("category", self.category_id),
                                           ("area", self.area_id)) if value is not None]
        found = [replace(self, **{f"{name}_id": None for name in names})
                 for n in range(1, len(active) + 1) for names in combinations(active, n)]
        if len(self.bank_ids) > 1:
            found += [replace(self, bank_ids=[bank]) for bank in self.bank_ids]
        if any(b not in self.bank_ids for b in self.area_banks):
            found.append(replace(self, bank_ids=list(self.area_banks)))
        return found

    def exchanges(self):
        """Counted exchanges in scope (for what the monthly figures do not hold)."""
        where = [counted(), or_(Exchange.bank_id.in_(self.bank_ids),
                                Exchange.counter_bank_id.in_(self.bank_ids)),
                 Exchange.service_date.between(self.period.start, self.period.end)]
        if self.category_id is not None:
            where.append(Exchange.category_id == self.category_id)
        if self.area_id is not None:
            where.append(Exchange.area_id == self.area_id)
        return and_(*where)

    def lives_here(self, member_id):
        """True for every member, or with a neighbourhood chosen, for those who live in it
        (by the neighbourhood they name on their profile)."""
        if self.area_id is None:
            return literal(True)
        resident = Member.__table__.alias("resident")  # apart from any outer Member
        return select(resident.c.id).where(
            resident.c.id == member_id,
            area_named(resident.c.neighbourhood) == self.area_id).exists()

    def bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.period.start, time.min),
                datetime.combine(self.period.end, time.max))

    def created_in(self, column):
        return column.between(*self.bounds())


# -- people ----------------------------------------------------------------------------


def members(scope: Scope, now: datetime | None = None) -> dict:
    """Members of these banks active, pending (address confirmed) and dormant (no
    exchange for 90 days) today, whatever the period; and how many joined in it."""
    bank_ids = scope.bank_ids
    now = now or utcnow()
    status = dict(db.session.execute(
        select(Membership.status, func.count(func.distinct(Membership.member_id)))
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.bank_id.in_(bank_ids), Member.erased_at.is_(None),
               scope.lives_here(Member.id),
               or_(Membership.status != MemberStatus.PENDING,
                   Member.email_verified_at.is_not(None), Member.email.is_(None)))
        .group_by(Membership.status)).all())
    new = db.session.scalar(
        select(func.count(func.distinct(Membership.member_id)))
        .where(Membership.bank_id.in_(bank_ids), scope.created_in(Membership.approved_at),
               scope.lives_here(Membership.member_id)))
    quiet = (quiet_members(bank_ids, now).with_only_columns(Member.id).order_by(None)
             .where(scope.lives_here(Member.id)))
    dormant = db.session.scalar(select(func.count(func.distinct(quiet.subquery().c.id))))
    return {"active": status.get(MemberStatus.ACTIVE, 0), "new": new or 0,
            "pending": status.get(MemberStatus.PENDING, 0), "dormant": dormant or 0}


# -- hours -----------------------------------------------------------------------------


def by_month(scope: Scope) -> list[tuple[str, int, int]]:
    """(YYYY-MM, exchanges, minutes) for each month of the period that had any."""
    rows = db.session.execute(
        select(MonthTotal.month, func.sum(MonthTotal.exchanges), func.sum(MonthTotal.minutes))
        .where(scope.totals()).group_by(MonthTotal.month)
        .having(func.sum(MonthTotal.exchanges) != 0).order_by(MonthTotal.month)).all()
    return [(f"{month:%Y-%m}", int(n), int(minutes)) for month, n, minutes in rows]


def by_category(scope: Scope) -> list[tuple[str, int, int]]:
    """(kind of help, exchanges, minutes), most hours first."""
    rows = db.session.execute(
        select(Category.name, func.sum(MonthTotal.exchanges), func.sum(MonthTotal.minutes))
        .select_from(MonthTotal).outerjoin(Category, Category.id == MonthTotal.category_id)
        .where(scope.totals()).group_by(Category.name)
        .having(func.sum(MonthTotal.exchanges) != 0)
        .order_by(func.sum(MonthTotal.minutes).desc(), Category.name)).all()
    return [(plain_name(Category, name) or "", int(n), int(minutes)) for name, n, minutes in rows]


def between_banks(scope: Scope) -> list[tuple[str, str, int, int]]:
    """(giving bank, receiving bank, exchanges, minutes) for time that crossed banks."""
    giving, receiving = Bank.__table__.alias("giving"), Bank.__table__.alias("receiving")
    rows = db.session.execute(
        select(giving.c.name, receiving.c.name, func.sum(MonthTotal.exchanges),
               func.sum(MonthTotal.minutes))
        .select_from(MonthTotal)
        .join(giving, giving.c.id == MonthTotal.bank_id)
        .join(receiving, receiving.c.id == MonthTotal.counter_bank_id)
        .where(scope.totals(), MonthTotal.counter_bank_id != 0)
        .group_by(giving.c.name, receiving.c.name)
        .having(func.sum(MonthTotal.exchanges) != 0)
        .order_by(giving.c.name, receiving.c.name)).all()
    return [(g, r, int(n), int(m)) for g, r, n, m in rows]


# -- give and take ---------------------------------------------------------------------


def _running(column, within):
    """An account's running total at the latest month meeting ``within`` (0 if none)."""
    return func.coalesce(
        select(column).where(AccountMonth.account_id == Account.id, within)
        .order_by(AccountMonth.month.desc()).limit(1).scalar_subquery(), 0)


def _give_take(scope: Scope):
    """Each active member of the banks with minutes given and received in the period:
    two lookups of their running totals per account, however long their history."""
    start, end = scope.period.start, scope.period.end
    given = (_running(AccountMonth.given, AccountMonth.month <= end)
             - _running(AccountMonth.given, AccountMonth.month < start))
    received = (_running(AccountMonth.received, AccountMonth.month <= end)
                - _running(AccountMonth.received, AccountMonth.month < start))
    per_member = (select(Membership.member_id.label("member_id"),
                         func.sum(func.coalesce(given, 0)).label("given"),
                         func.sum(func.coalesce(received, 0)).label("received"))
                  .select_from(Membership)
                  .outerjoin(Account, and_(Account.member_id == Membership.member_id,
                                           Account.bank_id == Membership.bank_id,
                                           Account.kind == AccountKind.MEMBER))
                  .where(Membership.bank_id.in_(scope.bank_ids),
                         Membership.status == MemberStatus.ACTIVE,
                         scope.lives_here(Membership.member_id))
                  .group_by(Membership.member_id).subquery())
    return db.session.execute(
        select(Member.id, Member.display_name, area_named(Member.neighbourhood),
               per_member.c.given, per_member.c.received)
        .join(per_member, per_member.c.member_id == Member.id)
        .order_by(Member.display_name, Member.id)).all()


@dataclass(frozen=True)
class GiveTake:
    """Who gave and who received in the period: one query for the whole report."""

    members: int
    both: int
    only_gave: int
    only_received: int
    only_gave_list: list[tuple[int, str, int]]
    only_received_list: list[tuple[int, str, int]]
    rows: list  # (member id, name, named area's id or None, minutes given, minutes received)

    @property
    def neither(self) -> int:
        return self.members - self.both - self.only_gave - self.only_received


def give_take(scope: Scope) -> GiveTake:
    """Members who gave and received in the period, only gave, only received, or neither;
    and (for coordinators, to invite) who only gives or only receives. The loop is over
    people (one row each), never over exchanges."""
    rows = [(i, name, where, int(g), int(r)) for i, name, where, g, r in _give_take(scope)]
    gave = [(i, name, int(g)) for i, name, _n, g, r in rows if g > 0 and not r > 0]
    took = [(i, name, int(r)) for i, name, _n, g, r in rows if r > 0 and not g > 0]
    return GiveTake(members=len(rows), both=sum(1 for r in rows if r[3] > 0 and r[4] > 0),
                    only_gave=len(gave), only_received=len(took),
                    only_gave_list=gave[:SHOWN], only_received_list=took[:SHOWN], rows=rows)


def reciprocity(scope: Scope) -> dict:
    """The give and take as a plain dict (counts and the lists to invite)."""
    found = give_take(scope)
    return {"members": found.members, "both": found.both, "only_gave": found.only_gave,
            "only_received": found.only_received, "neither": found.neither,
            "only_gave_list": found.only_gave_list,
            "only_received_list": found.only_received_list}


def by_neighbourhood(found: GiveTake) -> list[tuple[str, int, int]]:
    """(named neighbourhood, active members there, minutes they gave in the period), for
    every area with boundaries; a member is in the area their own neighbourhood names."""
    counts: dict[int, int] = {}
    given: dict[int, int] = {}
    for _i, _name, area, g, _r in found.rows:
        if area is not None:
            counts[area] = counts.get(area, 0) + 1
            given[area] = given.get(area, 0) + int(g)
    return [(name, counts.get(i, 0), given.get(i, 0)) for i, name in areas()]


def areas() -> list[tuple[int, str]]:
    """(id, name) of every named neighbourhood, by name."""
    return [(row.id, row.name) for row in db.session.execute(
        select(Neighbourhood.id, Neighbourhood.name).order_by(Neighbourhood.name))]


def where_received(scope: Scope) -> list[tuple[int, str, int, int]]:
    """(area id or 0, its name, exchanges, minutes) by the neighbourhood the receivers
    lived in when the exchange was confirmed; 0 for no named area."""
    rows = db.session.execute(
        select(MonthTotal.area_id, Neighbourhood.name, func.sum(MonthTotal.exchanges),
               func.sum(MonthTotal.minutes))
        .select_from(MonthTotal).outerjoin(Neighbourhood, Neighbourhood.id == MonthTotal.area_id)
        .where(scope.totals()).group_by(MonthTotal.area_id, Neighbourhood.name)
        .having(func.sum(MonthTotal.exchanges) != 0)
        .order_by(func.sum(MonthTotal.minutes).desc(), Neighbourhood.name)).all()
    return [(int(i), name or "", int(n), int(m)) for i, name, n, m in rows]


def who_helps_with_what(scope: Scope) -> list[tuple[str, str, int, int]]:
    """(the kind of help the receivers themselves give most, the kind of help they
    received, exchanges, minutes), most hours first: how time earned doing one thing is
    spent on another. An empty first name: receivers who had given nothing yet."""
    gives, received = Category.__table__.alias("gives"), Category.__table__.alias("received")
    rows = db.session.execute(
        select(gives.c.name, received.c.name, func.sum(MonthTotal.exchanges),
               func.sum(MonthTotal.minutes))
        .select_from(MonthTotal)
        .outerjoin(gives, gives.c.id == MonthTotal.gives_id)
        .outerjoin(received, received.c.id == MonthTotal.category_id)
        .where(scope.totals()).group_by(gives.c.name, received.c.name)
        .having(func.sum(MonthTotal.exchanges) != 0)
        .order_by(func.sum(MonthTotal.minutes).desc(), gives.c.name, received.c.name)).all()
    return [(plain_name(Category, g) or "", plain_name(Category, r) or "", int(n), int(m))
            for g, r, n, m in rows]


# -- outcomes --------------------------------------------------------------------------


def outcomes(scope: Scope) -> list[tuple[int, int]]:
    """(score on the fixed scale, how many said so)."""
    return [(int(score), int(n)) for score, n in db.session.execute(
        select(OutcomeMonth.score, func.sum(OutcomeMonth.answers))
        .where(scope.totals(OutcomeMonth)).group_by(OutcomeMonth.score)
        .having(func.sum(OutcomeMonth.answers) != 0).order_by(OutcomeMonth.score))]


def _outcomes_by(scope: Scope, name, joined, on) -> list[tuple[str, int, int]]:
    """(the name ``joined`` gives a row, or ""; score; answers)."""
    return [(label or "", int(score), int(n)) for label, score, n in db.session.execute(
        select(name, OutcomeMonth.score, func.sum(OutcomeMonth.answers))
        .select_from(OutcomeMonth).outerjoin(joined, on)
        .where(scope.totals(OutcomeMonth)).group_by(name, OutcomeMonth.score)
        .having(func.sum(OutcomeMonth.answers) != 0)
        .order_by(name, OutcomeMonth.score))]


def outcomes_by_category(scope: Scope) -> list[tuple[str, int, int]]:
    """(kind of help, score, answers)."""
    return [(plain_name(Category, name) or "", score, n) for name, score, n in _outcomes_by(
        scope, Category.name, Category, Category.id == OutcomeMonth.category_id)]


def outcomes_by_area(scope: Scope) -> list[tuple[str, int, int]]:
    """(named neighbourhood the receivers lived in, or "" for none; score; answers)."""
    return _outcomes_by(scope, Neighbourhood.name, Neighbourhood,
                        Neighbourhood.id == OutcomeMonth.area_id)


def shared_words(scope: Scope, limit: int = 20) -> list[tuple[date, str, int, str]]:
    """The newest outcome comments whose writers agreed to share them: (date of service,
    kind of help, score, words). Never shown to council viewers.

    Read newest first from the outcomes alone (their created_at index), a page at a time,
    then kept if their exchange is in scope: no plan over every exchange, whatever the
    history (at most a few pages are read)."""
    found: list[tuple] = []
    before = None
    for _page in range(5):
        newest = (select(Outcome.id, Outcome.exchange_id, Outcome.score, Outcome.text,
                         Outcome.created_at)
                  .where(Outcome.share_consent.is_(True), Outcome.text != "")
                  .order_by(Outcome.created_at.desc(), Outcome.id.desc()).limit(200))
        if before is not None:
            newest = newest.where(or_(Outcome.created_at < before[0],
                                      and_(Outcome.created_at == before[0],
                                           Outcome.id < before[1])))
        page = db.session.execute(newest).all()
        if not page:
            break
        in_scope = {ex_id: (day, plain_name(Category, name))
                    for ex_id, day, name in db.session.execute(
            select(Exchange.id, Exchange.service_date, Category.name)
            .outerjoin(Category, Category.id == Exchange.category_id)
            .where(Exchange.id.in_([row.exchange_id for row in page]), scope.exchanges(),
                   # the words of this bank's own members (the receiver's bank)
                   func.coalesce(Exchange.counter_bank_id, Exchange.bank_id)
                   .in_(scope.bank_ids)))}
        found += [(*in_scope[row.exchange_id], row.score, row.text) for row in page
                  if row.exchange_id in in_scope]
        if len(found) >= limit:
            break
        before = (page[-1].created_at, page[-1].id)
    return [(day, name or "", int(score), text) for day, name, score, text in found[:limit]]


# -- requests and introductions ---------------------------------------------------------


WAIT_BUCKETS = ("within 2 days", "within a week", "within a month", "longer",
                "still waiting", "closed without a helper")


def request_waits(scope: Scope, now: datetime | None = None,
                  with_people: bool = False) -> list[tuple]:
    """Requests posted in the period, by how long they waited for a helper (the first
    introduction or offer of help that was not declined)."""
    now = now or utcnow()
    first_helper = (select(func.min(Match.created_at))
                    .where(Match.request_id == Listing.id, Match.status != MatchStatus.DECLINED)
                    .scalar_subquery())
    waited = days_between(first_helper, Listing.created_at)
    bucket = case(
        (first_helper.is_(None),
         case((and_(Listing.status == ListingStatus.OPEN, Listing.expires_on >= now.date()),
               literal("still waiting")), else_=literal("closed without a helper"))),
        (waited <= 2, literal("within 2 days")), (waited <= 7, literal("within a week")),
        (waited <= 31, literal("within a month")), else_=literal("longer"))
    where = [Listing.kind == ListingKind.REQUEST, Listing.bank_id.in_(scope.bank_ids),
             scope.created_in(Listing.created_at), scope.lives_here(Listing.member_id)]
    if scope.category_id is not None:
        where.append(Listing.category_id == scope.category_id)
    inner = select(bucket.label("bucket"), Listing.member_id.label("member_id")).where(
        *where).subquery()
    found = {bucket: (int(n), int(people)) for bucket, n, people in db.session.execute(
        select(inner.c.bucket, func.count(), func.count(func.distinct(inner.c.member_id)))
        .group_by(inner.c.bucket))}
    if with_people:  # (bucket, requests, how many people posted them)
        return [(name, *found.get(name, (0, 0))) for name in WAIT_BUCKETS]
    return [(name, found.get(name, (0, 0))[0]) for name in WAIT_BUCKETS]


INTRODUCTION_ROWS = ("introduced by a coordinator", "started by a member", "accepted",
                     "completed", "declined", "waiting for an answer")


def introductions(scope: Scope, with_people: bool = False) -> list[tuple]:
    """Introductions and members' own conversations begun in the period, and how they
    went."""
    by_staff = Match.created_by_id.not_in([Match.requester_id, Match.helper_id])
    accepted = Match.status.in_([MatchStatus.ACCEPTED, MatchStatus.COMPLETED])
    where = [Match.bank_id.in_(scope.bank_ids), scope.created_in(Match.created_at),
             scope.lives_here(Match.requester_id)]
    if scope.category_id is not None:
        about = (select(Listing.category_id).where(
            Listing.id == func.coalesce(Match.request_id, Match.offer_id)).scalar_subquery())
        where.append(about == scope.category_id)

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def people_if(condition):  # the members who asked, each once
        return func.count(func.distinct(case((condition, Match.requester_id))))

    conditions = (by_staff, ~by_staff, accepted, Match.status == MatchStatus.COMPLETED,
                  Match.status == MatchStatus.DECLINED, Match.status == MatchStatus.PROPOSED)
    row = db.session.execute(select(*map(count_if, conditions), *map(people_if, conditions))
                             .where(*where)).one()
    counts, people = row[:len(conditions)], row[len(conditions):]
    if with_people:
        return [(k, int(n), int(p)) for k, n, p in zip(INTRODUCTION_ROWS, counts, people,
                                                        strict=True)]
    return list(zip(INTRODUCTION_ROWS, (int(n) for n in counts), strict=True))


# -- what needs a look -------------------------------------------------------------------


def stale_listings(bank_ids: list[int], today: date | None = None, limit: int = 10):
    """Open listings nobody has touched for 90 days: (count, the oldest few)."""
    today = today or clock.today()
    where = (Listing.bank_id.in_(bank_ids), Listing.status == ListingStatus.OPEN,
             Listing.expires_on >= today,
             Listing.updated_at < datetime.combine(today, time.min)
             - timedelta(days=LISTING_QUIET_DAYS))
    count = db.session.scalar(select(func.count()).select_from(Listing).where(*where))
    oldest = list(db.session.scalars(select(Listing).where(*where)
                                     .order_by(Listing.updated_at).limit(limit)))
    return int(count or 0), oldest


def stale_assets() -> int:
    """Published assets nobody has checked within the banks' time (a year by default)."""
    query = register.stale_query(utcnow()).order_by(None)
    return int(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)


# -- the area's assets -------------------------------------------------------------------


def assets_by_category() -> list[tuple[str, int]]:
    """(kind of asset, published assets), in the register's order."""
    return [(plain_name(AssetCategory, name), int(n)) for name, n in db.session.execute(
        select(AssetCategory.name, func.count(Asset.id))
        .select_from(AssetCategory)
        .outerjoin(Asset, and_(Asset.category_id == AssetCategory.id,
                               Asset.status == AssetStatus.PUBLISHED))
        .where(AssetCategory.active.is_(True))
        .group_by(AssetCategory.id, AssetCategory.name, AssetCategory.position)
        .order_by(AssetCategory.position, AssetCategory.name))]


def assets_by_neighbourhood() -> tuple[list[str], list[tuple[str, list[int]]]]:
    """How many published assets of each kind lie in each neighbourhood (by position):
    (the kinds, [(neighbourhood, a count per kind)]); a 0 is a gap. Points are tested
    against each area in one vectorised call, not one by one."""

    areas = neighbourhood_shapes()
    if not areas:
        return [], []
    kinds = db.session.execute(
        select(AssetCategory.id, AssetCategory.name).where(AssetCategory.active.is_(True))
        .order_by(AssetCategory.position, AssetCategory.name)).all()
    points = db.session.execute(
        select(Asset.longitude, Asset.latitude, Asset.category_id)
        .where(Asset.status == AssetStatus.PUBLISHED, Asset.latitude.is_not(None),
               Asset.longitude.is_not(None))).all()
    lon = np.array([p[0] for p in points], dtype=float)
    lat = np.array([p[1] for p in points], dtype=float)
    kind = np.array([p[2] for p in points], dtype=int)
    rows = []
    for name, geometry in areas:
        inside = shapely.contains_xy(shape(geometry), lon, lat)
        rows.append((name, [int(np.count_nonzero(inside & (kind == k))) for k, _n in kinds]))
    return [plain_name(AssetCategory, n) for _k, n in kinds], rows


def co_assessment(scope: Scope) -> dict:
    """Of the assets members looked at in the period (each by its latest look): how many
    were still there, welcoming (3 or 4 of 4) and accessible (yes)."""
    latest = (select(func.max(AssetReview.id).label("id"))
              .where(scope.created_in(AssetReview.created_at))
              .group_by(AssetReview.asset_id).subquery())
    row = db.session.execute(
        select(func.count(),
               func.coalesce(func.sum(case((AssetReview.still_there.is_(True), 1), else_=0)),
                             0),
               func.coalesce(func.sum(case((AssetReview.welcoming >= 3, 1), else_=0)), 0),
               func.coalesce(func.sum(case((AssetReview.accessible == "yes", 1), else_=0)), 0),
               func.count(func.distinct(AssetReview.member_id)))
        .join(latest, latest.c.id == AssetReview.id)).one()
    looked, there, welcoming, accessible, people = (int(n) for n in row)
    return {"looked": looked, "still_there": there, "welcoming": welcoming,
            "accessible": accessible, "people": people}


def members_by_neighbourhood(bank_ids: list[int]) -> dict[str, int]:
    """Active members of these banks in each named neighbourhood (by the neighbourhood
    they name on their profile)."""
    counts = dict(db.session.execute(
        select(Neighbourhood.name, func.count(func.distinct(Member.id)))
        .select_from(Member).join(Membership, Membership.member_id == Member.id)
        .join(Neighbourhood, Neighbourhood.id == area_named(Member.neighbourhood))
        .where(Membership.bank_id.in_(bank_ids), Membership.status == MemberStatus.ACTIVE)
        .group_by(Neighbourhood.name)).all())
    return {name: int(counts.get(name, 0)) for _i, name in areas()}


def neighbourhood_shapes() -> list[tuple[str, dict]]:
    """(name, GeoJSON geometry) of every neighbourhood with boundaries."""
    return [(name, json.loads(geometry)) for name, geometry in db.session.execute(
        select(Neighbourhood.name, Neighbourhood.geometry).order_by(Neighbourhood.name))]


# -- the people behind the figures -------------------------------------------------------


def _people(scope: Scope, columns, roles=("g", "r"), joins=()) -> dict:
    """How many people each row of a figure is about, keyed by ``columns``' values. An
    exchange figure is about its givers and its receivers: the fewer of the two counts
    (a side that is the community pool or another bank counts no one). An answers
    figure is about those who answered."""
    # People, not accounts: one person with an account in two banks counts once.
    quarter = [_quarter(MonthPerson.month)] if scope.by_quarter else []
    query = (select(*columns, *quarter, MonthPerson.role,
                    func.count(func.distinct(Account.member_id)))
             .select_from(MonthPerson).join(Account, Account.id == MonthPerson.account_id))
    for target, on in joins:
        query = query.outerjoin(target, on)
    query = (query.where(scope.totals(MonthPerson), MonthPerson.role.in_(roles),
                         MonthPerson.events > 0)
             .group_by(*columns, *quarter, MonthPerson.role))
    found: dict[tuple, dict[tuple, int]] = {}
    for *key, role, n in db.session.execute(query):
        key, when = (key[:-1], key[-1]) if quarter else (key, None)
        found.setdefault(tuple(key), {})[(when, role)] = int(n)
    # The fewest behind any side, in any quarter the figure has people in.
    return {(key[0] if len(key) == 1 else key): min(sides.values())
            for key, sides in found.items()}


def _quarter(month):
    """Which quarter of which year a month is in, as one number (20264: Oct-Dec 2026), in
    either engine's SQL."""
    m = extract("month", month)
    return (extract("year", month) * 10
            + case((m <= 3, 1), (m <= 6, 2), (m <= 9, 3), else_=4))


def snap_to_quarters(period: Period) -> Period:
    """The whole quarters a period touches (council views)."""
    first = date(period.start.year, 3 * ((period.start.month - 1) // 3) + 1, 1)
    last = date(period.end.year, 3 * ((period.end.month - 1) // 3) + 3, 1)
    return Period.months(first, last)


def people_in(scope: Scope) -> int:
    """Everyone behind any exchange or answer in scope (the whole-view rule); in council
    views, the fewest in any quarter that has any."""
    quarter = [_quarter(MonthPerson.month)] if scope.by_quarter else []
    counts = db.session.scalars(
        select(func.count(func.distinct(Account.member_id))).select_from(MonthPerson)
        .join(Account, Account.id == MonthPerson.account_id)
        .where(scope.totals(MonthPerson), MonthPerson.events > 0)
        .group_by(*quarter)).all()
    return min((int(n) for n in counts if n), default=0)


def people_by_month(scope: Scope) -> dict[str, int]:
    return {f"{month:%Y-%m}": n for month, n in _people(scope, [MonthPerson.month]).items()}


def _kind(name) -> str:
    return plain_name(Category, name) or ""


def people_by_category(scope: Scope) -> dict[str, int]:
    return {_kind(name): n for name, n in _people(
        scope, [Category.name], joins=[(Category, Category.id == MonthPerson.category_id)])
        .items()}


def people_between_banks(scope: Scope) -> dict[tuple[str, str], int]:
    giving, receiving = Bank.__table__.alias("giving"), Bank.__table__.alias("receiving")
    return _people(scope, [giving.c.name, receiving.c.name],
                   joins=[(giving, giving.c.id == MonthPerson.bank_id),
                          (receiving, receiving.c.id == MonthPerson.counter_bank_id)])


def people_where_received(scope: Scope) -> dict[int, int]:
    return {int(area): n for area, n in _people(scope, [MonthPerson.area_id]).items()}


def people_who_helps(scope: Scope) -> dict[tuple[str, str], int]:
    gives, received = Category.__table__.alias("gives"), Category.__table__.alias("received")
    return {(_kind(g), _kind(r)): n for (g, r), n in _people(
        scope, [gives.c.name, received.c.name],
        joins=[(gives, gives.c.id == MonthPerson.gives_id),
               (received, received.c.id == MonthPerson.category_id)]).items()}


def people_by_score(scope: Scope) -> dict[int, int]:
    return {int(score): n for score, n in _people(scope, [MonthPerson.score],
                                                  roles=("o",)).items()}


def people_by_category_score(scope: Scope) -> dict[tuple[str, int], int]:
    return {(_kind(name), int(score)): n for (name, score), n in _people(
        scope, [Category.name, MonthPerson.score], roles=("o",),
        joins=[(Category, Category.id == MonthPerson.category_id)]).items()}


def people_by_area_score(scope: Scope) -> dict[tuple[str, int], int]:
    return {(name or "", int(score)): n for (name, score), n in _people(
        scope, [Neighbourhood.name, MonthPerson.score], roles=("o",),
        joins=[(Neighbourhood, Neighbourhood.id == MonthPerson.area_id)]).items()}


# -- small numbers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A figure as a council viewer may see it."""

    value: int | None  # None: suppressed
    small: bool = False  # suppressed because it is 1 to SMALL-1 (else to protect another)

    @property
    def suppressed(self) -> bool:
        return self.value is None


def suppress(counts: list[int], people: list[int] | None = None) -> list[Shown]:
    """Hide every figure about 1 to SMALL-1 people (``people``, each figure's; by default
    the counts are of people); and if exactly one is hidden, hide the next smallest too,
    so that a total minus the shown cells never reveals a hidden one."""
    people = counts if people is None else people
    hidden = {i for i, (n, who) in enumerate(zip(counts, people, strict=True))
              if n and who < SMALL}
    if len(hidden) == 1:
        rest = sorted((who, i) for i, (n, who) in enumerate(zip(counts, people, strict=True))
                      if i not in hidden and n > 0)
        if rest:
            hidden.add(rest[0][1])
    return [Shown(None if i in hidden else n, small=0 < n < SMALL)
            for i, n in enumerate(counts)]


def area_name(default: str) -> str:
    """The council area the reports are about (the first one set up), else ``default``."""
    return db.session.scalar(select(CouncilArea.name).order_by(CouncilArea.id).limit(1)) or default


def all_banks() -> list[Bank]:
    return list(db.session.scalars(select(Bank).order_by(Bank.name)))
