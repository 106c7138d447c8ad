"""Finding the member a form means: 'Name (#12)', an e-mail (staff only) or a unique name."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from ..errors import Refused
from ..extensions import db
from ..models import Member, MemberStatus

_ID_SUFFIX = re.compile(r"#(\d{1,12})\s*\)?\s*$")


class MemberNotFound(Refused):
    """The text names no member the form may use; the message says what to do."""


def member_label(member: Member) -> str:
    """How a member appears in pickers: a name plus their number, never their email."""
    return f"{member.display_name} (#{member.id})"


def resolve_member(text: str) -> Member:
    """Find the active trading member meant by ``text``."""
    text = (text or "").strip()
    match = _ID_SUFFIX.search(text)
    member = None
    if match:
        member = db.session.get(Member, int(match.group(1)))
    elif "@" in text:
        member = db.session.scalar(select(Member).where(Member.email == text.casefold()))
    else:
        found = db.session.scalars(
            select(Member).where(func.lower(Member.display_name) == text.lower()).limit(2)
        ).all()
        if len(found) > 1:
            raise MemberNotFound(
                f"More than one member is called “{text}”. Pick one from the list as you type."
            )
        member = found[0] if found else None
    # One message for "no such member" and "not someone you can trade with", so the
    # form reveals nothing about pending, suspended or council accounts.
    if member is None or member.status != MemberStatus.ACTIVE or not member.can_trade:
        raise MemberNotFound(
            f"No member matches “{text[:80]}”. Start typing and pick from the list.")
    return member
