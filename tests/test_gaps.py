"""Coverage gaps on hand-built layouts where the answer is known."""

from __future__ import annotations

import pytest

from timebank.core.models import Asset, AssetCategory, Role
from timebank.infra import geo, maps
from timebank.infra.extensions import db

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


def test_neighbourhoods_from_a_projected_boundary_file_name_the_gaps(app, client, login_as):
    """Issue 14: ward boundaries in British National Grid become named areas; the gap
    table names them, and the study area is theirs."""
    from pathlib import Path

    from timebank.core.models import Neighbourhood

    wards = Path(__file__).parent / "fixtures" / "registers" / "wards_bng.geojson"
    result = app.test_cli_runner().invoke(args=["import-neighbourhoods", str(wards)])
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output and "from EPSG:27700" in result.output
    again = app.test_cli_runner().invoke(args=["import-neighbourhoods", str(wards)])
    assert "created 0, updated 2" in again.output
    with app.app_context():
        riverside = db.session.query(Neighbourhood).filter_by(name="Riverside Ward").one()
        assert -0.15 < riverside.min_lon < -0.13 and 51.49 < riverside.min_lat < 51.50
        category = db.session.query(AssetCategory).first()
        # One hall at the west edge of Riverside Ward: Hillcrest, to the east, is far.
        db.session.add(Asset(name="West Hall", status="published", category_id=category.id,
                             latitude=51.5035, longitude=-0.1430))
        db.session.commit()
    login_as(Role.COUNCIL)
    page = client.get("/assets/gaps?distance=800").get_data(as_text=True)
    assert "Hillcrest Ward" in page and "square " not in page.split("<tbody>")[1][:300]
    assert "straight lines, not walking routes" in page
    assert "Walking distance" not in page
