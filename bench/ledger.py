"""Confirmed exchanges per second through gunicorn with 2 workers, beside /healthz.

Each confirmed exchange is a real POST of the "I received time" form (CSRF,
idempotency key, BEGIN IMMEDIATE / row locks, two entries, two balances,
audit row). The baseline is /healthz (one trivial query) measured the same
way in the same run, so the figure that matters is the ratio.
"""

from __future__ import annotations

import tempfile
import uuid

from bench.common import rate, write
from tests import pg
from tests.support import (
    PASSWORD,
    Factory,
    Gunicorn,
    build_app,
    clone,
    flask_cli,
    hidden_fields,
    logged_in_session,
)
from timebank.core.ledger import writer as ledger
from timebank.infra import clock
from timebank.infra.extensions import db

MEMBERS = 16
THREADS = 8
SECONDS = 15
MAX_REQUESTS = 20000


def prepare(url: str) -> list[str]:
    done = flask_cli(url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    app = build_app(url)
    factory = Factory(app)
    with app.app_context():
        emails = []
        # Two admins: a limit below the bank's needs one to ask and another to agree.
        asks, agrees = (factory.member("admin", email=f"bench-admin{n}@example.org")
                        for n in range(2))
        for i in range(MEMBERS):
            member_id = factory.member(email=f"bench{i}@example.org", name=f"Bench {i}")
            emails.append(f"bench{i}@example.org")
            # A deep floor, so the benchmark measures writes, not refusals.
            ledger.set_floor(ledger.account_of(db.session.get(ledger.Member, member_id)).id,
                             None, db.session.get(ledger.Member, asks),
                             second=db.session.get(ledger.Member, agrees))
        db.session.remove()
        db.engine.dispose()
    return emails


def run_engine(url: str) -> dict:
    emails = prepare(url)
    with Gunicorn(url, workers=2, threads=4) as server:
        base = server.url
        sessions = [logged_in_session(base, e, PASSWORD) for e in emails]
        tokens = [hidden_fields(s.get(base + "/exchanges/new", timeout=30).text)["csrf_token"]
                  for s in sessions]
        clients = [clone(s) for s in sessions[:THREADS]]
        health = [clone(s) for s in sessions[:THREADS]]
        today = clock.today().isoformat()

        def healthz(t: int, i: int) -> bool:
            return health[t].get(base + "/healthz", timeout=30).status_code == 200

        def exchange(t: int, i: int) -> bool:
            other = (t + 1 + i % (MEMBERS - 1)) % MEMBERS
            if other == t:
                other = (other + 1) % MEMBERS
            response = clients[t].post(base + "/exchanges/new", data={
                "csrf_token": tokens[t], "idempotency_key": uuid.uuid4().hex,
                "direction": "received", "other": f"Bench {other} (#{other + 1})",
                "hours": "0", "extra_minutes": "15", "service_date": today, "category": "0",
                "description": "bench"}, allow_redirects=False, timeout=60)
            return response.status_code == 303

        rate(healthz, THREADS, 2, 400)  # warm-up
        rate(exchange, THREADS, 2, 200)
        baseline = rate(healthz, THREADS, SECONDS, MAX_REQUESTS)
        ledger_rate = rate(exchange, THREADS, SECONDS, MAX_REQUESTS)
        if ledger_rate["failed"] or "Traceback" in server.output():
            print(server.output()[-5000:])
    app = build_app(url)
    with app.app_context():
        problems = ledger.check_ledger()
        db.session.remove()
        db.engine.dispose()
    assert problems == [], problems
    return {"healthz": baseline, "confirmed_exchanges": ledger_rate,
            "ratio": round(ledger_rate["per_second"] / baseline["per_second"], 3)}


def main() -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run_engine(f"sqlite:///{tmp}/bench.sqlite")
    server = pg.start()
    try:
        results["postgresql"] = run_engine(server.createdb("timebank_bench"))
    finally:
        server.stop()
    lines = ["# Ledger benchmark", "",
             f"gunicorn, 2 workers × 4 threads; {THREADS} client threads; "
             f"{SECONDS} s per measurement.", "",
             "| engine | /healthz req/s | confirmed exchanges/s | ratio |",
             "| --- | ---: | ---: | ---: |"]
    for engine, r in results.items():
        lines.append(f"| {engine} | {r['healthz']['per_second']} | "
                     f"{r['confirmed_exchanges']['per_second']} | {r['ratio']} |")
    write("ledger", {"settings": {"members": MEMBERS, "threads": THREADS,
                                  "seconds": SECONDS}, "results": results},
          "\n".join(lines))
    return results


if __name__ == "__main__":
    main()
