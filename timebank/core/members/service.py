"""Members' state changes: profile, location, approval, refusal and suspension, enrolment
by a coordinator. No request objects."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from timebank.core import banks, four_eyes
from timebank.core.auth import end_sessions, send_login_link
from timebank.core.errors import Refused
from timebank.core.ledger import writer as ledger
from timebank.core.links import bank_url, site_url
from timebank.core.members.lookup import MemberRow, applications
from timebank.core.models import (
    ApprovalKind,
    Bank,
    BankRole,
    Member,
    Membership,
    MemberStatus,
    Role,
)
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.notify import absolute, notify, queue_email
from timebank.core.texts import phones
from timebank.core.words import status_word
from timebank.infra import geo
from timebank.infra.extensions import db

PROFILE_FIELDS = ("display_name", "neighbourhood", "skills", "availability", "bio", "phone")

# Which status each action moves a member from, and to.
TRANSITIONS = {
    "approve": (MemberStatus.PENDING, MemberStatus.ACTIVE),
    "decline": (MemberStatus.PENDING, MemberStatus.DECLINED),
    "suspend": (MemberStatus.ACTIVE, MemberStatus.SUSPENDED),
    "reactivate": (MemberStatus.SUSPENDED, MemberStatus.ACTIVE),
}
# Saying no to someone needs a reason, which they are told.
NEEDS_REASON = ("decline", "suspend")


def may_change_status(member, by: Member, bank_id: int) -> bool:
    """May ``by`` approve, decline, suspend or reactivate ``member`` in this bank?

    Nobody changes their own; only an admin changes anyone who is staff anywhere (a
    coordinator of any bank, an admin, a council viewer; suspended ones too).
    """
    if member.id == by.id:
        return False
    if by.is_admin:
        return True
    return not staff_anywhere(member)


def staff_anywhere(member) -> bool:
    """An admin, a council viewer or a coordinator of any bank (suspended ones too). The
    members list reads the same with each row (``lookup.MemberRow``)."""

    if isinstance(member, MemberRow):
        return member.staff_anywhere is not False  # (unknown: staff, so no buttons)
    return member.install_role in (Role.ADMIN, Role.COUNCIL) or any(
        m.role == BankRole.COORDINATOR for m in member.all_memberships())


def may_edit_details(member: Member, by: Member, bank_id: int) -> bool:
    """A person's details are one record for every bank: a coordinator edits them only for
    someone who belongs to no bank the coordinator does not run."""
    if not may_change_status(member, by, bank_id):
        return False
    if by.is_admin:
        return True
    theirs = {m.bank_id for m in member.all_memberships()}
    return all(by.role_in(b) == BankRole.COORDINATOR for b in theirs)


class MemberError(Refused):
    """A refused change; ``status`` is the HTTP status a page should answer with."""


@dataclass(frozen=True)
class Located:
    found: bool
    note: str = ""  # what to tell the member when the address was not found


def locate(member: Member, address: str, coder: geo.Geocoder) -> Located:
    """Geocode ``address`` into the member's private and public points.

    Call before changing anything else: the geocoder releases the caller's
    transaction while it waits for the service.
    """
    if member.address and member.address != address:
        geo.forget(member.address)  # their old home is nobody's business any more
    if not address:
        member.address = ""
        _place(member, None, None)
        return Located(False)
    try:
        place = coder.geocode(address)
    except geo.GeocoderUnavailable:
        member.address = address
        return Located(False, _("We could not look up the address just now, so distances "
                                "are not used yet. We will try again later."))
    member.address = address
    if place is None:
        _place(member, None, None)
        return Located(False, _("We could not find that address. Try a postcode, or a street "
                                "and town."))
    _place(member, place.latitude, place.longitude)
    return Located(True)


def _place(member: Member, latitude: float | None, longitude: float | None) -> None:
    member.latitude, member.longitude = latitude, longitude
    if latitude is None or longitude is None:
        member.public_latitude = member.public_longitude = None
    else:
        member.public_latitude, member.public_longitude = geo.public_point(latitude, longitude)


def update_profile(member: Member, values: dict, coder: geo.Geocoder) -> Located:
    """Save the member's own profile; look the address up again when it changed."""
    address = (values.get("address") or "").strip()
    located = Located(member.latitude is not None)
    if address != member.address or (address and member.latitude is None):
        located = locate(member, address, coder)  # before any change: no lock held meanwhile
    for name in PROFILE_FIELDS:
        setattr(member, name, (values.get(name) or "").strip())
    member.email_preference = values["email_preference"]
    member.matching_opt_out = bool(values.get("matching_opt_out"))
    member.findable_elsewhere = bool(values.get("findable_elsewhere"))
    member.share_contact = bool(values.get("share_contact"))
    member.directory_contact = bool(values.get("directory_contact"))
    member.language = values.get("language") or None
    audit(member.id, "member.update_profile", "member", member.id)
    db.session.commit()
    return located


