"""import-assets: good rows in, bad rows reported with reasons, nothing half-written, idempotent."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from timebank.core.models import Asset
from timebank.infra.extensions import db

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
    "bad-5,Nowhere,physical,,,,,abc,def,,,\n",  # not numbers, and no address
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
    assert "created 5, updated 0, skipped 1, rejected 3" in out, out
    assert "read as Windows-1252" in out  # one Latin-1 line: the file was saved that way
    assert "row 5: skipped (same id as row 2)" in out
    assert "row 6: rejected (the coordinates 123.0, -0.1 cannot be used, and there" in out
    assert "row 7: rejected (the coordinates 'abc', 'def' cannot be used, and there" in out
    assert "row 8: created (no name: the address is used as its name)" in out
    assert "row 9: rejected (unknown category 'castles'" in out
    with app.app_context():
        assets = {a.source_id: a for a in db.session.query(Asset)}
        assert set(assets) == {"lib-1", "hall-2", "shop-3", "bad-6", "enc-8"}
        assert assets["enc-8"].name == "Café Olé" and assets["bad-6"].name == "1 Road, Town"
        assert assets["lib-1"].status == "published" and assets["lib-1"].latitude == 51.501
        assert assets["hall-2"].open_to_all is False
        assert assets["shop-3"].latitude is None and assets["shop-3"].geocode_state == "pending"
        assert assets["shop-3"].category.slug == "economy"
    again = run(app, path)
    assert "created 0, updated 0, skipped 6, rejected 3" in again.output
    with app.app_context():
        assert db.session.query(Asset).count() == 5


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
    one_column = tmp_path / "x.csv"
    one_column.write_text("just a list\nA\nB\n", encoding="utf-8")
    result = run(app, one_column)
    assert result.exit_code != 0 and "should name the columns" in result.output
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


# -- real registers' shapes (issue 14) ---------------------------------------------------

REGISTERS = Path(__file__).parent / "fixtures" / "registers"
AREA = (-0.20, 51.45, -0.05, 51.55)  # the bank's area: central Riverside


@pytest.fixture
def app_config():
    return {"TIMEBANK_AREA_BBOX": AREA}


def imported(app, name: str, *flags: str):
    result = app.test_cli_runner().invoke(args=["import-assets", str(REGISTERS / name), *flags])
    assert result.exit_code == 0, result.output
    return result.output


def near(asset, lat: float, lon: float, metres: float = 60) -> bool:
    from timebank.infra.geo import haversine_km

    return haversine_km(asset.latitude, asset.longitude, lat, lon) * 1000 <= metres


def test_a_council_land_register_in_british_national_grid_without_names(app):
    """Polygons in EPSG:27700 (the file says so), UPRNs, no name field: the address names
    each site, a category map turns the council's asset types into ours."""
    flags = ("--category-map", str(REGISTERS / "council_asset_types.csv"))
    out = imported(app, "council_land_register.geojson", *flags)
    assert "created 6, updated 0, skipped 0, rejected 0" in out, out
    assert "coordinates converted from EPSG:27700 to WGS84" in out
    assert "category “Library” → Institutions (by the category map)" in out
    with app.app_context():
        assets = {a.source_id: a for a in db.session.query(Asset)}
        centre = assets["100023336956"]
        assert centre.name == "Riverside Community Centre, 1 High Street"
        assert centre.category.slug == "physical"
        # BNG 530040, 180040 (inside the polygon) is 51.50433 N, 0.12791 W.
        assert near(centre, 51.50433, -0.12791)
        assert assets["100023336960"].category.slug == "economy"
        assert assets["100023336961"].latitude is not None  # a line: a point on it
    again = imported(app, "council_land_register.geojson", *flags)
    assert "created 0, updated 0, skipped 6" in again
    # The same register as CSV, eastings and northings and no CRS said: the same places.
    csv_out = imported(app, "council_land_register_bng.csv", *flags)
    assert "converted from EPSG:27700" in csv_out and "rejected 0" in csv_out
    with app.app_context():
        assert db.session.query(Asset).count() == 6  # updated by UPRN, not duplicated
        assert near(db.session.query(Asset).filter_by(source_id="100023336956").one(),
                    51.50433, -0.12791)


