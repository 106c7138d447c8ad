"""A coordinator's home: what in their bank is waiting for someone to act.

Each item is a count, a few examples and the page where it can be done. The
thresholds are the ordinary rhythm of a time bank: a week to answer, a week's
notice before a listing lapses, ninety days before a quiet member is missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select

from timebank.core import four_eyes
from timebank.core.ledger.statements import EXCHANGES_PAGE, exchange_rows
from timebank.core.models import (
    Account,
    Asset,
    AssetStatus,
    Exchange,
    ExchangeStatus,
    Listing,
    ListingKind,
    ListingStatus,
    Match,
    MatchStatus,
    Member,
    Membership,
    MemberStatus,
)
from timebank.core.models.base import utcnow
from timebank.infra.db import keyset_page
from timebank.infra.extensions import db

WAIT_DAYS = 7
EXPIRY_NOTICE_DAYS = 7
QUIET_DAYS = 90
EXAMPLES = 3


@dataclass
class Item:
    key: str
    label: str
    count: int
    url: str
    examples: list[str] = field(default_factory=list)


def applications(bank_id: int):
    """Pending applications whose address is confirmed (or who were enrolled without one)."""
    return (select(Member).join(Membership, Membership.member_id == Member.id)
            .where(Membership.bank_id == bank_id, Membership.status == MemberStatus.PENDING,
                   or_(Member.email_verified_at.is_not(None), Member.email.is_(None))))


def unhelped_requests(bank_id: int, now: datetime):
    """Open requests a week old or more that nobody has been introduced to or offered."""
    spoken_for = exists().where(Match.request_id == Listing.id,
                                Match.status != MatchStatus.DECLINED)
    return (select(Listing).where(Listing.bank_id == bank_id, Listing.kind == ListingKind.REQUEST,
                                  Listing.status == ListingStatus.OPEN,
                                  Listing.expires_on >= now.date(),
                                  Listing.created_at <= now - timedelta(days=WAIT_DAYS),
                                  ~spoken_for)
            .order_by(Listing.created_at, Listing.id))


# Each list is ordered by a time, then by id: rows of the same moment (an import, a
# coordinator's batch) must come in the same order on every engine and every time.


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


def unanswered_matches(bank_id: int, now: datetime):
    """Introductions and conversations still waiting for an answer after a week."""
    return (select(Match).where(Match.bank_id == bank_id, Match.status == MatchStatus.PROPOSED,
                                Match.created_at <= now - timedelta(days=WAIT_DAYS))
            .order_by(Match.created_at, Match.id))


def expiring_listings(bank_id: int, today: date):
    return (select(Listing).where(Listing.bank_id == bank_id,
                                  Listing.status == ListingStatus.OPEN,
                                  Listing.expires_on.between(
                                      today, today + timedelta(days=EXPIRY_NOTICE_DAYS)))
            .order_by(Listing.expires_on, Listing.id))


def quiet_members(bank_id: int | list[int], now: datetime):
    """Active members of 90 days or more with no exchange, of any kind, in 90 days (in one
    bank, or in any of several: the reports count the same people the queue lists)."""
    bank_ids = bank_id if isinstance(bank_id, list) else [bank_id]
    since = now - timedelta(days=QUIET_DAYS)
    # The ledger notes on each account when an exchange last named it: one look per
    # member, however long the bank's history.
    quiet = or_(Account.last_exchange_at.is_(None), Account.last_exchange_at < since)
    return (select(Member)
            .join(Membership, and_(Membership.member_id == Member.id,
                                   Membership.bank_id.in_(bank_ids)))
            .outerjoin(Account, and_(Account.member_id == Member.id,
                                     Account.bank_id == Membership.bank_id))
            .where(Membership.status == MemberStatus.ACTIVE, Membership.created_at <= since,
                   Member.erased_at.is_(None), quiet)
            .order_by(Member.display_name))


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _names(query, describe) -> list[str]:
    return [describe(row) for row in db.session.scalars(query.limit(EXAMPLES))]


def work_queue(bank_id: int, now: datetime | None = None) -> list[Item]:
    """Every kind of waiting work in the bank, in the order a coordinator would do it."""
    now = now or utcnow()
    name = lambda m: m.display_name  # noqa: E731 - one-line describers read best inline
    title = lambda li: li.title  # noqa: E731
    parts = [
        ("second", _l("Waiting for a second coordinator"), four_eyes.waiting_query(bank_id),
         lambda a: str(four_eyes.describe(a)), url_for("approvals.waiting")),
        ("applications", _l("Applications to approve"), applications(bank_id), name,
         url_for("members.manage", status="pending")),
        ("requests", _l("Requests waiting a week or more for a helper"),
         unhelped_requests(bank_id, now), title, url_for("matching.workbench", unhelped=1)),
        ("exchanges", _l("Exchanges waiting over a week for a confirmation"),
         stale_exchanges(bank_id, now),
         lambda e: f"{e.giver.label} → {e.receiver.label}",
         url_for("exchanges.recent", waiting=1)),
        ("introductions", _l("Introductions and conversations unanswered after a week"),
         unanswered_matches(bank_id, now), lambda m: m.listing.title,
         url_for("matching.conversations", waiting=1)),
        ("assets", _l("Community assets suggested, to check"),
         select(Asset).where(Asset.status == AssetStatus.PROPOSED).order_by(Asset.id),
         lambda a: a.name, url_for("assets.moderate")),
        ("expiring", _l("Offers and requests ending within a week"),
         expiring_listings(bank_id, now.date()), title, url_for("listings.browse", expiring=1)),
        ("quiet", _l("Members with no exchange for 90 days"), quiet_members(bank_id, now),
         name, url_for("members.manage", quiet=1)),
    ]
    items = []
    for key, label, query, describe, url in parts:
        count = _count(query)
        items.append(Item(key, str(label), count, url,
                          _names(query, describe) if count else []))
    return items