def change_status(member: Member, action: str, by: Member, bank_id: int,
                  reason: str = "") -> Member:
    """Approve, decline, suspend or reactivate ``member`` in a bank; raise MemberError when
    not allowed. Declining and suspending need a reason, which the person is told.

    The login follows: approval or reactivation opens it; a suspension or a refusal closes
    it when no other bank still has the person as an active member.
    """
    if member.id == by.id:
        raise MemberError(_("You cannot change your own membership status."))
    membership = member.membership_in(bank_id)
    if membership is None:
        raise MemberError(_("That person is not a member of this bank."), status=404)
    if not may_change_status(member, by, bank_id):
        raise MemberError(_("Only an admin can suspend or reactivate a coordinator or admin."),
                          status=403)
    reason = (reason or "").strip()
    if action in NEEDS_REASON and not reason:
        raise MemberError(_("Give a reason; %(name)s will be told it.",
                            name=member.display_name), "reason", status=422)
    before, after = TRANSITIONS[action]
    if action == "approve" and member.email_verified_at is None and member.email:
        raise MemberError(_("%(name)s has not confirmed their e-mail address yet.",
                            name=member.display_name), status=409)
    if membership.status != before:
        raise MemberError(_("%(name)s is %(status)s, so that cannot be done now.",
                            name=member.display_name, status=status_word(membership.status)),
                          status=409)
    membership.status = after
    membership.status_reason = reason
    if action == "approve":
        membership.approved_at = member.approved_at = utcnow()
        membership.approved_by_id = member.approved_by_id = by.id
        ledger.open_account(member, bank_id)
    if after == MemberStatus.ACTIVE:
        member.status = MemberStatus.ACTIVE
    else:
        end_sessions(member)  # a suspension ends their sessions; reactivation revives none
        if not _active_elsewhere(member, bank_id):
            member.status = after
    member.forget_memberships()
    _tell(member, action, reason, membership.bank)
    audit(by.id, f"member.{action}", "member", member.id, before=before, bank=bank_id,
          **({"reason": reason} if reason else {}))
    db.session.commit()
    return member


def _tell(member: Member, action: str, reason: str, bank: Bank) -> None:
    """The person hears of a decision about their membership by e-mail, whatever their
    e-mail setting (a member without e-mail hears from the coordinator)."""
    if not member.email:
        return

    with force_locale(member.language or bank.default_language or "en"):
        if action == "approve":
            subject = _("Welcome to %(bank)s", bank=bank.name)
            body = _("Your membership of %(bank)s is approved. You can log in now:",
                     bank=bank.name) + "\n\n" + absolute(site_url("auth.login"))
        elif action == "decline":
            subject = _("Your application to %(bank)s", bank=bank.name)
            body = _("Your application to join %(bank)s was not accepted. The coordinator "
                     "gave this reason: %(reason)s", bank=bank.name, reason=reason)
        elif action == "suspend":
            subject = _("Your membership of %(bank)s is suspended", bank=bank.name)
            body = _("Your membership of %(bank)s is suspended. The coordinator gave this "
                     "reason: %(reason)s", bank=bank.name, reason=reason)
        else:
            subject = _("Your membership of %(bank)s is active again", bank=bank.name)
            body = _("Your membership of %(bank)s is active again. Welcome back.",
                     bank=bank.name)
        queue_email(member, subject, body + "\n", bank_name=bank.name, account=True)


