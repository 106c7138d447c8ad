"""Members' state changes: profile, location, approval and suspension. No request objects."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from .. import geo, ledger
from ..auth.service import end_sessions
from ..banks import service as banks
from ..errors import Refused
from ..extensions import db
from ..models import Bank, BankRole, Member, Membership, MemberStatus, Role
from ..models.audit import record as audit
from ..models.base import utcnow
from ..templating import status_word

PROFILE_FIELDS = ("display_name", "neighbourhood", "skills", "availability", "bio", "phone")

# Which status each action moves a member from, and to.
TRANSITIONS = {
    "approve": (MemberStatus.PENDING, MemberStatus.ACTIVE),
    "suspend": (MemberStatus.ACTIVE, MemberStatus.SUSPENDED),
    "reactivate": (MemberStatus.SUSPENDED, MemberStatus.ACTIVE),
}


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
    if not address:
        member.address = ""
        _place(member, None, None)
        return Located(False)
    try:
        place = coder.geocode(address)
    except geo.GeocoderUnavailable:
        member.address = address
        return Located(False, "We could not look up your address just now, so distances are "
                              "not used yet. We will try again later.")
    member.address = address
    if place is None:
        _place(member, None, None)
        return Located(False, "We could not find that address. Try a postcode, or a street "
                              "and town.")
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
    member.language = values.get("language") or None
    audit(member.id, "member.update_profile", "member", member.id)
    db.session.commit()
    return located


def change_status(member: Member, action: str, by: Member, bank_id: int) -> Member:
    """Approve, suspend or reactivate ``member`` in a bank; raise MemberError when not allowed.

    The login follows: approval or reactivation opens it; a suspension closes it
    when no other bank still has the person as an active member.
    """
    if member.id == by.id:
        raise MemberError(_("You cannot change your own membership status."))
    membership = member.membership_in(bank_id)
    if membership is None:
        raise MemberError(_("That person is not a member of this bank."), status=404)
    # Whatever their status now: a suspended coordinator is still a coordinator.
    staff = (membership.role == BankRole.COORDINATOR
             or member.install_role in (Role.ADMIN, Role.COUNCIL))
    if staff and not by.is_admin:
        raise MemberError(_("Only an admin can suspend or reactivate a coordinator or admin."),
                          status=403)
    before, after = TRANSITIONS[action]
    if action == "approve" and member.email_verified_at is None:
        raise MemberError(_("%(name)s has not confirmed their e-mail address yet.",
                            name=member.display_name), status=409)
    if membership.status != before:
        raise MemberError(_("%(name)s is %(status)s, so that cannot be done now.",
                            name=member.display_name, status=status_word(membership.status)),
                          status=409)
    membership.status = after
    if action == "approve":
        membership.approved_at = member.approved_at = utcnow()
        membership.approved_by_id = member.approved_by_id = by.id
        ledger.open_account(member, bank_id)
    if after == MemberStatus.ACTIVE:
        member.status = MemberStatus.ACTIVE
    else:
        end_sessions(member)  # a suspension ends their sessions; reactivation revives none
        if not _active_elsewhere(member, bank_id):
            member.status = MemberStatus.SUSPENDED
    member.forget_memberships()
    audit(by.id, f"member.{action}", "member", member.id, before=before, bank=bank_id)
    db.session.commit()
    return member


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
                  neighbourhood: str = "", bank: Bank | None = None) -> Member:
    """An active person made from the command line (the first admin, say).

    Resident and coordinator are roles in ``bank``; admin and council viewer are roles
    of the install (an admin also gets an account in ``bank`` to trade with).
    """
    if len(password) < 10:
        raise MemberError(_("The password must be at least 10 characters."))
    email = Member.normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise MemberError(_("That is not an email address."))
    if db.session.scalar(select(Member.id).where(Member.email == email)):
        raise MemberError(_("%(email)s is already registered.", email=email))
    install_role = role if role in (Role.ADMIN, Role.COUNCIL) else Role.RESIDENT
    member = Member(email=email, display_name=(display_name or email.split("@")[0])[:80],
                    install_role=install_role, status=MemberStatus.ACTIVE,
                    neighbourhood=neighbourhood[:80], email_verified_at=utcnow())
    member.set_password(password)
    db.session.add(member)
    db.session.flush()
    if bank is not None and role != Role.COUNCIL:
        bank_role = BankRole.COORDINATOR if role == Role.COORDINATOR else BankRole.RESIDENT
        banks.join(member, bank, bank_role, MemberStatus.ACTIVE)
    db.session.commit()
    return member


def set_language(member: Member, code: str) -> None:
    """The language the member reads the site and their e-mails in."""
    member.language = code
    db.session.commit()
