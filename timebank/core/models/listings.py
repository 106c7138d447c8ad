"""Offers and requests, and the coordinator's introductions (matches) between members."""

from __future__ import annotations

import functools
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.infra.extensions import Model, db

if TYPE_CHECKING:
    from timebank.core.models.members import Member
    from timebank.core.models.skills import Category

DEFAULT_EXPIRY_DAYS = 56  # eight weeks
MAX_TRAVEL_KM = 50

# Availability is a set of (day, part of day) slots stored as a bit mask: bit = day * 3 + part.
DAYS = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]
PARTS = [_l("morning"), _l("afternoon"), _l("evening")]
ALL_SLOTS = (1 << (len(DAYS) * len(PARTS))) - 1


def slot_bit(day: int, part: int) -> int:
    return 1 << (day * len(PARTS) + part)


def describe_slots(mask: int) -> str:
    """The slots of ``mask`` in words, in the page's language (remembered per language:
    a list page shows the same few masks on row after row)."""

    return _describe_slots(mask, str(get_locale() or ""))


@functools.lru_cache(maxsize=4096)
def _describe_slots(mask: int, _locale: str) -> str:
    if not mask:
        return str(_l("Any time"))
    if mask == ALL_SLOTS:
        return str(_l("Any day, any time"))
    words, part_words = [], [str(part) for part in PARTS]
    for d, day in enumerate(DAYS):
        parts = [part_words[p] for p in range(len(PARTS)) if mask & slot_bit(d, p)]
        if parts:
            words.append(f"{day} {'/'.join(parts)}")
    return ", ".join(words)


class ListingKind(StrEnum):
    OFFER = "offer"
    REQUEST = "request"


class ListingStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    CLOSED = "closed"


class Listing(Model):
    __tablename__ = "listing"
    # One offer per member per role of an idea (NULLs, listings of no role, never clash).
    __table_args__ = (db.UniqueConstraint("idea_role_id", "member_id",
                                          name="one_offer_per_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    availability: Mapped[int] = mapped_column(Integer, default=0)
    # Approximate place: the member's public (rounded) location when posted.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    travel_km: Mapped[int | None] = mapped_column(Integer)
    remote_ok: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=ListingStatus.OPEN, index=True)
    expires_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Posted by volunteering for a role in delivering an idea (co-delivery).
    idea_role_id: Mapped[int | None] = mapped_column(ForeignKey("idea_role.id"), index=True)

    member: Mapped[Member] = relationship("Member", foreign_keys=[member_id], lazy="joined")
    category: Mapped[Category] = relationship("Category", lazy="joined")

    @property
    def availability_label(self) -> str:
        return describe_slots(self.availability)

    @property
    def kind_label(self) -> str:
        return str(_l("Offer") if self.kind == ListingKind.OFFER else _l("Request"))


class MatchStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"


class Match(Model):
    """Two members brought together about a listing: a coordinator's introduction of a
    helper to a request, or a member's own response to a request or an offer."""

    __tablename__ = "match"
    __table_args__ = (db.UniqueConstraint("request_id", "helper_id", name="once_per_helper"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"), index=True)
    # A coordinator's introduction, or a member's "I can help", is about a request; a
    # member's "I'd like this" is about an offer (and has no request).
    request_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    helper_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=MatchStatus.PROPOSED)
    requester_answer: Mapped[str | None] = mapped_column(String(10))
    helper_answer: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    request: Mapped[Listing | None] = relationship("Listing", foreign_keys=[request_id],
                                                   lazy="joined")
    offer: Mapped[Listing | None] = relationship("Listing", foreign_keys=[offer_id])
    requester: Mapped[Member] = relationship("Member", foreign_keys=[requester_id], lazy="joined")
    helper: Mapped[Member] = relationship("Member", foreign_keys=[helper_id], lazy="joined")

    @property
    def listing(self) -> Listing:
        """What the two are talking about: the request, else the offer."""
        return self.request if self.request is not None else self.offer  # type: ignore[return-value]

    @property
    def started_by_member(self) -> bool:
        """Started by one of the two ("I can help", "I'd like this"), not a coordinator."""
        return self.created_by_id in (self.requester_id, self.helper_id)


class MatchMessage(Model):
    """Messages between the two sides of a match, kept on the site (no e-mail addresses)."""

    __tablename__ = "match_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Member] = relationship("Member", lazy="joined")
