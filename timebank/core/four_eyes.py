"""Four eyes: what one coordinator may not do alone, in one place.

Nobody moves hours to themselves, directly or through anyone else (DESIGN.md, invariant
7). A coordinator could otherwise make a "member without a computer" at an address they
control, or give themselves a neighbour's log-in, and pay themselves from that account;
lower a limit so a puppet can pay more; or pay their friends from the community pool.
So:

- giving a log-in (an e-mail address) to a member staff enrolled, or changing the
  address nobody has confirmed yet, waits for a second coordinator (``LOGIN``);
- a limit below the bank's default (or none) waits for a second coordinator (``FLOOR``);
- a group activity the pool pays more than the bank's ``pool_alone_minutes`` for (with
  what that coordinator paid from it alone in the last 30 days: split, it adds up) waits
  for a second coordinator (``POOL``); the pool itself has a floor and a cap (ledger);
- a coordinator *stands behind* a member they approved or enrolled, whose log-in they
  asked for, or whose limit they asked to lower (``sponsors``). An exchange in which
  such a member pays that coordinator is a staff action on the coordinator's own
  account: the member's word does not confirm it, another coordinator does.

Requests are rows of ``Approval``; the second coordinator agrees or refuses on the
approvals page, and ``approvals.service`` carries the request out. Whoever asked, and
whoever the request is about, cannot agree to it; nor can anyone they stand behind
(``acts_for``): an account someone approved and then made a coordinator is no second
pair of eyes on their gain, for requests, confirmations, recording for others or
reversals.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from timebank.core.links import bank_url
from timebank.core.models import (
    Account,
    Approval,
    ApprovalKind,
    ApprovalStatus,
    Bank,
    Exchange,
    ExchangeStatus,
    Member,
    Membership,
)
from timebank.core.models.audit import record as audit
from timebank.core.models.banks import BankRole
from timebank.core.models.base import utcnow
from timebank.core.models.members import Role
from timebank.core.notify import notify
from timebank.core.roster import coordinators_of
from timebank.infra.extensions import db


def _direct_sponsors(member_ids: set[int]) -> set[int]:
    found = set(db.session.scalars(
        select(Membership.approved_by_id).where(Membership.member_id.in_(member_ids))))
    found |= set(db.session.scalars(
        select(Approval.requested_by_id).where(
            Approval.member_id.in_(member_ids),
            Approval.kind.in_([ApprovalKind.LOGIN, ApprovalKind.FLOOR, ApprovalKind.MOBILE]),
            Approval.status == ApprovalStatus.APPROVED)))
    found.discard(None)
    return found


def sponsors(member_id: int | None, bank_id: int | None = None) -> set[int]:
    """Everyone who stands behind ``member_id``: who approved or enrolled them (in any
    bank: an account in one bank is as much theirs as in another), asked for their log-in
    or a lower limit for them; and, in turn, whoever stands behind those (an admin's
    puppet made coordinator enrols a puppet of its own: both are the admin's).
    ``bank_id`` is not needed, and kept for callers' clarity."""
    if member_id is None:
        return set()
    found: set[int] = set()
    frontier = {member_id}
    while frontier:  # however long the chain (each person once: it ends)
        frontier = _direct_sponsors(frontier) - found - {member_id}
        found |= frontier
    return found


def acts_for(actor_id: int | None, member_id: int | None) -> bool:
    """Is ``actor_id`` ``member_id``, or someone ``member_id`` stands behind (so possibly
    ``member_id`` at another keyboard)?"""
    if actor_id is None or member_id is None:
        return False
    return actor_id == member_id or member_id in sponsors(actor_id)


def tied(actor_id: int | None, member_id: int | None) -> bool:
    """``acts_for`` either way: the same person, or one stands behind the other. Such an
    actor is never the second pair of eyes on ``member_id``'s gain, nor records it as if
    checked with both sides. (Two accounts someone stands behind are not tied to each
    other: one coordinator approves most of a bank. That is why making someone you stand
    behind a coordinator or admin waits for a second person: ``members.service``.)"""
    if actor_id is None or member_id is None:
        return False
    return acts_for(actor_id, member_id) or actor_id in sponsors(member_id)


def second_needed(giver_member_id: int | None, receiver_member_id: int | None,
                  bank_id: int) -> bool:
    """Does an exchange in which the receiver pays the giver need a second coordinator,
    because the giver stands behind the receiver?"""
    return giver_member_id is not None and giver_member_id in sponsors(receiver_member_id,
                                                                       bank_id)


def ask(kind: ApprovalKind, bank_id: int, by: Member, member: Member | None = None,
        **payload) -> Approval:
    """Ask the bank's other coordinators (and the admins) to agree. Caller commits.

    A second request for the same thing replaces the first (the newer one is what is
    meant), so the list never shows two answers to give to one question.
    """
    same = select(Approval).where(Approval.bank_id == bank_id, Approval.kind == kind,
                                  Approval.status == ApprovalStatus.PENDING)
    if member is not None:  # (only one's own: nobody withdraws a colleague's request)
        for earlier in db.session.scalars(same.where(Approval.member_id == member.id,
                                                     Approval.requested_by_id == by.id)):
            earlier.status, earlier.decided_by_id = ApprovalStatus.REFUSED, by.id
            earlier.decided_at = utcnow()
    approval = Approval(bank_id=bank_id, kind=kind, member_id=member.id if member else None,
                        payload=payload, requested_by_id=by.id)
    db.session.add(approval)
    db.session.flush()
    audit(by.id, f"approval.ask.{kind}", "approval", approval.id,
          member=member.id if member else None)
    url = bank_url("approvals.waiting", bank_id)
    for other in deciders(bank_id, approval):
        notify(other, _l("%(name)s asks a second coordinator to agree: %(what)s",
                         name=by.display_name, what=describe(approval)), url,
               bank_id=bank_id)
    return approval


def deciders(bank_id: int, approval: Approval | None = None,
             exclude: set[int] | frozenset[int] = frozenset()) -> list[Member]:
    """Who may agree: the bank's active coordinators and the install's admins, but not
    whoever asked, nor whoever it is about."""
    bank = db.session.get(Bank, bank_id)
    people = {m.id: m for m in coordinators_of(bank)}
    people.update({m.id: m for m in db.session.scalars(
        select(Member).where(Member.install_role == Role.ADMIN, Member.erased_at.is_(None)))})
    barred = set(exclude)
    if approval is not None:
        barred |= {approval.requested_by_id, approval.member_id}
    return [m for k, m in sorted(people.items()) if k not in barred]


def may_decide(approval: Approval, by: Member, agree: bool = True) -> bool:
    """A coordinator of the bank or an admin. To agree: not whoever asked or whom it is
    about, nor anyone tied to either (a puppet made coordinator is no second pair of
    eyes). Saying no moves nothing: any of them may (the one who asked withdraws)."""
    return (approval.status == ApprovalStatus.PENDING
            and (not agree or (not tied(by.id, approval.requested_by_id)
                               and not tied(by.id, approval.member_id)))
            and (by.install_role == Role.ADMIN
                 or by.role_in(approval.bank_id) == BankRole.COORDINATOR))


def waiting(bank_id: int) -> list[Approval]:
    """The bank's requests waiting for a second person, oldest first."""
    return list(db.session.scalars(waiting_query(bank_id)))


def waiting_query(bank_id: int):
    """Requests waiting in the bank (the coordinator's work queue counts them)."""
    return select(Approval).where(Approval.bank_id == bank_id,
                                  Approval.status == ApprovalStatus.PENDING).order_by(
        Approval.id)


def describe(approval: Approval):
    """What was asked, in words (lazy: each reader's language)."""
    name = approval.member.display_name if approval.member is not None else ""
    p = approval.payload or {}
    if approval.kind == ApprovalKind.LOGIN:
        return _l("a log-in for %(name)s at %(email)s", name=name, email=p.get("email", ""))
    if approval.kind == ApprovalKind.FLOOR:
        if p.get("floor") is None:
            return _l("no limit for %(name)s", name=name)
        return _l("a limit of %(hours)s hours for %(name)s", name=name,
                  hours=p["floor"] // 60)
    if approval.kind == ApprovalKind.MOBILE:
        return _l("the mobile %(number)s for %(name)s (texts from it act as them)",
                  name=name, number=p.get("mobile", ""))
    if approval.kind == ApprovalKind.BANK:
        return _l("looser limits for the bank: %(limits)s", limits=", ".join(
            f"{name} {value // 60} h" for name, value in sorted(p.items())))
    names = ", ".join(db.session.scalars(select(Member.display_name).where(
        Member.id.in_(p.get("participants", []))).order_by(Member.display_name)))
    return _l("%(hours)s hours from the community pool for %(count)s people (%(what)s): "
              "%(names)s", names=names,
              hours=round(p.get("minutes", 0) * len(p.get("participants", [])) / 60, 1),
              count=len(p.get("participants", [])), what=p.get("description") or "-")


def exchanges_waiting(bank_id: int) -> list:
    """Exchanges a member recorded with a coordinator who stands behind them: pending,
    and waiting for nobody but a second coordinator."""

    return list(db.session.scalars(
        select(Exchange).join(Account, Account.id == Exchange.receiver_account_id)
        .where(Account.bank_id == bank_id, Exchange.status == ExchangeStatus.PENDING,
               Exchange.awaiting_member_id.is_(None))
        .order_by(Exchange.id).limit(200)))
