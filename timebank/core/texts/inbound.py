"""Texts in: what a member can do from a basic phone.

``receive`` takes one text the gateway posted (its signature already checked by the
web layer) and does what it asks, as that member, under the same ledger rules as the
site: record time given or received, confirm or decline with a code, ask for the
balance, the nearby offers and requests, help, STOP and START. Each MessageSid is
processed once. The answer is queued as a text, in the language the member asked in.

A number no member has verified gets one polite answer a day with the bank's phone,
and nothing is kept but a count (``StrangerTexts``: the day and a keyed hash of the
number). More than ``FLOOD`` texts from one number in ``FLOOD_MINUTES`` are logged and
ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from timebank.core.errors import Refused
from timebank.core.language import LANGUAGES, format_day, language_of
from timebank.core.ledger import writer as ledger
from timebank.core.matching.brokering import respond
from timebank.core.members.lookup import trading_bank
from timebank.core.models import (
    Bank,
    CodePurpose,
    Exchange,
    ExchangeStatus,
    Member,
    MemberStatus,
    StrangerTexts,
    TextMessage,
    TextStatus,
)
from timebank.core.models.audit import record as audit
from timebank.core.models.ledger import format_minutes
from timebank.core.models.members import TRADING_ROLES
from timebank.core.texts import commands, nearby, outbox
from timebank.infra.db import MAX_ID, write_transaction
from timebank.infra.extensions import db
from timebank.infra.sms import e164

log = logging.getLogger("timebank.texts")

FLOOD, FLOOD_MINUTES = 30, 10
DAILY = 100  # texts a number may send in a day that are answered (each answer costs)
BAD_CODES = 5  # wrong YES/NO codes a member may send in a day
MAX_IN = 1600


@dataclass
class Incoming:
    sid: str
    number: str
    body: str


def member_by_mobile(number: str) -> Member | None:
    """The member whose verified mobile this is."""
    return db.session.scalar(select(Member).where(
        Member.mobile == number, Member.mobile_verified_at.is_not(None),
        Member.erased_at.is_(None)))


def receive(sid: str, sender: str, body: str, now: datetime, today) -> None:
    """Do what one incoming text asks, once per ``sid``. Commits."""
    # What a gateway (or anyone) posts is cleaned first: PostgreSQL refuses NUL in text.
    sid = re.sub(r"[^\w-]", "", sid or "")[:64]
    number = e164(sender, _default_country()) or re.sub(r"[^\w+]", "", sender or "")[:20]
    body = (body or "").replace("\x00", "")[:MAX_IN]
    if not sid or not number:
        return
    member = member_by_mobile(number)
    if member is None:
        _stranger(number, body, now)
        return
    command = commands.read(body)
    # STOP and START always hold, even in a flood (the law on texts nobody asked for).
    flood = command.verb not in ("stop", "start") and _flooding(number, now)
    stopped = member.texts_stopped_at is not None and command.verb != "start"
    message = TextMessage(direction="in", message_sid=sid, number=number,
                          member_id=member.id, body=body, command=command.verb,
                          created_at=now,
                          status=TextStatus.IGNORED if flood or stopped else
                          TextStatus.RECEIVED)
    try:
        with write_transaction():
            db.session.add(message)
    except IntegrityError:
        log.info("text %s seen before: ignored", sid)
        return  # the same MessageSid again (a retry, a replay): it was done once
    if flood or stopped:
        log.warning("text from member %s ignored (%s)", member.id,
                    "flood" if flood else "stopped")
        return
    bank_id = _home(member, command.number)
    message.bank_id = bank_id
    language = _language(member, bank_id, command)
    with force_locale(language):
        try:
            reply = _act(member, bank_id, command, Incoming(sid, number, body), now, today,
                         message)
        except Exception:  # stored, so never done twice: say so, and log it for us
            log.exception("text %s from member %s could not be done", sid, member.id)
            db.session.rollback()
            reply = _("Sorry, something went wrong and nothing changed. Please try again "
                      "later, or ask the office.")
    if reply:
        with force_locale(language):
            outbox.queue(number, str(reply), member_id=member.id, bank_id=bank_id, now=now)
    db.session.commit()


def _default_country() -> str:
    return db.session.scalar(select(Bank.country).order_by(Bank.id).limit(1)) or "GB"


def _from_since(number: str, since: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(TextMessage).where(
        TextMessage.number == number, TextMessage.direction == "in",
        TextMessage.created_at > since)) or 0


def _flooding(number: str, now: datetime) -> bool:
    return (_from_since(number, now - timedelta(minutes=FLOOD_MINUTES)) >= FLOOD
            or _from_since(number, now - timedelta(days=1)) >= DAILY)


def _home(member: Member, other_id: int | None) -> int | None:
    """The bank a member's text is about: the one they trade in (with ``other_id``'s,
    when they belong to several); their first bank otherwise."""
    mine = [m for m in member.all_memberships()
            if m.status == MemberStatus.ACTIVE and m.role in TRADING_ROLES]
    if other_id is not None and other_id <= MAX_ID and len(mine) > 1:
        other = db.session.get(Member, other_id)
        for membership in sorted(mine, key=lambda m: m.bank_id):
            if other is not None and other.role_in(membership.bank_id) in TRADING_ROLES:
                return membership.bank_id
    if mine:
        return min(m.bank_id for m in mine)
    every = member.all_memberships()
    return min((m.bank_id for m in every), default=None)


def _language(member: Member, bank_id: int | None, command: commands.Command) -> str:
    """Answer in the member's language, unless the words they used are in another."""
    theirs = language_of(member, bank_id)
    if not command.languages or theirs in command.languages:
        return theirs
    return next((lang for lang in command.languages if lang in LANGUAGES), theirs)


