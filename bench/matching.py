"""Rank the top 10 candidates for a request among 20,000 seeded members.

Measured in one run: loading the candidates from the database, building the
vectorised pool, and ranking with the pool; beside it, the plain-Python
``matching.rank`` over the same candidates as the baseline.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import timedelta

from sqlalchemy import insert, select, update

from bench.common import write
from tests.support import build_app, flask_cli
from timebank.core.matching import brokering
from timebank.core.matching import ranking as matching
from timebank.core.models import Category, Listing, ListingKind, Member
from timebank.infra import clock
from timebank.infra.extensions import db

MEMBERS = 20_000
EXCHANGES = 40_000
REQUESTS = 30
CENTRE = (51.50, -0.10)
WORDS = (
    "hedge garden lawn weeding compost cooking soup baking shopping errands phone laptop  "
    "email dog cat walking lift hospital paint shelf curtains letters forms knitting sewing  "
    "guitar piano reading homework maths english french spanish chat tea"
).split()


def seed(url: str) -> None:
    assert flask_cli(url, "db", "upgrade").returncode == 0
    done = flask_cli(url, "seed-demo", "--members", str(MEMBERS), "--exchanges",
                     str(EXCHANGES), "--seed", "11", timeout=1800)
    assert done.returncode == 0, done.stderr
    app = build_app(url)
    rng = random.Random(11)
    with app.app_context():
        cats = list(db.session.scalars(select(Category.id)))
        ids = list(db.session.scalars(select(Member.id)))
        places = []
        for member_id in ids:
            places.append({"id": member_id,
                           "public_latitude": CENTRE[0] + rng.uniform(-0.08, 0.08),
                           "public_longitude": CENTRE[1] + rng.uniform(-0.12, 0.12),
                           "skills": " ".join(rng.sample(WORDS, 3))})
        db.session.execute(update(Member), places)
        offers = []
        soon = clock.today() + timedelta(days=30)
        for p in places:
            for _ in range(rng.randint(0, 2)):
                offers.append({"member_id": p["id"], "kind": ListingKind.OFFER,
                               "category_id": rng.choice(cats),
                               "title": " ".join(rng.sample(WORDS, 3)), "description": "",
                               "availability": rng.getrandbits(21),
                               "latitude": p["public_latitude"],
                               "longitude": p["public_longitude"], "expires_on": soon,
                               "status": "open", "remote_ok": False})
        for i in range(0, len(offers), 5000):
            db.session.execute(insert(Listing), offers[i : i + 5000])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def measure(url: str) -> dict:
    app = build_app(url)
    rng = random.Random(5)
    with app.app_context():
        t0 = time.perf_counter()
        from timebank.core.banks import ensure_default_bank

        candidates = brokering.load_candidates(ensure_default_bank().id)
        load_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        pool = matching.CandidatePool(candidates)
        build_ms = (time.perf_counter() - t0) * 1000
        cats = list(db.session.scalars(select(Category.id)))
        db.session.remove()
        db.engine.dispose()
    needs = [matching.Need(member_id=rng.choice(candidates).member_id,
                           category_id=rng.choice(cats),
                           words=frozenset(rng.sample(WORDS, 4)),
                           latitude=CENTRE[0] + rng.uniform(-0.05, 0.05),
                           longitude=CENTRE[1] + rng.uniform(-0.05, 0.05),
                           availability=rng.getrandbits(21)) for _ in range(REQUESTS)]
    pool.rank(needs[0])  # warm-up
    fast, plain, agree = [], [], 0
    for need in needs:
        t0 = time.perf_counter()
        top_fast = pool.rank(need, 10)
        fast.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        top_plain = matching.rank(need, candidates, 10)
        plain.append((time.perf_counter() - t0) * 1000)
        agree += [r.candidate.member_id for r in top_fast] == [
            r.candidate.member_id for r in top_plain]
    return {
        "candidates": len(candidates),
        "load_candidates_ms": round(load_ms, 1),
        "build_pool_ms": round(build_ms, 1),
        "rank_pool_ms_median": round(statistics.median(fast), 2),
        "rank_pool_ms_p90": round(sorted(fast)[int(len(fast) * 0.9) - 1], 2),
        "baseline_plain_rank_ms_median": round(statistics.median(plain), 2),
        "speedup": round(statistics.median(plain) / statistics.median(fast), 1),
        "same_top10": f"{agree}/{len(needs)}",
    }


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/matching.sqlite"
        seed(url)
        result = measure(url)
    md = "\n".join([
        "# Matching benchmark", "",
        f"{result['candidates']} candidate members (of {MEMBERS} seeded, SQLite), "
        f"{REQUESTS} random requests, top 10.", "",
        "| step | time |", "| --- | ---: |",
        f"| load candidates from the database | {result['load_candidates_ms']} ms |",
        f"| build the vectorised pool (once per page) | {result['build_pool_ms']} ms |",
        f"| **rank top 10, vectorised pool (median)** | **{result['rank_pool_ms_median']} ms** |",
        f"| rank top 10, vectorised pool (90th percentile) | {result['rank_pool_ms_p90']} ms |",
        f"| baseline: plain-Python rank (median) | {result['baseline_plain_rank_ms_median']} ms |",
        f"| speed-up over baseline | {result['speedup']}× |",
        f"| same top 10 as the baseline | {result['same_top10']} |",
    ])
    write("matching", {"settings": {"members": MEMBERS, "requests": REQUESTS},
                       "results": result}, md)
    return result


if __name__ == "__main__":
    main()