def _active_elsewhere(member: Member, bank_id: int) -> bool:
    return member.install_role != Role.RESIDENT or bool(db.session.scalar(
        select(Membership.id).where(Membership.member_id == member.id,
                                    Membership.bank_id != bank_id,
                                    Membership.status == MemberStatus.ACTIVE).limit(1)))


def locate_pending(coder: geo.Geocoder) -> tuple[int, int]:
    """Retry members whose address the geocoder could not answer before: (found, missing).

    Raises geo.GeocoderUnavailable when the service is still down.
    """
    waiting = db.session.scalars(
        select(Member.id).where(Member.address != "", Member.latitude.is_(None))).all()
    found = missing = 0
    for member_id in waiting:
        place = coder.geocode(db.session.get(Member, member_id).address)
        member = db.session.get(Member, member_id)
        if place is None:
            missing += 1
            continue
        _place(member, place.latitude, place.longitude)
        db.session.commit()
        found += 1
    return found, missing


def set_role(member: Member, role: str, by: Member, bank_id: int) -> Member:
    """An admin changes another person's role: admin and council viewer are roles of the
    install; resident and coordinator are roles in the bank."""
    if member.id == by.id:
        raise MemberError(_("You cannot change your own role."))
    if role in (Role.ADMIN, Role.COORDINATOR) and by.id in four_eyes.sponsors(member.id):
        # An account one approved or enrolled, made staff by the same hand, could be the
        # second pair of eyes on its maker's own gain (four_eyes.py).
        raise MemberError(_("You approved or enrolled %(name)s: another admin gives them "
                            "this role.", name=member.display_name), status=409)
    before = member.role_in(bank_id)
    if role in (Role.ADMIN, Role.COUNCIL):
        member.install_role = role
    else:
        member.install_role = Role.RESIDENT
        membership = member.membership_in(bank_id)
        if membership is None:
            raise MemberError(_("That person is not a member of this bank."), status=404)
        membership.role = role
    end_sessions(member)  # a new role starts with a new log-in
    member.forget_memberships()
    audit(by.id, "member.set_role", "member", member.id, before=before, after=role,
          bank=bank_id)
    db.session.commit()
    return member


def create_active(email: str, password: str, role: str, display_name: str | None = None,
                  neighbourhood: str = "", bank: Bank | None = None,
                  phone: str | None = None) -> Member:
    """An active person made from the command line (the first admin, say).

    Resident and coordinator are roles in ``bank``; admin and council viewer are roles
    of the install (an admin also gets an account in ``bank`` to trade with). ``phone``:
    their mobile, verified (the operator at the console vouches for it).
    """
    if len(password) < 10:
        raise MemberError(_("The password must be at least 10 characters."))
    email = Member.normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise MemberError(_("That is not an email address."))
    if db.session.scalar(select(Member.id).where(Member.email == email)):
        raise MemberError(_("%(email)s is already registered: to give them a role in "
                            "another bank, use add-member.", email=email))
    install_role = role if role in (Role.ADMIN, Role.COUNCIL) else Role.RESIDENT
    member = Member(email=email, display_name=(display_name or email.split("@")[0])[:80],
                    install_role=install_role, status=MemberStatus.ACTIVE,
                    neighbourhood=neighbourhood[:80], email_verified_at=utcnow())
    member.set_password(password)
    number = None
    if phone:
        try:
            number = phones.normalise(phone, bank.id if bank is not None else None)
        except phones.PhoneRefused as refused:
            raise MemberError(refused.message) from None
        if db.session.scalar(select(Member.id).where(Member.mobile == number)):
            raise MemberError(_("That mobile is already another member's. Each mobile "
                                "belongs to one member."))
    db.session.add(member)
    db.session.flush()
    if number is not None:
        phones.set_verified(member, number, member, utcnow())
    if bank is not None and role != Role.COUNCIL:
        bank_role = BankRole.COORDINATOR if role == Role.COORDINATOR else BankRole.RESIDENT
        banks.join(member, bank, bank_role, MemberStatus.ACTIVE)
    db.session.commit()
    return member


