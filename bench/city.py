"""Every main page on a city's data beside the same pages on a small bank, under load.

Two histories on each engine (SQLite and PostgreSQL), seeded alike but for size:
the city (20,000 members, 1,000,000 exchanges, 10,000 assets) and a small bank (1,000
members, 10,000 exchanges, 500 assets). Both give volume to every page measured:
listings for one member in two, notifications five per member, and one very busy
member (the demo resident: 20,000 more exchanges and 2,000 notifications of their own).

Each database is served by gunicorn (gunicorn.conf.py, 2 workers × 4 threads) and
loaded by a bounded generator of our own: 8 concurrent keep-alive clients, a fixed
number of requests per page, the city and the small bank measured in alternating
rounds so the machine's noise falls on both. Written: req/s and p50/p95/p99 per page,
each page's req/s as a share of /healthz's in the same run, and the city/small p95.
The matching workbench is measured cold (its per-worker cache off) as well as warm.
"""

from __future__ import annotations

import contextlib
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import requests
from sqlalchemy import func, insert, select

from bench.common import write
from tests import pg
from tests.support import Gunicorn, build_app, flask_cli, logged_in_session
from timebank import ledger
from timebank.demo import DEMO_PASSWORD
from timebank.extensions import db
from timebank.models import Account, Category, Listing, Member, Notification

SIZES = {"small": (1_000, 10_000, 500), "city": (20_000, 1_000_000, 10_000)}
if os.environ.get("BENCH_CITY_QUICK"):  # a rehearsal: the same shape, much smaller
    SIZES = {"small": (200, 2_000, 100), "city": (2_000, 40_000, 2_000)}
BUSY = 20_000  # the busy member's own exchanges
CLIENTS = 8
REQUESTS = int(os.environ.get("BENCH_CITY_REQUESTS", 240))  # per page and size
ROUNDS = 4
ENGINES = os.environ.get("BENCH_CITY_ENGINES", "sqlite,postgresql").split(",")


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
                service_date=date.today() - timedelta(days=rng.randint(0, 365)),
                category_id=rng.choice(kinds), description="Busy",
                idempotency_key=f"busy-{n}"))
        for offset in range(0, len(chosen), 5000):
            ledger.post_confirmed_bulk(chosen[offset:offset + 5000])
            db.session.commit()
        people = list(db.session.scalars(select(Member.id)))
        bank_id = mine.bank_id
        soon = date.today() + timedelta(days=42)
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
    return round(time.perf_counter() - start)


def _pages(base: str) -> dict:
    """(sessions, path) per page: each client its own logged-in session."""
    def sessions(email):
        return [logged_in_session(base, email, DEMO_PASSWORD) for _ in range(CLIENTS)]

    resident, coordinator = sessions("resident@example.org"), sessions("coordinator@example.org")
    council = sessions("council@example.org")
    return {
        "/healthz": (resident, "/healthz"),
        "dashboard": (resident, "/"),
        "statement": (resident, "/statement"),
        "listings": (resident, "/listings"),
        "notifications": (resident, "/notifications"),
        "map page": (resident, "/assets"),
        "map data": (resident, "/assets/map.json"),
        # What the map asks for past TIMEBANK_MAP_VIEWPORT_FROM: the view of a 1000 px map.
        "map view": (resident, "/assets/map.json?bbox=-0.171,51.493,-0.085,51.521&zoom=14"),
        "assets.geojson": (resident, "/assets.geojson"),
        "assets.csv": (resident, "/assets.csv"),
        "members list": (coordinator, "/coordinator/members"),
        "matching workbench": (coordinator, "/coordinator/matching"),
        "all exchanges": (coordinator, "/coordinator/exchanges"),
        "coverage gaps": (council, "/assets/gaps"),
    }


