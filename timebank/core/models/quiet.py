"""Nobody left quiet: what a bank did to bring a quiet member back (a call, a request
suggested to them, the weekly nudge), so the next coordinator sees it and reports can
count who came back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.core.models.base import utcnow
from timebank.infra.extensions import Model


class ContactKind(StrEnum):
    CALL = "call"  # a coordinator called (or met) them: the note says how it went
    SUGGESTION = "suggestion"  # a coordinator suggested a request to them
    NUDGE = "nudge"  # the weekly nudge, sent by itself


class QuietContact(Model):
    __tablename__ = "quiet_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))  # None: the nudge
    kind: Mapped[str] = mapped_column(String(12))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
