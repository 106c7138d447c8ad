"""Offers and requests: posting, editing, renewing and closing them. No request objects."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from timebank.core.models import Listing, ListingStatus, Member
from timebank.core.models.audit import record as audit
from timebank.core.models.listings import DEFAULT_EXPIRY_DAYS
from timebank.core.models.members import STAFF_ROLES
from timebank.infra import clock
from timebank.infra.db import write_transaction
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
