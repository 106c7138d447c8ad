"""In-app notifications and the outgoing e-mail queue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.core.models.base import utcnow
from timebank.infra.extensions import Model


class EmailPreference(StrEnum):
    IMMEDIATELY = "immediately"
    WEEKLY = "weekly"
    NEVER = "never"


class Notification(Model):
    __tablename__ = "notification"
    # The menu's unread count on every page, without reading a busy member's read ones.
    __table_args__ = (Index("ix_notification_member_unread", "member_id", "read_at", "bank_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    # The bank it is about (NULL: the whole site, such as an asset decision).
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("bank.id"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(300), default="/")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(index=True)


class OutboxMessage(Model):
    """An e-mail waiting to be sent by `flask send-mail` (never sent inside a request)."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
