"""How each member takes part, and the participation ladder the council's report counts.

The ladder (after Arnstein's, as co-production uses it), each member on their highest
rung, by what they did:

- co-producing: took part in a co-design session (designing together) or volunteered
  for a role in delivering an idea (delivering together);
- involved: proposed an idea for the area, or commented on one;
- consulted: supported or rated an idea, or reviewed an asset;
- informed: an active member who has done none of these (yet).

Giving and receiving time is the bank itself and is shown to each member, but it is not
a rung: the ladder is about having a say in what the neighbourhood becomes.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, exists, func, or_, select

from timebank.core.models import (
    Account,
    AssetReview,
    Event,
    EventKind,
    EventSignup,
    IdeaComment,
    IdeaRating,
    IdeaSupport,
    Listing,
    Member,
    Membership,
    MemberStatus,
)
from timebank.core.models.ideas import Idea
from timebank.core.rhythm import QUIET_DAYS
from timebank.infra.extensions import db

RUNGS = ("co_producing", "involved", "consulted", "informed")


def what_they_did(member_id: int) -> dict[str, int]:
    """A member's own record of taking part, all time, in one query: the ledger keeps
    the exchanges given and received on each account (a busy member has thousands)."""
    found = db.session.execute(_what_they_did(), {"member": member_id}).one()
    return {name: int(value or 0) for name, value in zip(_WHAT_THEY_DID, found, strict=True)}


_WHAT_THEY_DID = ("gave", "received", "reviewed", "proposed", "supported", "rated",
                  "commented", "attended", "volunteered")


@functools.cache
def _what_they_did():
    """The question behind ``what_they_did`` (``member`` bound), built once: building it
    took longer than the database takes to answer it, on every profile page."""
    member = bindparam("member")

    def count(query):
        return select(func.count()).select_from(query.subquery()).scalar_subquery()

    def exchanges(column):
        return (select(func.coalesce(func.sum(column), 0))
                .where(Account.member_id == member).scalar_subquery())

    wanted = {
        "gave": exchanges(Account.exchanges_given),
        "received": exchanges(Account.exchanges_received),
        "reviewed": count(select(AssetReview.id).where(AssetReview.member_id == member)),
        "proposed": count(select(Idea.id).where(Idea.proposer_id == member)),
        "supported": count(select(IdeaSupport.id).where(IdeaSupport.member_id == member)),
        "rated": count(select(IdeaRating.id).where(IdeaRating.member_id == member)),
        "commented": count(select(IdeaComment.id).where(IdeaComment.author_id == member)),
        "attended": count(select(EventSignup.id).join(Event, Event.id == EventSignup.event_id)
                          .where(EventSignup.member_id == member,
                                 EventSignup.attended.is_(True),
                                 Event.kind == EventKind.CODESIGN)),
        "volunteered": count(select(Listing.id).where(Listing.member_id == member,
                                                      Listing.idea_role_id.is_not(None))),
    }
    assert tuple(wanted) == _WHAT_THEY_DID
    return select(*(q.label(name) for name, q in wanted.items()))


def ladder(bank_ids: list[int], since: datetime, until: datetime) -> dict[str, int]:
    """How many active members of these banks stood on each rung for what they did
    between ``since`` and ``until`` (each counted once, on their highest)."""
    def did(who, when):
        return exists().where(who == Member.id, when.between(since, until))

    # Took part in a co-design session, or helped at an event: co-producing.
    attended = exists().where(EventSignup.member_id == Member.id,
                              EventSignup.attended.is_(True),
                              EventSignup.helping.is_(True),
                              Event.id == EventSignup.event_id,
                              Event.starts_at.between(since, until))
    involved = or_(did(Idea.proposer_id, Idea.created_at),
                   did(IdeaComment.author_id, IdeaComment.created_at))
    consulted = or_(did(IdeaSupport.member_id, IdeaSupport.created_at),
                    did(IdeaRating.member_id, IdeaRating.updated_at),
                    did(AssetReview.member_id, AssetReview.created_at))
    delivering = exists().where(Listing.member_id == Member.id,
                                Listing.idea_role_id.is_not(None),
                                Listing.created_at.between(since, until))
    rung = case((or_(attended, delivering), "co_producing"), (involved, "involved"),
                (consulted, "consulted"), else_="informed")
    # Driven from the banks' memberships (an index range), not from every member of
    # the install: a member of two of these banks is still one row.
    members = (select(Member.id.label("id"), rung.label("rung"))
               .where(Member.id.in_(select(Membership.member_id).where(
                   Membership.bank_id.in_(bank_ids), Membership.status == MemberStatus.ACTIVE)),
                      Member.erased_at.is_(None)).subquery())
    found: dict[str, int] = dict(db.session.execute(select(members.c.rung, func.count())
                                    .group_by(members.c.rung)).all())
    return {name: int(found.get(name, 0)) for name in RUNGS}


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
