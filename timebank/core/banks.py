"""Banks and memberships: creating a bank, its system accounts, joining one. No requests."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from timebank.core import four_eyes
from timebank.core.errors import Refused
from timebank.core.ledger import writer as ledger
from timebank.core.links import bank_url
from timebank.core.models import Bank, BankRole, CouncilArea, Member, Membership, MemberStatus
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.notify import notify
from timebank.core.roster import coordinators_of  # noqa: F401  (the bank's page lists them)
from timebank.core.texts import outbox
from timebank.infra.extensions import db

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
CONTACT_FIELDS = ("office_address", "phone", "email", "opening_hours", "welcome_text",
                  "terms_text", "privacy_text")
# What coordinators set about the area's register (a number, not words).
REGISTER_FIELDS = ("asset_check_months",)
SETTINGS_FIELDS = REGISTER_FIELDS + (
                   "name", "default_floor", "default_language", "english_dates", "interbank",
                   "clearing_limit", "min_lon", "min_lat", "max_lon", "max_lat", "pool_floor",
                   "pool_cap", "pool_alone_minutes", "country", "sms_monthly_cap")
# Limits that let more hours be made or paid when loosened: one person alone may tighten
# them, a second agrees to loosen them (four_eyes.py). +1: a higher value is looser.
LOOSER = {"default_floor": -1, "pool_floor": -1, "pool_cap": 1, "pool_alone_minutes": 1}


def loosened(bank: Bank, values: dict) -> dict:
    """The limits ``values`` would loosen, and to what."""
    return {name: values[name] for name, way in LOOSER.items()
            if name in values and values[name] is not None
            and (values[name] - getattr(bank, name)) * way > 0}


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
    if "sms_monthly_cap" in fields and values.get("sms_monthly_cap", bank.sms_monthly_cap) \
            > bank.sms_monthly_cap:
        outbox.release_held(bank.id)  # a raised cap: the texts it held go now
    for name in fields:
        if name in values:
            value = values[name]
            if name in REGISTER_FIELDS and value is None:
                continue  # a form without the field keeps the bank's setting
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


JOIN_MESSAGE_MAX = 500


def ask_to_join(member: Member, bank: Bank, message: str = "") -> Membership:
    """A member of another bank (or of none yet) asks to join ``bank``: a pending
    membership its coordinators see among their applications, told with the message.
    Asking again while waiting changes nothing. Commits."""


    membership = member.membership_in(bank.id)
    if membership is not None and membership.status == MemberStatus.ACTIVE:
        raise BankError(_("You are already a member of %(bank)s.", bank=bank.name))
    if membership is not None and membership.status == MemberStatus.SUSPENDED:
        raise BankError(_("Your membership of %(bank)s is suspended; please ask its "
                          "coordinators.", bank=bank.name))
    if membership is not None and membership.status == MemberStatus.PENDING:
        return membership
    if membership is not None and membership.status == MemberStatus.DECLINED:
        # Asked and answered: asking again would only repeat the coordinators' mail.
        raise BankError(_("%(bank)s's coordinators declined your application; please ask "
                          "them.", bank=bank.name))
    message = " ".join((message or "").split())[:JOIN_MESSAGE_MAX]
    membership = join(member, bank, BankRole.RESIDENT, MemberStatus.PENDING)
    membership.status_reason = ""
    membership.terms_accepted_at = utcnow()
    audit(member.id, "bank.ask_to_join", "bank", bank.id, **({"message": message}
                                                             if message else {}))
    coordinators = db.session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id)
        .where(Membership.bank_id == bank.id, Membership.role == BankRole.COORDINATOR,
               Membership.status == MemberStatus.ACTIVE, Member.erased_at.is_(None))).all()
    # Which other banks they belong to is theirs to say (in the message), not ours.
    for coordinator in coordinators:
        if message:
            text = _l("%(name)s asks to join, saying: “%(message)s”. Approve or decline "
                      "them.", name=member.display_name, message=message)
        else:
            text = _l("%(name)s asks to join. Approve or decline them.",
                      name=member.display_name)
        notify(coordinator, text, bank_url("members.detail", bank.id, member_id=member.id),
               subject=_l("A new application"), bank_id=bank.id)
    db.session.commit()
    return membership


def add_member(by: Member | None, bank: Bank, email: str, role: str) -> Membership:
    """An admin (``by``; None: the operator, from the command line) makes an existing
    person, found by e-mail address, a member or coordinator of ``bank``: an active
    membership with an account, the person told. Never themselves: an admin who wants to
    coordinate a bank asks another admin. Commits."""


    if role not in (BankRole.RESIDENT, BankRole.COORDINATOR):
        raise BankError(_("Choose resident or coordinator."), "role")
    person = db.session.scalar(select(Member).where(
        Member.email == Member.normalise_email(email or ""), Member.erased_at.is_(None)))
    if person is None:
        raise BankError(_("Nobody has an account with that e-mail address: they can join "
                          "from the bank's page, or a coordinator can enrol them."), "email")
    if by is not None and person.id == by.id:
        raise BankError(_("Another admin must give you a role in a bank."), "email")
    if by is not None and role == BankRole.COORDINATOR and by.id in four_eyes.sponsors(
            person.id):
        raise BankError(_("You approved or enrolled %(name)s: another admin makes them a "
                          "coordinator.", name=person.display_name), "email")
    if person.install_role == "council":
        raise BankError(_("A council viewer sees the area's figures and takes no part in "
                          "a bank."), "email")
    if person.status != MemberStatus.ACTIVE or (person.email and not person.email_verified_at):
        raise BankError(_("That account is not active yet (its address unconfirmed, or its "
                          "log-in suspended): it must be active before it takes a role."),
                        "email")
    before = person.membership_in(bank.id)
    if before is not None and before.status == MemberStatus.SUSPENDED:
        raise BankError(_("This bank's coordinators suspended that membership: they can "
                          "reactivate it."), "email")
    membership = join(person, bank, role, MemberStatus.ACTIVE, by)
    membership.status_reason = ""
    audit(by.id if by else None, "bank.add_member", "member", person.id, bank=bank.id, role=role,
          before=(before.role + "/" + before.status) if before is not None else None)
    words = (_l("You are now a coordinator of %(bank)s.", bank=bank.name)
             if role == BankRole.COORDINATOR else
             _l("You are now a member of %(bank)s.", bank=bank.name))
    notify(person, words, bank_url("main.index", bank.id), bank_id=bank.id)
    db.session.commit()
    return membership
