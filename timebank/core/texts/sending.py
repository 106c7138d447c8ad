"""Sending the queued texts (`flask send-sms`, the job runner), and telling a bank's
coordinators when its monthly cap holds texts back."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete

from timebank.core.links import bank_url
from timebank.core.models import Bank, StrangerTexts, TextMessage
from timebank.core.notify import notify
from timebank.core.roster import coordinators_of
from timebank.core.texts import outbox
from timebank.infra.extensions import db


def send(gateway, now: datetime, limit: int = 200) -> tuple[int, int]:
    """Send what is due; (sent, failed). First forget strangers: their counts from
    before today, and an answer to one that could not go within a day."""
    db.session.execute(delete(StrangerTexts).where(StrangerTexts.day < now.date()))
    db.session.execute(delete(TextMessage).where(
        TextMessage.member_id.is_(None), TextMessage.direction == "out",
        TextMessage.created_at < now - timedelta(days=1)))
    db.session.commit()
    sent, failed, capped = outbox.send_due(gateway, now, limit)
    for bank_id in sorted(capped):
        bank = db.session.get(Bank, bank_id)
        for coordinator in coordinators_of(bank):
            notify(coordinator, _l("%(bank)s has sent its %(cap)s texts for this month. The "
                                   "rest wait until next month, or until the cap is raised.",
                                   bank=bank.name, cap=bank.sms_monthly_cap),
                   bank_url("banks.contact", bank.id), bank_id=bank.id)
    db.session.commit()
    return sent, failed