DETAIL_FIELDS = ("display_name", "neighbourhood", "phone", "skills", "availability")


def enrol(values: dict, by: Member, bank: Bank, coder: geo.Geocoder) -> tuple[Member, Located]:
    """A coordinator enrols someone who does not use e-mail or a computer: active at once,
    no password. An e-mail address, if given, gets them a link to make a log-in.

    Everything is checked and looked up before the member is added, so a refusal leaves
    nothing half-made (the geocoder commits what is pending while it waits).
    """
    member = Member(status=MemberStatus.ACTIVE, install_role=Role.RESIDENT, email=None,
                    display_name="", password_hash="")
    email = _new_email(member, values, {bank.id})
    located = _locate_for(member, values, coder)
    member.set_password(secrets.token_urlsafe(32))  # unknown to all: no log-in yet
    _set_details(member, values)
    db.session.add(member)
    db.session.flush()
    membership = banks.join(member, bank, BankRole.RESIDENT, MemberStatus.ACTIVE, by=by)
    membership.approved_at = member.approved_at = utcnow()
    membership.approved_by_id = member.approved_by_id = by.id
    ledger.open_account(member, bank.id)
    if email:
        ask_for_login(member, email, by, bank.id)
    audit(by.id, "member.enrol", "member", member.id, bank=bank.id)
    db.session.commit()
    return member, located


def edit_details(member: Member, values: dict, by: Member, coder: geo.Geocoder,
                 bank_id: int) -> Located:
    """A coordinator updates a member's details (say, from a phone call)."""
    email = _new_email(member, values, {bank_id})
    located = _locate_for(member, values, coder)
    _set_details(member, values)
    if email:
        ask_for_login(member, email, by, bank_id)
    audit(by.id, "member.edit_details", "member", member.id)
    db.session.commit()
    return located


def _new_email(member: Member, values: dict, bank_ids: set[int]) -> str:
    """The address staff give someone, checked; '' when it does not change."""
    email = Member.normalise_email(values.get("email") or "")
    if not email or email == (member.email or ""):
        return ""
    # Staff give a log-in to someone without one, or correct an address nobody has
    # confirmed yet; changing an address someone logs in with is theirs alone (confirmed
    # from the new address), or it would be a takeover.
    if member.email and member.email_verified_at is not None:
        raise MemberError(_("%(name)s changes their own e-mail address, from their "
                            "profile.", name=member.display_name), "email", status=422)
    _check_address_free(email, member, bank_ids)
    return email


def _check_address_free(email: str, member: Member, bank_ids: set[int]) -> None:
    """Refuse an address another member of a bank ``member`` belongs to uses. Whether
    anyone else in the install has it is not the coordinator's to learn: that is found
    out, and its owner told, only when the log-in is given (``give_login``)."""
    owner = db.session.scalar(select(Member).where(Member.email == email))
    if owner is None or owner.id == member.id:
        return
    theirs = bank_ids | {m.bank_id for m in member.all_memberships()}
    if theirs & {m.bank_id for m in owner.all_memberships()}:
        raise MemberError(_("Another member uses that e-mail address."), "email", status=422)


def ask_for_login(member: Member, email: str, by: Member, bank_id: int) -> None:
    """A log-in for someone staff enrolled waits for a second coordinator: whoever types
    the address could otherwise log in as them (``four_eyes``)."""
    four_eyes.ask(ApprovalKind.LOGIN, bank_id, by, member, email=email)


