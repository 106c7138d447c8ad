"""The asset map at 100,000 published assets, in Chromium: asked for by view (the server
groups what a view shows) against the whole layer sent at once, in the same run.

Served by gunicorn (gunicorn.conf.py's app, 2 workers) on SQLite. Reported per way:
the time from navigation to the markers drawn (``data-drawn`` set by assetmap.js,
median of repeats, a fresh browser context each time so nothing is cached), and the
gzipped bytes of the map data the page fetched; then, by view, the gzipped answer and
its features at each zoom from the whole area down to a street.
Targets (issue 17): at most 300 KB gzipped per view, markers drawn within 1.5 s.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import statistics
import tempfile
import time

import requests

from bench.common import write
from tests.support import CHROMIUM_ARGS, Gunicorn, flask_cli

ASSETS = int(os.environ.get("BENCH_VIEWPORT_ASSETS", "100000"))
REPEATS = 5
TARGET_KB, TARGET_MS = 300, 1500
CENTRE = (51.5072, -0.1276)  # where the demo's assets are
ZOOMS = [11, 13, 15, 17]
VIEW_PX = (1000, 800)  # the browser's window, as the tests use


def _drawn_ms(browser, url: str) -> tuple[float, int, int]:
    """Navigation to markers drawn, the markers drawn and the map data's gzipped bytes."""
    context = browser.new_context(viewport={"width": VIEW_PX[0], "height": VIEW_PX[1]})
    page = context.new_page()
    fetched: list[int] = []

    def on_response(response):
        if "/assets/map.json" in response.url:
            with contextlib.suppress(Exception):
                fetched.append(int(response.headers.get("content-length") or 0))

    page.on("response", on_response)
    page.goto(url, wait_until="commit", timeout=120_000)
    page.wait_for_selector(".map-wrap[data-drawn]", state="attached", timeout=120_000)
    drawn_at = page.evaluate("performance.now()")
    count = int(page.locator(".map-wrap").get_attribute("data-drawn"))
    context.close()
    return drawn_at, count, sum(fetched)


def _bbox(zoom: int) -> str:
    """The bbox a 1000 × 800 px map shows around CENTRE at ``zoom`` (Web Mercator)."""
    import math

    per_px = 360 / 2**zoom / 256
    half_w = VIEW_PX[0] / 2 * per_px
    half_h = VIEW_PX[1] / 2 * per_px * math.cos(math.radians(CENTRE[0]))
    return (f"{CENTRE[1] - half_w},{CENTRE[0] - half_h},{CENTRE[1] + half_w},"
            f"{CENTRE[0] + half_h}")


def main() -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/viewport.sqlite"
        assert flask_cli(url, "db", "upgrade").returncode == 0
        seeded = flask_cli(url, "seed-demo", "--members", "10", "--exchanges", "0",
                           "--assets", str(ASSETS), "--seed", "3", timeout=1800)
        assert seeded.returncode == 0, seeded.stderr
        ways = {"by view": {}, "whole layer": {"TIMEBANK_MAP_VIEWPORT_FROM": str(10**9)}}
        results: dict = {"assets": ASSETS, "ways": {}, "views": []}
        with contextlib.ExitStack() as stack:
            servers = {way: stack.enter_context(Gunicorn(url, workers=2, threads=4, **env))
                       for way, env in ways.items()}
            for server in servers.values():  # build the register's caches once
                assert requests.get(server.url + "/assets", timeout=300).status_code == 200
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                            headless=True, args=CHROMIUM_ARGS)
                for way, server in servers.items():
                    _drawn_ms(browser, server.url + "/assets")  # warm
                    runs = [_drawn_ms(browser, server.url + "/assets") for _ in range(REPEATS)]
                    results["ways"][way] = {
                        "drawn_ms": round(statistics.median(r[0] for r in runs)),
                        "markers": runs[-1][1], "data_gzip_bytes": runs[-1][2]}
                browser.close()
            base = servers["by view"].url
            for zoom in ZOOMS:
                answer = requests.get(f"{base}/assets/map.json",
                                      params={"bbox": _bbox(zoom), "zoom": zoom},
                                      headers={"Accept-Encoding": "gzip"}, timeout=120)
                data = answer.json()
                started = time.perf_counter()
                for _ in range(10):  # server time for a view not cached yet is built once
                    requests.get(f"{base}/assets/map.json",
                                 params={"bbox": _bbox(zoom), "zoom": zoom}, timeout=120)
                results["views"].append({
                    "zoom": zoom, "features": len(data["features"]), "assets": data["total"],
                    "grouped": data["grouped"],
                    "gzip_bytes": len(gzip.compress(answer.content)) if answer.headers.get(
                        "Content-Encoding") != "gzip" else int(answer.headers["Content-Length"]),
                    "ms": round((time.perf_counter() - started) * 100, 1)})
    view, whole = results["ways"]["by view"], results["ways"]["whole layer"]
    biggest = max(v["gzip_bytes"] for v in results["views"] + [
        {"gzip_bytes": view["data_gzip_bytes"]}])
    results["meets_targets"] = biggest <= TARGET_KB * 1024 and view["drawn_ms"] <= TARGET_MS
    lines = [
        "# Map by view", "",
        f"{ASSETS:,} published assets, SQLite, gunicorn 2 workers; Chromium at "
        f"{VIEW_PX[0]}×{VIEW_PX[1]}, median of {REPEATS} fresh contexts.", "",
        "| way | markers drawn | navigation → drawn | map data gzipped |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {way} | {r['markers']:,} | {r['drawn_ms']:,} ms | "
          f"{r['data_gzip_bytes'] / 1024:,.0f} KB |" for way, r in results["ways"].items()),
        "", f"By view is {whole['drawn_ms'] / max(1, view['drawn_ms']):.1f}× faster to draw.",
        "", "| zoom | assets in view | features sent | grouped | gzipped | repeat (304-free GET) |",
        "| ---: | ---: | ---: | --- | ---: | ---: |",
        *(f"| {v['zoom']} | {v['assets']:,} | {v['features']:,} | {v['grouped']} | "
          f"{v['gzip_bytes'] / 1024:,.1f} KB | {v['ms']} ms |" for v in results["views"]),
        "", f"Targets: ≤ {TARGET_KB} KB gzipped per view, drawn ≤ {TARGET_MS} ms: "
        f"{'met' if results['meets_targets'] else 'NOT met'}.",
    ]
    write("viewport", results, "\n".join(lines))
    return results


if __name__ == "__main__":
    main()