def _stranger(number: str, body: str, now: datetime) -> None:
    """One polite answer a day to a number no member has; keep only a count."""
    key = current_app.config["SECRET_KEY"]
    digest = hmac.new(str(key).encode(), number.encode(), hashlib.sha256).hexdigest()
    for _attempt in range(2):
        try:
            with write_transaction():
                row = db.session.scalar(select(StrangerTexts).where(
                    StrangerTexts.day == now.date(), StrangerTexts.number_hash == digest)
                    .with_for_update())
                if row is None:
                    row = StrangerTexts(day=now.date(), number_hash=digest, count=0)
                    db.session.add(row)
                    db.session.flush()
                row.count += 1
                seen = row.count
                if seen == 1 and commands.read(body).verb != "stop":
                    bank = db.session.scalar(select(Bank).order_by(Bank.id).limit(1))
                    # Paid from the first bank's monthly cap, like every other text.
                    outbox.queue(number, _stranger_words(bank), member_id=None,
                                 bank_id=bank.id if bank is not None else None, now=now)
            break
        except IntegrityError:
            continue  # two first texts at once: the other made the row; count on it
    else:
        return
    log.info("text from an unknown number (%s today from it)", seen)


def _stranger_words(bank: Bank | None) -> str:
    name = bank.name if bank is not None else _("the time bank")
    if bank is not None and bank.phone:
        return _("This number is not registered with %(bank)s. To join, or for help, "
                 "please ring %(phone)s.", bank=name, phone=bank.phone)
    return _("This number is not registered with %(bank)s. To join, or for help, please "
             "contact the time bank's office.", bank=name)


# -- commands -----------------------------------------------------------------------