def give_login(member: Member, email: str, by: Member) -> bool:
    """Set the address a second coordinator agreed to and send the link to choose a
    password (the old link, if the address was mistyped, dies with the old address).
    False when the address has meanwhile become someone else's: they are told instead."""

    if member.erased_at is not None:
        raise MemberError(_("%(name)s's details were erased.", name=member.display_name),
                          "email", status=409)
    if member.email and member.email_verified_at is not None:
        # They confirmed an address of their own since it was asked: theirs stands.
        raise MemberError(_("%(name)s changes their own e-mail address, from their "
                            "profile.", name=member.display_name), "email", status=409)
    owner = db.session.scalar(select(Member).where(Member.email == email))
    if owner is not None and owner.id != member.id:
        _check_address_free(email, member, set())
        with force_locale(owner.language or "en"):
            queue_email(owner, _("Your address was given for a new log-in"),
                        _("A coordinator asked for a log-in for someone at this address. "
                          "You already have an account with it, so nothing was changed. "
                          "Log in as usual, and ask to join another time bank from your "
                          "account if you wish."), account=True)
        return False
    member.email = email
    member.email_verified_at = None
    db.session.flush()
    send_login_link(member, by)
    return True


def _locate_for(member: Member, values: dict, coder: geo.Geocoder) -> Located:
    address = (values.get("address") or "").strip()
    if address != member.address or (address and member.latitude is None):
        return locate(member, address, coder)
    return Located(member.latitude is not None)


def _set_details(member: Member, values: dict) -> None:
    for name in DETAIL_FIELDS:
        setattr(member, name, (values.get(name) or "").strip())
    member.language = values.get("language") or None


def set_language(member: Member, code: str) -> None:
    """The language the member reads the site and their e-mails in."""
    member.language = code
    db.session.commit()


# -- helpers: residents who welcome newcomers and buddy members without a computer -------

HELPER_DAYS = 30  # newcomers: approved this many days ago or less


def set_helper(member: Member, on: bool, by: Member, bank_id: int) -> Member:
    """A coordinator makes a resident a helper of the bank, or a resident again."""
    membership = member.membership_in(bank_id)
    if membership is None or membership.status != MemberStatus.ACTIVE:
        raise MemberError(_("Only an active member can be a helper."), status=409)
    if membership.role not in (BankRole.RESIDENT, BankRole.HELPER) or member.install_role in (
            Role.ADMIN, Role.COUNCIL):
        raise MemberError(_("Only a resident can be made a helper."), status=409)
    membership.role = BankRole.HELPER if on else BankRole.RESIDENT
    end_sessions(member)  # a new role starts with a new log-in
    member.forget_memberships()
    audit(by.id, "member.set_helper", "member", member.id, helper=on, bank=bank_id)
    notify(member, _l("A coordinator asked you to be a helper: to welcome newcomers and to "
                      "help members who do not use a computer. Thank you!") if on else
           _l("You are no longer a helper. Thank you for all you did."),
           bank_url("main.index", bank_id), bank_id=bank_id)
    db.session.commit()
    return member


HELPER_RECENT_SHOWN = 50  # the newest newcomers; a launch month may bring hundreds


def helper_lists(bank_id: int, now=None) -> dict:
    """What a helper sees: applications waiting and the newest of the members who joined
    in the last 30 days (to welcome), with how many joined, and members enrolled without
    e-mail (to buddy)."""
    now = now or utcnow()
    waiting = list(db.session.scalars(applications(bank_id).order_by(Member.display_name)))
    joined = (select(Member).join(Membership, Membership.member_id == Member.id)
              .where(Membership.bank_id == bank_id, Membership.status == MemberStatus.ACTIVE,
                     Membership.approved_at >= now - timedelta(days=HELPER_DAYS),
                     Member.erased_at.is_(None)))
    recent = list(db.session.scalars(joined.order_by(Membership.approved_at.desc(), Member.id)
                                     .limit(HELPER_RECENT_SHOWN)))
    recent_count = (len(recent) if len(recent) < HELPER_RECENT_SHOWN else db.session.scalar(
        select(func.count()).select_from(joined.subquery())))
    offline = list(db.session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id)
        .where(Membership.bank_id == bank_id, Membership.status == MemberStatus.ACTIVE,
               Member.email.is_(None), Member.erased_at.is_(None))
        .order_by(Member.display_name)))
    return {"waiting": waiting, "recent": recent, "recent_count": recent_count,
            "offline": offline}
