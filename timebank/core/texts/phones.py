"""Members' mobiles: added and checked with a texted code, or set by a coordinator.

A verified mobile is a key to the member's account (a text from it records and confirms
time as them), so it is treated like a log-in. The member adds their own and proves it
with the code texted to it. A coordinator setting one for someone asks a second
coordinator first (four eyes, as for giving an e-mail log-in), and then stands behind
that member: time the member pays them waits for another coordinator. ``create-user
--phone`` (the operator at the console) sets one directly.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from timebank.core import four_eyes
from timebank.core.errors import Refused
from timebank.core.links import bank_url
from timebank.core.models import ApprovalKind, Bank, CodePurpose, Member, TextCode
from timebank.core.models.audit import record as audit
from timebank.core.models.members import STAFF_ROLES
from timebank.core.notify import notify
from timebank.core.texts import outbox
from timebank.infra.extensions import db
from timebank.infra.sms import e164

CHOICES = ("confirm", "weekly", "never")


class PhoneRefused(Refused):
    """A mobile that cannot be used; the message says why."""


def normalise(text: str, bank_id: int | None) -> str:
    """The number in E.164, read in the bank's country; refused when it is none."""
    bank = db.session.get(Bank, bank_id) if bank_id is not None else None
    number = e164(text, bank.country if bank is not None else "GB")
    if number is None:
        raise PhoneRefused(_("That is not a phone number we can text. Write it as you "
                             "would dial it, like 07700 900123 or +44 7700 900123."))
    return number


def _free(number: str, member: Member) -> None:
    holder = db.session.scalar(select(Member.id).where(Member.mobile == number))
    if holder is not None and holder != member.id:
        raise PhoneRefused(_("That mobile is already another member's. Each mobile "
                             "belongs to one member."))


def start_check(member: Member, text: str, bank_id: int | None, now: datetime) -> TextCode:
    """Text a six-digit code to a mobile the member adds. Caller commits."""
    number = normalise(text, bank_id)
    _free(number, member)
    code = outbox.new_code(member.id, CodePurpose.VERIFY, now, digits=6, number=number)
    outbox.queue(number, _("Your code for %(bank)s is %(code)s. If you did not ask for it, "
                           "ignore this text.",
                           bank=_bank_name(bank_id), code=code.code),
                 member_id=member.id, bank_id=bank_id, now=now, kind="code")
    audit(member.id, "member.mobile_code", "member", member.id)
    return code


def _bank_name(bank_id: int | None) -> str:
    bank = db.session.get(Bank, bank_id) if bank_id is not None else None
    return bank.name if bank is not None else _("the time bank")


def checking(member: Member, now: datetime) -> str | None:
    """The number a code was texted to for the member to type in, while it is open."""
    return db.session.scalar(select(TextCode.number).where(
        TextCode.member_id == member.id, TextCode.purpose == CodePurpose.VERIFY,
        TextCode.used_at.is_(None), TextCode.expires_at > now)
        .order_by(TextCode.id.desc()).limit(1))


def finish_check(member: Member, code_text: str, now: datetime) -> str:
    """The member types the code they were texted: the mobile is theirs. Caller commits."""
    code = db.session.scalar(select(TextCode).where(
        TextCode.member_id == member.id, TextCode.purpose == CodePurpose.VERIFY,
        TextCode.used_at.is_(None), TextCode.expires_at > now)
        .order_by(TextCode.id.desc()).limit(1))
    if code is None:
        raise PhoneRefused(_("That code has expired: ask for a new one."))
    code.attempts += 1
    if code.attempts > outbox.CODE_TRIES:
        code.used_at = now
        raise PhoneRefused(_("Too many wrong codes: ask for a new one."))
    if (code_text or "").strip() != code.code:
        raise PhoneRefused(_("That is not the code we texted. Check it and try again."))
    _free(code.number, member)
    code.used_at = now
    set_verified(member, code.number, member, now)
    return code.number


def set_verified(member: Member, number: str, by: Member, now: datetime) -> None:
    """Make ``number`` the member's verified mobile. Caller commits.

    Set by someone else (a coordinator, with a second's agreement), the member hears of
    it on the site and the old number by text; and a STOP they sent still holds."""
    _free(number, member)
    old = member.mobile
    member.mobile, member.mobile_verified_at = number, now
    member.mobile_set_by_id = None if by.id == member.id else by.id
    if by.id == member.id:
        member.texts_stopped_at = None  # they proved the number: texts are wanted again
    audit(by.id, "member.mobile_set", "member", member.id,
          **({"by_staff": True} if by.id != member.id else {}))
    if by.id == member.id:
        return
    bank_id = next((m.bank_id for m in member.all_memberships()), None)
    words = _l("%(by)s set %(number)s as your mobile: texts from it act as you. If that "
               "is wrong, tell the office.", by=by.display_name, number=number)
    notify(member, words, bank_url("text_account.mine", bank_id) if bank_id else "/",
           bank_id=bank_id, site_wide=bank_id is None)
    if old and old != number:
        outbox.queue(old, _("This number is no longer the mobile of a member of %(bank)s. "
                            "If that is wrong, please contact the office.",
                            bank=_bank_name(bank_id)),
                     member_id=member.id, bank_id=bank_id, now=now, kind="notice")


def ask_to_set(member: Member, text: str, by: Member, bank_id: int) -> None:
    """A coordinator sets a mobile for a member who does not use the site (no log-in of
    their own): a second coordinator agrees first (the approvals page carries it out:
    ``set_verified``). A mobile the member checked themselves, or anyone with a log-in,
    is theirs alone to change: otherwise it would be a takeover. Caller commits."""
    if by.role_in(bank_id) not in STAFF_ROLES or by.id == member.id:
        raise PhoneRefused(_("Only a coordinator sets a mobile for someone else."))
    if (member.mobile_verified_at is not None and member.mobile_set_by_id is None) or (
            member.email_verified_at is not None and member.password_hash):
        raise PhoneRefused(_("%(name)s looks after their own mobile: they add or change it "
                             "on their own page, with a code we text them.",
                             name=member.display_name))
    number = normalise(text, bank_id)
    _free(number, member)
    four_eyes.ask(ApprovalKind.MOBILE, bank_id, by, member, mobile=number)


def remove(member: Member, by: Member) -> None:
    """No more texts to or from this mobile. Caller commits."""
    member.mobile = member.mobile_verified_at = member.mobile_set_by_id = None
    audit(by.id, "member.mobile_removed", "member", member.id)


def choose(member: Member, preference: str) -> None:
    if preference not in CHOICES:
        raise PhoneRefused(_("Choose one of the options."))
    member.text_preference = preference
