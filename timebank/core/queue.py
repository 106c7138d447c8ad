"""A coordinator's home: what in their bank is waiting for someone to act.

Each item is a count, a few examples and the page where it can be done. Each rule of
what waits is its feature's (the query named beside each item below); the thresholds
are in ``core/rhythm.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from timebank.core import checks, four_eyes, snapshots
from timebank.core.assets.register import proposed_query, stale_query
from timebank.core.assets.upkeep import open_changes_query
from timebank.core.ledger.statements import stale_exchanges
from timebank.core.links import bank_url
from timebank.core.listings import expiring_listings
from timebank.core.matching.brokering import unanswered_matches, unhelped_requests
from timebank.core.members.lookup import applications
from timebank.core.models.base import utcnow
from timebank.core.participation import quiet_members
from timebank.infra.extensions import db

EXAMPLES = 3


@dataclass
class Item:
    key: str
    label: str
    count: int
    url: str
    examples: list[str] = field(default_factory=list)


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
         lambda a: str(four_eyes.describe(a)), bank_url("approvals.waiting", bank_id)),
        ("applications", _l("Applications to approve"), applications(bank_id), name,
         bank_url("members.manage", bank_id, status="pending")),
        ("requests", _l("Requests waiting a week or more for a helper"),
         unhelped_requests(bank_id, now), title,
         bank_url("matching.workbench", bank_id, unhelped=1)),
        ("exchanges", _l("Exchanges waiting over a week for a confirmation"),
         stale_exchanges(bank_id, now),
         lambda e: f"{e.giver.label} → {e.receiver.label}",
         bank_url("exchanges.recent", bank_id, waiting=1)),
        ("introductions", _l("Introductions and conversations unanswered after a week"),
         unanswered_matches(bank_id, now), lambda m: m.listing.title,
         bank_url("matching.conversations", bank_id, waiting=1)),
        ("assets", _l("Community assets suggested, to check"),
         proposed_query(),
         lambda a: a.name, bank_url("assets.moderate", bank_id)),
        ("asset_changes", _l("Corrections and reports about community assets"),
         open_changes_query(), lambda c: c.asset.name, bank_url("assets.moderate", bank_id)),
        ("stale_assets", _l("Community assets nobody has checked lately"),
         stale_query(now), lambda a: a.name, bank_url("assets.moderate", bank_id)),
        ("expiring", _l("Offers and requests ending within a week"),
         expiring_listings(bank_id, now.date()), title,
         bank_url("listings.browse", bank_id, expiring=1)),
        ("checks", _l("Safeguarding checks ending within 30 days"),
         checks.expiring(bank_id, now.date()),
         lambda c: f"{c.member.display_name} ({c.kind_word})",
         bank_url("members.expiring_checks", bank_id)),
        ("quiet", _l("Members with no exchange for 90 days"), quiet_members(bank_id, now),
         name, bank_url("members.quiet_list", bank_id)),
    ]
    items = []
    for key, label, query, describe, url in parts:
        count = _count(query)
        items.append(Item(key, str(label), count, url,
                          _names(query, describe) if count else []))
    return items


def kept_work_queue(bank_id: int, now: datetime, language: str,
                    fresh_seconds: float, afresh: bool = False) -> list[Item]:
    """``work_queue``, kept for ``fresh_seconds`` where it took long to work out (a big
    bank's: the counts read every membership); ``afresh`` (a coordinator who has just
    acted) works it out again, and keeps that for everyone."""
    key = snapshots.naming_people((str(db.engine.url), "work queue", bank_id, language))
    return snapshots.latest(key, lambda: work_queue(bank_id, now), now, fresh_seconds,
                            afresh=afresh).value
