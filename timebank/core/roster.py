"""Who runs a bank (asked by the bank's pages, and by the four-eyes rules)."""

from __future__ import annotations

from sqlalchemy import select

from timebank.core.models import Bank, Member, Membership, MemberStatus
from timebank.core.models.banks import BankRole
from timebank.infra.extensions import db


def coordinators_of(bank: Bank) -> list[Member]:
    return list(db.session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id)
        .where(Membership.bank_id == bank.id, Membership.role == BankRole.COORDINATOR,
               Membership.status == MemberStatus.ACTIVE).order_by(Member.display_name)))
