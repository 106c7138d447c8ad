"""Offers and requests: posting, editing, renewing and closing them. No request objects."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select

from timebank.core.errors import Refused
from timebank.core.models import Listing, ListingStatus, Member
from timebank.core.models.audit import record as audit
from timebank.core.models.listings import DEFAULT_EXPIRY_DAYS
from timebank.core.models.members import STAFF_ROLES
from timebank.core.rhythm import EXPIRY_NOTICE_DAYS
from timebank.infra import clock, geo
from timebank.infra.db import keyset_page, like_pattern, write_transaction
from timebank.infra.extensions import db

EDITABLE = ("kind", "category_id", "title", "description", "availability", "travel_km",
            "remote_ok", "expires_on")


def default_expiry(today: date | None = None) -> date:
    return (today or clock.today()) + timedelta(days=DEFAULT_EXPIRY_DAYS)


def open_listings_query(bank_id, today=None):
    """Listings others in the bank can see and answer: open and not past their expiry
    (``today``; a bound value in a statement built once)."""
    return select(Listing).where(Listing.bank_id == bank_id, Listing.status == ListingStatus.OPEN,
                                 Listing.expires_on >= (today if today is not None
                                                        else clock.today()))


PAGE = 20  # listings a page of the browse list
NEARBY_KM = 5.0  # the printed "offers and requests near you"
NEARBY_MAX = 40  # (two sides of paper)


class ListingRefused(Refused):
    pass


def browse(bank_id: int, member: Member, today: date, *, kind: str = "",
           category_id: int | None = None, words: str = "", within_km: float | None = None,
           expiring: bool = False, before: int | None = None,
           size: int = PAGE) -> tuple[list[Listing], int | None]:
    """A page of the bank's open listings, newest first, older than ``before`` (keyset),
    as the filters say; or those ending within a week (the coordinators' work queue).
    ``within_km`` of the member's public point: refused when they have none."""
    query = (expiring_listings(bank_id, today).order_by(None) if expiring
             else open_listings_query(bank_id, today))
    if kind:
        query = query.where(Listing.kind == kind)
    if category_id:
        query = query.where(Listing.category_id == category_id)
    if words:
        like = like_pattern(words.strip())
        query = query.where(or_(Listing.title.ilike(like, escape="\\"),
                                Listing.description.ilike(like, escape="\\")))
    if within_km:
        if member.public_latitude is None:
            raise ListingRefused(_("Add your postcode or street on your profile to search by "
                                   "distance."), "within_km")
        lo_lat, lo_lon, hi_lat, hi_lon = geo.bbox_around(
            member.public_latitude, member.public_longitude, within_km)
        query = query.where(Listing.latitude.between(lo_lat, hi_lat),
                            Listing.longitude.between(lo_lon, hi_lon))
    if before:
        query = query.where(Listing.id < before)
    listings, next_before = keyset_page(
        db.session.scalars(query.order_by(Listing.id.desc()).limit(size + 1)), size)
    if within_km:  # the box's corners are farther than the circle
        listings = [row for row in listings if geo.haversine_km(
            member.public_latitude, member.public_longitude, row.latitude, row.longitude
        ) <= within_km]
    return listings, next_before


def mine(member: Member, bank_id: int, limit: int = 200) -> list[Listing]:
    """A member's own listings in a bank, open ones first."""
    return list(db.session.scalars(
        select(Listing).where(Listing.member_id == member.id, Listing.bank_id == bank_id)
        .order_by(Listing.status, Listing.id.desc()).limit(limit)))


def nearby(member: Member, bank_id: int, km: float = NEARBY_KM) -> list[Listing]:
    """Open offers and requests of the bank near the member's public point (all if unknown)."""
    query = open_listings_query(bank_id).where(Listing.member_id != member.id)
    if member.public_latitude is not None:
        lo_lat, lo_lon, hi_lat, hi_lon = geo.bbox_around(member.public_latitude,
                                                         member.public_longitude, km)
        query = query.where(Listing.latitude.between(lo_lat, hi_lat),
                            Listing.longitude.between(lo_lon, hi_lon))
    return list(db.session.scalars(query.order_by(Listing.kind, Listing.id.desc())
                                   .limit(NEARBY_MAX)))


def _fill(listing: Listing, values: dict, owner: Member) -> None:
    for name in EDITABLE:
        setattr(listing, name, values[name])
    listing.title = listing.title.strip()
    listing.description = (listing.description or "").strip()
    listing.remote_ok = bool(listing.remote_ok)
    # Listings carry the owner's public (~500 m) point, never their address.
    listing.latitude, listing.longitude = owner.public_latitude, owner.public_longitude


def create(owner: Member, values: dict, by: Member, bank_id: int,
           idea_role_id: int | None = None) -> Listing:
    """Post a listing (``idea_role_id``: an offer to play a role in delivering an idea)."""
    with write_transaction():
        listing = Listing(bank_id=bank_id, member_id=owner.id, created_by_id=by.id,
                          idea_role_id=idea_role_id)
        _fill(listing, values, owner)
        db.session.add(listing)
        db.session.flush()
        audit(by.id, "listing.create", "listing", listing.id, on_behalf=owner.id != by.id)
    return listing


def update(listing: Listing, values: dict, by: Member) -> Listing:
    _fill(listing, values, listing.member)
    audit(by.id, "listing.update", "listing", listing.id)
    db.session.commit()
    return listing


def change(listing: Listing, action: str, by: Member) -> Listing:
    """Renew (open for another period), close, or reopen a listing."""
    if action == "renew":
        listing.expires_on = default_expiry()
        listing.status = ListingStatus.OPEN
    elif action == "close":
        listing.status = ListingStatus.CLOSED
    else:
        listing.status = ListingStatus.OPEN
    audit(by.id, f"listing.{action}", "listing", listing.id)
    db.session.commit()
    return listing


def may_edit(listing: Listing, member: Member, bank_id: int) -> bool:
    """The owner while active in the listing's bank, or staff of that bank."""
    role = member.role_in(listing.bank_id)
    if listing.member_id == member.id:
        return role is not None
    return listing.bank_id == bank_id and role in STAFF_ROLES


def visible_to(listing: Listing, member: Member, bank_id: int) -> bool:
    """Others in its bank see open, unexpired listings; owners and the bank's staff see
    theirs whatever the state; nobody else sees it at all."""
    if may_edit(listing, member, bank_id):
        return True
    return (listing.bank_id == bank_id and listing.status == ListingStatus.OPEN
            and listing.expires_on >= clock.today())


def expiring_listings(bank_id: int, today: date):
    return (select(Listing).where(Listing.bank_id == bank_id,
                                  Listing.status == ListingStatus.OPEN,
                                  Listing.expires_on.between(
                                      today, today + timedelta(days=EXPIRY_NOTICE_DAYS)))
            .order_by(Listing.expires_on, Listing.id))
