"""Coverage gaps on hand-built layouts where the answer is known."""

from __future__ import annotations

import pytest

from timebank import geo
from timebank.assets import maps

# About 1.11 km per 0.01° of latitude.
ORIGIN = (51.5, -0.1)


def north(km: float) -> tuple[float, float]:
    return ORIGIN[0] + km / 111.32, ORIGIN[1]


def strip(km: float):
    """A box one 250 m cell wide, centred east–west on ORIGIN, ``km`` tall."""
    import math

    top = north(km)[0]
    half = 125 / (111_320 * math.cos(math.radians((ORIGIN[0] + top) / 2)))
    return ORIGIN[0], ORIGIN[1] - half, top, ORIGIN[1] + half


def test_single_asset_cells_within_and_beyond_reach():
    # A 2 km tall strip, one asset at its southern end.
    bbox = strip(2.0)
    cells = geo.coverage_grid(bbox, [ORIGIN], cell_m=250)
    assert len(cells) == 8  # 2 km / 250 m rows, one column
    distances = [c.nearest_m for c in sorted(cells, key=lambda c: c.row)]
    # Cell centres at 125 m, 375 m, … 1875 m north of the asset.
    assert distances == pytest.approx([125 + 250 * i for i in range(8)], abs=3)
    gaps = [c for c in cells if c.nearest_m > 800]
    assert [c.row for c in gaps] == [3, 4, 5, 6, 7]  # centres at 875 m and beyond


def test_two_assets_nearest_wins():
    bbox = strip(2.0)
    cells = geo.coverage_grid(bbox, [ORIGIN, north(2.0)], cell_m=250)
    assert max(c.nearest_m for c in cells) == pytest.approx(875, abs=3)
    assert all(c.nearest_m <= 1000 for c in cells)


def test_no_assets_everything_is_a_gap():
    bbox = (ORIGIN[0], ORIGIN[1], north(1.0)[0], ORIGIN[1] + 0.01)
    cells = geo.coverage_grid(bbox, [], cell_m=250)
    assert cells and all(c.nearest_m is None for c in cells)
    collection = maps.gap_features(cells, 800)
    assert len(collection["features"]) == len(cells)


def test_grid_is_bounded_for_big_areas():
    cells = geo.coverage_grid((50.0, -3.0, 53.0, 1.0), [ORIGIN], cell_m=100, max_cells=2000)
    assert len(cells) <= 2100


def test_gap_features_are_closed_polygons_for_far_cells_only():
    bbox = strip(2.0)
    cells = geo.coverage_grid(bbox, [ORIGIN], cell_m=250)
    collection = maps.gap_features(cells, 800)
    assert len(collection["features"]) == 5
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
