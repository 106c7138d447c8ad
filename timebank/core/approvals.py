"""Carry out, or refuse, a request a second coordinator answers (``four_eyes``).

Each kind is done by the code that owns it, with both people named: the members service
gives the log-in, the ledger changes the limit or pays from the pool. The request is
settled in the same transaction as what it asked for.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from timebank.core import banks, events, four_eyes
from timebank.core.errors import Refused
from timebank.core.ledger import writer as ledger
from timebank.core.links import bank_url
from timebank.core.members import service as members
from timebank.core.models import Approval, ApprovalKind, ApprovalStatus, Bank, Member
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.notify import notify
from timebank.core.texts import phones
from timebank.infra.db import locked, write_transaction
from timebank.infra.extensions import db


class ApprovalError(Refused):
    """A request that cannot be answered (already answered, or not this person's)."""


def decide(approval_id: int, by: Member, agree: bool, bank_id: int) -> Approval:
    """Agree (carry the request out) or refuse. The request is claimed first, locked, in
    its own transaction, so two answers at once cannot both act; if carrying it out is
    refused (the balance moved meanwhile, say), it waits again."""
    with write_transaction():
        approval = locked(Approval, approval_id)
        if approval is None or approval.bank_id != bank_id:
            raise ApprovalError(_("There is no such request."), status=404)
        if approval.status != ApprovalStatus.PENDING:
            raise ApprovalError(_("This request has already been answered."), status=409)
        if not four_eyes.may_decide(approval, by, agree):
            raise ApprovalError(_("Another coordinator must answer this request: not the "
                                  "one who asked, nor the person it is about."), status=403)
        approval.status = ApprovalStatus.APPROVED if agree else ApprovalStatus.REFUSED
        approval.decided_by_id, approval.decided_at = by.id, utcnow()
    requester = approval.requested_by
    if agree:
        try:
            _carry_out(approval, requester, by)
        except Refused:
            db.session.rollback()
            with write_transaction():
                again = locked(Approval, approval_id)
                again.status, again.decided_by_id, again.decided_at = (
                    ApprovalStatus.PENDING, None, None)
            raise
    elif approval.kind == ApprovalKind.POOL and _event_of(approval.payload):
        events.release_attendance(_event_of(approval.payload))  # may be recorded again
    audit(by.id, f"approval.{'agree' if agree else 'refuse'}.{approval.kind}", "approval",
          approval.id, asked_by=requester.id, member=approval.member_id)
    what = four_eyes.describe(approval)
    if requester.id != by.id:
        notify(requester, _l("%(name)s agreed: %(what)s", name=by.display_name, what=what)
               if agree else
               _l("%(name)s did not agree: %(what)s", name=by.display_name, what=what),
               bank_url("approvals.waiting", approval.bank_id), bank_id=approval.bank_id)
    db.session.commit()
    return approval


def _event_of(payload: dict | None) -> int | None:
    """The event a pool payment is for (asked before 0026 as a co-design "session": the
    migration kept the ids)."""
    payload = payload or {}
    return payload.get("event_id") or payload.get("session_id")


def _carry_out(approval: Approval, requester: Member, second: Member) -> None:

    payload = approval.payload or {}
    if approval.kind == ApprovalKind.LOGIN:
        members.give_login(approval.member, payload["email"], requester)
    elif approval.kind == ApprovalKind.FLOOR:
        ledger.set_floor(payload["account_id"], payload["floor"], requester, second=second)
    elif approval.kind == ApprovalKind.POOL:
        people = list(db.session.scalars(select(Member).where(
            Member.id.in_(payload["participants"])).order_by(Member.id)))
        made, _created = ledger.record_group_activity(
            participants=people, to_pool=True, minutes=payload["minutes"],
            service_date=date.fromisoformat(payload["service_date"]), recorded_by=requester,
            idempotency_key=payload["key"], category_id=payload.get("category_id"),
            description=payload.get("description", ""), bank_id=approval.bank_id,
            second=second)
        if _event_of(payload):
            events.mark_attended(_event_of(payload), {e.giver.member_id for e in made})
    elif approval.kind == ApprovalKind.MOBILE:
        phones.set_verified(approval.member, payload["mobile"], requester, utcnow())
    elif approval.kind == ApprovalKind.BANK:

        bank = db.session.get(Bank, approval.bank_id)
        banks.update(bank, dict(payload), requester, fields=tuple(banks.LOOSER))
    else:  # pragma: no cover - a kind with no handler is a programming error
        raise ApprovalError(_("There is no such request."), status=404)
