"""The asset register over HTTP: suggest, geocode, moderate, review, export, permissions."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from tests.support import PLACES, get, login, many_assets, submit
from timebank.core.models import Asset, AssetCategory, AssetReview, Notification, Role
from timebank.core.models.base import utcnow
from timebank.infra.extensions import db

XSS_NAMES = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>"]


@pytest.fixture
def app_config(nominatim):
    return {"TIMEBANK_GEOCODER_DOMAIN": nominatim.domain}


def cat(app, slug="physical"):
    with app.app_context():
        return db.session.query(AssetCategory).filter_by(slug=slug).one().id


def suggestion(app, **kw):
    data = {"name": "Riverside Garden", "category": str(cat(app)), "description": "Veg beds",
            "address_1": "1 High Street", "city": "Riverside", "postal_code": "",
            "latitude": "", "longitude": "", "opening_hours": "Sat 10-12", "audience": "All",
            "open_to_all": "y", "accessibility": "", "run_by": "Friends of the garden",
            "url": "", "email": "", "phone": ""}
    data.update(kw)
    return data


def add_asset(app, name="Hall", slug="physical", lat=51.5, lon=-0.1, status="published", **kw):
    with app.app_context():
        asset = Asset(name=name, category_id=cat(app, slug), latitude=lat, longitude=lon,
                      status=status, confirmed_at=utcnow(), **kw)
        db.session.add(asset)
        db.session.commit()
        return asset.id


def test_suggest_with_address_is_geocoded_and_proposed(client, app, login_as, nominatim):
    me = login_as()
    response = submit(client, "/assets/new", suggestion(app))
    assert response.status_code == 303
    with app.app_context():
        asset = db.session.query(Asset).one()
        assert (asset.latitude, asset.longitude) == PLACES["1 high street, riverside"]
        assert asset.status == "proposed" and asset.submitted_by_id == me
        assert asset.geocode_source == "nominatim"
    # Not on the public map until a coordinator publishes it.
    assert "Riverside Garden" not in client.get("/assets").get_data(as_text=True)


def test_suggest_with_map_point_needs_no_geocoder(client, app, login_as, nominatim):
    login_as()
    submit(client, "/assets/new", suggestion(app, address_1="", latitude="51.52",
                                             longitude="-0.11"))
    with app.app_context():
        asset = db.session.query(Asset).one()
        assert (asset.latitude, asset.longitude, asset.geocode_source) == (51.52, -0.11, "map")
    assert nominatim.search_count() == 0


@pytest.mark.parametrize("mode,state,message", [
    ("503", "pending", "could not look up the address just now"),
    ("429", "pending", "could not look up the address just now"),
    ("hang", "pending", "could not look up the address just now"),
    ("empty", "not_found", "could not find that address"),
])
def test_geocoder_trouble_still_saves(client, app, login_as, nominatim, mode, state, message):
    login_as()
    nominatim.mode = mode
    nominatim.hang_seconds = 2.0
    response = submit(client, "/assets/new", suggestion(app))
    assert response.status_code == 303
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        asset = db.session.query(Asset).one()
        assert asset.latitude is None and asset.geocode_state == state
    if state == "pending":
        nominatim.mode = "ok"
        runner = app.test_cli_runner()
        result = runner.invoke(args=["geocode-pending"])
        assert "assets: 1 located" in result.output, result.output
        with app.app_context():
            assert db.session.query(Asset).one().latitude == PLACES["1 high street, riverside"][0]


@pytest.mark.parametrize("field,value,message", [
    ("name", "", "Give the name"),
    ("category", "999", "Not a valid choice"),
    ("latitude", "95", "between -90 and 90"),
    ("latitude", "north", "Not a valid float"),
    ("url", "javascript:alert(1)", "web address"),
    ("email", "not-an-email", "email address"),
])
def test_bad_suggestions_are_refused_with_text_kept(client, app, login_as, field, value,
                                                     message):
    login_as()
    data = suggestion(app, **{field: value})
    if field == "latitude":
        data["longitude"] = "-0.1"
    response = submit(client, "/assets/new", data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body and "Friends of the garden" in body
    with app.app_context():
        assert db.session.query(Asset).count() == 0


def test_no_address_and_no_point_is_refused(client, app, login_as):
    login_as()
    response = submit(client, "/assets/new", suggestion(app, address_1=""))
    assert response.status_code == 422
    assert "pick the place on the map" in response.get_data(as_text=True)


def test_publish_with_edits_reject_with_reason_archive(client, app, make, login_as):
    submitter = make.member(email="sub@example.org")
    ids = [add_asset(app, name=n, status="proposed", submitted_by_id=submitter)
           for n in ("Good hall", "Bad idea")]
    login_as(Role.COORDINATOR)
    assert "Good hall" in client.get("/coordinator/assets").get_data(as_text=True)
    edit = submit(client, f"/coordinator/assets/{ids[0]}/edit",
                  suggestion(app, name="Good Hall (renamed)", latitude="51.5",
                             longitude="-0.1", publish="1"))
    assert edit.status_code == 303
    rejected = submit(client, f"/coordinator/assets/{ids[1]}/reject",
                      {"reason": "This is a private house"},
                      page=f"/coordinator/assets/{ids[1]}/edit")
    assert rejected.status_code == 303
    with app.app_context():
        good, bad = db.session.get(Asset, ids[0]), db.session.get(Asset, ids[1])
        assert (good.status, good.name) == ("published", "Good Hall (renamed)")
        assert good.approved_by_id is not None
        assert bad.status == "rejected"
        assert db.session.query(Notification).filter_by(member_id=submitter).count() == 1
    assert "Good Hall (renamed)" in client.get("/assets").get_data(as_text=True)
    login(client, "sub@example.org")
    page = client.get(f"/assets/{ids[1]}").get_data(as_text=True)
    assert "This is a private house" in page
    assert "This is a private house" in client.get("/assets/mine").get_data(as_text=True)
    login_as(Role.COORDINATOR)
    submit(client, f"/coordinator/assets/{ids[0]}/archive", {}, page="/coordinator/assets")
    assert "Good Hall (renamed)" not in client.get("/assets").get_data(as_text=True)


def test_reviews_confirm_and_stale_assets_are_flagged(client, app, login_as):
    old = add_asset(app, name="Old club")
    with app.app_context():
        asset = db.session.get(Asset, old)
        asset.confirmed_at = utcnow() - timedelta(days=400)
        db.session.commit()
    login_as(Role.COORDINATOR)
    assert "Old club" in client.get("/coordinator/assets").get_data(as_text=True).split(
        "Not checked for over 12 months")[1]
    login_as()
    assert "Not checked lately" in client.get(f"/assets/{old}").get_data(as_text=True)
    bad = submit(client, f"/assets/{old}/reviews", {"still_there": "maybe"},
                 page=f"/assets/{old}")
    assert bad.status_code == 422
    response = submit(client, f"/assets/{old}/reviews",
                      {"still_there": "yes", "welcoming": "4", "accessible": "partly",
                       "comment": "Ramp at the side"}, page=f"/assets/{old}")
    assert response.status_code == 303
    page = client.get(f"/assets/{old}").get_data(as_text=True)
    assert "Ramp at the side" in page and "very welcoming" in page
    assert "Not confirmed for over a year" not in page
    with app.app_context():
        assert db.session.query(AssetReview).count() == 1


def test_permissions(client, app, make, login_as):
    hidden = add_asset(app, name="Secret", status="proposed")
    assert client.get(f"/assets/{hidden}").status_code == 404
    assert client.get("/assets/new").status_code == 302  # log in first
    login_as(Role.RESIDENT)
    assert client.get(f"/assets/{hidden}").status_code == 404
    assert client.get("/coordinator/assets").status_code == 403
    assert client.get("/assets/gaps").status_code == 403
    login_as(Role.COUNCIL)
    assert client.get("/assets/gaps").status_code == 200
    assert client.get("/coordinator/assets").status_code == 403
    assert client.get("/assets/new").status_code == 403


def test_exports_filter_by_category_and_bbox(client, app):
    add_asset(app, name="Hall", slug="physical", lat=51.50, lon=-0.10)
    add_asset(app, name="Clinic", slug="services", lat=51.60, lon=-0.20)
    add_asset(app, name="Draft", slug="services", lat=51.60, lon=-0.20, status="proposed")
    everything = client.get("/assets.geojson").get_json()
    assert sorted(f["properties"]["name"] for f in everything["features"]) == ["Clinic", "Hall"]
    services = client.get("/assets.geojson?category=services").get_json()
    assert [f["properties"]["name"] for f in services["features"]] == ["Clinic"]
    boxed = client.get("/assets.geojson?bbox=-0.15,51.45,-0.05,51.55").get_json()
    assert [f["properties"]["name"] for f in boxed["features"]] == ["Hall"]
    assert client.get("/assets.geojson?bbox=1,2,3").status_code == 400
    assert client.get("/assets.geojson?bbox=a,b,c,d").get_json()["error"]
    assert client.get("/assets.geojson?category=nope").status_code == 400
    text = client.get("/assets.csv?category=physical").get_data(as_text=True)
    import csv
    import io

    header = next(csv.reader(io.StringIO(text)))
    assert header[:5] == ["source_id", "name", "category", "description", "address_1"]
    assert "Hall" in text and "Clinic" not in text
    for feature in everything["features"]:
        assert "submitted_by" not in json.dumps(feature)  # no personal data leaves


def test_hostile_names_are_escaped_everywhere(client, app):
    ids = [add_asset(app, name=name) for name in XSS_NAMES]
    listing = client.get("/assets").get_data(as_text=True)
    for name in XSS_NAMES:
        assert name not in listing
    assert "&lt;img src=x onerror=alert(1)&gt;" in listing
    for asset_id in ids:
        page = client.get(f"/assets/{asset_id}").get_data(as_text=True)
        assert "<img src=x" not in page and "<script>alert" not in page
    # The map's data is fetched from the address the page names: JSON with <, > and '
    # escaped, whatever the reader does with it.
    address = re.search(r'data-url="([^"]*)"', listing).group(1)
    data = client.get(address)
    assert data.mimetype == "application/json"
    assert "<" not in data.get_data(as_text=True) and ">" not in data.get_data(as_text=True)
    assert {f["properties"]["n"] for f in data.get_json()["features"]} == set(XSS_NAMES)
    geojson = client.get("/assets.geojson")
    assert geojson.mimetype == "application/geo+json"
    assert {f["properties"]["name"] for f in geojson.get_json()["features"]} == set(XSS_NAMES)
    csv_text = client.get("/assets.csv").get_data(as_text=True)
    assert "<img src=x onerror=alert(1)>" in csv_text  # data, served as text/csv


def test_map_page_refers_to_no_other_host(app, db_url):
    from tests.support import build_app

    add_asset(app)
    osm = build_app(db_url,
                    TIMEBANK_TILES_URL="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    client = osm.test_client()
    html = client.get("/assets").get_data(as_text=True)
    assert "L.tileLayer" in html
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("leaflet" in r for r in refs)
    external = [r for r in refs if r.startswith(("http:", "https:", "//"))]
    assert external == []
    # The only other host anywhere in the page is the tile server in the map script.
    hosts = set(re.findall(r"https?://([\w.-]+)", html))
    assert hosts <= {"tile.openstreetmap.org", "www.openstreetmap.org"}, hosts
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    csp = client.get("/assets").headers["Content-Security-Policy"]
    assert "'nonce-" in csp and "unsafe-inline" not in csp
    assert "img-src 'self' data: https://tile.openstreetmap.org" in csp
    with osm.app_context():
        db.session.remove()
        db.engine.dispose()


def test_no_tiles_setting_means_no_tile_layer(db_url):
    from tests.support import build_app

    app = build_app(db_url, TIMEBANK_TILES_URL="")
    html = app.test_client().get("/assets").get_data(as_text=True)
    assert "L.tileLayer" not in html and "openstreetmap" not in html
    assert "blank background" in html
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_list_pages_and_htmx_fragment(client, app):
    for i in range(60):
        add_asset(app, name=f"Asset {i:02d}", lat=51.5 + i / 1000)
    page = client.get("/assets").get_data(as_text=True)
    listed = page.split('id="asset-results"')[1].split("</ul>")[0]
    assert listed.count('href="/assets/') == 50 and "Next 50" in page
    second = client.get("/assets?start=50").get_data(as_text=True)
    assert "Asset 59" in second
    fragment = client.get("/assets?q=Asset%2005", headers={"HX-Request": "true",
                                                            "HX-Target": "asset-results"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "Asset 05" in body and "Asset 06" not in body
    import html

    address = html.unescape(re.search(r'data-url="([^"]*)"', body).group(1))
    data = client.get(address).get_json()
    assert [f["properties"]["n"] for f in data["features"]] == ["Asset 05"]


def test_gaps_page_table(client, app, login_as):
    add_asset(app, name="Only one", lat=51.5, lon=-0.1)
    add_asset(app, name="Far away", lat=51.53, lon=-0.1)
    login_as(Role.COUNCIL)
    page = client.get("/assets/gaps?distance=800")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "squares are farther than 800 m" in body
    assert client.get("/assets/gaps?distance=99999").status_code == 422
    # The table is drawn once per register version and question: a new asset, another
    # distance, or another language each show at once.
    rows = re.findall(r'data-label="Nearest asset">([^<]+)<', body)
    assert rows == re.findall(r'data-label="Nearest asset">([^<]+)<', client.get(
        "/assets/gaps?distance=800").get_data(as_text=True)) and rows
    wider = client.get("/assets/gaps?distance=1500").get_data(as_text=True)
    assert "farther than 1500 m" in wider
    assert re.findall(r'data-label="Nearest asset">([^<]+)<', wider) != rows
    add_asset(app, name="In the gap", lat=51.515, lon=-0.1)
    again = client.get("/assets/gaps?distance=800").get_data(as_text=True)
    assert re.findall(r'data-label="Nearest asset">([^<]+)<', again) != rows
    welsh = client.get("/assets/gaps?distance=800", headers={"Accept-Language": "cy"})
    assert welsh.status_code == 200 and "data-label=\"Nearest asset\"" not in welsh.get_data(
        as_text=True) and "data-label=" in welsh.get_data(as_text=True)


def test_gap_area_never_reveals_where_members_live(client, app, make, login_as):
    add_asset(app, name="Hall", lat=51.5, lon=-0.1)
    far = make.member()
    with app.app_context():
        member = get(far)
        member.public_latitude, member.public_longitude = 52.9, 1.3  # far from every asset
        db.session.commit()
    login_as(Role.COUNCIL)
    body = client.get("/assets/gaps?distance=800").get_data(as_text=True)
    assert "52.9" not in body and "1.3000" not in body


def test_anonymous_visitors_do_not_see_reviewers_names(client, app, make):
    asset_id = add_asset(app)
    reviewer = make.member(name="Rev Iewer")
    with app.app_context():
        db.session.add(AssetReview(asset_id=asset_id, member_id=reviewer, still_there=True,
                                   welcoming=3, accessible="yes"))
        db.session.commit()
    page = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "Rev Iewer" not in page and "A resident" in page


def test_import_in_the_browser_preview_mapping_import_history_archive(app, client, login_as,
                                                                     monkeypatch):
    """Issue 14: upload → preview → mapping → import → history → archive."""
    import io
    from pathlib import Path

    from tests.support import hidden_fields
    from timebank.core.models import Asset, AssetImport

    registers = Path(__file__).parent / "fixtures" / "registers"
    login_as(Role.COORDINATOR)
    page = client.get("/coordinator/assets/import").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]

    def upload(name: str, data: bytes):
        return client.post("/coordinator/assets/import", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(data), name)})

    wrong = upload("notes.txt", b"hello")
    assert wrong.status_code == 422 and "CSV or GeoJSON" in wrong.get_data(as_text=True)
    from timebank.core.assets import imports

    monkeypatch.setattr(imports, "MAX_UPLOAD", 2000)  # no need to send 2 MB to test it
    big = upload("big.csv", b"name,category\n" + b"x,physical\n" * 300)
    assert big.status_code == 422 and "larger than" in big.get_data(as_text=True)
    monkeypatch.undo()
    broken = upload("broken.geojson", b"{not json")
    assert broken.status_code == 422 and "cannot be read" in broken.get_data(as_text=True)
    # A spreadsheet saved as .xlsx, renamed .csv; and bytes that are no text at all.
    xlsx = upload("register.csv", b"PK\x03\x04" + bytes(range(256)) * 4)
    said = xlsx.get_data(as_text=True)
    assert xlsx.status_code == 422 and "not a text file" in said and "Excel" in said
    noise = upload("register.csv", bytes(range(32)) * 64)
    assert noise.status_code == 422 and "not a text file" in noise.get_data(as_text=True)
    response = upload("council_land_register.geojson",
                      (registers / "council_land_register.geojson").read_bytes())
    assert response.status_code == 303
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "unknown category" in page and "0 rows ready, 6 refused" in page
    # Not imported yet: listed apart, never among the imports as if it had been.
    start = client.get("/coordinator/assets/import").get_data(as_text=True)
    assert "Uploaded, not imported" in start
    assert "council_land_register.geojson" not in start.split("Imports so far")[1]
    with app.app_context():
        assert db.session.query(Asset).count() == 0  # a preview changes nothing
    # Say what the council's asset types mean (HTMX swaps just the preview).
    form = {"csrf_token": token, "crs": "", "default_category": "physical"}
    for n, value in enumerate(["Library", "Retail Unit"], start=1):
        form[f"catv_{n}"], form[f"cat_{n}"] = value, ("institutions" if n == 1 else "economy")
    swapped = client.post(preview_url, data=form, headers={"HX-Request": "true",
                                                           "HX-Target": "import-preview"})
    fragment = swapped.get_data(as_text=True)
    assert swapped.status_code == 200 and "<html" not in fragment
    assert "6 rows ready, 0 refused" in fragment and "Riverside Community Centre" in fragment
    run = client.post(preview_url + "/run", data={"csrf_token": token})
    assert run.status_code == 303
    report = client.get(run.headers["Location"]).get_data(as_text=True)
    # A table of what happened, and the notes about the file.
    assert '<td data-label="Created">6</td>' in report and "converted from EPSG:27700" in report
    assert '<td data-label="Held back (outside the area)">0</td>' in report
    with app.app_context():
        assert db.session.query(Asset).filter_by(status="published").count() == 6
        library = db.session.query(Asset).filter_by(source_id="100023336958").one()
        assert library.category.slug == "institutions"
        record = db.session.query(AssetImport).one()
        assert (record.status, record.created, record.data) == ("imported", 6, None)
    assert "Riverside Community Centre" in client.get("/assets").get_data(as_text=True)
    history = client.get("/coordinator/assets/import").get_data(as_text=True)
    assert "council_land_register.geojson" in history and "6 / 0 / 0" in history
    # Archiving asks first, saying how many come off the map; asking changes nothing.
    asked = client.get(run.headers["Location"] + "/archive").get_data(as_text=True)
    assert "6 assets this import created will come off the map" in asked
    assert "Yes, archive them" in asked
    with app.app_context():
        assert db.session.query(Asset).filter_by(status="published").count() == 6
    archived = client.post(run.headers["Location"] + "/archive", data={"csrf_token": token})
    assert archived.status_code == 303
    with app.app_context():
        assert db.session.query(Asset).filter_by(status="published").count() == 0
    assert "Riverside Community Centre" not in client.get("/assets").get_data(as_text=True)


def test_register_data_is_built_once_per_version_and_revalidates_with_304(client, app):
    """The map's data, the GeoJSON and the CSV: a repeat request carrying the validator
    gets 304; gzip when asked; a change to any asset (or a Core write that bumps the
    version, as the demo's does) gives new bodies at once; and a repeat costs the same
    few queries on a register of 2 assets as on one of 300."""
    import gzip

    from tests.support import count_queries
    from timebank.infra import cache

    hall = add_asset(app, name="Hall")
    add_asset(app, name="Garden", slug="physical", lat=51.51)
    urls = ["/assets/map.json", "/assets.geojson", "/assets.csv",
            "/assets.geojson?category=physical"]
    tags = {}
    for url in urls:
        first = client.get(url)
        assert first.status_code == 200 and first.headers["ETag"]
        assert first.headers["Cache-Control"] == "private, no-cache"
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b""
        zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers.get("Content-Encoding") == "gzip"
        assert gzip.decompress(zipped.get_data()) == first.get_data()
        assert zipped.headers["ETag"] != first.headers["ETag"]
        assert "Accept-Encoding" in zipped.headers["Vary"]
        tags[url] = first.headers["ETag"]
    with app.app_context():
        db.session.get(Asset, hall).name = "Village Hall"
        db.session.commit()
    for url in urls:
        changed = client.get(url, headers={"If-None-Match": tags[url]})
        assert changed.status_code == 200 and "Village Hall" in changed.get_data(as_text=True)
        tags[url] = changed.headers["ETag"]
    with app.app_context():  # a Core write, as the demo seeds the register
        db.session.execute(Asset.__table__.update().where(Asset.id == hall)
                           .values(name="Old Hall"))
        cache.bump(cache.REGISTER)
        db.session.commit()
    assert "Old Hall" in client.get("/assets.csv").get_data(as_text=True)
    client.get("/assets.geojson")  # built once for this version
    client.get("/assets/map.json")
    small = count_queries(app, client, "/assets.geojson")
    small_map = count_queries(app, client, "/assets/map.json")
    for i in range(300):
        add_asset(app, name=f"Many {i}", lat=51.5 + i / 10000)
    client.get("/assets.geojson")  # built once for the new version
    assert count_queries(app, client, "/assets.geojson") == small
    client.get("/assets/map.json")
    assert count_queries(app, client, "/assets/map.json") == small_map


def test_a_big_register_is_asked_for_by_view_and_grouped(client, app):
    """A view with more than VIEW_POINTS assets comes as groups with counts that add up to
    what is inside; zoomed in, the assets themselves; each view one cached, validated,
    compact answer; every group and asset inside the (snapped) view."""
    import gzip

    from timebank.core.assets import register

    many_assets(app, 4000)  # 51.40–51.70, -0.30–0.00
    add_asset(app, name=XSS_NAMES[0], lat=51.55, lon=-0.15)
    everything = "/assets/map.json?bbox=-0.4,51.3,0.1,51.8&zoom=10"
    found = client.get(everything)
    assert found.status_code == 200
    data = found.get_json()
    assert data["grouped"] is True and data["total"] == 4001
    counted = sum(f["properties"].get("k", 1) for f in data["features"])
    assert counted == 4001  # every asset in exactly one group
    assert len(data["features"]) < 4001 / 4  # far fewer markers than assets
    west, south, east, north = register.snap_view((-0.4, 51.3, 0.1, 51.8), 10)
    for f in data["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert west <= lon <= east and south <= lat <= north
    assert len(gzip.compress(found.get_data())) < 300 * 1024
    again = client.get(everything, headers={"If-None-Match": found.headers["ETag"]})
    assert again.status_code == 304
    # Zoomed in on a street: the assets themselves, names escaped in the JSON.
    street = client.get("/assets/map.json?bbox=-0.152,51.548,-0.148,51.552&zoom=17")
    close = street.get_json()
    assert close["grouped"] is False and 0 < len(close["features"]) == close["total"] < 100
    assert XSS_NAMES[0] in [f["properties"].get("n") for f in close["features"]]
    assert "<img" not in street.get_data(as_text=True)
    # However spread out, a view never sends more than MAX_GROUPS groups: they widen.
    register.MAX_GROUPS, kept = 5, register.MAX_GROUPS
    try:
        few = client.get("/assets/map.json?bbox=-0.4,51.3,0.1,51.8&zoom=12").get_json()
    finally:
        register.MAX_GROUPS = kept
    assert few["grouped"] and len(few["features"]) <= 5
    assert sum(f["properties"].get("k", 1) for f in few["features"]) == 4001
    # A filter applies to the view too.
    none = client.get("/assets/map.json?category=economy&bbox=-0.4,51.3,0.1,51.8&zoom=10")
    assert none.get_json()["total"] == 0


@pytest.mark.parametrize("query", [
    "bbox=-0.4,51.3,0.1&zoom=10", "bbox=a,b,c,d&zoom=10", "bbox=-0.4,51.3,0.1,51.8",
    "bbox=-0.4,51.3,0.1,51.8&zoom=99", "bbox=0.1,51.3,-0.4,51.8&zoom=10",
    "bbox=nan,51.3,0.1,51.8&zoom=10", "zoom=3", "bbox=-180,-85,180,85&zoom=18",
    "bbox=-1e308,51.3,0.1,51.8&zoom=10"])
def test_a_bad_map_view_is_refused_clearly(client, app, query):
    response = client.get(f"/assets/map.json?{query}")
    assert response.status_code == 400
    assert "map view" in response.get_data(as_text=True)


def test_the_map_page_asks_by_view_past_the_setting(client, app):
    many_assets(app, 30)
    assert 'data-viewport="1"' not in client.get("/assets").get_data(as_text=True)
    app.config["TIMEBANK_MAP_VIEWPORT_FROM"] = 20
    page = client.get("/assets").get_data(as_text=True)
    assert 'data-viewport="1"' in page and "{n} assets here: press to zoom in" in page
    # A filter that leaves few assets sends the whole (small) layer again.
    assert 'data-viewport="1"' not in client.get("/assets?category=economy").get_data(
        as_text=True)


def test_new_versions_are_written_when_their_transaction_commits(app):
    """A bump is the transaction's own until it commits (the version rows are the last
    locks it takes); the commit writes it, creating the row the first time."""
    from sqlalchemy.orm import Session

    from timebank.core.models import DataVersion
    from timebank.infra import cache

    def seen_elsewhere(name):
        with Session(db.engine) as other:
            return other.get(DataVersion, name)

    with app.test_request_context("/"):
        cache.bump("test-new")
        db.session.flush()
        mine = cache.version("test-new")
        assert mine != 0 and seen_elsewhere("test-new") is None
        db.session.commit()
        assert seen_elsewhere("test-new").version == mine == cache.version("test-new")
        cache.bump("test-new")
        cache.bump("test-new")  # each bump a new number; the last is written
        again = cache.version("test-new")
        assert again != mine and seen_elsewhere("test-new").version == mine
        db.session.commit()
        assert seen_elsewhere("test-new").version == again
        cache.bump("test-new")
        db.session.rollback()
        assert cache.version("test-new") == again == seen_elsewhere("test-new").version


def test_a_requests_data_versions_follow_its_own_changes_and_rollbacks(app):
    """Versions are read once per request, but a change of the request's own (pending,
    flushed or rolled back) is never hidden behind the remembered number."""
    from timebank.core.models import Asset
    from timebank.infra import cache

    add_asset(app, name="Old Hall")
    with app.test_request_context("/"):
        before = cache.version(cache.REGISTER)
        assert cache.version(cache.REGISTER) == before  # remembered
        db.session.query(Asset).one().name = "New Hall"  # pending: read afresh, flushed
        during = cache.version(cache.REGISTER)
        assert during != before
        db.session.rollback()
        assert cache.version(cache.REGISTER) == before
        db.session.query(Asset).one().name = "Newer Hall"
        db.session.flush()  # bumped; nothing pending now, so the new number is remembered
        assert cache.version(cache.REGISTER) not in (before, during)
        db.session.rollback()
        assert cache.version(cache.REGISTER) == before


def test_a_kind_renamed_or_retired_shows_at_once_on_the_map_and_its_layer(client, app):
    """The kinds of asset are read once per version of the register: renaming or
    retiring one moves the register on, so the next page and layer show it."""
    add_asset(app, name="Chapel hall")
    client.get("/assets")
    client.get("/assets/map.json")
    with app.app_context():
        kind = db.session.get(AssetCategory, cat(app))
        old = kind.name
        kind.name = "Halls & rooms"
        db.session.commit()
    page = client.get("/assets").get_data(as_text=True)
    assert "Halls &amp; rooms" in page and f">{old}<" not in page
    layer = client.get("/assets/map.json").get_json()
    assert "Halls & rooms" in [c["name"] for c in layer["categories"]]
    with app.app_context():
        db.session.get(AssetCategory, cat(app)).active = False
        db.session.commit()
    assert "Halls &amp; rooms" not in client.get("/assets").get_data(as_text=True)


def test_import_preview_lists_every_problem_and_holds_rows_outside_the_area(app, client,
                                                                           login_as):
    """Rows beyond the first 20 with a problem are shown too; a row outside the bank's area
    is held back for a decision (never kept silently); choosing "import them anyway" in the
    preview brings it in."""
    import io

    from tests.support import hidden_fields
    from timebank.core.models import Asset

    app.config["TIMEBANK_AREA_BBOX"] = (-0.20, 51.45, -0.05, 51.55)
    lines = ["id,name,category,latitude,longitude"]
    lines += [f"r{n},Place {n},physical,51.50{n:02d},-0.10" for n in range(25)]
    lines += ["r25,Castle far away,culture,55.9486,-3.1999",
              "r26,Odd kind,castles,51.5000,-0.1000"]
    login_as(Role.COORDINATOR)
    token = hidden_fields(client.get("/coordinator/assets/import").get_data(as_text=True))[
        "csrf_token"]
    made = client.post("/coordinator/assets/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(
                           "\n".join(lines).encode()), "places.csv")})
    preview_url = made.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "25 rows ready, 1 held back (outside the area), 1 refused" in page
    assert "Held back:" in page and "unknown category &#39;castles&#39;" in page  # rows 27, 28
    assert "Place 24" not in page  # a good row past the first 20 is not listed
    chosen = client.post(preview_url, data={"csrf_token": token, "outside": "import"})
    assert "26 rows ready, 1 refused" in chosen.get_data(as_text=True)
    run = client.post(preview_url + "/run", data={"csrf_token": token})
    with app.app_context():
        assert db.session.query(Asset).filter_by(name="Castle far away").count() == 1
    # The report: a table row by row, in the reader's words (the refused kind is there).
    report = client.get(run.headers["Location"]).get_data(as_text=True)
    assert '<td data-label="What happened">refused</td>' in report
    assert "unknown category" in report and '<td data-label="Created">26</td>' in report
