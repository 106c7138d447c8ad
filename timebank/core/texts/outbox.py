"""Texts out: queued like e-mails, sent by `flask send-sms` and the job runner.

Nothing is sent inside a request: ``queue`` adds a row; ``send_due`` hands each due row
to the gateway, one at a time, committing after each (a crash never sends twice), and
tries failed ones again later (1, 2, 4… minutes, up to six hours; eight tries). A bank's
texts stop at its monthly cap: the rest wait as "held" until the next month, and its
coordinators are told once that month. Replies to numbers no member has are deleted once
sent or given up: nothing about a stranger is kept.

The short codes texts carry (YES 4821, HELP 77, a mobile's check code) live here too:
single-use, one member's, expiring.
"""

from __future__ import annotations

import secrets
import sys
import unicodedata
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from timebank.core.models import (
    Bank,
    Member,
    MemberStatus,
    TextCode,
    TextMessage,
    TextStatus,
)
from timebank.core.models.base import utcnow
from timebank.infra.extensions import db
from timebank.infra.sms import GatewayError

# GSM 03.38's own letters: a text wholly in them takes 160 characters a part; one other
# letter (á, ŵ, “, −) and every part holds only 70, so each text costs two or three.
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
           "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
SWAPS = {"−": "-", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...",
         "·": ".", "\u00a0": " "}


def gsm7(text: str) -> str:
    """The text in GSM letters where a near one exists ("Sí" → "Si", "−2 h" → "-2 h"),
    so a text costs one part, not two; other scripts (a name in Arabic) stay as they are."""
    out = []
    for char in text:
        if char in GSM7:
            out.append(char)
        elif char in SWAPS:
            out.append(SWAPS[char])
        else:
            plain = "".join(c for c in unicodedata.normalize("NFKD", char)
                            if not unicodedata.combining(c))
            out.append(plain if plain and all(c in GSM7 for c in plain) else char)
    return "".join(out)


MAX_ATTEMPTS = 8
MAX_BODY = 1600  # ten SMS segments: the gateways' own limit
SENDING = "sending"  # claimed by one sender (two runners never send the same text)


def wants_texts(member: Member) -> bool:
    """Does a text reach this member at all (a verified mobile, not stopped, not "never")?"""
    return bool(member.mobile and member.mobile_verified_at is not None
                and member.texts_stopped_at is None and member.text_preference != "never"
                and member.erased_at is None and member.status != MemberStatus.SUSPENDED)


def queue(number: str, body: str, *, member_id: int | None, bank_id: int | None,
          now: datetime | None = None, kind: str = "reply") -> TextMessage:
    """Queue one text: a "reply" to a text, "news" from the site or a "code" to check a
    mobile (``still_wanted`` decides at sending). Caller commits."""
    message = TextMessage(direction="out", number=number, member_id=member_id,
                          bank_id=bank_id, body=gsm7(" ".join(str(body).split()))[:MAX_BODY],
                          command=kind, status=TextStatus.QUEUED, created_at=now or utcnow())
    db.session.add(message)
    if current_app.config.get("TIMEBANK_SMS_ECHO"):
        print(f"{'-' * 72}\nText to {number}\n\n{message.body}\n{'-' * 72}",
              file=sys.stderr, flush=True)
    return message


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(now: datetime) -> datetime:
    return (_month_start(now) + timedelta(days=32)).replace(day=1)


def still_wanted(message: TextMessage) -> bool:
    """Is a queued text still to go? Texts wait (a cap, a gateway down): by then the
    member may have texted STOP, removed or changed their mobile, or been erased."""
    if message.member_id is None:
        return True  # the one answer to a stranger
    member = db.session.get(Member, message.member_id)
    if member is None or member.erased_at is not None:
        return False
    if message.command in ("code", "notice"):
        return True  # to a number being checked, or one that was theirs until now
    if message.number != member.mobile:
        return False
    return message.command == "reply" or wants_texts(member)


def sent_this_month(bank_id: int, now: datetime) -> int:
    """Texts the bank sent since the first of this month (what its cap counts)."""
    return db.session.scalar(select(func.count()).select_from(TextMessage).where(
        TextMessage.bank_id == bank_id, TextMessage.direction == "out",
        TextMessage.status == TextStatus.SENT,
        TextMessage.sent_at >= _month_start(now))) or 0


def month_figures(bank_id: int, now: datetime) -> dict[str, int]:
    """The bank's texts this month: sent, held at the cap, received; and the cap."""
    start = _month_start(now)
    counts = dict(db.session.execute(
        select(TextMessage.status, func.count()).where(
            TextMessage.bank_id == bank_id, TextMessage.created_at >= start)
        .group_by(TextMessage.status)).all())
    bank = db.session.get(Bank, bank_id)
    return {"sent": sent_this_month(bank_id, now), "held": counts.get(TextStatus.HELD, 0),
            "received": counts.get(TextStatus.RECEIVED, 0) + counts.get(TextStatus.IGNORED, 0),
            "cap": bank.sms_monthly_cap if bank is not None else 0}


