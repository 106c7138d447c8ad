"""Every main page on a city's data beside the same pages on a small bank, under load.

Two histories on each engine (SQLite and PostgreSQL), seeded alike but for size:
the city (20,000 members, 1,000,000 exchanges, 10,000 assets) and a small bank (1,000
members, 10,000 exchanges, 500 assets). Both give volume to every page measured:
listings for one member in two, notifications five per member, and one very busy
member (the demo resident: 20,000 more exchanges and 2,000 notifications of their own).

Each database is served by gunicorn (gunicorn.conf.py, 2 workers × 4 threads) and
loaded by wrk (Debian's; bench/wrk.lua reports): 8 concurrent keep-alive clients, a
fixed time per page, the city and the small bank measured in alternating rounds so the
machine's noise falls on both. A generator in Python cost the shared cores about 2 ms
a request, more than /healthz itself; wrk costs a few microseconds. Written: req/s and
p50/p95/p99 per page, each page's req/s as a share of /healthz's in the same run, and
the city/small p95. The matching workbench is measured warm; while exchanges are
confirmed in the bank (``EXCHANGES_PER_SECOND``, through the ledger), each of which
moves the give and take the workbench ranks by, so workers read it again and rank
afresh; and cold: the first view after each of a run of exchanges, one at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import func, insert, select

from bench.common import write
from tests import pg
from tests.support import Gunicorn, build_app, flask_cli, logged_in_session
from timebank.core.demo import DEMO_PASSWORD
from timebank.core.ledger import writer as ledger
from timebank.core.models import Account, Category, Listing, Member, Notification
from timebank.infra import clock
from timebank.infra.extensions import db

SIZES = {"small": (1_000, 10_000, 500), "city": (20_000, 1_000_000, 10_000)}
if os.environ.get("BENCH_CITY_QUICK"):  # a rehearsal: the same shape, much smaller
    SIZES = {"small": (200, 2_000, 100), "city": (2_000, 40_000, 2_000)}
BUSY = 20_000  # the busy member's own exchanges
CLIENTS = 8
SECONDS = int(os.environ.get("BENCH_CITY_SECONDS", 3))  # per page, size and round
ROUNDS = 4
MOVING = "matching workbench, exchanges confirmed"  # while EXCHANGES_PER_SECOND are
ENGINES = os.environ.get("BENCH_CITY_ENGINES", "sqlite,postgresql").split(",")
# Exchanges confirmed a second while the workbench is measured under them: a busy bank
# confirms a few hundred a day; two a second is 170,000 a day.
EXCHANGES_PER_SECOND = 2
AFTER_EACH = 40  # exchanges, each followed by one view of the workbench


def _volume(url: str, members: int) -> None:
    """Listings, notifications and the busy member, as a real bank of this size has."""
    app = build_app(url)
    rng = random.Random(11)
    with app.app_context():
        busy = db.session.scalar(select(Member).where(Member.email == "resident@example.org"))
        mine = ledger.account_of(busy)
        room = {a: (b, f) for a, b, f in db.session.execute(
            select(Account.id, Account.balance, Account.floor)
            .where(Account.member_id.is_not(None), Account.id != mine.id))}
        balances = {a: b for a, (b, _f) in room.items()}
        accounts = list(room)
        kinds = list(db.session.scalars(select(Category.id)))
        chosen = []
        balance = mine.balance
        n = 0
        while len(chosen) < BUSY:
            n += 1
            other = rng.choice(accounts)
            # Alternate giving and receiving so the busy member never nears a floor;
            # whoever receives must have the room.
            gives = n % 2 == 0 or balance < 0
            floor = room[other][1]
            if gives and floor is not None and balances[other] - 60 < floor:
                continue
            balances[other] += -60 if gives else 60
            balance += 60 if gives else -60
            chosen.append(ledger.BulkExchange(
                giver_account_id=mine.id if gives else other,
                receiver_account_id=other if gives else mine.id, minutes=60,
                service_date=clock.today() - timedelta(days=rng.randint(0, 365)),
                category_id=rng.choice(kinds), description="Busy",
                idempotency_key=f"busy-{n}"))
        for offset in range(0, len(chosen), 5000):
            ledger.post_confirmed_bulk(chosen[offset:offset + 5000])
            db.session.commit()
        people = list(db.session.scalars(select(Member.id)))
        bank_id = mine.bank_id
        soon = clock.today() + timedelta(days=42)
        rows = [{"bank_id": bank_id, "member_id": m, "kind": "offer" if i % 3 else "request",
                 "category_id": rng.choice(kinds), "title": f"Help {i}", "description": "",
                 "availability": rng.getrandbits(21), "status": "open", "expires_on": soon}
                for i, m in enumerate(people[::2])]
        for offset in range(0, len(rows), 5000):
            db.session.execute(insert(Listing), rows[offset:offset + 5000])
        notes = [{"member_id": m, "bank_id": bank_id,
                  "text": "Someone could help with your request.", "url": "/matches"}
                 for m in people for _ in range(5)]
        notes += [{"member_id": busy.id, "bank_id": bank_id, "text": f"Note {n}",
                   "url": "/notifications"} for n in range(2000)]
        for offset in range(0, len(notes), 10000):
            db.session.execute(insert(Notification), notes[offset:offset + 10000])
        db.session.commit()
        assert ledger.check_ledger() == []
        assert db.session.scalar(select(func.count(Member.id))) >= members
        db.session.remove()
        db.engine.dispose()


def seed(url: str, size: str) -> float:
    members, exchanges, assets = SIZES[size]
    start = time.perf_counter()
    assert flask_cli(url, "db", "upgrade").returncode == 0
    done = flask_cli(url, "seed-demo", "--members", str(members), "--exchanges",
                     str(exchanges), "--assets", str(assets), "--seed", "5", timeout=7200)
    assert done.returncode == 0, done.stderr[-2000:]
    _volume(url, members)
    if url.startswith("postgresql"):
        _settle(url)
    return round(time.perf_counter() - start)


def _settle(url: str) -> None:
    """Vacuum, analyse and checkpoint a freshly seeded PostgreSQL database, as a live one
    has long been: otherwise autovacuum and the first checkpoint run during the
    measurements (a page's p99 once stood at a second)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def _sessions(base: str) -> dict[str, requests.Session]:
    """A logged-in session per role; each page takes its cookie afresh (``_cookie``)."""
    return {role: logged_in_session(base, f"{role}@example.org", DEMO_PASSWORD)
            for role in ("resident", "coordinator", "council")}


PAGES = {  # name: (role, path)
    "/healthz": ("resident", "/healthz"),
    "dashboard": ("resident", "/"),
    "statement": ("resident", "/statement"),
    "listings": ("resident", "/listings"),
    "notifications": ("resident", "/notifications"),
    "profile": ("resident", "/profile"),
    "members directory": ("resident", "/members"),
    "map page": ("resident", "/assets"),
    "map data": ("resident", "/assets/map.json"),
    # What the map asks for past TIMEBANK_MAP_VIEWPORT_FROM: the view of a 1000 px map.
    "map view": ("resident", "/assets/map.json?bbox=-0.171,51.493,-0.085,51.521&zoom=14"),
    "assets.geojson": ("resident", "/assets.geojson"),
    "assets.csv": ("resident", "/assets.csv"),
    # The open data (anonymous in life; the resident's session changes nothing here).
    "hsds services": ("resident", "/api/hsds/services?per_page=100&page=3"),
    "hsds search": ("resident", "/api/hsds/service_at_locations?search=hall"),
    "events": ("resident", "/events"),
    "events.ics": ("resident", "/events.ics"),
    "quiet members": ("coordinator", "/coordinator/quiet"),
    "members list": ("coordinator", "/coordinator/members"),
    "matching workbench": ("coordinator", "/coordinator/matching"),
    "all exchanges": ("coordinator", "/coordinator/exchanges"),
    "coverage gaps": ("council", "/assets/gaps"),
    # Issue 33: the reports and their downloads (kept a few minutes once worked out),
    # the coordinator's home (its work queue), and a member's data download (the demo
    # resident: the busy member, tens of thousands of rows, streamed).
    "coordinator's home": ("coordinator", "/"),
    "coordinator's report": ("coordinator", "/coordinator/reports"),
    "coordinator's report csv": ("coordinator", "/coordinator/reports/months.csv"),
    "council's report": ("council", "/reports"),
    "council's report csv": ("council", "/reports/categories.csv"),
    "data download (busiest member)": ("resident", "/account/data.json"),
}
USER_AGENT = requests.utils.default_user_agent()


def _logged_in(base: str, cookie: str) -> bool:
    """Whether ``cookie`` still opens a member's page (wrk never takes a new cookie, so
    this is checked before and after each page: a lapsed session would otherwise be
    measured as a visitor on the pages visitors may see)."""
    page = requests.get(base + "/profile", headers={"Cookie": cookie, "User-Agent": USER_AGENT},
                        allow_redirects=False, timeout=60)
    return page.status_code == 200 and 'action="/logout"' in page.text


def _cookie(session: requests.Session, base: str) -> str:
    """The session's cookie, renewed just now as a browser's would be (the log-in check
    rewrites it once a minute), and proven logged in."""
    session.get(base + "/", timeout=60)
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    assert _logged_in(base, cookie), base
    return cookie


def _load(cookie: str, url: str, seconds: int, warm_up: bool = False) -> dict:
    """wrk: CLIENTS keep-alive connections GET ``url`` for ``seconds``; no errors (and some
    answers, unless this only warms caches up that may take longer to build).

    wrk is C and costs the shared cores little, so what is measured is the service.
    """
    done = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CLIENTS), "-d", f"{seconds}s", "--timeout", "60s",
         "-s", str(Path(__file__).with_name("wrk.lua")), "-H", f"Cookie: {cookie}",
         # The log-in's own User-Agent: Flask-Login's strong session protection ties a
         # session to it.
         "-H", f"User-Agent: {USER_AGENT}", "-H", "Accept-Encoding: gzip", url],
        capture_output=True, text=True, timeout=seconds + 120, check=True)
    found = json.loads(done.stdout.split("WRK ", 1)[1])
    assert (found["requests"] or warm_up) and not found["errors"], (url, found)
    # wrk stops with up to CLIENTS requests still being served: let them finish before
    # the next run, on the other server, so they do not load it.
    time.sleep(min(3.0, found["quantiles_us"][-1] / 1e6))
    return found


