"""Safeguarding, as UK time banks practise it: a kind of help may need a check (a DBS
check, references, an induction) before a member gives it; coordinators record that a
member has one, when it was done, by whom and until when. Never the certificate's
contents: only that it was seen.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.infra.extensions import Model, db

if TYPE_CHECKING:
    from timebank.core.models.members import Member


class CheckKind(StrEnum):
    DBS = "dbs"
    REFERENCES = "references"
    INDUCTION = "induction"


CHECK_WORDS = {CheckKind.DBS: _l("DBS check"), CheckKind.REFERENCES: _l("References"),
               CheckKind.INDUCTION: _l("Induction")}


class CategoryCheck(Model):
    """A check a kind of help needs (admins choose)."""

    __tablename__ = "category_check"
    __table_args__ = (db.UniqueConstraint("category_id", "kind", name="one_need_each"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))


class MemberCheck(Model):
    """A check a member has: seen by a coordinator, valid from ``done_on`` until
    ``expires_on`` (inclusive; None: it does not expire)."""

    __tablename__ = "member_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    done_on: Mapped[date]
    expires_on: Mapped[date | None] = mapped_column(index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))  # whose coordinator saw it
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship("Member", foreign_keys=[member_id], lazy="joined")

    @property
    def kind_word(self) -> str:
        return str(CHECK_WORDS.get(CheckKind(self.kind), self.kind))
