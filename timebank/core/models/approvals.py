"""Requests that wait for a second coordinator (four eyes): a log-in given to someone a
coordinator enrolled, a limit lowered below the bank's, a large payment from the pool."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.core.models.members import Member
from timebank.infra.extensions import Model


class ApprovalKind(StrEnum):
    LOGIN = "login"  # an e-mail address (so a log-in) for a member without one
    FLOOR = "floor"  # a limit below the bank's default, or none
    POOL = "pool"  # a group activity the community pool pays more than the bank allows alone
    BANK = "bank"  # a bank's limits loosened (default limit, the pool's range and size)
    MOBILE = "mobile"  # a mobile a coordinator sets for a member: a key to their account


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class Approval(Model):
    __tablename__ = "approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ApprovalStatus.PENDING)
    # The member the request is about (whose log-in or limit), if one.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    # What to do once agreed (an address, a limit in minutes, an activity's details).
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_at: Mapped[datetime | None]

    member: Mapped[Member | None] = relationship(foreign_keys=[member_id])
    requested_by: Mapped[Member] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Member | None] = relationship(foreign_keys=[decided_by_id])
