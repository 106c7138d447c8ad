"""Introductions: the database side of ranking.

``ranking.py`` ranks plain data; this module loads that data in a fixed
number of queries and carries out coordinators' introductions and the two
sides' answers, messages and completion.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import IntegrityError

from timebank.core import checks
from timebank.core.errors import Refused
from timebank.core.links import bank_url
from timebank.core.listings import open_listings_query
from timebank.core.matching import ranking
from timebank.core.members.lookup import member_label
from timebank.core.models import (
    Account,
    Category,
    Listing,
    ListingKind,
    ListingStatus,
    Match,
    MatchMessage,
    MatchStatus,
    Member,
    Membership,
    MemberStatus,
)
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.models.members import STAFF_ROLES, TRADING_ROLES
from timebank.core.notify import notify
from timebank.core.rhythm import WAIT_DAYS
from timebank.core.words import status_word
from timebank.infra import cache, clock
from timebank.infra.db import keyset_page, like_pattern, locked
from timebank.infra.extensions import db


class BrokeringError(Refused):
    pass


# -- candidates ---------------------------------------------------------------


def load_candidates(bank_id: int) -> list[ranking.Candidate]:
    """Every member of the bank who could be asked to help, as plain data, with their
    minutes given and received (three queries)."""
    totals = {member_id: (given, received)
              for member_id, given, received in account_totals(bank_id)}
    return [c._replace(given=g, received=r) for c in load_profiles(bank_id)
            for g, r in [totals.get(c.member_id, (0, 0))]]


def load_profiles(bank_id: int) -> list[ranking.Candidate]:
    """The candidates as their profiles and open offers describe them (two queries); their
    give and take is left at 0 (``account_totals`` has it)."""
    members = db.session.execute(
        select(Member.id, Member.display_name, Member.skills, Member.public_latitude,
               Member.public_longitude, Member.status, Member.matching_opt_out)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.bank_id == bank_id, Membership.status == MemberStatus.ACTIVE,
               Member.status == MemberStatus.ACTIVE, Member.matching_opt_out.is_(False))
    ).all()
    offers: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        select(Listing.member_id, Listing.id, Listing.category_id, Listing.title,
               Listing.description, Listing.availability)
        .where(Listing.bank_id == bank_id, Listing.kind == ListingKind.OFFER,
               Listing.status == ListingStatus.OPEN,
               Listing.expires_on >= clock.today())
    ):
        offers[row.member_id].append(row)
    candidates = []
    for m in members:
        own = offers.get(m.id, ())
        availability = 0
        for o in own:
            availability |= o.availability
        text = " ".join([m.skills or "", *(f"{o.title} {o.description}" for o in own)])
        candidates.append(ranking.Candidate(
            m.id, m.display_name, frozenset(o.category_id for o in own),
            tuple((o.category_id, o.id) for o in own), ranking.words(text),
            m.public_latitude, m.public_longitude, availability, 0, 0,
            m.status, m.matching_opt_out))
    return candidates


def account_totals(bank_id: int, moved_after: int | None = None) -> list[tuple[int, int, int]]:
    """(member id, minutes given, minutes received) in the bank: the ledger keeps them on
    each account, so this is one row per member; with ``moved_after``, only those whose
    totals moved in commits after that serial of the bank's give and take."""
    # The driver's own tuples, past SQLAlchemy's row objects (plain integers need no
    # conversion): a city's 20,000 rows in 10 ms instead of 23 through the ORM; numpy
    # reads tuples many times faster than rows.
    query = (select(Account.member_id, Account.given, Account.received)
             .where(Account.member_id.isnot(None), Account.bank_id == bank_id))
    if moved_after is not None:
        query = query.where(Account.moved_serial > moved_after)
    found = db.session.connection().execute(query)
    try:
        return list(found.cursor.fetchall())
    finally:
        found.close()


@dataclass(frozen=True)
class _Laid:
    """A bank's pool as last laid: the give and take's stamp it was read at, and the
    profiles' pool it was laid over."""

    stamp: cache.Stamp
    profiles: ranking.CandidatePool
    pool: ranking.CandidatePool


_fresh: dict[tuple[str, int], _Laid] = {}  # (engine, bank) -> its pool as last laid


