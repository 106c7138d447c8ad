"""Safeguarding checks: which kinds of help need which, who has them and until when.

The one place that decides whether a member may give help of a kind: answering a
request, being introduced to one, offering help that someone asks for, helping at an
event. Dates are the bank's day, given by the caller (``today``), so expiry moves with
the clock the code is given.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import aliased

from timebank.core import four_eyes
from timebank.core.errors import Refused
from timebank.core.models import Bank, Member, Membership, MemberStatus
from timebank.core.models.audit import record as audit
from timebank.core.models.checks import CHECK_WORDS, CategoryCheck, CheckKind, MemberCheck
from timebank.core.roster import coordinators_of
from timebank.infra.extensions import db

EXPIRING_DAYS = 30  # the work queue lists checks ending this soon


class CheckNeeded(Refused):
    """Help of this kind needs checks the member does not (validly) have."""


def words(kinds) -> str:
    return ", ".join(str(CHECK_WORDS[CheckKind(k)]) for k in kinds)


def required(category_id: int | None) -> list[str]:
    """The checks a kind of help needs, in a stable order."""
    if category_id is None:
        return []
    return sorted(db.session.scalars(select(CategoryCheck.kind).where(
        CategoryCheck.category_id == category_id)))


def requirements() -> dict[int, list[str]]:
    """Every kind of help that needs checks, and which (for admins' and listing pages)."""
    found: dict[int, list[str]] = defaultdict(list)
    for category_id, kind in db.session.execute(
            select(CategoryCheck.category_id, CategoryCheck.kind).order_by(CategoryCheck.kind)):
        found[category_id].append(kind)
    return dict(found)


def set_required(category_id: int, kinds: list[str], by: Member) -> None:
    """An admin decides which checks a kind of help needs. Caller commits."""
    kinds = sorted({CheckKind(k) for k in kinds})
    db.session.execute(delete(CategoryCheck).where(CategoryCheck.category_id == category_id))
    db.session.add_all([CategoryCheck(category_id=category_id, kind=k) for k in kinds])
    audit(by.id, "category.checks", "category", category_id, kinds=[str(k) for k in kinds])


def _valid(today: date):
    return (MemberCheck.done_on <= today) & or_(MemberCheck.expires_on.is_(None),
                                                MemberCheck.expires_on >= today)


def missing_for(member_ids: list[int], category_id: int | None, today: date,
                needed: list[str] | None = None) -> dict[int, list[str]]:
    """For each of these members who lacks a valid check the kind needs: which (one query
    for the needs, unless ``needed`` says them, and one for everyone's checks)."""
    needed = required(category_id) if needed is None else needed
    if not needed or not member_ids:
        return {}
    have: dict[int, set[str]] = defaultdict(set)
    for member_id, kind in db.session.execute(
            select(MemberCheck.member_id, MemberCheck.kind).where(
                MemberCheck.member_id.in_(member_ids), _valid(today))):
        have[member_id].add(kind)
    return {m: [k for k in needed if k not in have[m]] for m in member_ids
            if any(k not in have[m] for k in needed)}


def whom_to_ask(bank_id: int) -> str:
    bank = db.session.get(Bank, bank_id)
    names = [c.display_name for c in coordinators_of(bank)][:3] if bank else []
    return ", ".join(names) or (bank.name if bank else "")


def refuse_unless_checked(member: Member, category_id: int | None, bank_id: int,
                          today: date, *, self_: bool = True, quietly: bool = False) -> None:
    """Refuse help of this kind from ``member`` without the checks it needs, saying which
    and whom to ask (``self_``: the member is the one told; else a coordinator, about
    them; ``quietly``: another member is told, so nothing about the helper's checks)."""
    lacking = missing_for([member.id], category_id, today).get(member.id)
    if not lacking:
        return
    if quietly:
        raise CheckNeeded(_("This cannot go ahead just now. Your coordinators can suggest "
                            "someone else."), status=409)
    if self_:
        message = _("This kind of help needs a safeguarding check you do not have yet "
                    "(%(checks)s). Please ask %(whom)s, your time bank's coordinators, "
                    "about it.", checks=words(lacking), whom=whom_to_ask(bank_id))
    else:
        message = _("%(name)s cannot give this kind of help yet: it needs %(checks)s, "
                    "which they do not have.", name=member.display_name,
                    checks=words(lacking))
    raise CheckNeeded(message, status=403)


# -- a member's checks ------------------------------------------------------------------


def of_member(member_id: int) -> list[MemberCheck]:
    return list(db.session.scalars(select(MemberCheck).where(MemberCheck.member_id == member_id)
                                   .order_by(MemberCheck.kind, MemberCheck.done_on.desc())))


def is_valid(check: MemberCheck, today: date) -> bool:
    return check.done_on <= today and (check.expires_on is None or check.expires_on >= today)


def record(member: Member, bank_id: int, kind: str, done_on: date, expires_on: date | None,
           by: Member, now: datetime) -> MemberCheck:
    """A coordinator of ``bank_id`` records that they saw a member's check. Never its
    contents: the kind, when it was done and until when it holds."""
    membership = member.membership_in(bank_id)
    if membership is None or membership.status != MemberStatus.ACTIVE:
        raise Refused(_("That person is not a member of this time bank."), status=404)
    if four_eyes.acts_for(by.id, member.id):
        # Nobody vouches for their own safety to work with others. (Members a coordinator
        # approved or enrolled they may vouch for: in a bank with one coordinator nobody
        # else could, and each record is on the trail with its recorder.)
        raise Refused(_("Another coordinator must record your own checks."), status=403)
    if done_on > now.date():
        raise Refused(_("A check cannot be done in the future."), "done_on")
    if expires_on is not None and expires_on <= done_on:
        raise Refused(_("It must end after the day it was done."), "expires_on")
    check = MemberCheck(member_id=member.id, kind=CheckKind(kind), done_on=done_on,
                        expires_on=expires_on, bank_id=bank_id, recorded_by_id=by.id,
                        recorded_at=now)
    db.session.add(check)
    db.session.flush()
    audit(by.id, "check.record", "member", member.id, kind=str(kind),
          done_on=done_on.isoformat(), expires_on=expires_on and expires_on.isoformat())
    db.session.commit()
    return check


def remove(check: MemberCheck, by: Member, bank_id: int) -> None:
    """A check recorded by mistake comes off (the trail keeps that it was): by the bank
    whose coordinator recorded it, or an admin."""
    if check.bank_id != bank_id and not by.is_admin:
        raise Refused(_("Only the time bank that recorded this check can remove it."),
                      status=403)
    audit(by.id, "check.remove", "member", check.member_id, kind=check.kind,
          done_on=check.done_on.isoformat())
    db.session.delete(check)
    db.session.commit()


def expiring(bank_id: int, today: date):
    """Checks of this bank's active members that end within ``EXPIRING_DAYS`` (the work
    queue's query; each check once)."""
    newer = aliased(MemberCheck)
    renewed = exists().where(newer.member_id == MemberCheck.member_id,
                             newer.kind == MemberCheck.kind, newer.id != MemberCheck.id,
                             or_(newer.expires_on.is_(None),
                                 newer.expires_on > MemberCheck.expires_on))
    return (select(MemberCheck).join(Membership, Membership.member_id == MemberCheck.member_id)
            .where(Membership.bank_id == bank_id, Membership.status == MemberStatus.ACTIVE,
                   MemberCheck.expires_on.between(today, today + timedelta(days=EXPIRING_DAYS)),
                   ~renewed)  # (not one already renewed: a newer check of the kind holds)
            .order_by(MemberCheck.expires_on, MemberCheck.id))


def erase(member_id: int) -> None:
    """Erasure takes the member's checks with them. Caller commits."""
    db.session.execute(delete(MemberCheck).where(MemberCheck.member_id == member_id))
