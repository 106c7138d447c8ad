"""import-assets: good rows in, bad rows reported with reasons, nothing half-written, idempotent."""

from __future__ import annotations

import json

from timebank.extensions import db
from timebank.models import Asset

HEADER = ("source_id,name,category,description,address_1,city,postal_code,latitude,longitude,"
          "email,url,open_to_all\n")
GOOD = [
    "lib-1,Riverside Library,institutions,Books,1 High St,Riverside,RV1 1AA,51.5010,-0.1000,"
    "lib@example.org,https://library.example.org,yes\n",
    "hall-2,St Mary's Hall,physical,,2 Church Rd,Riverside,,51.5020,-0.1010,,,no\n",
    "shop-3,Corner Shop,Local economy,,3 Market St,Riverside,RV1 2BB,,,,,\n",  # address only
]
BAD = [
    "lib-1,Riverside Library again,institutions,,,,,51.5,-0.1,,,\n",  # duplicate source id
    "bad-4,Nowhere,physical,,,,,123.0,-0.1,,,\n",  # latitude out of range
    "bad-5,Nowhere,physical,,,,,abc,def,,,\n",  # not numbers
    "bad-6,,physical,,1 Road,Town,,51.5,-0.1,,,\n",  # missing name
    "bad-7,Mystery,castles,,1 Road,Town,,51.5,-0.1,,,\n",  # unknown category
]


def run(app, path):
    return app.test_cli_runner().invoke(args=["import-assets", str(path)])


def test_csv_import_reports_every_row_and_is_idempotent(app, tmp_path):
    path = tmp_path / "assets.csv"
    latin1_row = "enc-8,Café Olé,economy,,,,,51.5,-0.1,,,\n".encode("latin-1")
    path.write_bytes((HEADER + "".join(GOOD + BAD)).encode("utf-8") + latin1_row)
    result = run(app, path)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "created 3, updated 0, skipped 1, rejected 5" in out
    assert "row 5: skipped (same source_id as row 2)" in out
    assert "row 6: rejected (bad coordinates 123.0, -0.1" in out
    assert "row 7: rejected (bad coordinates 'abc', 'def')" in out
    assert "row 8: rejected (missing name)" in out
    assert "row 9: rejected (unknown category 'castles'" in out
    assert "row 10: rejected (not valid UTF-8 text" in out
    with app.app_context():
        assets = {a.source_id: a for a in db.session.query(Asset)}
        assert set(assets) == {"lib-1", "hall-2", "shop-3"}
        assert assets["lib-1"].status == "published" and assets["lib-1"].latitude == 51.501
        assert assets["hall-2"].open_to_all is False
        assert assets["shop-3"].latitude is None and assets["shop-3"].geocode_state == "pending"
        assert assets["shop-3"].category.slug == "economy"
    again = run(app, path)
    assert "created 0, updated 0, skipped 4, rejected 5" in again.output
    with app.app_context():
        assert db.session.query(Asset).count() == 3


def test_changed_rows_update(app, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + GOOD[0], encoding="utf-8")
    run(app, path)
    path.write_text(HEADER + GOOD[0].replace("Books", "Books and computers"), encoding="utf-8")
    result = run(app, path)
    assert "created 0, updated 1" in result.output
    with app.app_context():
        assert db.session.query(Asset).one().description == "Books and computers"


def test_geojson_import(app, tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "g-1", "geometry": {"type": "Point", "coordinates": [-0.1, 51.5]},
         "properties": {"name": "Park", "category": "physical"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.1, 951.5]},
         "properties": {"id": "g-2", "name": "Bad", "category": "physical"}},
        {"type": "Feature", "geometry": None,
         "properties": {"source_id": "g-3", "name": "No place", "category": "physical"}},
        "junk",
    ]}
    path = tmp_path / "a.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = run(app, path)
    assert "created 1, updated 0, skipped 0, rejected 3" in result.output, result.output
    assert "row 3: rejected (no coordinates and no address" in result.output
    with app.app_context():
        park = db.session.query(Asset).one()
        assert (park.source_id, park.longitude, park.latitude) == ("g-1", -0.1, 51.5)


def test_unreadable_file_fails_cleanly(app, tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text("{not json", encoding="utf-8")
    result = run(app, path)
    assert result.exit_code != 0 and "not valid GeoJSON" in result.output
    noname = tmp_path / "x.csv"
    noname.write_text("title,lat\nA,1\n", encoding="utf-8")
    result = run(app, noname)
    assert result.exit_code != 0 and "no 'name' column" in result.output
    with app.app_context():
        assert db.session.query(Asset).count() == 0


def test_export_then_import_round_trip(app, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "".join(GOOD[:2]), encoding="utf-8")
    run(app, path)
    out = tmp_path / "out.csv"
    result = app.test_cli_runner().invoke(args=["export-assets", str(out)])
    assert "2 assets written" in result.output
    again = run(app, out)
    assert "created 0, updated 0, skipped 2, rejected 0" in again.output, again.output