def test_a_towns_places_list_with_latitude_and_longitude_swapped(app):
    out = imported(app, "town_places_swapped.csv")
    assert "read as Windows-1252" in out
    assert "wrong way round in this file; swapped back" in out
    assert "created 6, updated 0, skipped 0, rejected 0" in out, out
    with app.app_context():
        cafe = db.session.query(Asset).filter_by(name="Café Olé").one()
        assert (round(cafe.latitude, 4), round(cafe.longitude, 4)) == (51.505, -0.129)
        assert cafe.category.slug == "economy" and cafe.opening_hours == "Mon–Fri 9–5"
        shed = db.session.query(Asset).filter_by(name="Men’s Shed").one()
        assert shed.category.slug == "associations"
        ids = {a.source_id for a in db.session.query(Asset)}
        assert all(i.startswith("town-places-swapped:") for i in ids)
    again = imported(app, "town_places_swapped.csv")
    assert "created 0, updated 0, skipped 6" in again
    with app.app_context():
        assert db.session.query(Asset).count() == 6


def test_a_list_with_a_bom_duplicate_ids_no_coordinates_and_a_stray(app):
    out = imported(app, "volunteer_list_bom.csv")
    assert "read as UTF-8 with BOM" in out
    assert "row 4: skipped (same id as row 2)" in out
    # A stray far away is held back for a decision, never silently kept (or lost).
    assert "row 5: held back (53.90000, -2.90000 is outside the area" in out
    assert "created 3, updated 0, skipped 1, rejected 0, held back (outside the area) 1" in out
    with app.app_context():
        assets = {a.source_id: a for a in db.session.query(Asset)}
        assert assets["v1"].name == "Repair Café" and assets["v1"].url.startswith("https://")
        assert assets["v2"].latitude is None and assets["v2"].geocode_state == "pending"
        assert len(assets) == 3
    assert "created 0" in imported(app, "volunteer_list_bom.csv")
    # Chosen: import it anyway.
    anyway = imported(app, "volunteer_list_bom.csv", "--outside", "import")
    assert "created 1" in anyway and "imported as chosen" in anyway, anyway


def test_dry_run_says_row_by_row_and_changes_nothing(app):
    out = imported(app, "town_places_swapped.csv", "--dry-run")
    assert "row 2: would be created" in out and "dry run, nothing changed" in out
    with app.app_context():
        assert db.session.query(Asset).count() == 0


def test_unknown_categories_are_refused_never_guessed_and_flags_are_checked(app):
    out = imported(app, "council_land_register.geojson")
    assert "rejected 6" in out and "unknown category 'Community Centre'" in out
    with_default = imported(app, "council_land_register.geojson", "--default-category",
                            "Physical spaces")
    assert "created 6" in with_default
    bad = app.test_cli_runner().invoke(args=[
        "import-assets", str(REGISTERS / "town_places_swapped.csv"), "--map", "name=Nope"])
    assert bad.exit_code != 0 and "unknown field or column" in bad.output
    crs = app.test_cli_runner().invoke(args=[
        "import-assets", str(REGISTERS / "town_places_swapped.csv"), "--crs", "EPSG:999999"])
    assert crs.exit_code != 0 and "unknown coordinate system" in crs.output