def candidate_pool(bank_id: int) -> ranking.CandidatePool:
    """The vectorised pool of the bank's candidates for the workbench, never behind the
    data it ranks by.

    Profiles and offers (the costly part: most of a second for 20,000 members) are built
    once per version of the data they come from (``cache.CANDIDATES``, moved on by any
    change to a member's matching details, a membership or a listing) and day (offers
    expire by date). Give and take (one row per member) is read again only when the
    ledger has moved the bank's totals (``cache.give_and_take``), and then only for the
    accounts it moved since, so a pool, and what it ranked and drew, serves every view
    until the next confirmed exchange, and the next view scores again only the members
    that exchange moved.
    """
    # The stamp before the totals: figures read after it are never older than it.
    now = cache.stamp(cache.give_and_take(bank_id))
    profiles = cache.built(
        cache.CANDIDATES, ("pool", bank_id, clock.today().isoformat()),
        lambda _version: ranking.CandidatePool(load_profiles(bank_id)),
        lambda pool: 600 * len(pool.candidates) + 1024)
    key = (str(db.engine.url), bank_id)
    last = _fresh.get(key)
    if last is not None and last.profiles is not profiles:
        last = None
    if last is not None and last.stamp.version == now.version:
        return last.pool
    if (last is not None and None not in (now.serial, last.stamp.serial) and now.epoch
            and now.epoch == last.stamp.epoch and now.serial > last.stamp.serial):
        # Every commit since the last read stamped the accounts it moved with a later
        # serial. (The same serial under another version: a bump that was not counted,
        # as by a worker older than the count; epoch 0: from before it. Read all.)
        pool = last.pool.with_changes(account_totals(bank_id, last.stamp.serial))
    else:
        # Laid over the pool before, when it had these profiles: it is kept as it was if
        # no one's figures moved (a correction undone), and what it ranked is brought up
        # to date by scoring again only those whose figures moved.
        pool = (last.pool if last is not None else profiles).with_totals(
            account_totals(bank_id))
    _fresh[key] = _Laid(now, profiles, pool)
    return pool


def need_for(listing: Listing) -> ranking.Need:
    return ranking.Need(
        member_id=listing.member_id, category_id=listing.category_id,
        words=ranking.words(f"{listing.title} {listing.description}"),
        latitude=listing.latitude, longitude=listing.longitude,
        radius_km=float(listing.travel_km or ranking.DEFAULT_RADIUS_KM),
        remote_ok=listing.remote_ok, availability=listing.availability)


