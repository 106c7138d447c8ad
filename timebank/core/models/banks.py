"""Banks, the council areas that group them, and each person's membership of a bank.

One install serves one council area (its asset register and map) and any
number of banks in it. A person has one login and a membership (role,
status, account) in each bank they belong to; admin and council viewer are
roles of the install, not of a bank.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.infra.extensions import Model

if TYPE_CHECKING:
    from timebank.core.models.members import Member


class BankRole(StrEnum):
    RESIDENT = "resident"
    HELPER = "helper"
    COORDINATOR = "coordinator"


class CouncilArea(Model):
    __tablename__ = "council_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Bank(Model):
    __tablename__ = "bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("council_area.id"))
    # The office people without computers ring or visit.
    office_address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    opening_hours: Mapped[str] = mapped_column(String(300), default="")
    welcome_text: Mapped[str] = mapped_column(Text, default="")
    # The bank's own terms of membership and privacy notice, accepted at registration.
    terms_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    privacy_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Balance floor for new accounts, in minutes (zero or below).
    default_floor: Mapped[int] = mapped_column(BigInteger, default=-600)
    # The language the bank's pages and letters use unless a person chose theirs;
    # empty: each visitor's browser decides.
    default_language: Mapped[str] = mapped_column(String(10), default="")
    # How English dates are written here (a UK bank: "6 December 2026", not "December 6").
    english_dates: Mapped[str] = mapped_column(String(10), default="en_GB",
                                               server_default="en_GB")
    # Area as a bounding box in degrees (min_lon, min_lat, max_lon, max_lat), if known.
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    # Exchanges with members of other banks, and how far the clearing balance may go
    # either way (minutes; NULL: no cap).
    interbank: Mapped[bool] = mapped_column(default=True)
    clearing_limit: Mapped[int | None] = mapped_column(BigInteger)
    # The community pool's range (minutes): it pays out down to ``pool_floor`` and takes
    # in up to ``pool_cap``; one coordinator alone pays at most ``pool_alone_minutes``
    # from it in one activity, a second coordinator agrees to more (four_eyes.py).
    # How long a community asset may go unchecked before the register flags it.
    asset_check_months: Mapped[int] = mapped_column(Integer, default=12, server_default="12")
    pool_floor: Mapped[int] = mapped_column(BigInteger, default=-30000,
                                            server_default="-30000")
    pool_cap: Mapped[int] = mapped_column(BigInteger, default=30000, server_default="30000")
    pool_alone_minutes: Mapped[int] = mapped_column(BigInteger, default=1200,
                                                    server_default="1200")
    # Where its members' phone numbers are read without a country code (ISO 3166).
    country: Mapped[str] = mapped_column(String(2), default="GB", server_default="GB")
    # Texts cost money: at most this many sent a month (0: none); the outbox holds
    # the rest and coordinators are told.
    sms_monthly_cap: Mapped[int] = mapped_column(Integer, default=500, server_default="500")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[CouncilArea | None] = relationship("CouncilArea", lazy="joined")

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        values = (self.min_lon, self.min_lat, self.max_lon, self.max_lat)
        return None if any(v is None for v in values) else values  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<Bank {self.slug}>"


class Membership(Model):
    """A person in a bank: their role and status there (the account is the ledger's)."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("member_id", "bank_id", name="uq_membership_member_bank"),
        # A bank's members counted by status, and its applications, from the index alone.
        Index("ix_membership_bank_status", "bank_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))
    role: Mapped[str] = mapped_column(String(20), default=BankRole.RESIDENT)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    terms_accepted_at: Mapped[datetime | None]  # the bank's terms and privacy notice
    # Why a coordinator suspended the membership or declined the application.
    status_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    bank: Mapped[Bank] = relationship("Bank", lazy="joined")
    member: Mapped[Member] = relationship("Member", foreign_keys=[member_id])
