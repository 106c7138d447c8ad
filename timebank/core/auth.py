"""Registering and checking credentials. No request objects: routes pass plain values."""

from __future__ import annotations

import hashlib

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from timebank.core import banks
from timebank.core.errors import Refused
from timebank.core.links import bank_url, site_url
from timebank.core.models import Bank, Member, Membership, MemberStatus, ResetRequest
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.notify import absolute, notify, queue_email, site_context
from timebank.infra import passwords
from timebank.infra.extensions import db


class AuthError(Refused):
    """A refusal; ``field`` names the form field the message belongs beside."""


def register(email: str, display_name: str, neighbourhood: str, password: str,
             bank: Bank) -> Member | None:
    """A new member of ``bank``, pending until they confirm their address and one of its
    coordinators approves them. They accepted the bank's terms (the form insists).

    For an address already registered nothing is made and its owner is told by e-mail:
    the page answers the same either way, so it reveals nobody's address.
    """
    email = Member.normalise_email(email)
    known = db.session.scalar(select(Member).where(Member.email == email))
    if known is not None:
        passwords.make(password)  # as long as a new member's hash: time tells nothing

        with force_locale(known.language or "en"):
            queue_email(known, _("Someone tried to join with your e-mail address"),
                        _("Someone asked to join %(bank)s with this e-mail address. If it was "
                          "you, you already have an account: log in, or ask a coordinator "
                          "for help. If it was not you, you need do nothing.",
                          bank=bank.name) + "\n", bank_name=bank.name)
        audit(None, "member.register_known_address", "member", known.id, bank=bank.id)
        db.session.commit()
        return None
    member = Member(email=email, display_name=display_name.strip(),
                    neighbourhood=neighbourhood.strip(), status=MemberStatus.PENDING)
    member.set_password(password)
    db.session.add(member)
    db.session.flush()
    banks.join(member, bank).terms_accepted_at = utcnow()
    audit(member.id, "member.register", "member", member.id, bank=bank.id)
    _send_link(member, "verify", _("Please confirm your e-mail address"),
               _("Thank you for asking to join %(bank)s. Please open this link to confirm "
                 "that this address is yours; a coordinator then looks at your "
                 "application:", bank=bank.name))
    db.session.commit()
    return member


# -- signed links: confirm an address, change it, reset a password -----------------------
# One serializer; the purpose is part of the signed payload. Each link is also bound to
# what it changes (the password hash, the old address), so it dies once used.


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="timebank-account")


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def _bound(member: Member, purpose: str) -> str:
    """What a link is bound to: it stops working once any of this changes.

    Password links die with a new password or a new address (the old mailbox may be why
    the member moved); a change-of-address link dies when another change is asked for or
    this one is made; a confirmation, once the address changes.
    """
    if purpose in PASSWORD_LINKS:
        bound = f"{member.password_hash}|{member.email}"
    elif purpose == "email":
        bound = f"{member.email}|{member.pending_email}"
    else:
        bound = member.email or ""
    return fingerprint(bound)


# Links that set a password: "reset" (forgotten, one hour) and "login" (a coordinator gave a
# member without one an e-mail address; days, as they may not read e-mail every day).
PASSWORD_LINKS = ("reset", "login")


def _max_age(purpose: str) -> int:
    """Seconds a link lives: a password link briefly, an address confirmation for days."""
    key = "TIMEBANK_RESET_MAX_AGE" if purpose == "reset" else "TIMEBANK_CONFIRM_MAX_AGE"
    return int(current_app.config[key])


def _link_payload(member: Member, purpose: str, **extra) -> dict:
    return {"p": purpose, "m": member.id, "f": _bound(member, purpose), **extra}