def _load(sessions, url: str, count: int) -> list[float]:
    """``count`` GETs from len(sessions) clients at once; each one's latency in ms."""
    def one(i: int) -> float:
        started = time.perf_counter()
        try:
            response = sessions[i % len(sessions)].get(url, timeout=120,
                                                       headers={"Accept-Encoding": "gzip"})
        except requests.ConnectionError:
            # gunicorn closes a keep-alive connection idle for 5 s (gunicorn.conf.py);
            # a client that reuses it just then retries, as browsers do.
            response = sessions[i % len(sessions)].get(url, timeout=120,
                                                       headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, (url, response.status_code)
        return 1000 * (time.perf_counter() - started)

    with ThreadPoolExecutor(len(sessions)) as pool:
        return list(pool.map(one, range(count)))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


def measure(urls: dict[str, str], engine: str) -> dict:
    results: dict[str, dict] = {size: {} for size in urls}
    with contextlib.ExitStack() as stack:
        servers = {size: stack.enter_context(Gunicorn(url, workers=2, threads=4))
                   for size, url in urls.items()}
        cold = {size: stack.enter_context(Gunicorn(url, workers=2, threads=4,
                                                   TIMEBANK_MATCHING_CACHE_SECONDS="0"))
                for size, url in urls.items()}
        pages = {size: _pages(server.url) for size, server in servers.items()}
        for size, server in cold.items():
            sessions = [logged_in_session(server.url, "coordinator@example.org",
                                          DEMO_PASSWORD) for _ in range(CLIENTS)]
            pages[size]["matching workbench, cold"] = (
                [s for s in sessions], "/coordinator/matching", server.url)
        for name in pages["small"]:
            times: dict[str, list[float]] = {size: [] for size in urls}
            elapsed: dict[str, float] = dict.fromkeys(urls, 0.0)
            for size in urls:  # warm-up: templates, caches, connections
                entry = pages[size][name]
                base = entry[2] if len(entry) > 2 else servers[size].url
                _load(entry[0], base + entry[1], CLIENTS * 2)
            for _round in range(ROUNDS):
                for size in urls:
                    entry = pages[size][name]
                    base = entry[2] if len(entry) > 2 else servers[size].url
                    started = time.perf_counter()
                    times[size] += _load(entry[0], base + entry[1], REQUESTS // ROUNDS)
                    elapsed[size] += time.perf_counter() - started
            for size in urls:
                values = times[size]
                results[size][name] = {
                    "per_second": round(len(values) / elapsed[size], 1),
                    "p50_ms": _percentile(values, 0.50), "p95_ms": _percentile(values, 0.95),
                    "p99_ms": _percentile(values, 0.99),
                    "median_ms": round(statistics.median(values), 1)}
            print(engine, name, {s: results[s][name]["p95_ms"] for s in urls}, flush=True)
    return results


def _table(engine: str, results: dict) -> list[str]:
    small, city = results["small"], results["city"]
    base = city["/healthz"]["per_second"]
    lines = [f"## {engine}", "",
             "| page | city req/s | share of /healthz | p50 | p95 | p99 | p95 small | "
             "city/small p95 |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, found in city.items():
        share = round(100 * found["per_second"] / base) if base else 0
        ratio = round(found["p95_ms"] / small[name]["p95_ms"], 2) if small[name]["p95_ms"] else 0
        lines.append(f"| {name} | {found['per_second']} | {share} % | {found['p50_ms']} ms | "
                     f"{found['p95_ms']} ms | {found['p99_ms']} ms | {small[name]['p95_ms']} ms "
                     f"| {ratio} |")
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
             f"clients, {REQUESTS} requests per page and size in {ROUNDS} alternating rounds. "
             f"City: {SIZES['city'][0]:,} members, {SIZES['city'][1]:,} exchanges, "
             f"{SIZES['city'][2]:,} assets; small: {SIZES['small'][0]:,}, "
             f"{SIZES['small'][1]:,}, {SIZES['small'][2]:,}. Bars: share ≥ 15 %, p95 ≤ 50 ms, "
             "city/small ≤ 1.5.", ""]
    for engine in results:
        lines += _table(engine, results[engine])
    lines.append("Seeding took " + ", ".join(f"{k} {v} s" for k, v in seeds.items()) + ".")
    write("city", {"settings": {"sizes": SIZES, "clients": CLIENTS, "requests": REQUESTS,
                                "busy": BUSY},
                   "results": results, "seed_seconds": seeds}, "\n".join(lines))
    return results
