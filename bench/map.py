"""The asset map page with 10,000 published assets, beside folium's one-Marker-per-asset way.

Both are measured in the same run on the same assets: our page (a full GET of
/assets through the app: query, folium map, GeoJSON data, list, template) and
a folium map with one folium.Marker (and popup) per asset, rendered to HTML.
Reported: server time (median of repeats) and gzipped transfer size.
"""

from __future__ import annotations

import gzip
import statistics
import tempfile
import time
from html import escape

from sqlalchemy import select

from bench.common import write
from tests.support import build_app, flask_cli
from timebank.core.models import Asset
from timebank.infra.extensions import db

ASSETS = 10_000
REPEATS = 5
BASELINE_REPEATS = 2


def folium_markers(rows) -> str:
    """The naive way: one Python folium.Marker with a popup per asset."""
    import folium

    m = folium.Map(location=[51.5, -0.1], zoom_start=13, tiles=None)
    for asset in rows:
        folium.Marker([asset.latitude, asset.longitude],
                      popup=(f'<a href="/assets/{asset.id}">{escape(asset.name)}</a><br>'
                             f"{escape(asset.category.name)}")).add_to(m)
    return m.get_root().render()


def median_time(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/map.sqlite"
        assert flask_cli(url, "db", "upgrade").returncode == 0
        seeded = flask_cli(url, "seed-demo", "--members", "10", "--exchanges", "0",
                           "--assets", str(ASSETS), "--seed", "2")
        assert seeded.returncode == 0, seeded.stderr
        app = build_app(url)
        client = app.test_client()
        client.get("/assets")  # warm-up: templates compiled, caches filled

        def ours():
            response = client.get("/assets")
            assert response.status_code == 200
            return response.data

        ours_s, page = median_time(ours, REPEATS)
        with app.app_context():
            rows = db.session.scalars(select(Asset).where(Asset.status == "published")).all()
            assert len(rows) == ASSETS
            base_s, baseline_html = median_time(lambda: folium_markers(rows), BASELINE_REPEATS)
            db.session.remove()
            db.engine.dispose()
    ours_gz = len(gzip.compress(page, 6))
    base_gz = len(gzip.compress(baseline_html.encode(), 6))
    result = {
        "assets": ASSETS,
        "ours_server_ms": round(ours_s * 1000, 1),
        "ours_bytes": len(page),
        "ours_gzip_bytes": ours_gz,
        "folium_markers_server_ms": round(base_s * 1000, 1),
        "folium_markers_bytes": len(baseline_html.encode()),
        "folium_markers_gzip_bytes": base_gz,
        "speedup": round(base_s / ours_s, 1),
        "targets": {"speedup_at_least": 20, "gzip_at_most_bytes": 400 * 1024},
    }
    result["meets_targets"] = (result["speedup"] >= 20 and ours_gz <= 400 * 1024)
    md = "\n".join([
        "# Map benchmark", "",
        f"The asset map page with {ASSETS:,} published assets (SQLite), median of "
        f"{REPEATS} (ours) and {BASELINE_REPEATS} (folium markers) runs.", "",
        "| way | server time | transfer | gzipped |", "| --- | ---: | ---: | ---: |",
        f"| **/assets page** (folium map + GeoJSON data drawn client-side, clustered) | "
        f"**{result['ours_server_ms']} ms** | {len(page) / 1024:.0f} KB | "
        f"**{ours_gz / 1024:.0f} KB** |",
        f"| folium, one Marker + popup per asset (map HTML only) | "
        f"{result['folium_markers_server_ms']} ms | "
        f"{result['folium_markers_bytes'] / 1024:.0f} KB | {base_gz / 1024:.0f} KB |", "",
        f"Speed-up: **{result['speedup']}×** (target ≥ 20×); gzipped page "
        f"{ours_gz / 1024:.0f} KB (target ≤ 400 KB).",
    ])
    write("map", {"results": result}, md)
    return result


if __name__ == "__main__":
    main()
