"""The city benchmark's pages, this code beside an earlier commit's, in one run.

`python -m bench compare` (``BENCH_BEFORE``: the commit to compare with, by default the
last one before the layers were moved). One city database is seeded with this code;
the earlier commit's tree is unpacked beside it (``git archive``) and both are served
by gunicorn (2 workers × 4 threads each) from the same database file, in turn. Each
page is loaded by wrk in alternating rounds, this code and the earlier one, so the
machine's noise falls on both alike. Written: each page's requests a second under each,
as a share of its own /healthz in the same run, and this code's over the earlier's, raw
and as shares of /healthz (the trivial endpoint, whose code did not change, measures
the machine's drift between the two): the bar is 0.9 on the shares (no page more than
10 % slower).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path

from bench.city import PAGES, ROUNDS, SECONDS, SIZES, _cookie, _load, _logged_in, _sessions, seed
from bench.common import write
from tests.support import ROOT, Gunicorn

BEFORE = os.environ.get("BENCH_BEFORE", "bdc4ebc")
BAR = 0.9


def _unpack(rev: str, into: Path) -> Path:
    """The tree of ``rev``, as files (its own wsgi.py, gunicorn.conf.py and package)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> dict:
    results: dict[str, dict] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'city.sqlite'}"
        seconds = seed(url, "city")
        trees = {"before": _unpack(BEFORE, Path(tmp) / "before"), "after": ROOT}
        with contextlib.ExitStack() as stack:
            servers = {name: stack.enter_context(Gunicorn(
                url, workers=2, threads=4, cwd=tree, PYTHONPATH=str(tree)))
                for name, tree in trees.items()}
            sessions = {name: _sessions(server.url) for name, server in servers.items()}
            for page, (role, path) in PAGES.items():
                cookies = {name: _cookie(sessions[name][role], server.url)
                           for name, server in servers.items()}
                for name, server in servers.items():  # warm-up: templates, caches
                    _load(cookies[name], server.url + path, 2, warm_up=True)
                rounds: dict[str, list[dict]] = {name: [] for name in servers}
                for _round in range(ROUNDS):
                    for name, server in servers.items():
                        rounds[name].append(_load(cookies[name], server.url + path, SECONDS))
                for name, server in servers.items():
                    assert _logged_in(server.url, cookies[name]), (page, name)
                    count = sum(r["requests"] for r in rounds[name])
                    took = sum(r["duration_us"] for r in rounds[name]) / 1e6
                    results[name][page] = round(count / took, 1)
                print(page, {name: results[name][page] for name in servers}, flush=True)
    lines = [f"# The city's pages: this code beside {BEFORE}", "",
             f"One SQLite city ({SIZES['city'][0]:,} members, {SIZES['city'][1]:,} "
             f"exchanges, {SIZES['city'][2]:,} assets; seeded in {seconds} s), served by "
             f"each tree's gunicorn in turn, {ROUNDS} alternating rounds of {SECONDS} s a "
             f"page. Bar: this code at least {BAR:.0%} of the earlier's on every page.", "",
             "| page | before req/s | share of /healthz | after req/s | share of /healthz "
             "| after / before | of shares |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    worst = None
    for page in PAGES:
        before, after = results["before"][page], results["after"][page]
        ratio = round(after / before, 2) if before else 0
        shares = (after / results["after"]["/healthz"]) / (before / results["before"]["/healthz"])
        worst = round(shares, 2) if worst is None else min(worst, round(shares, 2))
        lines.append(
            f"| {page} | {before} | {round(100 * before / results['before']['/healthz'])} % "
            f"| {after} | {round(100 * after / results['after']['/healthz'])} % | {ratio} "
            f"| {shares:.2f} |")
    lines += ["", f"Lowest after/before of shares of /healthz: {worst} "
              f"({'within' if worst >= BAR else 'OUTSIDE'} the bar)."]
    write("compare", {"before": BEFORE, "results": results, "worst": worst}, "\n".join(lines))
    return results
