"""Helpers shared by the benchmarks: result files and a bounded load loop."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from timebank.infra import clock

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "when": clock.utcnow().isoformat(timespec="seconds") + "Z"}


def write(name: str, data: dict, markdown: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    data = {"benchmark": name, "machine": machine(), **data}
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown.rstrip() + "\n")
    print(markdown)


def rate(work: Callable[[int, int], bool], threads: int, seconds: float,
         max_requests: int) -> dict:
    """Run ``work(thread, i)`` from ``threads`` threads until ``seconds`` or ``max_requests``.

    Returns successes per second; the loop is bounded in both time and count.
    """
    deadline = time.perf_counter() + seconds
    per_thread = max_requests // threads
    counts = [0] * threads
    failures = [0] * threads

    def loop(t: int) -> None:
        for i in range(per_thread):
            if time.perf_counter() > deadline:
                return
            if work(t, i):
                counts[t] += 1
            else:
                failures[t] += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    elapsed = time.perf_counter() - start
    done = sum(counts)
    return {"ok": done, "failed": sum(failures), "seconds": round(elapsed, 3),
            "per_second": round(done / elapsed, 1)}