def _act(member: Member, bank_id: int | None, command: commands.Command, text: Incoming,
         now: datetime, today, message: TextMessage) -> str:
    bank = db.session.get(Bank, bank_id) if bank_id is not None else None
    if command.verb in ("stop", "start"):
        audit(member.id, f"member.texts_{command.verb}", "member", member.id, via="text")
    if command.verb == "stop":
        member.texts_stopped_at = now
        return _("You will get no more texts from %(bank)s. Text START to have them again.",
                 bank=_bank_name(bank))
    if command.verb == "start":
        member.texts_stopped_at = None
        return _("Texts from %(bank)s are on again. Text HELP for what you can do.",
                 bank=_bank_name(bank))
    if bank is None or member.status != MemberStatus.ACTIVE or \
            member.role_in(bank.id) not in TRADING_ROLES:
        return _("Your membership is not active, so texts cannot record time. Please "
                 "contact %(bank)s%(phone)s.", bank=_bank_name(bank), phone=_phone(bank))
    if command.verb in ("gave", "got"):
        return _record(member, bank, command, text, today)
    if command.verb in ("yes", "no"):
        return _answer(member, command, now, message)
    if command.verb == "bal":
        return _balance(member, bank)
    if command.verb == "near":
        return nearby.words(member, bank, now) or _(
            "Nothing new near you in %(bank)s just now.", bank=bank.name)
    if command.verb == "help" and command.code:
        return _answer_listing(member, bank, command.code, now, message)
    words = _help(member, bank)
    if command.verb == "unknown":
        return _("Sorry, that was not understood.") + " " + words
    return words


def _bank_name(bank: Bank | None) -> str:
    return bank.name if bank is not None else _("the time bank")


def _phone(bank: Bank | None) -> str:
    return f" ({bank.phone})" if bank is not None and bank.phone else ""


def _help(member: Member, bank: Bank) -> str:
    """The commands, in one text part (160 letters) where the office's phone allows."""
    office = " " + _("Office: %(phone)s", phone=bank.phone) if bank.phone else ""
    return _("Your member number is %(number)s. Text GAVE 1.5 TO 1234, GOT 2 FROM 1234, "
             "YES or NO and a code, BAL, NEAR, STOP or START.", number=member.id) + office


def _record(member: Member, bank: Bank, command: commands.Command, text: Incoming,
            today) -> str:
    if "amount" in command.problems:
        return _("Not recorded: %(amount)s is not an amount of time. Write hours like "
                 "1.5, 1h30, 90m or 1:30, e.g. GAVE 1.5 TO 1234.",
                 amount=command.amount[:20] or "?")
    if "number" in command.problems:
        return _("Not recorded: say whose member number, e.g. GAVE 1.5 TO 1234. It is on "
                 "their statement.")
    other = (db.session.get(Member, command.number)
             if command.number is not None and command.number <= MAX_ID else None)
    other_bank = trading_bank(other, bank.id) if other is not None else None
    if other is None or other_bank is None or other.id == member.id:
        return _("Not recorded: no member number %(number)s trades in %(bank)s. Check the "
                 "number on their statement.", number=command.number, bank=bank.name)
    me, them = ledger.open_account(member, bank.id), ledger.open_account(other, other_bank)
    gave = command.verb == "gave"
    try:
        result = ledger.record_exchange(
            giver=me if gave else them, receiver=them if gave else me,
            minutes=command.minutes, service_date=today, recorded_by=member,
            idempotency_key=f"sms-{text.sid}"[:64], confirm=not gave,
            description=command.what, today=today, via="text")
    except ledger.LedgerError as refused:
        return _("Not recorded: %(why)s", why=refused.message)
    exchange = result.exchange
    time = format_minutes(exchange.minutes)
    if exchange.status == ExchangeStatus.CONFIRMED:
        return _("Recorded: %(name)s gave you %(time)s. Your balance is %(balance)s.",
                 name=other.display_name, time=time,
                 balance=format_minutes(me.balance))
    if exchange.awaiting_member_id is None:
        return _("Recorded %(time)s with %(name)s: a second coordinator will confirm it.",
                 time=time, name=other.display_name)
    return _("Recorded: you gave %(name)s %(time)s. It counts once they confirm it.",
             name=other.display_name, time=time)


def _bad_codes_today(member: Member, now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(TextMessage).where(
        TextMessage.member_id == member.id, TextMessage.command == "code-bad",
        TextMessage.created_at > now - timedelta(days=1))) or 0


