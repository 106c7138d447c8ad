"""Texts (SMS) in and out, the codes they carry, and proxies ("guardian angels")."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.core.models.members import Member
from timebank.infra.extensions import Model


class TextStatus(StrEnum):
    RECEIVED = "received"  # in: read and answered
    IGNORED = "ignored"  # in: a flood from one number, or a member who stopped texts
    QUEUED = "queued"  # out: waiting for `send-sms`
    HELD = "held"  # out: the bank's monthly cap is reached
    SENT = "sent"
    FAILED = "failed"  # out: the gateway refused it for good, or it ran out of tries


class TextMessage(Model):
    """One text, in or out: the outbox and the log of what came and went. Personal data:
    erased with the member, exported with their data."""

    __tablename__ = "text_message"
    __table_args__ = (
        # The outbox: what is due, oldest first.
        Index("ix_text_message_due", "status", "next_attempt_at"),
        # A number's recent texts (floods) and a bank's month (the cap).
        Index("ix_text_message_number_created", "number", "created_at"),
        Index("ix_text_message_bank_created", "bank_id", "direction", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    # The gateway's MessageSid of an incoming text: each is processed once.
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    number: Mapped[str] = mapped_column(String(20))  # the member's end, E.164
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("bank.id"))
    body: Mapped[str] = mapped_column(Text)
    # In: what it was read as ("gave", "yes", "bal"…, or "unknown"; "yes-bad": a code
    # that was not theirs). Out: "reply" (an answer to their text), "news" (what the site
    # tells them: only while they want texts) or "code" (a mobile's check code).
    command: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    gateway_id: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StrangerTexts(Model):
    """Texts from numbers no member has, counted per day and number; the number is kept
    only as a keyed hash, so nothing about the sender is stored."""

    __tablename__ = "stranger_texts"
    __table_args__ = (UniqueConstraint("day", "number_hash", name="uq_stranger_day_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    number_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)


class CodePurpose(StrEnum):
    EXCHANGE = "exchange"  # YES/NO <code> answers a pending exchange
    VERIFY = "verify"  # a mobile being added: the code texted to it
    LISTING = "listing"  # HELP <code> answers an offer or request sent as "nearby"


class TextCode(Model):
    """A short code a text carries: single-use, one member's, expiring."""

    __tablename__ = "text_code"
    __table_args__ = (Index("ix_text_code_member_code", "member_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    purpose: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(8))
    exchange_id: Mapped[int | None] = mapped_column(ForeignKey("exchange.id"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    number: Mapped[str] = mapped_column(String(20), default="")  # a mobile being verified
    # A proxy's code answers for the member they act for.
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Proxy(Model):
    """A "guardian angel": ``proxy`` acts for ``member`` in a bank until a date. They get
    the member's news, record and confirm for them, and each step says "by X for Y"."""

    __tablename__ = "proxy"
    __table_args__ = (Index("ix_proxy_member", "member_id", "ended_at"),
                      Index("ix_proxy_proxy", "proxy_id", "ended_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    proxy_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))
    until: Mapped[date] = mapped_column(Date)
    # Named by the member themselves, or recorded by a coordinator (``recorded_by``) and
    # agreed by a second one (``agreed_by``): until then it does not hold.
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))

    member: Mapped[Member] = relationship("Member", foreign_keys=[member_id])
    proxy: Mapped[Member] = relationship("Member", foreign_keys=[proxy_id])
    recorded_by: Mapped[Member] = relationship("Member", foreign_keys=[recorded_by_id])

    @classmethod
    def holding(cls, today: date) -> tuple:
        """Conditions of an arrangement in force on ``today``: not ended, not past its
        date, and named by the member or agreed by a second coordinator."""
        return (cls.ended_at.is_(None), cls.until >= today,
                or_(cls.recorded_by_id == cls.member_id, cls.agreed_by_id.is_not(None)))
