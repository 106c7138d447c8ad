"""Banks and memberships: creating a bank, its system accounts, joining one. No requests."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .. import ledger
from ..errors import Refused
from ..extensions import db
from ..models import Bank, BankRole, CouncilArea, Member, Membership, MemberStatus
from ..models.audit import record as audit
from ..models.base import utcnow

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
CONTACT_FIELDS = ("office_address", "phone", "email", "opening_hours", "welcome_text",
                  "terms_text", "privacy_text")
SETTINGS_FIELDS = ("name", "default_floor", "default_language", "interbank", "clearing_limit",
                   "min_lon", "min_lat", "max_lon", "max_lat")


class BankError(Refused):
    pass


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "bank"


def default_area() -> CouncilArea:
    """The install's council area (one per install; banks in it share the asset map)."""
    area = db.session.scalar(select(CouncilArea).order_by(CouncilArea.id).limit(1))
    if area is None:
        area = CouncilArea(slug="area", name=current_app.config["TIMEBANK_AREA_NAME"])
        db.session.add(area)
        db.session.flush()
    return area


def create_bank(slug: str, name: str, by: Member | None = None, **settings) -> Bank:
    """A new bank with its community pool and clearing account. Caller commits."""
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise BankError(_("Use lower-case letters, digits and hyphens (up to 40) for the short "
                        "name."), "slug")
    if db.session.scalar(select(Bank.id).where(Bank.slug == slug)):
        raise BankError(_("There is already a bank called “%(slug)s”.", slug=slug), "slug")
    name = name.strip()
    if not name:
        raise BankError(_("Give the bank a name."), "name")
    settings.setdefault("default_floor", current_app.config["TIMEBANK_DEFAULT_FLOOR_MINUTES"])
    bank = Bank(slug=slug, name=name[:120], area_id=default_area().id, **settings)
    db.session.add(bank)
    db.session.flush()
    ledger.pool_account(bank.id)
    ledger.clearing_account(bank.id)
    audit(by.id if by else None, "bank.create", "bank", bank.id, slug=slug)
    return bank


def ensure_default_bank() -> Bank:
    """The first bank, made from TIMEBANK_BANK_NAME when there is none yet. Caller commits."""
    bank = db.session.scalar(select(Bank).order_by(Bank.id).limit(1))
    if bank is None:
        name = current_app.config["TIMEBANK_BANK_NAME"]
        bank = create_bank(slugify(name), name)
    return bank


def update(bank: Bank, values: dict, by: Member, fields=CONTACT_FIELDS) -> Bank:
    """Change the bank's contact details (coordinators) or settings too (admins)."""
    for name in fields:
        if name in values:
            value = values[name]
            if name in CONTACT_FIELDS or name == "name":
                value = (value or "").strip()  # a field left out of the form is empty
            setattr(bank, name, value)
    audit(by.id, "bank.update", "bank", bank.id, fields=sorted(set(fields) & set(values)))
    db.session.commit()
    return bank


def join(member: Member, bank: Bank, role: str = BankRole.RESIDENT,
         status: str = MemberStatus.PENDING, by: Member | None = None) -> Membership:
    """Make ``member`` a member of ``bank`` (or change their role there). Caller commits."""
    membership = db.session.scalar(select(Membership).where(
        Membership.member_id == member.id, Membership.bank_id == bank.id))
    if membership is None:
        membership = Membership(member_id=member.id, bank_id=bank.id, role=role, status=status)
        db.session.add(membership)
    else:
        membership.role = role
        membership.status = status
    if status == MemberStatus.ACTIVE:
        membership.approved_at = membership.approved_at or utcnow()
        membership.approved_by_id = membership.approved_by_id or (by.id if by else None)
        ledger.open_account(member, bank.id)
    db.session.flush()
    member.forget_memberships()
    return membership


def all_banks() -> list[Bank]:
    return list(db.session.scalars(select(Bank).order_by(Bank.name)))


def bank_by_slug(slug: str) -> Bank | None:
    return db.session.scalar(select(Bank).where(Bank.slug == slug))