def _send_link(member: Member, purpose: str, subject: str, lead: str, *,
               to_email: str | None = None, **extra) -> None:

    token = _serializer().dumps(_link_payload(member, purpose, **extra))
    endpoint = "auth.reset_password" if purpose in PASSWORD_LINKS else "auth.confirm"
    hours = max(1, _max_age(purpose) // 3600)
    body = (lead + "\n\n" + absolute(site_url(endpoint, token=token)) + "\n\n"
            + _("The link works once, for %(hours)s hours.", hours=hours) + "\n")
    with force_locale(member.language or "en"):
        queue_email(member, subject, body, to_email=to_email, account=True)


def read_link(token: str, purpose: str) -> tuple[Member, dict]:
    """The member a link is for; AuthError when it is forged, expired or already used."""
    dead = AuthError(_("This link has expired or has already been used. You can ask for "
                       "a new one."), "")
    try:
        data = _serializer().loads(token, max_age=_max_age(purpose))
    except BadSignature:  # includes SignatureExpired
        raise dead from None
    if not isinstance(data, dict) or data.get("p") != purpose:
        raise dead
    member = db.session.get(Member, data.get("m")) if isinstance(data.get("m"), int) else None
    if member is None or member.erased_at is not None:
        raise dead
    if data.get("f") != _bound(member, purpose):
        raise dead
    return member, data


def confirm_address(token: str) -> Member:
    """Confirm a new member's address, or a member's change to a new one."""
    try:
        member, data = read_link(token, "verify")
    except AuthError:
        member, data = read_link(token, "email")
    if data["p"] == "verify":
        if member.email_verified_at is None:
            member.email_verified_at = utcnow()
            audit(member.id, "member.email_verified", "member", member.id)
            _tell_coordinators_of_application(member)
        db.session.commit()
        return member
    new = Member.normalise_email(data.get("e", ""))
    if new != member.pending_email:
        raise AuthError(_("This link has expired or has already been used. You can ask for "
                          "a new one."), "")
    if db.session.scalar(select(Member.id).where(Member.email == new)):
        raise AuthError(_("Another account uses that address now."), "")
    old = member.email
    member.email, member.pending_email = new, None
    member.email_verified_at = utcnow()
    try:
        db.session.flush()
    except IntegrityError:  # the same address confirmed for another account at this moment
        db.session.rollback()
        raise AuthError(_("Another account uses that address now."), "") from None
    audit(member.id, "member.email_changed", "member", member.id)
    with force_locale(member.language or "en"):

        queue_email(member, _("Your e-mail address was changed"),
                    _("The e-mail address of your account was changed to %(new)s. If you did "
                      "not do this, contact a coordinator at once.", new=new) + "\n",
                    to_email=old, account=True)
    db.session.commit()
    return member


def _tell_coordinators_of_application(member: Member) -> None:
    """A confirmed application reaches the coordinators of each bank it is waiting in."""


    theirs = aliased(Membership)
    rows = db.session.execute(
        select(Membership.bank_id, Member)
        .join(theirs, (theirs.bank_id == Membership.bank_id) & (theirs.member_id == member.id))
        .join(Member, Member.id == Membership.member_id)
        .where(theirs.status == MemberStatus.PENDING, Membership.role == "coordinator",
               Membership.status == MemberStatus.ACTIVE)).all()
    for bank_id, coordinator in rows:
        notify(coordinator, _l("%(name)s from %(place)s asks to join. Approve or decline "
                               "them.", name=member.display_name, place=member.neighbourhood),
               bank_url("members.detail", bank_id, member_id=member.id),
               subject=_l("A new application"), bank_id=bank_id)


def request_reset(email: str) -> None:
    """Note the request; the mail job answers it (``answer_reset_requests``). The same work
    for every address, known or not, so the answer's timing gives no member away."""
    db.session.add(ResetRequest(email=Member.normalise_email(email)[:254]))
    db.session.commit()


def answer_reset_requests(limit: int = 500) -> int:
    """E-mail a reset link to each requested address that belongs to a member (saying
    nothing to anyone else), oldest first; the requests are then forgotten."""

    # One answer per address however often it was asked (a flood of one address must not
    # hold up everyone else's), oldest first.
    emails = list(db.session.scalars(
        select(ResetRequest.email).group_by(ResetRequest.email)
        .order_by(func.min(ResetRequest.id)).limit(limit)))
    sent = 0
    for email in emails:
        member = db.session.scalar(select(Member).where(Member.email == email))
        if member is not None and member.erased_at is None:
            with site_context():
                _send_link(member, "reset", _("Set a new password"),
                           _("Someone asked to set a new password for your account. If it "
                             "was you, open this link; if not, you need do nothing and your "
                             "password stays as it is:"))
            audit(None, "member.reset_requested", "member", member.id)
            sent += 1
        db.session.execute(delete(ResetRequest).where(ResetRequest.email == email))
        db.session.commit()
    return sent


def _tell_password_changed(member: Member) -> None:
    """A changed password is news its owner must hear of, in case it was not them."""

    with force_locale(member.language or "en"):
        queue_email(member, _("Your password was changed"),
                    _("The password of your time bank account was just changed. If you did "
                      "not do this, use “Forgotten your password?” on the log-in page at "
                      "once and tell a coordinator.") + "\n", account=True)


def send_login_link(member: Member, by: Member) -> None:
    """A member enrolled without e-mail now has an address: a link to choose a password
    (the reset link; it also confirms the address). Caller commits."""
    _send_link(member, "login", _("Your time bank log-in"),
               _("%(by)s has set up a log-in for you. Open this link to choose your "
                 "password; then you can see your hours and offers on the site:",
                 by=by.display_name))
    audit(by.id, "member.login_link_sent", "member", member.id)


def password_link(token: str) -> Member:
    """The member a password link (forgotten password, or a first log-in) is for."""
    try:
        return read_link(token, "reset")[0]
    except AuthError:
        return read_link(token, "login")[0]


def reset_password(token: str, password: str) -> Member:
    """Set a new password from a password link; the link and every session end with it."""
    member = password_link(token)
    member.set_password(password)
    end_sessions(member)
    _tell_password_changed(member)
    if member.email_verified_at is None:
        member.email_verified_at = utcnow()  # the link reached them at this address
    audit(member.id, "member.password_reset", "member", member.id)
    db.session.commit()
    return member


def change_password(member: Member, current: str, new: str) -> None:
    """Change ``member``'s password; every session of theirs ends (the caller starts
    this browser's again)."""
    if not member.check_password(current):
        raise AuthError(_("That is not your current password."), "current")
    member.set_password(new)
    end_sessions(member)
    _tell_password_changed(member)
    audit(member.id, "member.password_changed", "member", member.id)
    db.session.commit()


def request_email_change(member: Member, password: str, new_email: str) -> None:
    """Send a confirmation link to the new address; nothing changes until it is opened.

    The page answers the same whether or not the new address is taken (the owner of a
    taken address is told instead), so it reveals nobody's address.
    """
    if not member.check_password(password):
        raise AuthError(_("That is not your current password."), "password")
    new = Member.normalise_email(new_email)
    if new == member.email:
        raise AuthError(_("That is already your address."), "email")
    taken = db.session.scalar(select(Member).where(Member.email == new))
    if taken is not None:

        with force_locale(taken.language or "en"):
            queue_email(taken, _("Someone tried to use your e-mail address"),
                        _("Someone asked to move their account to this e-mail address, which "
                          "your account already uses. Nothing has changed.") + "\n",
                        account=True)
    else:
        member.pending_email = new  # any earlier change's link dies here
        _send_link(member, "email", _("Please confirm your new e-mail address"),
                   _("Open this link to use this address for your time bank account:"),
                   to_email=new, e=new)

        with force_locale(member.language or "en"):  # the old address hears of it at once
            queue_email(member, _("A change of your e-mail address was asked for"),
                        _("Someone logged in to your account asked to use %(new)s instead of "
                          "this address. It changes only when the link sent there is opened. "
                          "If this was not you, change your password now and tell a "
                          "coordinator.", new=new) + "\n", account=True)
    audit(member.id, "member.email_change_requested", "member", member.id)
    db.session.commit()


# Spent on unknown addresses so that a wrong address takes as long as a wrong password.
_DUMMY_HASH: str | None = None


def _dummy_check(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = passwords.make("not-a-real-password")
    passwords.matches(_DUMMY_HASH, password)


def authenticate(email: str, password: str) -> Member:
    """The active member with these credentials; AuthError says why not."""
    member = db.session.scalar(
        select(Member).where(Member.email == Member.normalise_email(email)))
    if member is None:
        _dummy_check(password)
    if member is None or not member.check_password(password):
        raise AuthError(_("That email address and password do not match."), "password")
    if member.status == MemberStatus.PENDING and member.email_verified_at is None:
        raise AuthError(_("Please confirm your e-mail address first: open the link we "
                          "e-mailed you. No e-mail? Use “Forgotten your password?” to get "
                          "another."), "email")
    if member.status == MemberStatus.PENDING:
        raise AuthError(_("Your membership is waiting for a coordinator's approval. "
                          "You can log in once it is approved."), "email")
    if member.status == MemberStatus.SUSPENDED:
        raise AuthError(_("Your membership is suspended. Please contact a coordinator."), "email")
    if member.status == MemberStatus.DECLINED:
        raise AuthError(_("Your application was not accepted. Please contact the time bank "
                          "if you would like to talk about it."), "email")
    return member


def end_sessions(member: Member) -> None:
    """End every session of ``member`` (this browser's and any other). Caller commits."""
    member.session_version = (member.session_version or 0) + 1
