"""What an operator relies on: /metrics behind its token, the scheduled ledger check and
backups with their results on the admin's page, and a backup that meets a full disk."""

from __future__ import annotations

import re
import resource
import secrets
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from tests.support import ROOT, TODAY, app_env, get, login
from timebank import jobs
from timebank.core import notify
from timebank.core.ledger import writer as ledger
from timebank.core.models import JobRun, Notification, Role
from timebank.infra import clock
from timebank.infra.extensions import db

TOKEN = "metrics-" + "k" * 32


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"TIMEBANK_METRICS_TOKEN": TOKEN, "TIMEBANK_BACKUP_DIR": str(tmp_path / "backups"),
            "TIMEBANK_BACKUP_KEEP": 2}


def _job(name: str) -> jobs.Job:
    return next(job for job in jobs.JOBS if job.name == name)


def _metric(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert found, (name, labels, text[:2000])
    return float(found.group(1))


def test_metrics_need_their_token_and_show_requests_queues_and_the_ledger(app, client, make):
    member = make.member(email="metrics@example.org")
    with app.app_context():
        notify.notify(get(member), "Something for you.", "/", site_wide=True)
        db.session.commit()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status_code == 401 and "Bearer" in wrong.headers["WWW-Authenticate"]
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    for word in ("BREW", "WHEN", "SPAM"):  # any word a client sends is one series, not three
        assert client.open("/healthz", method=word).status_code == 405
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    page = client.get("/metrics", headers=bearer)
    assert page.status_code == 200 and page.mimetype == "text/plain"
    text = page.get_data(as_text=True)
    # Latency by route (the route's rule, never the raw path: no unbounded labels).
    assert _metric(text, "timebank_request_duration_seconds_count",
                   '{method="GET",route="/healthz"}') >= 3
    assert _metric(text, "timebank_outbox_waiting") == 1
    assert _metric(text, "timebank_texts_waiting") == 0
    assert _metric(text, "timebank_ledger_check_ok") == -1  # never run yet
    assert _metric(text, "timebank_jobs_heartbeat_age_seconds") == -1
    assert "timebank_replica_lag_seconds" not in text  # no replica configured
    assert 'method="OTHER"' in text and "BREW" not in text
    assert jobs.run_job(app, _job("check-ledger"))
    text = client.get("/metrics", headers=bearer).get_data(as_text=True)
    assert _metric(text, "timebank_ledger_check_ok") == 1
    assert 0 <= _metric(text, "timebank_ledger_check_age_seconds") < 60
    assert 0 <= _metric(text, "timebank_jobs_heartbeat_age_seconds") < 60


def test_metrics_are_off_without_a_token(app, client):
    app.config["TIMEBANK_METRICS_TOKEN"] = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.tampers_ledger
def test_scheduled_ledger_check_and_backups_show_on_the_admins_page(app, client, make,
                                                                     tmp_path):
    admin = make.member(Role.ADMIN, email="ops-admin@example.org")
    giver, receiver = make.member(), make.member()
    with app.app_context():
        ledger.record_exchange(
            giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(receiver)),
            minutes=45, service_date=TODAY, recorded_by=get(receiver),
            idempotency_key=ledger.new_key(), confirm=True)
        db.session.commit()
    login(client, "ops-admin@example.org")
    empty = client.get("/admin/jobs").get_data(as_text=True)
    assert "No job has run yet" in empty
    folder = Path(app.config["TIMEBANK_BACKUP_DIR"])
    folder.mkdir()
    by_hand = folder / "timebank-before-the-upgrade.sqlite"  # an admin's own: never pruned
    by_hand.write_text("kept")
    made = []
    for hours in (0, 24, 48):  # a day apart: three backups, the newest two kept
        clock.pin(clock.utcnow() + timedelta(hours=hours and 24))
        assert jobs.run_job(app, _job("backup"))
        made.append(max(p.name for p in folder.iterdir() if p != by_hand))
    assert sorted(p.name for p in folder.iterdir() if p != by_hand) == made[1:]
    assert by_hand.read_text() == "kept"
    assert all((folder / name).stat().st_mode & 0o777 == 0o600 for name in made[1:])
    assert not list(folder.glob("*.partial"))
    assert jobs.run_job(app, _job("check-ledger"))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "backup" in page and made[-1] in page and "the ledger holds" in page
    assert "<strong>failed</strong>" not in page and "job failed" not in page
    # The ledger broken behind its back: the next check fails, says where, and shows.
    with app.app_context():
        db.session.execute(db.text("UPDATE account SET balance = balance + 7 WHERE id = :a"),
                           {"a": ledger.account_of(get(giver)).id})
        db.session.commit()
    assert not jobs.run_job(app, _job("check-ledger"))
    with app.app_context():
        run = db.session.get(JobRun, "check-ledger")
        assert not run.ok and "problem" in run.result and run.last_ok_at is not None
        db.session.execute(db.text("UPDATE account SET balance = balance - 7 WHERE id = :a"),
                           {"a": ledger.account_of(get(giver)).id})
        db.session.commit()
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "1 job failed the last time it ran" in page and "<strong>failed</strong>" in page
    assert admin


def _small_disk():
    """In the child: every file it (or pg_dump) writes stops at 64 KB, as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process


def test_a_full_disk_during_backup_says_so_and_keeps_the_old_backup(app, db_url, db_kind,
                                                                     make, tmp_path):
    member = make.member()
    with app.app_context():  # news that does not compress: a copy well over 64 KB
        db.session.execute(insert(Notification), [
            {"member_id": member, "bank_id": None, "text": secrets.token_hex(100), "url": "/"}
            for _ in range(1000)])
        db.session.commit()
        db.session.remove()
    folder = tmp_path / "backups"
    env = app_env(db_url, TIMEBANK_BACKUP_DIR=str(folder), TIMEBANK_BACKUP_KEEP="2")
    command = [sys.executable, "-m", "flask", "--app", "timebank", "run-jobs", "--job", "backup"]
    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300, check=False)
    assert first.returncode == 0, first.stderr[-2000:]
    (old,) = folder.iterdir()
    size = old.stat().st_size
    assert size > 64 * 1024
    env["TIMEBANK_CLOCK_START"] = (clock.utcnow() + timedelta(days=1)).isoformat()
    full = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False, preexec_fn=_small_disk)  # noqa: PLW1509
    assert full.returncode != 0
    assert "the disk is full" in full.stderr and "earlier backups are untouched" in full.stderr
    assert list(folder.iterdir()) == [old] and old.stat().st_size == size  # nothing else
    with app.app_context():
        run = db.session.get(JobRun, "backup")
        if db_kind == "sqlite":
            # The database file is on the same full disk: the result cannot be written
            # either, and the log says so (the admin's page keeps the last good run).
            assert "its result could not be recorded" in full.stderr
            assert run.ok
        else:
            assert not run.ok and "the disk is full" in run.result
            assert run.last_ok_at is not None and run.last_ok_at < run.finished_at
