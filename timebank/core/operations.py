"""What an operator watches: the scheduled jobs' last results (the admin's page), and the
figures ``/metrics`` publishes (queues, the job runner's heartbeat, the ledger's last
check), each read in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from timebank.core.models import JobRun, OutboxMessage, TextMessage, TextStatus
from timebank.core.notify import MAX_ATTEMPTS
from timebank.infra.extensions import db


def job_runs() -> list[JobRun]:
    """Every job's last run, by name."""
    return list(db.session.scalars(select(JobRun).order_by(JobRun.name)))


@dataclass(frozen=True)
class Figures:
    outbox: int  # e-mails waiting to go (not given up on)
    texts: int  # texts waiting to go
    heartbeat: datetime | None  # when the job runner last finished a job
    ledger_ok: bool | None  # the last check-ledger's verdict (None: never run)
    ledger_checked_at: datetime | None


def figures() -> Figures:
    outbox = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS).scalar_subquery()
    texts = select(func.count(TextMessage.id)).where(
        TextMessage.status == TextStatus.QUEUED).scalar_subquery()
    beat = select(func.max(JobRun.finished_at)).scalar_subquery()
    found = db.session.execute(select(outbox, texts, beat)).one()
    ledger = db.session.get(JobRun, "check-ledger")
    return Figures(int(found[0]), int(found[1]), found[2],
                   ledger.ok if ledger else None, ledger.finished_at if ledger else None)
