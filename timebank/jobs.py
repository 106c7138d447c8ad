"""The job runner: the periodic work a bank needs, in one long-lived process
(``flask --app timebank run-jobs``; compose's ``worker`` service). Sending queued
e-mail every minute and texts every half minute, retrying the geocoder every six hours,
queueing the weekly digests and "new near you" texts hourly (they go to each member at
most once a week, so an hourly run is safe), telling coordinators when an Asset of
Community Value's listing is ending, reminding members of tomorrow's events, and
nudging quiet members once a week; checking the ledger's invariants every hour and
backing the database up every day (``TIMEBANK_BACKUP_DIR``).

Each run's result is kept in ``job_run`` (one row a job): the admin's page shows it,
and ``/metrics`` reads the runner's heartbeat and the ledger's last verdict from it.

Each job runs in its own application context and a failure is logged, never fatal:
the next round tries again. A lock file keeps a second runner on the same machine
idle, so a restart overlapping the old process never sends twice.
"""

from __future__ import annotations

import fcntl
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, url_for

from timebank.core import events, quiet
from timebank.core.assets import upkeep
from timebank.core.assets.register import locate_pending as locate_assets
from timebank.core.auth import answer_reset_requests
from timebank.core.ledger.writer import check_ledger
from timebank.core.members.service import locate_pending as locate_members
from timebank.core.notify import queue_digests, send_pending, site_context
from timebank.core.texts import nearby, sending
from timebank.infra import backup, clock, geo, sms
from timebank.infra.extensions import db
from timebank.infra.tables import JobRun

log = logging.getLogger("timebank.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[Flask], str]


class JobFailed(Exception):
    """A job that ran to its end and found something wrong (the ledger broken, the backup
    not written): recorded as a failure with its words, as an exception would be."""


def send_mail(config, limit: int = 200) -> tuple[int, int]:
    """Answer the "forgotten password" requests, then send the queued e-mail: (sent,
    failed). The `send-mail` command and the job runner both do it this way."""

    answer_reset_requests()
    return send_pending(config, limit)


def _send_mail(app: Flask) -> str:
    sent, failed = send_mail(app.config, 200)
    return f"{sent} sent, {failed} failed"


def send_texts(config, limit: int = 200) -> tuple[int, int]:
    """Send the queued texts through the configured gateway: (sent, failed). Without
    one (TIMEBANK_SMS_* unset) they wait."""

    return sending.send(sms.gateway_from(config), clock.utcnow(), limit)


def _send_texts(app: Flask) -> str:
    sent, failed = send_texts(app.config, 200)
    return f"{sent} sent, {failed} failed"


def _weekly_texts(app: Flask) -> str:
    return f"{nearby.weekly(clock.utcnow())} weekly texts queued"


def _geocode(app: Flask) -> str:

    coder = geo.geocoder()
    found, missing = locate_members(coder)
    states = locate_assets(coder)
    return f"members {found} located, {missing} not found; assets {states}"


def _acv_reminders(app: Flask) -> str:
    with site_context():
        count = upkeep.remind_acv(
            clock.today(), lambda asset: url_for("assets.show", asset_id=asset.id))
    return f"{count} Assets of Community Value listings ending: coordinators told"


def _event_reminders(app: Flask) -> str:
    with site_context():
        # (local time: events keep the time the coordinator typed)
        return f"{events.remind(clock.now())} reminded of tomorrow's events"


def _quiet_nudges(app: Flask) -> str:
    with site_context():
        return f"{quiet.nudge(clock.utcnow())} quiet members nudged"


def _check_ledger(app: Flask) -> str:
    # One snapshot for all its statements (PostgreSQL): an exchange committed between
    # two of them must not read as a broken ledger. (SQLite's reads are one already.)
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    problems = check_ledger()
    db.session.rollback()
    if problems:
        raise JobFailed(f"{len(problems)} problems: " + "; ".join(problems[:5]))
    return "the ledger holds"


def _backup(app: Flask) -> str:
    folder = app.config.get("TIMEBANK_BACKUP_DIR")
    if not folder:
        return "no TIMEBANK_BACKUP_DIR: nothing backed up"
    try:
        made = backup.rotate(db.engine, folder, clock.utcnow(),
                             app.config["TIMEBANK_BACKUP_KEEP"])
    except backup.BackupError as error:
        raise JobFailed(error.message) from error
    return f"backed up to {made}"


def _digests(app: Flask) -> str:

    with site_context():
        return f"{queue_digests()} digests queued"


# The geocoder every six hours: an address it could not find is asked again each run,
# and Nominatim's policy is one request a second and no repeated queries.
JOBS = (Job("send-mail", 60, _send_mail), Job("send-sms", 30, _send_texts),
        Job("geocode-pending", 6 * 3600, _geocode),
        Job("send-digests", 3600, _digests), Job("weekly-texts", 3600, _weekly_texts),
        Job("acv-reminders", 6 * 3600, _acv_reminders),  # once per listing, whenever run
        Job("event-reminders", 900, _event_reminders),  # once per event, the day before
        Job("quiet-nudges", 3600, _quiet_nudges),  # each member at most once a week
        Job("check-ledger", 3600, _check_ledger), Job("backup", 24 * 3600, _backup))


def _record(name: str, started, ok: bool, result: str) -> None:
    """Keep the job's last result (its own transaction: a failed job's was rolled back)."""
    now = clock.utcnow()
    run = db.session.get(JobRun, name) or JobRun(name=name)
    run.started_at, run.finished_at, run.ok, run.result = started, now, ok, result[:2000]
    if ok:
        run.last_ok_at = now
    db.session.add(run)
    db.session.commit()


def run_job(app: Flask, job: Job) -> bool:
    """Run one job in its own application context and record how it went."""
    with app.app_context():
        started = clock.utcnow()
        try:
            result, ok = job.run(app), True
            log.info("%s: %s", job.name, result)
        except JobFailed as failure:
            db.session.rollback()
            result, ok = str(failure), False
            log.error("%s failed: %s", job.name, result)
        except Exception as error:  # logged with its traceback; the next round tries again
            db.session.rollback()
            # The first line only: a database error's text goes on to its SQL and
            # parameters (members' details), which the admin's page must not keep.
            result, ok = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}", False
            log.exception("%s failed", job.name)
        try:
            _record(job.name, started, ok, result)
        except Exception:  # the database itself may be what failed
            db.session.rollback()
            log.exception("%s: its result could not be recorded", job.name)
        finally:
            db.session.remove()
    return ok


def run_due(app: Flask, last: dict[str, float], now: float) -> list[str]:
    """Run every job whose interval has passed since it last ran; return their names."""

    ran = []
    for job in JOBS:
        if now - last.get(job.name, float("-inf")) < job.every_seconds:
            continue
        last[job.name] = now
        run_job(app, job)
        ran.append(job.name)
    return ran


def run_forever(app: Flask, once: bool = False, tick: float = 5.0) -> None:
    """Run the jobs on their schedules until SIGTERM or SIGINT (``once``: one round)."""
    lock_path = Path(app.instance_path) / "jobs.lock"
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit("another job runner holds " + str(lock_path)) from None
        stop = threading.Event()
        if not once:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_args: stop.set())
        last: dict[str, float] = {}
        while True:
            run_due(app, last, time.monotonic())
            if once or stop.wait(tick):
                return
