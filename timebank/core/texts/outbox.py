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
from sqlalchemy import and_, delete, func, or_, select, update

from timebank.core.models import (
    Bank,
    Member,
    MemberStatus,
    TextCode,
    TextMessage,
    TextStatus,
)
from timebank.core.models.base import utcnow
from timebank.infra.db import write_transaction
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
                          bank_id=bank_id, body=gsm7(_tidy(str(body)))[:MAX_BODY],
                          command=kind, status=TextStatus.QUEUED, created_at=now or utcnow())
    db.session.add(message)
    if current_app.config.get("TIMEBANK_SMS_ECHO"):
        print(f"{'-' * 72}\nText to {number}\n\n{message.body}\n{'-' * 72}",
              file=sys.stderr, flush=True)
    return message


def _tidy(body: str) -> str:
    """One space between words, lines kept (a list reads better a line each)."""
    return "\n".join(" ".join(line.split()) for line in body.splitlines() if line.strip())


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(now: datetime) -> datetime:
    return (_month_start(now) + timedelta(days=32)).replace(day=1)


# How long an answer stays worth sending: a balance or a check code days late helps
# nobody (news of an exchange stays true, and goes).
STALE = {"reply": timedelta(days=2), "code": timedelta(days=1), "notice": timedelta(days=7)}


def still_wanted(message: TextMessage, now: datetime) -> bool:
    """Is a queued text still to go? Texts wait (a cap, a gateway down): by then the
    member may have texted STOP, removed or changed their mobile, or been erased."""
    if message.command in STALE and message.created_at < now - STALE[message.command]:
        return False
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
    """Texts the bank sent since the first of this month, and those being sent now by
    any sender (what its cap counts: two senders at once never overshoot it)."""
    return db.session.scalar(select(func.count()).select_from(TextMessage).where(
        TextMessage.bank_id == bank_id, TextMessage.direction == "out",
        or_(and_(TextMessage.status == TextStatus.SENT,
                 TextMessage.sent_at >= _month_start(now)),
            TextMessage.status == SENDING))) or 0


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


def _claim(message_id: int, status: str, now: datetime) -> bool:
    """Take a due text for this sender alone (two runners never send the same one),
    stamped ``now``: a sender that stops before it is done leaves it for ``_unstick``."""
    with write_transaction():
        done = db.session.execute(update(TextMessage).where(
            TextMessage.id == message_id, TextMessage.status == status)
            .values(status=SENDING, next_attempt_at=now))
    return getattr(done, "rowcount", 0) == 1  # (a CursorResult: rows it changed)


def _told_this_month(bank_id: int, now: datetime) -> bool:
    """Were the bank's coordinators told of its cap this month? Texts held this month
    wait for the next one: any such row says so (carried-over ones wait for this one)."""
    return (db.session.scalar(select(func.count()).select_from(TextMessage).where(
        TextMessage.bank_id == bank_id, TextMessage.status == TextStatus.HELD,
        TextMessage.next_attempt_at == _next_month(now))) or 0) > 0


def release_held(bank_id: int) -> None:
    """The cap was raised: held texts are due again at once. Caller commits."""
    db.session.execute(update(TextMessage).where(
        TextMessage.bank_id == bank_id, TextMessage.status == TextStatus.HELD)
        .values(next_attempt_at=None))


def _unstick(now: datetime) -> None:
    """Texts a sender claimed and never finished (it crashed, or lost the database
    mid-way) go back in the queue after ten minutes. The gateway may have taken one
    already: a rare second copy is better than a request to confirm that never came."""
    with write_transaction():
        db.session.execute(update(TextMessage).where(
            TextMessage.status == SENDING,
            TextMessage.next_attempt_at < now - timedelta(minutes=10))
            .values(status=TextStatus.QUEUED, last_error="sender stopped; sent again"))


def _settle(message_id: int, **values) -> None:
    """Write what became of a text in its own short write transaction."""
    with write_transaction():
        db.session.execute(update(TextMessage).where(TextMessage.id == message_id)
                           .values(**values))
        if values.get("status") in (TextStatus.SENT, TextStatus.FAILED):
            # A reply to a stranger: keep nothing of them once it went (or never will).
            db.session.execute(delete(TextMessage).where(TextMessage.id == message_id,
                                                         TextMessage.member_id.is_(None)))


def send_due(gateway, now: datetime | None = None,
             limit: int = 200) -> tuple[int, int, set[int]]:
    """Send the texts that are due; return (sent, failed this round, the banks whose cap
    was first reached this month). Without a gateway (texts not set up) they wait.

    No transaction is open while the gateway is asked: a slow gateway must not hold
    SQLite's lock, and another writer meanwhile must not make the result unwritable."""
    if gateway is None:
        return 0, 0, set()
    now = now or utcnow()
    _unstick(now)
    due = db.session.execute(
        select(TextMessage.id, TextMessage.status).where(
            TextMessage.direction == "out",
            TextMessage.status.in_([TextStatus.QUEUED, TextStatus.HELD]),
            (TextMessage.next_attempt_at.is_(None)) | (TextMessage.next_attempt_at <= now))
        .order_by(TextMessage.id).limit(limit)).all()
    db.session.commit()
    sent = failed = 0
    capped: set[int] = set()
    for message_id, status in due:
        if not _claim(message_id, status, now):
            continue  # another sender took it
        message = db.session.get(TextMessage, message_id)
        if not still_wanted(message, now):
            _settle(message_id, status=TextStatus.FAILED, last_error="no longer wanted")
            continue
        if message.bank_id is not None:
            cap = db.session.get(Bank, message.bank_id).sms_monthly_cap
            # (this text, claimed, counts itself: hence "more than")
            if sent_this_month(message.bank_id, now) > cap:
                if not _told_this_month(message.bank_id, now):
                    capped.add(message.bank_id)
                # Not asked again before the cap resets (or is raised): held texts must
                # not crowd out every other bank's at the head of the queue.
                _settle(message_id, status=TextStatus.HELD,
                        next_attempt_at=_next_month(now))
                continue
        number, body, attempts = message.number, message.body, message.attempts + 1
        _settle(message_id, attempts=attempts)
        db.session.commit()  # no transaction open while the gateway answers
        try:
            gateway_id = gateway.send(number, body)
        except GatewayError as error:
            failed += 1
            again = error.temporary and attempts < MAX_ATTEMPTS
            _settle(message_id, last_error=str(error)[:1000],
                    status=TextStatus.QUEUED if again else TextStatus.FAILED,
                    next_attempt_at=now + timedelta(minutes=min(2 ** (attempts - 1), 360))
                    if again else None)
        else:
            sent += 1
            _settle(message_id, status=TextStatus.SENT, sent_at=now, last_error="",
                    gateway_id=gateway_id)
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