def _answer(member: Member, command: commands.Command, now: datetime,
            message: TextMessage) -> str:
    wrong = _("That code is not yours, or it was used or has expired. Text BAL, or ask "
              "the office.")
    if _bad_codes_today(member, now) >= BAD_CODES:
        return wrong  # guessing: no code is tried today, right or not
    code = outbox.open_code(member.id, command.code, CodePurpose.EXCHANGE, now) \
        if command.code else None
    if code is None or code.exchange_id is None or not outbox.use(code, now):
        message.command = "code-bad"
        return wrong
    for_member = db.session.get(Member, code.acting_for_id) if code.acting_for_id else None
    by, proxy = (for_member, member) if for_member is not None else (member, None)
    try:
        if command.verb == "yes":
            exchange = ledger.confirm_exchange(code.exchange_id, by, via="text", proxy=proxy)
        else:
            exchange = ledger.decline_exchange(code.exchange_id, by, via="text", proxy=proxy)
    except ledger.LedgerError as refused:
        if db.session.get(Exchange, code.exchange_id).status == ExchangeStatus.PENDING:
            code.used_at = None  # refused (a limit, say): the code still answers it later
        return _("Nothing changed: %(why)s", why=refused.message)
    time = format_minutes(exchange.minutes)
    if command.verb == "yes":
        after = format_minutes(exchange.receiver.balance)
        if proxy is not None:
            return _("Confirmed for %(member)s: %(time)s from %(name)s. Their balance is now "
                     "%(balance)s.", member=by.display_name, time=time,
                     name=exchange.giver.label, balance=after)
        return _("Confirmed: %(time)s from %(name)s. Your balance is now %(balance)s.",
                 time=time, name=exchange.giver.label, balance=after)
    return _("Declined: the %(time)s from %(name)s does not count.", time=time,
             name=exchange.giver.label)


def _balance(member: Member, bank: Bank) -> str:
    account = ledger.account_of(member, bank.id)
    if account is None:
        return _("You have no exchanges in %(bank)s yet.", bank=bank.name)
    lines = [_("Your balance in %(bank)s: %(balance)s.", bank=bank.name,
               balance=format_minutes(account.balance))]
    last = db.session.scalars(
        select(Exchange).where(
            or_(Exchange.giver_account_id == account.id,
                Exchange.receiver_account_id == account.id),
            Exchange.status == ExchangeStatus.CONFIRMED)
        .order_by(Exchange.service_date.desc(), Exchange.id.desc()).limit(3)).all()
    for exchange in last:
        day = format_day(exchange.service_date, bank, "short")
        if exchange.giver_account_id == account.id:
            lines.append(_("%(day)s: gave %(name)s %(time)s", day=day,
                           name=exchange.receiver.label, time=format_minutes(exchange.minutes)))
        else:
            lines.append(_("%(day)s: got %(time)s from %(name)s", day=day,
                           name=exchange.giver.label, time=format_minutes(exchange.minutes)))
    return "\n".join(lines)


def _answer_listing(member: Member, bank: Bank, code_text: str, now: datetime,
                    message: TextMessage) -> str:
    code = (outbox.open_code(member.id, code_text, CodePurpose.LISTING, now)
            if _bad_codes_today(member, now) < BAD_CODES else None)
    if code is None or code.listing_id is None or not outbox.use(code, now):
        message.command = "code-bad"
        return _("That number is not one we texted you, or it has expired. Text NEAR for "
                 "new ones.")
    try:
        match, _created = respond(code.listing_id, member,
                                  _("Answered by text message."), bank.id)
    except Refused as refused:
        db.session.commit()
        return _("Nothing sent: %(why)s", why=refused.message)
    other = match.helper if match.requester_id == member.id else match.requester
    return _("Sent: %(name)s hears that you answered, and the coordinators can see it. "
             "They will be in touch.", name=other.display_name if other else bank.name)