def _merged(rounds: list[dict], share: float) -> float:
    """The ``share`` quantile of all rounds' requests: each round's 400 quantiles stand
    for a 400th of its requests each (wrk reports a distribution per run, not every
    request)."""
    points = sorted((q, r["requests"]) for r in rounds for q in r["quantiles_us"])
    total, seen = sum(weight for _q, weight in points), 0
    for value, weight in points:
        seen += weight
        if seen >= share * total:
            return round(value / 1000, 1)
    return round(points[-1][0] / 1000, 1)


class _Exchanges:
    """Confirms exchanges in the bank through the ledger, two members giving an hour
    in turn, each one at a moment's notice (``one``) or ``per_second`` while running
    (``with``; a failure on the way is raised when it ends)."""

    def __init__(self, url: str, per_second: float = EXCHANGES_PER_SECOND):
        self.app, self.per_second = build_app(url), per_second
        self.done, self.stopping, self.thread, self.failed = 0, threading.Event(), None, None
        with self.app.app_context():
            # Two active members with room above their limits for the hour each receives.
            self.pair = db.session.scalars(
                select(Account.member_id).join(Member, Member.id == Account.member_id)
                .where(Member.status == "active",
                       Account.balance >= func.coalesce(Account.floor, 0) + 120)
                .order_by(Account.id).offset(100).limit(2)).all()

    def one(self) -> None:
        with self.app.app_context():
            giver, receiver = (db.session.get(Member, m) for m in (
                self.pair if self.done % 2 == 0 else self.pair[::-1]))
            ledger.record_exchange(
                giver=ledger.account_of(giver), receiver=ledger.account_of(receiver),
                minutes=60, service_date=clock.today(), recorded_by=receiver, confirm=True,
                idempotency_key=f"bench-{uuid.uuid4().hex}")
            db.session.commit()
        self.done += 1

    def _run(self) -> None:
        try:
            while not self.stopping.wait(1 / self.per_second):
                self.one()
        except Exception as error:  # noqa: BLE001 - raised again in __exit__
            self.failed = error

    def __enter__(self):
        self.stopping.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopping.set()
        self.thread.join()
        if self.failed is not None:
            raise self.failed


