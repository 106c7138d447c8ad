"""The report pages on a long history beside the same pages on a short one.

Two SQLite databases seeded alike (20,000 members in six named neighbourhoods, the
demo's assets and listings, an outcome for one exchange in five, a third of them
shared), one with 10,000
confirmed exchanges and one with 1,000,000, each served by gunicorn (2 workers)
in the same run. Measured: p95 latency of the coordinator's report and the
council's area report, each for the default twelve months, for a kind of help and (the
council's) for a neighbourhood,
beside /healthz; both servers run at once and the two histories are measured in
alternating rounds. The figure that matters is the ratio of the long history's p95 to
the short one's: the reports read the ledger's monthly figures, so it should stay
near 1 (the issue's bar: 1.5).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.common import write
from tests.support import Gunicorn, build_app, flask_cli, logged_in_session
from timebank.core.demo import DEMO_PASSWORD
from timebank.core.ledger import rollups
from timebank.core.ledger import writer as ledger
from timebank.core.models import Category, Exchange, Neighbourhood, Outcome
from timebank.infra.extensions import db

MEMBERS = int(os.environ.get("BENCH_REPORT_MEMBERS", 20_000))
SIZES = [int(n) for n in os.environ.get("BENCH_REPORT_SIZES", "10000,1000000").split(",")]
THREADS = 2
REQUESTS = int(os.environ.get("BENCH_REPORT_REQUESTS", 160))  # per page and size
ROUNDS = 8  # the two histories alternate, an eighth of the requests at a time


def _boundaries(url: str) -> None:
    """A square for each of the demo's neighbourhoods, so every exchange has a named area
    (the monthly figures then hold that dimension at full size)."""
    from timebank.core.assets import neighbourhoods
    from timebank.core.demo import PLACES

    features = []
    for n, name in enumerate(PLACES):
        west, south = -3.2 + 0.02 * n, 51.47
        ring = [[west, south], [west + 0.02, south], [west + 0.02, south + 0.02],
                [west, south + 0.02], [west, south]]
        features.append({"type": "Feature", "properties": {"name": name},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    app = build_app(url)
    with app.app_context():
        neighbourhoods.import_boundaries(json.dumps(
            {"type": "FeatureCollection", "features": features}).encode(), "areas.geojson")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def seed(url: str, exchanges: int) -> None:
    assert flask_cli(url, "db", "upgrade").returncode == 0
    _boundaries(url)
    done = flask_cli(url, "seed-demo", "--members", str(MEMBERS), "--exchanges",
                     str(exchanges), "--assets", "2000", "--seed", "7", timeout=7200)
    assert done.returncode == 0, done.stderr
    app = build_app(url)
    rng = random.Random(7)
    with app.app_context():
        # Outcomes as members give them: one exchange in five, a third with shared words.
        rows = []
        for (exchange_id,) in db.session.execute(
                select(Exchange.id)):
            if rng.random() < 0.2:
                shared = rng.random() < 1 / 3
                rows.append({"exchange_id": exchange_id, "author_id": 1,
                             "score": rng.randint(1, 4), "share_consent": shared,
                             "text": "It made a real difference to my week" if shared else ""})
        for offset in range(0, len(rows), 10000):
            db.session.execute(insert(Outcome), rows[offset:offset + 10000])
        rollups.rebuild()  # the outcome figures, as the ledger would have kept them
        db.session.commit()
        problems = ledger.check_ledger()
        assert problems == [], problems[:5]
        counted = db.session.scalar(select(func.count(Exchange.id)))
        db.session.remove()
        db.engine.dispose()
    assert counted >= exchanges


def _filters(url: str) -> tuple[int, int]:
    """The ids of gardening and of one neighbourhood, for the filtered pages."""
    app = build_app(url)
    with app.app_context():
        garden = db.session.scalar(select(Category.id).where(Category.slug == "gardening"))
        area = db.session.scalar(select(Neighbourhood.id).where(Neighbourhood.name == "Riverside"))
        db.session.remove()
        db.engine.dispose()
    return garden, area


def p95(values: list[float]) -> float:
    return round(sorted(values)[max(0, int(len(values) * 0.95) - 1)], 1)


def latencies(session_for, url: str, count: int) -> list[float]:
    """Milliseconds per GET of ``url`` from THREADS client threads, ``count`` in all."""
    def one(i: int) -> float:
        start = time.perf_counter()
        response = session_for(i).get(url, timeout=120)
        assert response.status_code == 200, (url, response.status_code)
        return (time.perf_counter() - start) * 1000

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(count)))


def _pages(base: str, filters: tuple[int, int]) -> dict:
    garden, area = filters
    coordinators = [logged_in_session(base, "coordinator@example.org", DEMO_PASSWORD)
                    for _ in range(THREADS)]
    council = [logged_in_session(base, "council@example.org", DEMO_PASSWORD)
               for _ in range(THREADS)]
    return {
        "/healthz": (coordinators, base + "/healthz"),
        "coordinator report": (coordinators, base + "/coordinator/reports"),
        "coordinator report, one kind of help": (
            coordinators, base + f"/coordinator/reports?category={garden}"),
        "council area report": (council, base + "/reports"),
        "council area report, one kind of help": (council, base + f"/reports?category={garden}"),
        "council area report, one neighbourhood": (council,
                                                   base + f"/reports?neighbourhood={area}"),
    }


def measure(urls: dict[int, str], gardens: dict[int, tuple[int, int]]) -> dict:
    """Both histories served at once and measured in alternating rounds, so that the
    machine's noise falls on both alike."""
    with contextlib.ExitStack() as stack:
        servers = {size: stack.enter_context(Gunicorn(url, workers=2, threads=2))
                   for size, url in urls.items()}
        pages = {size: _pages(server.url, gardens[size]) for size, server in servers.items()}
        times: dict[int, dict[str, list[float]]] = {size: {} for size in urls}
        for name in pages[SIZES[0]]:
            for size in urls:
                sessions, page = pages[size][name]
                latencies(lambda i, s=sessions: s[i % THREADS], page, 6)  # warm-up
            for _round in range(ROUNDS):
                for size in urls:
                    sessions, page = pages[size][name]
                    times[size].setdefault(name, []).extend(
                        latencies(lambda i, s=sessions: s[i % THREADS], page,
                                  REQUESTS // ROUNDS))
        for size, server in servers.items():
            sessions, page = pages[size]["coordinator report"]
            times[size]["bytes"] = len(sessions[0].get(page, timeout=120).content)
            if "Traceback" in server.output():
                print(server.output()[-5000:])
    return {size: {name: ({"p95_ms": p95(values), "median_ms": round(statistics.median(values),
                                                                      1)}
                          if isinstance(values, list) else values)
                   for name, values in by_page.items()}
            for size, by_page in times.items()}


def main() -> dict:
    results = {}
    keep = os.environ.get("BENCH_REPORT_KEEP")  # a folder to keep (and reuse) the databases
    with tempfile.TemporaryDirectory() as tmp:
        urls, gardens = {}, {}
        for size in SIZES:
            path = Path(keep or tmp) / f"reports-{MEMBERS}-{size}.sqlite"
            urls[size] = f"sqlite:///{path}"
            start = time.perf_counter()
            if not path.exists():
                seed(urls[size], size)
            results[size] = {"seed_seconds": round(time.perf_counter() - start)}
            gardens[size] = _filters(urls[size])
        for size, pages in measure(urls, gardens).items():
            results[size]["pages"] = pages
    small, large = SIZES[0], SIZES[-1]
    lines = ["# Report pages on a long history", "",
             f"SQLite, gunicorn 2 workers × 2 threads for each history, {THREADS} client "
             f"threads, {REQUESTS} requests per page and history in {ROUNDS} alternating "
             f"rounds; {MEMBERS} members; {small:,} against {large:,} confirmed exchanges.", "",
             f"| page | p95 at {small:,} | p95 at {large:,} | ratio (bar: 1.5) |",
             "| --- | ---: | ---: | ---: |"]
    ratios = {}
    for name in results[small]["pages"]:
        if name == "bytes":
            continue
        a = results[small]["pages"][name]["p95_ms"]
        b = results[large]["pages"][name]["p95_ms"]
        ratios[name] = round(b / a, 2) if a else None
        lines.append(f"| {name} | {a} ms | {b} ms | {ratios[name]} |")
    lines += ["", f"Seeding took {results[small]['seed_seconds']} s and "
              f"{results[large]['seed_seconds']} s."]
    write("reports", {"settings": {"members": MEMBERS, "sizes": SIZES, "threads": THREADS,
                                   "requests": REQUESTS},
                      "results": {str(k): v for k, v in results.items()}, "ratios": ratios},
          "\n".join(lines))
    return results


if __name__ == "__main__":
    main()