def _claim(message_id: int, status: str) -> bool:
    done = db.session.execute(update(TextMessage).where(
        TextMessage.id == message_id, TextMessage.status == status).values(status=SENDING))
    db.session.commit()
    return getattr(done, "rowcount", 0) == 1  # (a CursorResult: rows it changed)


def _hold(message: TextMessage, now: datetime) -> bool:
    """The bank's cap is reached: hold the text. True when it is the first held this
    month (its coordinators are then told: ``core.texts.sending``)."""
    already = db.session.scalar(select(func.count()).select_from(TextMessage).where(
        TextMessage.bank_id == message.bank_id, TextMessage.status == TextStatus.HELD,
        TextMessage.created_at >= _month_start(now)))
    message.status = TextStatus.HELD
    return not already


def send_due(gateway, now: datetime | None = None,
             limit: int = 200) -> tuple[int, int, set[int]]:
    """Send the texts that are due; return (sent, failed this round, the banks whose cap
    was first reached this month). Without a gateway (texts not set up) they wait."""
    if gateway is None:
        return 0, 0, set()
    now = now or utcnow()
    due = db.session.execute(
        select(TextMessage.id, TextMessage.status).where(
            TextMessage.direction == "out",
            TextMessage.status.in_([TextStatus.QUEUED, TextStatus.HELD]),
            (TextMessage.next_attempt_at.is_(None)) | (TextMessage.next_attempt_at <= now))
        .order_by(TextMessage.id).limit(limit)).all()
    db.session.commit()
    sent = failed = 0
    caps: dict[int, int] = {}
    capped: set[int] = set()
    for message_id, status in due:
        if not _claim(message_id, status):
            continue  # another sender took it
        message = db.session.get(TextMessage, message_id)
        if not still_wanted(message):
            message.status, message.last_error = TextStatus.FAILED, "no longer wanted"
            if message.member_id is None:
                db.session.delete(message)
            db.session.commit()
            continue
        if message.bank_id is not None:
            cap = caps.setdefault(message.bank_id, db.session.get(Bank, message.bank_id)
                                  .sms_monthly_cap)
            if sent_this_month(message.bank_id, now) >= cap:
                if _hold(message, now):
                    capped.add(message.bank_id)
                # Not asked again before the cap resets: held texts must not crowd out
                # every other bank's at the head of the queue.
                message.next_attempt_at = _next_month(now)
                db.session.commit()
                continue
        message.attempts += 1
        try:
            message.gateway_id = gateway.send(message.number, message.body)
        except GatewayError as error:
            failed += 1
            message.last_error = str(error)[:1000]
            if error.temporary and message.attempts < MAX_ATTEMPTS:
                message.status = TextStatus.QUEUED
                message.next_attempt_at = now + timedelta(
                    minutes=min(2 ** (message.attempts - 1), 360))
            else:
                message.status = TextStatus.FAILED
        else:
            message.status, message.sent_at, message.last_error = TextStatus.SENT, now, ""
            sent += 1
        if message.member_id is None and message.status in (TextStatus.SENT,
                                                             TextStatus.FAILED):
            db.session.delete(message)  # a reply to a stranger: keep nothing of them
        db.session.commit()
    return sent, failed, capped


# -- codes --------------------------------------------------------------------------

CODE_DAYS = {"exchange": 14, "verify": 1, "listing": 7}
CODE_TRIES = 5  # wrong guesses at a mobile's check code before it is spent


def new_code(member_id: int, purpose: str, now: datetime, *, digits: int = 4,
             **links) -> TextCode:
    """A fresh code for ``member_id``, unlike any of theirs still open. Caller commits."""
    taken = set(db.session.scalars(select(TextCode.code).where(
        TextCode.member_id == member_id, TextCode.used_at.is_(None),
        TextCode.expires_at > now)))
    low, high = 10 ** (digits - 1), 10 ** digits
    for _attempt in range(50):
        code = str(low + secrets.randbelow(high - low))
        if code not in taken:
            break
    else:  # fifty open codes of this length: use a longer one
        return new_code(member_id, purpose, now, digits=digits + 1, **links)
    row = TextCode(member_id=member_id, purpose=purpose, code=code, created_at=now,
                   expires_at=now + timedelta(days=CODE_DAYS[purpose]), **links)
    db.session.add(row)
    return row


def use(code: TextCode, now: datetime) -> bool:
    """Spend a code, once: False if another text spent it first. Commits."""
    done = db.session.execute(update(TextCode).where(
        TextCode.id == code.id, TextCode.used_at.is_(None)).values(used_at=now))
    db.session.commit()
    return getattr(done, "rowcount", 0) == 1


def open_code(member_id: int, code: str, purpose: str, now: datetime) -> TextCode | None:
    """The member's open code ``code`` for ``purpose``, or None (someone else's, used,
    expired, or never given)."""
    return db.session.scalar(select(TextCode).where(
        TextCode.member_id == member_id, TextCode.code == code.strip(),
        TextCode.purpose == purpose, TextCode.used_at.is_(None),
        TextCode.expires_at > now).order_by(TextCode.id.desc()).limit(1))