def test_columns_named_by_hand(app, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("Ref,Called,What,N,E\nq1,Quaker Meeting House,culture,51.51,-0.11\n",
                    encoding="utf-8")
    result = app.test_cli_runner().invoke(args=[
        "import-assets", str(path), "--map", "source_id=Ref", "--map", "name=Called",
        "--map", "category=What", "--map", "latitude=N", "--map", "longitude=E"])
    assert "created 1" in result.output, result.output
    with app.app_context():
        house = db.session.query(Asset).one()
        assert (house.source_id, house.name, house.latitude) == ("q1", "Quaker Meeting House",
                                                                 51.51)


def test_swapped_coordinates_are_caught_on_a_fresh_install_with_no_area(app, tmp_path):
    """No TIMEBANK_AREA_BBOX, no bank area, nothing imported yet: the install's home
    (where its map opens) still tells a swapped UK list apart; --area says it exactly."""
    app.config["TIMEBANK_AREA_BBOX"] = None
    out = imported(app, "town_places_swapped.csv")
    assert "swapped back" in out and "created 6" in out
    with app.app_context():
        cafe = db.session.query(Asset).filter_by(name="Café Olé").one()
        assert (round(cafe.latitude, 3), round(cafe.longitude, 3)) == (51.505, -0.129)
    bounded = imported(app, "volunteer_list_bom.csv", "--area", "-0.2,51.45,-0.05,51.55")
    assert "outside the area" in bounded


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def _run(app, path: str, *flags: str):
    result = app.test_cli_runner().invoke(args=["import-assets", path, *flags])
    return result


def test_messy_registers_found_by_an_adversarial_read(app, tmp_path):
    """Each shape a reviewer built from real UK registers, imported where it belongs."""
    app.config["TIMEBANK_AREA_BBOX"] = None  # a fresh install: no area said anywhere
    from timebank.infra.geo import haversine_km

    def place(name):
        with app.app_context():
            asset = db.session.query(Asset).filter(Asset.name.like(f"{name}%")).one()
            return asset.latitude, asset.longitude

    def near(point, lat, lon, km=1.0):
        return haversine_km(point[0], point[1], lat, lon) <= km

    # Edinburgh, latitude and longitude swapped: far from London, still caught.
    out = _run(app, _write(tmp_path, "edinburgh.csv", "name,latitude,longitude,category\n"
                           "Edinburgh Castle,-3.1999,55.9486,culture\n"
                           "Portobello Baths,-3.1043,55.9530,physical\n")).output
    assert "swapped back" in out and "created 2" in out, out
    assert near(place("Edinburgh Castle"), 55.9486, -3.1999)
    # Eastings with thousands separators, a 0/0 row: no positions in the sea.
    out = _run(app, _write(
        tmp_path, "land.csv", "UPRN,Asset Name,Easting,Northing,Asset Category,Type\n"
        '906700000001,Leith Library,"326,947","675,909",Institutions,Freehold\n'
        "906700000002,Empty Plot,0,0,Physical,Leasehold\n")).output
    assert "created 1" in out and "category=Asset Category" in out, out
    # zeros are no position (not a spot off Scilly), and there is no address to find it by
    assert "row 3: rejected (no coordinates and no address" in out
    assert near(place("Leith Library"), 55.9735, -3.1735, km=2)
    # Web Mercator metres with no system named: refused, not put in Alaska.
    mercator = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": 1, "properties": {"name": "Cardiff Castle",
                                                    "category": "culture"},
         "geometry": {"type": "Point", "coordinates": [-354130.0, 6708230.0]}}]}
    bad = _run(app, _write(tmp_path, "merc.geojson", json.dumps(mercator)))
    assert bad.exit_code != 0 and "choose their coordinate system" in bad.output
    held = _run(app, _write(tmp_path, "merc.geojson", json.dumps(mercator)), "--crs",
                "http://www.opengis.net/def/crs/EPSG/0/3857")
    # Cardiff is far (over 50 km) from the register so far (Edinburgh): held, not kept.
    assert "held back (outside the area) 1" in held.output and "created 0" in held.output
    ok = _run(app, _write(tmp_path, "merc.geojson", json.dumps(mercator)), "--crs",
              "http://www.opengis.net/def/crs/EPSG/0/3857", "--outside", "import")
    assert "created 1" in ok.output and near(place("Cardiff Castle"), 51.4822, -3.1812, 1.0)
    # A crs member as a plain string, with a version in the URN; properties not an object.
    doc = {"type": "FeatureCollection", "crs": "urn:ogc:def:crs:EPSG:6.3:27700", "features": [
        {"type": "Feature", "properties": {"name": "Cardiff Bay Hall", "category": "physical"},
         "geometry": {"type": "Point", "coordinates": [318000, 174500]}},
        {"type": "Feature", "properties": ["odd"], "geometry": None}]}
    out = _run(app, _write(tmp_path, "bay.geojson", json.dumps(doc)), "--outside",
               "import").output
    assert "created 1" in out and "rejected 1" in out, out
    # Quoted text with doubled quotes and line breaks survives the delimiter sniffing.
    out = _run(app, _write(tmp_path, "quoted.csv", 'id,name,description,category,address\n'
                           'q-1,Scout Hut,"Kitchen, toilets and ""Friends of"" group\nupstairs",'
                           'associations,1 Hut Lane\n')).output
    assert "created 1" in out, out
    with app.app_context():
        hut = db.session.query(Asset).filter_by(name="Scout Hut").one()
        assert hut.description == 'Kitchen, toilets and "Friends of" group\nupstairs'
    # Two files numbering their rows 1, 2…: two assets each, not one overwriting another.
    _run(app, _write(tmp_path, "halls.csv", "ID,name,category,latitude,longitude,website\n"
                     "1,Grangetown Hall,physical,51.4700,-3.1850,cardiff.gov.uk/halls\n"))
    out = _run(app, _write(tmp_path, "parks.csv", "ID,name,category,latitude,longitude\n"
                           "1,Bute Park,physical,51.4860,-3.1860\n")).output
    assert "created 1" in out, out
    with app.app_context():
        hall = db.session.query(Asset).filter_by(name="Grangetown Hall").one()
        assert hall.source_id == "halls:1" and hall.url == "https://cardiff.gov.uk/halls"
    # Units in headers, and an easting where the latitude column is blank.
    out = _run(app, _write(tmp_path, "units.csv",
                           "Site Name,Easting (m),Northing (m),Latitude,Longitude,Category\n"
                           "Splott Pool,320150,176100,,,physical\n")).output
    assert "created 1" in out, out
    assert near(place("Splott Pool"), 51.4770, -3.1560, km=1.5)


