"""Registering and checking credentials. No request objects: routes pass plain values."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..banks import service as banks
from ..errors import Refused
from ..extensions import db
from ..models import Bank, Member, MemberStatus
from ..models.audit import record as audit


class AuthError(Refused):
    """A refusal; ``field`` names the form field the message belongs beside."""


def register(email: str, display_name: str, neighbourhood: str, password: str,
             bank: Bank) -> Member | None:
    """A new member of ``bank``, pending until one of its coordinators approves them.

    For an address already registered nothing is made and its owner is told by e-mail:
    the page answers the same either way, so it reveals nobody's address.
    """
    email = Member.normalise_email(email)
    known = db.session.scalar(select(Member).where(Member.email == email))
    if known is not None:
        from ..notify import queue_email

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
    banks.join(member, bank)
    audit(member.id, "member.register", "member", member.id, bank=bank.id)
    db.session.commit()
    return member


# Spent on unknown addresses so that a wrong address takes as long as a wrong password.
_DUMMY_HASH: str | None = None


def _dummy_check(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash("not-a-real-password")
    check_password_hash(_DUMMY_HASH, password)


def authenticate(email: str, password: str) -> Member:
    """The active member with these credentials; AuthError says why not."""
    member = db.session.scalar(
        select(Member).where(Member.email == Member.normalise_email(email)))
    if member is None:
        _dummy_check(password)
    if member is None or not member.check_password(password):
        raise AuthError(_("That email address and password do not match."), "password")
    if member.status == MemberStatus.PENDING:
        raise AuthError(_("Your membership is waiting for a coordinator's approval. "
                          "You can log in once it is approved."), "email")
    if member.status == MemberStatus.SUSPENDED:
        raise AuthError(_("Your membership is suspended. Please contact a coordinator."), "email")
    return member


def start_session(member: Member) -> None:
    """Log ``member`` in: a fresh CSRF token, and the session version it must match."""
    from flask import session
    from flask_login import login_user

    session.pop("csrf_token", None)  # Flask-WTF makes a new one on the next form
    session["sv"] = member.session_version
    login_user(member)


def end_sessions(member: Member) -> None:
    """End every session of ``member`` (this browser's and any other). Caller commits."""
    member.session_version = (member.session_version or 0) + 1