def already_introduced(request_ids) -> dict[int, set[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    if request_ids:
        for request_id, helper_id in db.session.execute(
            select(Match.request_id, Match.helper_id).where(Match.request_id.in_(request_ids))
        ):
            found[request_id].add(helper_id)
    return found


@dataclass(frozen=True)
class Suggested:
    """A candidate as the workbench shows them: what the page draws, and only that, so a
    row drawn once is drawn again only when something shown changes (an exchange moves
    a candidate's minutes, and most move nobody's rank or reasons)."""

    member_id: int
    name: str
    score: float
    reasons: tuple  # (ranking.Reason, …)
    components: tuple[tuple[str, float], ...]
    held: tuple[str, ...] = ()  # safeguarding checks they lack for this kind of help


@dataclass(frozen=True)
class WorkbenchPage:
    rows: list  # (RequestRow, (Suggested, …))
    next_after: int | None


@dataclass(frozen=True)
class RequestRow:
    """An open request as the workbench ranks and shows it: plain values read with the
    page (not the listing, its asker and its kind of help as objects)."""

    id: int
    member_id: int
    category_id: int
    title: str
    description: str
    latitude: float | None
    longitude: float | None
    travel_km: int | None
    remote_ok: bool
    availability: int  # (a bitmask of slots: see models.listings.slot_bit)
    created_at: datetime
    category_name: str
    asker_name: str
    asker_neighbourhood: str | None


def workbench(bank_id: int, after: int | None, per_page: int, each: int,
              category_id: int | None = None, neighbourhood: str = "", waited_days: int = 0,
              newest: bool = False, unhelped: bool = False) -> WorkbenchPage:
    """Open requests (oldest first unless ``newest``), filtered by kind of help, the asker's
    neighbourhood and how long they have waited, each with its best candidates not yet
    introduced. Keyset paging: ``after`` is the last request of the page before (None:
    the first page); ``next_after`` the last of this one, when more follow."""
    now = utcnow()
    query = _requests(bool(category_id), bool(neighbourhood), bool(waited_days), newest,
                      after is not None)
    if unhelped:  # the work queue's figure, exactly

        query = query.where(Listing.id.in_(unhelped_requests(bank_id, now)
                                           .with_only_columns(Listing.id).order_by(None)))
    # The pool first: a request read after it is never older than the pool's data, so
    # nothing stale is ranked and remembered under a pool that outlives the change.
    pool = candidate_pool(bank_id)
    requests = [RequestRow(*row) for row in db.session.execute(query, {
        "bank": bank_id, "today": clock.today(), "category": category_id,
        "neighbourhood": like_pattern(neighbourhood),
        "waited": now - timedelta(days=waited_days), "after": after, "size": per_page + 1})]
    requests, next_after = keyset_page(requests, per_page)
    introduced = already_introduced([r.id for r in requests])
    needs = checks.requirements() if requests else {}
    rows = []
    for listing in requests:
        ranked = [r for r in pool.ranked(listing.id, need_for,
                                         each + len(introduced[listing.id]), listing)
                  if r.candidate.member_id not in introduced[listing.id]][:each]
        # Held back: the candidates without the checks this kind of help needs, and why.
        held = (checks.missing_for([r.candidate.member_id for r in ranked],
                                   listing.category_id, clock.today(),
                                   needs[listing.category_id])
                if listing.category_id in needs else {})
        rows.append((listing, tuple(
            Suggested(r.candidate.member_id, r.candidate.name, r.score, tuple(r.reasons),
                      tuple(r.components.items()), tuple(held.get(r.candidate.member_id, ())))
            for r in ranked)))
    return WorkbenchPage(rows, next_after)


@functools.cache
def _requests(category: bool, neighbourhood: bool, waited: bool, newest: bool, after: bool):
    """The workbench's open requests as ``RequestRow`` values, with the bank, day, filters
    and page bound: built once per shape of question."""
    query = (open_listings_query(bindparam("bank"), bindparam("today"))
             .where(Listing.kind == ListingKind.REQUEST)
             .with_only_columns(
                 Listing.id, Listing.member_id, Listing.category_id, Listing.title,
                 Listing.description, Listing.latitude, Listing.longitude, Listing.travel_km,
                 Listing.remote_ok, Listing.availability, Listing.created_at, Category.name,
                 Member.display_name, Member.neighbourhood)
             .join(Member, Member.id == Listing.member_id)
             .join(Category, Category.id == Listing.category_id))
    if category:
        query = query.where(Listing.category_id == bindparam("category"))
    if neighbourhood:
        query = query.where(Member.neighbourhood.ilike(bindparam("neighbourhood"), escape="\\"))
    if waited:
        query = query.where(Listing.created_at <= bindparam("waited"))
    if after:
        query = query.where(Listing.id < bindparam("after") if newest
                            else Listing.id > bindparam("after"))
    return query.order_by(Listing.id.desc() if newest else Listing.id).limit(bindparam("size"))


# -- introductions -------------------------------------------------------------


def introduce(request_id: int, helper_id: int, by: Member, note: str, bank_id: int,
              score: float | None = None) -> Match:
    """A coordinator of ``bank_id`` introduces a member of it to one of its requests."""
    request = db.session.get(Listing, request_id)
    if request is None or request.kind != ListingKind.REQUEST or request.bank_id != bank_id:
        raise BrokeringError(_("There is no such request."))
    if request.status != ListingStatus.OPEN:
        raise BrokeringError(_("This request is %(status)s, so cannot be matched.",
                               status=status_word(request.status)))
    helper = db.session.get(Member, helper_id)
    if (helper is None or helper.status != MemberStatus.ACTIVE or helper.matching_opt_out
            or helper.role_in(bank_id) not in TRADING_ROLES):
        raise BrokeringError(_("That member cannot be introduced (not active, or opted out)."))
    if helper.id == request.member_id:
        raise BrokeringError(_("A member cannot be introduced to their own request."))
    checks.refuse_unless_checked(helper, request.category_id, bank_id, clock.today(),
                                 self_=False)
    if db.session.scalar(select(Match.id).where(Match.request_id == request.id,
                                                Match.helper_id == helper.id)):
        raise BrokeringError(_("%(name)s has already been introduced to this request.",
                               name=helper.display_name))
    offer_id = db.session.scalar(
        select(Listing.id).where(Listing.member_id == helper.id, Listing.bank_id == bank_id,
                                 Listing.kind == ListingKind.OFFER,
                                 Listing.category_id == request.category_id,
                                 Listing.status == ListingStatus.OPEN).limit(1))
    match = Match(bank_id=request.bank_id, request_id=request.id, offer_id=offer_id,
                  requester_id=request.member_id,
                  helper_id=helper.id, note=note.strip(), created_by_id=by.id, score=score,
                  status=MatchStatus.PROPOSED)
    db.session.add(match)
    db.session.flush()
    url = bank_url("matching.show", match.bank_id, match_id=match.id)
    notify(request.member, _l("%(by)s suggests %(helper)s could help with “%(title)s”. Please "
                              "accept or decline.", by=by.display_name,
                              helper=helper.display_name, title=request.title), url,
           subject=_l("Someone could help with your request"), bank_id=match.bank_id)
    notify(helper, _l("%(by)s thinks you could help %(requester)s with “%(title)s”. Please "
                      "accept or decline.", by=by.display_name,
                      requester=request.member.display_name, title=request.title), url,
           subject=_l("Could you help a neighbour?"), bank_id=match.bank_id)
    audit(by.id, "match.introduce", "match", match.id, request=request.id, helper=helper.id)
    db.session.commit()
    return match


def respond(listing_id: int, by: Member, message: str, bank_id: int) -> tuple[Match, bool]:
    """A member answers another's listing themselves: "I can help" on a request, "I'd like
    this" on an offer. Their answer counts as a yes; the listing's owner accepts or declines.

    Returns the conversation and whether it is new (answering twice reopens the first).
    """
    listing = db.session.get(Listing, listing_id)
    if (listing is None or listing.bank_id != bank_id or listing.status != ListingStatus.OPEN
            or listing.expires_on < clock.today()):
        raise BrokeringError(_("This offer or request is no longer open."), status=404)
    if listing.member_id == by.id:
        raise BrokeringError(_("This is your own listing."), status=409)
    if by.role_in(bank_id) not in TRADING_ROLES:
        raise BrokeringError(_("Only members of this time bank can answer it."), status=403)
    owner = listing.member
    if owner.status != MemberStatus.ACTIVE or owner.role_in(bank_id) not in TRADING_ROLES:
        raise BrokeringError(_("This offer or request is no longer open."), status=404)
    is_request = listing.kind == ListingKind.REQUEST
    # Whoever would give the help needs the checks its kind needs: the one answering a
    # request, or the one who offered.
    checks.refuse_unless_checked(by if is_request else owner, listing.category_id, bank_id,
                                 clock.today(), self_=is_request, quietly=not is_request)
    mine = (Match.request_id == listing.id, Match.helper_id == by.id) if is_request else (
        Match.offer_id == listing.id, Match.request_id.is_(None), Match.requester_id == by.id)
    existing = db.session.scalar(select(Match).where(*mine).order_by(Match.id.desc()))
    if existing is not None and existing.status in (MatchStatus.PROPOSED, MatchStatus.ACCEPTED):
        return existing, False
    if is_request:
        text = _l("%(by)s can help with your request “%(title)s”. Read their message and "
                  "accept or decline.", by=by.display_name, title=listing.title)
        subject = _l("Someone can help with your request")
    else:
        text = _l("%(by)s would like your offer “%(title)s”. Read their message and accept or "
                  "decline.", by=by.display_name, title=listing.title)
        subject = _l("Someone would like your offer")
    if existing is not None:
        # Declined (or done) before, and asked again: the same conversation, reopened, so
        # its history stays together (and one request has one match per helper).
        match = existing
        match.requester_answer = match.helper_answer = None
        match.completed_at = None
    elif is_request:
        match = Match(bank_id=bank_id, request_id=listing.id, requester_id=owner.id,
                      helper_id=by.id, created_by_id=by.id)
    else:
        match = Match(bank_id=bank_id, offer_id=listing.id, requester_id=by.id,
                      helper_id=owner.id, created_by_id=by.id)
    setattr(match, "helper_answer" if is_request else "requester_answer", "accepted")
    match.status = MatchStatus.PROPOSED
    db.session.add(match)
    try:
        db.session.flush()
    except IntegrityError:  # the same answer sent twice at once: the first one stands
        db.session.rollback()
        return db.session.scalar(select(Match).where(*mine).order_by(Match.id.desc())), False
    if message.strip():
        db.session.add(MatchMessage(match_id=match.id, author_id=by.id, body=message.strip()))
    notify(owner, text, bank_url("matching.show", bank_id, match_id=match.id), subject=subject,
           bank_id=bank_id)
    audit(by.id, "match.respond", "match", match.id, listing=listing.id)
    db.session.commit()
    return match, True


def side_of(match: Match, member: Member) -> str | None:
    if member.id == match.requester_id:
        return "requester"
    if member.id == match.helper_id:
        return "helper"
    return None


def answer(match_id: int, by: Member, accept: bool) -> Match:
    match = _match_for_update(match_id)
    side = side_of(match, by)
    if side is None:
        raise BrokeringError(_("Only the two people introduced can answer."))
    if match.status != MatchStatus.PROPOSED:
        raise BrokeringError(_("This introduction is already %(status)s.", status=match.status))
    if accept:
        # A check may have lapsed, or become needed, since the introduction was made.
        checks.refuse_unless_checked(match.helper, match.listing.category_id, match.bank_id,
                                     clock.today(), self_=side == "helper",
                                     quietly=side != "helper")
    setattr(match, f"{side}_answer", "accepted" if accept else "declined")
    other = match.helper if side == "requester" else match.requester
    url = bank_url("matching.show", match.bank_id, match_id=match.id)
    if not accept:
        match.status = MatchStatus.DECLINED
        declined = _l("%(by)s has declined the introduction for “%(title)s”.",
                      by=by.display_name, title=match.listing.title)
        notify(other, declined, url, bank_id=match.bank_id)
        if not match.started_by_member:  # the coordinator who introduced them
            notify(db.session.get(Member, match.created_by_id), declined, url,
                   bank_id=match.bank_id)
    elif match.requester_answer == match.helper_answer == "accepted":
        match.status = MatchStatus.ACCEPTED
        if match.request is not None:  # an offer can serve many; a request is spoken for
            match.request.status = ListingStatus.MATCHED
        for person in (match.requester, match.helper):
            notify(person, _l("You are both happy to go ahead with “%(title)s”. Use the "
                              "messages on the match page to arrange it.",
                              title=match.listing.title), url,
                   subject=_l("Your introduction is agreed"), bank_id=match.bank_id)
    else:
        notify(other, _l("%(by)s has accepted the introduction for “%(title)s”. Your answer is "
                         "awaited.", by=by.display_name, title=match.listing.title), url,
               bank_id=match.bank_id)
    audit(by.id, "match.accept" if accept else "match.decline", "match", match.id)
    db.session.commit()
    return match


def complete(match_id: int, by: Member) -> tuple[Match, str]:
    """Mark an agreed match done; return the URL of the pre-filled exchange form."""
    match = _match_for_update(match_id)
    side = side_of(match, by)
    if side is None and not by.is_staff_in(match.bank_id):
        raise BrokeringError(_("Only the two people introduced, or a coordinator, can complete "
                             "this."))
    if match.status not in (MatchStatus.ACCEPTED, MatchStatus.COMPLETED):
        raise BrokeringError(_("Both people need to accept the introduction first."))
    if match.status == MatchStatus.ACCEPTED:
        match.status = MatchStatus.COMPLETED
        match.completed_at = utcnow()
        if match.request is not None:
            match.request.status = ListingStatus.CLOSED
        audit(by.id, "match.complete", "match", match.id)
        db.session.commit()
    return match, prefill_url(match, side)


def prefill_url(match: Match, side: str | None) -> str:
    """The exchange form, filled in from the match, for whichever side (or staff) opens it."""
    common: dict[str, Any] = {"category": match.listing.category_id,
                              "description": match.listing.title, "match": match.id}
    if side == "helper":
        return bank_url("exchanges.new", match.bank_id, direction="gave",
                        other=member_label(match.requester), **common)
    if side == "requester":
        return bank_url("exchanges.new", match.bank_id, direction="received",
                        other=member_label(match.helper), **common)
    return bank_url("exchanges.on_behalf", match.bank_id, giver=member_label(match.helper),
                    receiver=member_label(match.requester), **common)


def match_between(match_id: object, giver_id: int | None, receiver_id: int | None) -> int | None:
    """``match_id`` if it is an agreed match between exactly these two (the helper giving),
    else None: a form's hidden field links an exchange to what it came from, never to a
    stranger's match."""
    try:
        match = db.session.get(Match, int(str(match_id))) if match_id else None
    except (TypeError, ValueError, OverflowError):
        return None
    if (match is None or match.status not in (MatchStatus.ACCEPTED, MatchStatus.COMPLETED)
            or (match.helper_id, match.requester_id) != (giver_id, receiver_id)):
        return None
    return match.id


def post_message(match_id: int, by: Member, body: str) -> MatchMessage:
    match = db.session.get(Match, match_id)
    side = side_of(match, by) if match else None
    if match is None or (side is None and not by.is_staff_in(match.bank_id)):
        raise BrokeringError(_("There is no such match."))
    body = body.strip()
    if not body:
        raise BrokeringError(_("Write a message first."))
    message = MatchMessage(match_id=match.id, author_id=by.id, body=body)
    db.session.add(message)
    recipients = [p for p in (match.requester, match.helper) if p.id != by.id]
    for person in recipients:
        notify(person, _l("New message from %(by)s about “%(title)s”.", by=by.display_name,
                          title=match.listing.title),
               bank_url("matching.show", match.bank_id, match_id=match.id),
               bank_id=match.bank_id)
    db.session.commit()
    return message


def _match_for_update(match_id: int) -> Match:
    match = locked(Match, match_id)
    if match is None:
        raise BrokeringError(_("There is no such match."))
    return match


def suggestions_for(listing: Listing, limit: int = 5) -> list[tuple]:
    """What a member sees on their own listing: who might help, or whom they might help."""
    if listing.kind == ListingKind.REQUEST:
        ranked = ranking.rank(need_for(listing), load_candidates(listing.bank_id), limit)
        for r in ranked:  # others' give-and-take is for coordinators' eyes only
            r.reasons = [why for why in r.reasons if "given" not in why]
        held = checks.missing_for([r.candidate.member_id for r in ranked],
                                  listing.category_id, clock.today())
        ranked = [r for r in ranked if r.candidate.member_id not in held]
        members = {m.id: m for m in db.session.scalars(
            select(Member).where(Member.id.in_([r.candidate.member_id for r in ranked])))}
        return [(members[r.candidate.member_id], r) for r in ranked]
    requests = db.session.scalars(
        open_listings_query(listing.bank_id).where(Listing.kind == ListingKind.REQUEST,
                                    Listing.category_id == listing.category_id,
                                    Listing.member_id != listing.member_id)
        .order_by(Listing.id.desc()).limit(limit)
    ).all()
    return [(r.member, r) for r in requests]


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


def unanswered_matches(bank_id: int, now: datetime):
    """Introductions and conversations still waiting for an answer after a week."""
    return (select(Match).where(Match.bank_id == bank_id, Match.status == MatchStatus.PROPOSED,
                                Match.created_at <= now - timedelta(days=WAIT_DAYS))
            .order_by(Match.created_at, Match.id))


CONVERSATIONS_PAGE = 50


def conversations_page(bank_id: int, now: datetime, waiting: bool, before: int | None,
                       size: int = CONVERSATIONS_PAGE) -> tuple[list[Match], int | None]:
    """The bank's introductions and conversations, newest first, before ``before`` (keyset
    paging); ``waiting``: those unanswered after a week (the work queue's)."""
    query = (unanswered_matches(bank_id, now).order_by(None) if waiting
             else select(Match).where(Match.bank_id == bank_id))
    if before:
        query = query.where(Match.id < before)
    return keyset_page(db.session.scalars(query.order_by(Match.id.desc()).limit(size + 1)),
                       size)


def may_view(match: Match, person: Member) -> bool:
    """The two sides while active in the match's bank, and that bank's staff."""
    role = person.role_in(match.bank_id)
    return role is not None and (side_of(match, person) is not None or role in STAFF_ROLES)


def matches_of(member: Member, bank_id: int, limit: int = 100) -> list[Match]:
    """The member's own introductions and conversations in the bank, newest first."""
    return list(db.session.scalars(
        select(Match).where(Match.bank_id == bank_id, (Match.requester_id == member.id)
                            | (Match.helper_id == member.id))
        .order_by(Match.id.desc()).limit(limit)))


def messages_of(match: Match) -> list[MatchMessage]:
    return list(db.session.scalars(select(MatchMessage).where(MatchMessage.match_id == match.id)
                                   .order_by(MatchMessage.id)))