def test_grid_columns_by_any_name_land_on_the_map(app):
    """A council CSV whose coordinates are `GeoX`/`GeoY` (read as having none before: 0 of
    459 rows on the map), or `X_COORD`/`Y_COORD`: British National Grid, whatever the case
    or spacing; a row whose coordinates are unusable comes in without a position, to be
    found by its address, instead of being refused."""
    flags = ("--category-map", str(REGISTERS / "council_asset_types.csv"))
    out = imported(app, "council_assets_geox.csv", *flags)
    assert "created 5, updated 0, skipped 0, rejected 0" in out, out
    assert "read as British National Grid" in out
    with app.app_context():
        assets = {a.source_id: a for a in db.session.query(Asset)}
        assert all(a.latitude is not None for a in assets.values())
        assert near(assets["A-101"], 51.50433, -0.12791)
    out = imported(app, "council_sites_x_coord.csv", *flags)
    assert "created 3, updated 0, skipped 0, rejected 0" in out, out
    assert "cannot be used: imported without a position, to be found by its address" in out
    with app.app_context():
        sites = {a.source_id: a for a in db.session.query(Asset).filter(
            Asset.source_id.like("council-sites-x-coord:%") | Asset.source_id.like("S%"))}
        placed = {a.name: a for a in sites.values()}
        assert near(placed["Riverside Community Centre"], 51.50433, -0.12791)
        depot = placed["The Old Depot"]
        assert depot.latitude is None and depot.geocode_state == "pending"


def _wide(columns: int) -> bytes:
    header = ",".join(["name", "category", *(f"c{n}" for n in range(columns))])
    return (header + "\n" + "Hall,physical" + "," * columns + "\n").encode()


@pytest.mark.parametrize("what, data, said", [
    ("wide", _wide(50_000), "50,002 columns; a register may have at most 300"),
    ("long line", b"name,category,description\nHall,physical,\"" + b"x" * 300_000 + b"\"\n",
     "300,016 characters long"),
    ("huge field", b"name,category,description\nHall,physical,\"" + b"x\n" * 15_000 + b"\"\n",
     "longer than 20,000 characters"),
    ("deep", b'{"type": "FeatureCollection", "features": ' + b"[" * 50_000 + b"]" * 50_000
     + b"}", "nested more than 20 levels deep"),
    ("long number", b'{"type": "FeatureCollection", "features": [], "n": ' + b"1" * 5000
     + b"}", "a number in it is too long"),
    ("many properties", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None,
         "properties": {f"p{n}": n for n in range(400)}}]}).encode(),
     "400 properties; a register may have at most 300"),
])
def test_an_import_too_wide_or_too_deep_is_refused_with_words(app, client, login_as, tmp_path,
                                                               what, data, said):
    """Issue 28, point 6: a CSV 50,000 columns wide held a worker 27 to 40 s at upload
    and again at every preview view (the header was read in quadratic time); 150,000
    columns, 142 s. Columns, rows, lines and cells are bounded, with a message, on the
    browser's path and the command line's alike."""
    from tests.support import hidden_fields
    from timebank.core.models import AssetImport, Role

    login_as(Role.COORDINATOR)
    token = hidden_fields(client.get("/coordinator/assets/import").get_data(as_text=True))[
        "csrf_token"]
    name = "register.geojson" if data.startswith(b"{") else "register.csv"
    answer = client.post("/coordinator/assets/import", content_type="multipart/form-data",
                         data={"csrf_token": token, "file": (io.BytesIO(data), name)})
    assert answer.status_code == 422, what
    assert said in answer.get_data(as_text=True).replace("&#34;", '"'), what
    with app.app_context():
        assert db.session.query(AssetImport).count() == 0  # nothing kept to preview
    path = tmp_path / name
    path.write_bytes(data)
    result = _run(app, str(path))
    assert result.exit_code != 0 and said in result.output, (what, result.output[-500:])
    assert "Traceback" not in result.output