def _after_each(base: str, cookie: str, url: str) -> dict:
    """The workbench viewed once after each of AFTER_EACH exchanges (both workers have
    their pool; the view finds it behind the ledger and reads the give and take again)."""
    writer, times = _Exchanges(url), []
    headers = {"Cookie": cookie, "User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    for _ in range(AFTER_EACH):
        writer.one()
        start = time.perf_counter()
        page = requests.get(base + "/coordinator/matching", headers=headers, timeout=60)
        times.append(time.perf_counter() - start)
        assert page.status_code == 200 and "Best candidates" in page.text, page.status_code
    times.sort()
    return {"views": len(times), "p50_ms": round(times[len(times) // 2] * 1000, 1),
            "p95_ms": round(times[int(len(times) * 0.95)] * 1000, 1)}


def measure(urls: dict[str, str], engine: str) -> dict:
    results: dict[str, dict] = {size: {} for size in urls}
    with contextlib.ExitStack() as stack:
        servers = {size: stack.enter_context(Gunicorn(url, workers=2, threads=4))
                   for size, url in urls.items()}
        sessions = {server.url: _sessions(server.url) for server in servers.values()}
        pages = {size: {name: (server.url, role, path) for name, (role, path) in PAGES.items()}
                 for size, server in servers.items()}
        for size, server in servers.items():
            pages[size][MOVING] = (server.url, "coordinator", "/coordinator/matching")
        for name in pages["small"]:
            cookies = {size: _cookie(sessions[base][role], base)
                       for size, (base, role, _path) in
                       ((size, pages[size][name]) for size in urls)}
            rounds: dict[str, list[dict]] = {size: [] for size in urls}
            moving = {size: (_Exchanges(url) if name == MOVING else None)
                      for size, url in urls.items()}
            for size in urls:  # warm-up: templates, caches, connections
                base, _role, path = pages[size][name]
                _load(cookies[size], base + path, 2, warm_up=True)
            for _round in range(ROUNDS):
                for size in urls:
                    base, _role, path = pages[size][name]
                    with moving[size] or contextlib.nullcontext():
                        rounds[size].append(_load(cookies[size], base + path, SECONDS))
            for size in urls:
                assert _logged_in(pages[size][name][0], cookies[size]), (name, size)
                found = rounds[size]
                count = sum(r["requests"] for r in found)
                results[size][name] = {
                    "requests": count,
                    "per_second": round(count / sum(r["duration_us"] for r in found) * 1e6, 1),
                    "p50_ms": _merged(found, 0.50), "p95_ms": _merged(found, 0.95),
                    "p99_ms": _merged(found, 0.99)}
                if moving[size] is not None:
                    results[size][name]["exchanges"] = moving[size].done
            print(engine, name, {s: results[s][name]["p95_ms"] for s in urls}, flush=True)
        for size, server in servers.items():
            results[size]["after each exchange"] = _after_each(
                server.url, _cookie(sessions[server.url]["coordinator"], server.url),
                urls[size])
    return results


def _table(engine: str, results: dict) -> list[str]:
    small, city = results["small"], results["city"]
    base = city["/healthz"]["per_second"]
    lines = [f"## {engine}", "",
             "| page | city req/s | share of /healthz | p50 | p95 | p99 | p95 small | "
             "city/small p95 |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, found in city.items():
        if "per_second" not in found:
            continue
        share = round(100 * found["per_second"] / base) if base else 0
        ratio = round(found["p95_ms"] / small[name]["p95_ms"], 2) if small[name]["p95_ms"] else 0
        lines.append(f"| {name} | {found['per_second']} | {share} % | {found['p50_ms']} ms | "
                     f"{found['p95_ms']} ms | {found['p99_ms']} ms | {small[name]['p95_ms']} ms "
                     f"| {ratio} |")
    moving, first = city[MOVING], city["after each exchange"]
    lines += ["", f"{MOVING}: {moving['exchanges']} exchanges confirmed on the city during "
              f"its {ROUNDS} rounds ({EXCHANGES_PER_SECOND} a second), each of which the "
              f"next view in each worker ranks by. Cold (the first view after an exchange, "
              f"{first['views']} exchanges one at a time, one client): p50 "
              f"{first['p50_ms']} ms, p95 {first['p95_ms']} ms on the city; p50 "
              f"{small['after each exchange']['p50_ms']} ms, p95 "
              f"{small['after each exchange']['p95_ms']} ms on the small bank."]
    return lines + [""]


def main() -> dict:
    results, seeds = {}, {}
    keep = os.environ.get("BENCH_CITY_KEEP")  # a folder to keep (and reuse) SQLite files
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ENGINES:
            urls = {}
            for size in SIZES:
                if engine == "sqlite":
                    path = Path(keep or tmp) / f"city-{size}-{SIZES[size][1]}.sqlite"
                    urls[size] = f"sqlite:///{path}"
                    fresh = not path.exists()
                else:
                    server = server or pg.start()
                    urls[size] = server.createdb(f"city_{size}")
                    fresh = True
                if fresh:
                    seeds[f"{engine} {size}"] = seed(urls[size], size)
                else:  # a kept file follows the migrations written since
                    assert flask_cli(urls[size], "db", "upgrade").returncode == 0
            results[engine] = measure(urls, engine)
        if server is not None:
            server.stop()
    lines = ["# Every main page on a city's data", "",
             f"gunicorn (gunicorn.conf.py) 2 workers × 4 threads, {CLIENTS} concurrent "
             f"clients (wrk), {SECONDS} s per page and size in each of {ROUNDS} alternating "
             "rounds. "
             f"City: {SIZES['city'][0]:,} members, {SIZES['city'][1]:,} exchanges, "
             f"{SIZES['city'][2]:,} assets; small: {SIZES['small'][0]:,}, "
             f"{SIZES['small'][1]:,}, {SIZES['small'][2]:,}. Bars: share ≥ 15 %, p95 ≤ 50 ms, "
             "city/small ≤ 1.5.", ""]
    for engine in results:
        lines += _table(engine, results[engine])
    lines.append("Seeding took " + ", ".join(f"{k} {v} s" for k, v in seeds.items()) + ".")
    write("city", {"settings": {"sizes": SIZES, "clients": CLIENTS, "seconds": SECONDS,
                                "busy": BUSY},
                   "results": results, "seed_seconds": seeds}, "\n".join(lines))
    return results
