"""Nobody left quiet: the work queue's quiet members (no exchange for 90 days) as a list
a coordinator works through. For each, the open requests near them in the kinds of help
they once offered; a request suggested to them in one click (told in their language, by
e-mail or text as they chose); a note of the call made. Once a week, members who chose
to hear about nearby requests are nudged by themselves. Reports count who came back.

Whoever acts and when are arguments: the bank, the person and the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from timebank.core import checks
from timebank.core.errors import Refused
from timebank.core.links import bank_url
from timebank.core.listings import NEARBY_KM, open_listings_query
from timebank.core.models import (
    Account,
    Category,
    ContactKind,
    EmailPreference,
    Listing,
    ListingKind,
    Member,
    Membership,
    QuietContact,
)
from timebank.core.models.audit import record as audit
from timebank.core.notify import notify
from timebank.core.participation import quiet_members
from timebank.infra import geo
from timebank.infra.extensions import db

SHOWN = 3  # requests suggested for each quiet member
NUDGE_EVERY = timedelta(days=7)
PAGE = 50


@dataclass
class Quiet:
    member: Member
    offered: list[str] = field(default_factory=list)  # kinds of help they offered
    requests: list[Listing] = field(default_factory=list)  # open, near, of those kinds
    contacts: list[QuietContact] = field(default_factory=list)  # latest first


def offered_kinds(member_id: int, bank_id: int) -> list[int]:
    """The kinds of help a member has offered in this bank, ever (a lapsed offer still
    says what they can do)."""
    return list(db.session.scalars(select(Listing.category_id).distinct().where(
        Listing.member_id == member_id, Listing.bank_id == bank_id,
        Listing.kind == ListingKind.OFFER)))


def matching_requests(member: Member, bank_id: int, now: datetime, limit: int = SHOWN,
                      kinds: list[int] | None = None,
                      needs: dict[int, list[str]] | None = None) -> list[Listing]:
    """Open requests of others near the member, in kinds of help they offered (``kinds``,
    when the caller read them already) and hold any checks for; newest first."""
    kinds = offered_kinds(member.id, bank_id) if kinds is None else kinds
    if not kinds:
        return []
    query = (open_listings_query(bank_id, now.date())
             .where(Listing.kind == ListingKind.REQUEST, Listing.member_id != member.id,
                    Listing.category_id.in_(kinds)))
    if member.public_latitude is not None and member.public_longitude is not None:
        lo_lat, lo_lon, hi_lat, hi_lon = geo.bbox_around(member.public_latitude,
                                                         member.public_longitude, NEARBY_KM)
        query = query.where(Listing.latitude.between(lo_lat, hi_lat),
                            Listing.longitude.between(lo_lon, hi_lon))
    found = list(db.session.scalars(query.order_by(Listing.id.desc()).limit(limit * 3)))
    needs = checks.requirements() if needs is None else needs
    held = {kind for kind in {li.category_id for li in found} if kind in needs
            and checks.missing_for([member.id], kind, now.date(), needs[kind])}
    return [li for li in found if li.category_id not in held][:limit]


def worklist(bank_id: int, now: datetime, limit: int = PAGE) -> tuple[list[Quiet], int]:
    """The quiet members a coordinator works through (those not contacted longest first),
    and how many there are in all."""
    everyone = quiet_members(bank_id, now)
    total = db.session.scalar(select(func.count()).select_from(
        everyone.order_by(None).subquery())) or 0
    last = (select(QuietContact.member_id, func.max(QuietContact.created_at).label("at"))
            .where(QuietContact.bank_id == bank_id).group_by(QuietContact.member_id)
            .subquery())
    members = list(db.session.scalars(
        everyone.outerjoin(last, last.c.member_id == Member.id)
        .order_by(None).order_by(last.c.at.is_not(None), last.c.at, Member.display_name)
        .limit(limit)))
    contacts: dict[int, list[QuietContact]] = {}
    for contact in db.session.scalars(select(QuietContact).where(
            QuietContact.bank_id == bank_id,
            QuietContact.member_id.in_([m.id for m in members]))
            .order_by(QuietContact.created_at.desc())):
        contacts.setdefault(contact.member_id, []).append(contact)
    # What each offered, and the kinds that need checks: read once for the page, so a
    # member costs one query of their own (the requests near them).
    names = dict(db.session.execute(select(Category.id, Category.name)).all())
    offered: dict[int, list[int]] = {}
    for member_id, kind in db.session.execute(
            select(Listing.member_id, Listing.category_id).distinct().where(
                Listing.member_id.in_([m.id for m in members]), Listing.bank_id == bank_id,
                Listing.kind == ListingKind.OFFER).order_by(Listing.category_id)):
        offered.setdefault(member_id, []).append(kind)
    needs = checks.requirements()
    rows = [Quiet(member, [names.get(k, "") for k in offered.get(member.id, [])],
                  matching_requests(member, bank_id, now, kinds=offered.get(member.id, []),
                                    needs=needs),
                  contacts.get(member.id, [])[:5])
            for member in members]
    return rows, total


def _quiet_member(member_id: int, bank_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None or member.erased_at is not None or member.role_in(bank_id) is None:
        raise Refused(_("There is no such member."), status=404)
    return member


def suggest(member_id: int, listing_id: int, by: Member, bank_id: int,
            now: datetime) -> QuietContact:
    """A coordinator suggests an open request to a quiet member: the member is told (in
    the site, and by e-mail or text as they chose, in their language); it is noted."""
    member = _quiet_member(member_id, bank_id)
    listing = db.session.scalar(open_listings_query(bank_id, now.date()).where(
        Listing.id == listing_id, Listing.kind == ListingKind.REQUEST))
    if listing is None:
        raise Refused(_("This request is no longer open."), status=409)
    if listing.member_id == member.id:
        raise Refused(_("This is their own request."), status=409)
    checks.refuse_unless_checked(member, listing.category_id, bank_id, now.date(),
                                 self_=False)
    url = bank_url("listings.show", bank_id, listing_id=listing.id)
    notify(member, _l("%(by)s thought of you: %(asker)s needs help with “%(title)s”. Could "
                      "you help? Have a look and answer if you can.", by=by.display_name,
                      asker=listing.member.display_name, title=listing.title), url,
           subject=_l("Could you help a neighbour?"), bank_id=bank_id, by_text=True)
    contact = QuietContact(bank_id=bank_id, member_id=member.id, by_id=by.id,
                           kind=ContactKind.SUGGESTION, listing_id=listing.id, created_at=now)
    db.session.add(contact)
    audit(by.id, "quiet.suggest", "member", member.id, listing=listing.id)
    db.session.commit()
    return contact


def note_call(member_id: int, by: Member, bank_id: int, note: str,
              now: datetime) -> QuietContact:
    """A note of a call (or a chat at the door) made to a quiet member."""
    member = _quiet_member(member_id, bank_id)
    note = note.strip()
    if not note:
        raise Refused(_("Say how the call went."), "note")
    contact = QuietContact(bank_id=bank_id, member_id=member.id, by_id=by.id,
                           kind=ContactKind.CALL, note=note[:2000], created_at=now)
    db.session.add(contact)
    audit(by.id, "quiet.call", "member", member.id)
    db.session.commit()
    return contact


def nudge(now: datetime) -> int:
    """The weekly nudge: each quiet member who chose to hear about what is new near them
    each week (the weekly e-mail digest, or the weekly "near you" text), and was not
    contacted in the last week, is told of the requests near them in what they
    offered (none: no nudge). Returns how many were nudged."""
    since = now - NUDGE_EVERY
    # Contacted in the last week, by any bank: a nudge would be one too many.
    recent = select(QuietContact.member_id).where(QuietContact.created_at > since)
    told: set[int] = set()
    rows = db.session.execute(
        quiet_members(list(db.session.scalars(select(Membership.bank_id).distinct())), now)
        .add_columns(Membership.bank_id)
        .where(Member.id.not_in(recent),
               or_(Member.email_preference == EmailPreference.WEEKLY,
                   Member.text_preference == "weekly"))).all()
    for member, bank_id in rows:
        if member.id in told:
            continue  # quiet in two banks: one nudge a week
        found = matching_requests(member, bank_id, now)
        if not found:
            continue
        titles = "; ".join(f"“{li.title}”" for li in found)
        notify(member, _l("We have missed you! Neighbours near you need help you once "
                          "offered: %(titles)s.", titles=titles),
               bank_url("listings.browse", bank_id, kind="request"),
               subject=_l("Neighbours near you could use your help"), bank_id=bank_id,
               by_text=True)
        db.session.add(QuietContact(bank_id=bank_id, member_id=member.id,
                                    kind=ContactKind.NUDGE, created_at=now))
        told.add(member.id)
    db.session.commit()
    return len(told)


def came_back(bank_ids: list[int], since: datetime, until: datetime) -> int:
    """Quiet members contacted in the period (a call, a suggestion, a nudge) who have
    had an exchange since they were first contacted in it."""
    first = (select(QuietContact.member_id, QuietContact.bank_id,
                    func.min(QuietContact.created_at).label("at"))
             .where(QuietContact.bank_id.in_(bank_ids),
                    QuietContact.created_at.between(since, until))
             .group_by(QuietContact.member_id, QuietContact.bank_id).subquery())
    return db.session.scalar(
        select(func.count(func.distinct(first.c.member_id)))
        .join(Account, (Account.member_id == first.c.member_id)
              & (Account.bank_id == first.c.bank_id))
        .where(Account.last_exchange_at > first.c.at)) or 0

