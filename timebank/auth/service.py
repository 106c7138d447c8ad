"""Registering and checking credentials. No request objects: routes pass plain values."""

from __future__ import annotations

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
             bank: Bank) -> Member:
    """A new member of ``bank``, pending until one of its coordinators approves them."""
    email = Member.normalise_email(email)
    if db.session.scalar(select(Member.id).where(Member.email == email)):
        raise AuthError(_("That email address is already registered. Try logging in."), "email")
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
