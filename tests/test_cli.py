"""Command-line contracts: db upgrade, seed-demo, check-ledger."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine

from tests.support import build_app, flask_cli, login
from timebank.core.ledger import writer as ledger
from timebank.core.models import Account, Asset, Exchange, Member
from timebank.infra import clock
from timebank.infra.db import normalise_url
from timebank.infra.extensions import db


def test_migrations_build_the_schema_the_models_describe(fresh_db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = fresh_db("timebank_migrations")
    done = flask_cli(url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        categories = conn.exec_driver_sql("SELECT count(*) FROM category").scalar()
        # Prepared statements outlive requests (infra/db.end_reads): each planned for
        # its values, never a generic plan (migration 0030).
        plans = (conn.exec_driver_sql("SHOW plan_cache_mode").scalar()
                 if conn.dialect.name == "postgresql" else "force_custom_plan")
    engine.dispose()
    assert diff == [], diff
    assert plans == "force_custom_plan"
    assert categories >= 10  # the default skills taxonomy comes with the schema
    again = flask_cli(url, "db", "upgrade")  # idempotent
    assert again.returncode == 0, again.stderr


def test_seed_demo_is_balanced_and_reproducible(fresh_db):
    url = fresh_db("timebank_seed")
    assert flask_cli(url, "db", "upgrade").returncode == 0
    seeded = flask_cli(url, "seed-demo", "--members", "40", "--exchanges", "2000",
                       "--seed", "3", "--assets", "300")
    assert seeded.returncode == 0, seeded.stderr
    for email in ("resident@example.org", "coordinator@example.org", "council@example.org",
                  "admin@example.org"):
        assert email in seeded.stdout
    check = flask_cli(url, "check-ledger")
    assert check.returncode == 0, check.stderr
    assert re.search(r"ledger OK: 200[01] exchanges", check.stdout), check.stdout
    app = build_app(url)
    with app.app_context():
        # 4 logins, 40 members, and a real day's 2 applicants and a quiet neighbour.
        assert db.session.query(Member).count() == 47
        # The history, and one recorded nine days ago that waits for a confirmation.
        assert db.session.query(Exchange).count() == 2001
        assert db.session.query(Exchange).filter_by(status="pending").count() == 1
        floors_ok = all(a.floor is None or a.balance >= a.floor
                        for a in db.session.query(Account))
        assert floors_ok
        assert ledger.check_ledger() == []
        # Believable (issue 13): no two members or assets alike, every asset in its kind.
        names = [m.display_name for m in db.session.query(Member)]
        assert len(names) == len(set(names))
        assets = db.session.query(Asset).filter_by(status="published").all()
        assert len(assets) == 300 and len({a.name for a in assets}) == 300
        assert db.session.query(Asset).filter_by(status="proposed").count() == 1
        kinds = {"Library": "institutions", "Food Bank": "services", "Choir": "culture",
                 "Credit Union": "economy", "Allotments": "physical", "Youth Club": "associations"}
        checked = 0
        for asset in assets:
            for word, slug in kinds.items():
                if word in asset.name:
                    assert asset.category.slug == slug, asset.name
                    checked += 1
        assert checked > 20
        # Kinds of help match what was done.
        fence = {e.category.slug for e in db.session.query(Exchange).filter_by(
            description="Walked the dog")}
        assert fence == {"pets"}
        db.session.remove()
        db.engine.dispose()
    # The coordinator's home shows a real morning's work, each kind of it waiting.
    client = app.test_client()
    login(client, "coordinator@example.org", "timebank-demo")
    home = client.get("/").get_data(as_text=True)
    with app.test_request_context():
        from timebank.core.models import Bank
        from timebank.core.queue import work_queue

        bank_id = db.session.query(Bank).one().id
        waiting = {item.key: item.count for item in work_queue(bank_id)}
        db.session.remove()
    assert all(waiting[key] >= 1 for key in (
        "applications", "requests", "exchanges", "introductions", "assets", "expiring",
        "quiet")), waiting
    assert "Gwen Morgan" in home and "Help putting up a curtain rail" in home
    ideas = client.get("/ideas").get_data(as_text=True)
    assert "A tool library in the old library" in ideas
    with app.app_context():
        from timebank.core.models import Event, EventKind

        meeting = db.session.query(Event).filter_by(kind=EventKind.CODESIGN).one()
        assert meeting.starts_at > clock.now()  # an event ahead, with someone signed up
    with app.app_context():
        db.engine.dispose()
    # The migration that brought the monthly figures fills them from the exchanges
    # already there exactly as the ledger keeps them from then on.
    assert flask_cli(url, "db", "downgrade", "0008").returncode == 0
    assert flask_cli(url, "db", "upgrade").returncode == 0
    check = flask_cli(url, "check-ledger")
    assert check.returncode == 0, check.stderr
    skipped = flask_cli(url, "seed-demo", "--if-empty")
    assert skipped.returncode == 0 and "not seeding" in skipped.stdout
    assert "coordinator@example.org" in skipped.stdout  # make run always shows the logins


def test_no_code_outside_ledger_writes_entries_or_balances():
    """Only timebank/core/ledger/writer.py may create Entry rows or change Account.balance."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "timebank"
    pattern = re.compile(
        r"Entry\(|insert\(Entry\)|\.balance\s*[+\-]?=|balance\s*=\s*balance|"
        r"UPDATE\s+account|update\(Account|Account\.__table__|insert\(Account\)",
        re.IGNORECASE,
    )
    offenders = []
    for path in root.rglob("*.py"):
        if path == root / "core" / "ledger" / "writer.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("class "):
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.slow
def test_make_run_serves_on_the_port_asked_and_prints_every_email(tmp_path):
    """A newcomer's first minutes: `make run PORT=N` serves on N, e-mailed links point
    there, and the e-mails themselves are printed, so the confirmation link can be
    followed with no mail server."""
    import os
    import signal
    import subprocess
    import time

    import requests

    from tests.pg import free_port
    from tests.support import ROOT, hidden_fields

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
    env["TIMEBANK_DATABASE_URL"] = f"sqlite:///{tmp_path}/run.sqlite"
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            raise AssertionError(log.read())
        web = requests.Session()
        form = hidden_fields(web.get(f"{base}/register").text)
        answer = web.post(f"{base}/register", data={
            **form, "email": "newcomer@example.org", "display_name": "Nia Newcomer",
            "neighbourhood": "Riverside", "password": "a long and unusual phrase",
            "confirm": "a long and unusual phrase", "accept": "y"})
        assert answer.status_code == 200, answer.text[:500]
        for _ in range(50):
            printed = (tmp_path / "run.log").read_text()
            if "E-mail to newcomer@example.org" in printed:
                break
            time.sleep(0.2)
        assert "E-mail to newcomer@example.org" in printed
        link = re.search(rf"{re.escape(base)}/\S+", printed[printed.index("newcomer@"):])
        assert link, printed[-2000:]
        assert "Demo logins" in printed and f"Serving on {base}" in printed
        assert web.get(link.group(0)).status_code == 200  # the link works, on that port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()
