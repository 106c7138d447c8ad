"""In Chromium: suggest → moderate → on the map; filters with JS on/off; XSS; offline map."""

from __future__ import annotations

import pytest

from tests.a11y import assert_accessible
from tests.support import log_in, open_menu
from timebank.core.models import Asset, AssetCategory, Role
from timebank.core.models.base import utcnow
from timebank.infra.extensions import db

pytestmark = pytest.mark.browser
XSS_NAMES = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>"]


@pytest.fixture
def app_config(nominatim, request):
    config = {"TIMEBANK_GEOCODER_DOMAIN": nominatim.domain}
    if "osm_tiles" in request.keywords:  # requests for tiles are stopped in the browser
        config["TIMEBANK_TILES_URL"] = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    return config




def add(app, name, slug="physical", lat=51.5, lon=-0.1, **kw):
    with app.app_context():
        cat = db.session.query(AssetCategory).filter_by(slug=slug).one()
        asset = Asset(name=name, category_id=cat.id, latitude=lat, longitude=lon,
                      status="published", confirmed_at=utcnow(), **kw)
        db.session.add(asset)
        db.session.commit()
        return asset.id


def drawn(page) -> int:
    page.locator(".map-wrap[data-drawn]").wait_for(state="attached")
    return int(page.locator(".map-wrap").get_attribute("data-drawn"))


def test_suggest_moderate_then_on_the_map(new_page, live_server, make, app, js):
    base = live_server.url
    make.member(email="res@example.org", name="Resa")
    make.member(Role.COORDINATOR, email="coord@example.org", name="Coco")
    page = new_page(javascript=js)
    log_in(page, base, "res@example.org")
    page.goto(f"{base}/assets/new")
    assert_accessible(page)
    page.get_by_label("Name").fill("Riverside Community Garden")
    page.get_by_label("Kind of asset").select_option(label="Physical spaces")
    if js:
        # Place it by clicking the map: the coordinates fill themselves in.
        page.locator(".folium-map").click(position={"x": 200, "y": 150})
        assert page.get_by_label("Latitude (set by clicking the map)").input_value() != ""
    else:
        page.get_by_label("Street address").fill("1 High Street")
        page.get_by_label("Town or city").fill("Riverside")
    page.get_by_role("button", name="Suggest").click()
    page.get_by_text("A coordinator will check your suggestion").wait_for()
    assert_accessible(page)

    coordinator = new_page(javascript=js)
    log_in(coordinator, base, "coord@example.org")
    open_menu(coordinator, "Coordinate")
    coordinator.get_by_role("link", name="Assets to check").click()
    coordinator.wait_for_url("**/coordinator/assets")
    assert_accessible(coordinator)
    coordinator.get_by_role("link", name="Riverside Community Garden").click()
    coordinator.wait_for_url("**/edit")
    assert_accessible(coordinator)
    coordinator.get_by_label("Opening hours").fill("Saturdays 10–12")
    coordinator.get_by_role("button", name="Save and publish").click()
    coordinator.get_by_text("Published.").wait_for()

    visitor = new_page(javascript=js)
    visitor.goto(f"{base}/assets")
    assert_accessible(visitor)
    visitor.get_by_role("link", name="Riverside Community Garden").wait_for()
    if js:
        assert drawn(visitor) == 1


def test_filters_update_map_and_list(new_page, live_server, app, js):
    add(app, "Oak Hall", "physical", open_to_all=True)
    add(app, "Job Club", "services", lat=51.51, open_to_all=False)
    add(app, "Step-free Library", "institutions", lat=51.49, step_free=True)
    page = new_page(javascript=js)
    page.goto(f"{live_server.url}/assets")
    if js:
        assert drawn(page) == 3
    page.get_by_label("Step-free access").check()
    if not js:
        page.get_by_role("button", name="Show").click()
    page.wait_for_url("**step_free=y**")
    page.get_by_role("heading", name="1 asset").wait_for()
    assert page.get_by_role("link", name="Step-free Library").count() == 1
    assert page.get_by_role("link", name="Oak Hall").count() == 0
    if js:
        page.locator('.map-wrap[data-drawn="1"]').wait_for(state="attached")
    assert_accessible(page)


def test_hostile_names_never_run(new_page, live_server, app):
    ids = [add(app, name, lat=51.5 + i / 500) for i, name in enumerate(XSS_NAMES)]
    page = new_page()
    page.goto(f"{live_server.url}/assets")
    assert drawn(page) == 2
    # Open every popup on the map: names show as text.
    page.locator(".folium-map").click(position={"x": 5, "y": 5})
    page.evaluate("""() => {
        const wrap = document.querySelector('.map-wrap');
        const map = window[wrap.getAttribute('data-map-name')];
        map.setZoom(18);
        wrap._assetLayer.eachLayer(m => { map.setView(m.getLatLng(), 18); m.openPopup(); });
    }""")
    popups = page.locator(".leaflet-popup-content")
    popups.first.wait_for()
    shown = {popups.nth(i).inner_text().strip().splitlines()[0] for i in range(popups.count())}
    assert shown == set(XSS_NAMES)
    for asset_id in ids:
        page.goto(f"{live_server.url}/assets/{asset_id}")
        assert page.get_by_role("heading", level=1).inner_text() in XSS_NAMES
    page.goto(f"{live_server.url}/assets.geojson")
    assert "onerror=alert(1)" in page.content()
    assert page.dialogs == []


@pytest.mark.osm_tiles
def test_map_works_with_only_the_site_reachable(new_page, live_server, app, make):
    """Default OpenStreetMap tiles configured, every other host blocked: markers still draw."""
    add(app, "Oak Hall")
    page = new_page()
    foreign = []

    def gate(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    page.route("**/*", gate)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/assets")
    assert drawn(page) == 1
    assert page.evaluate("typeof L") == "object"
    assert page.locator(".leaflet-container").count() == 1
    assert errors == []
    # Only tile images were asked of another host (and refused here, in the browser).
    assert all(url.startswith("https://tile.openstreetmap.org/") for url in foreign), foreign


def test_import_a_register_in_the_browser(new_page, live_server, make, app, js):
    """Issue 14: upload → preview → mapping → import → map, with JavaScript on and off."""
    from pathlib import Path

    registers = Path(__file__).parent / "fixtures" / "registers"
    make.member(Role.COORDINATOR, email="coord@example.org")
    page = new_page(javascript=js)
    log_in(page, live_server.url, "coord@example.org")
    page.goto(live_server.url + "/coordinator/assets")
    page.get_by_role("link", name="Import a register").click()
    assert_accessible(page)
    page.get_by_label("A CSV or GeoJSON file").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just words"})
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_text("Choose a CSV or GeoJSON file").wait_for()
    page.get_by_label("A CSV or GeoJSON file").set_input_files(
        {"name": "huge.csv", "mimeType": "text/csv",
         "buffer": b"name,category\n" + b"Hall,physical\n" * 160_000})  # over 2 MB
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_text("What you sent is too large.").wait_for()
    page.goto(live_server.url + "/coordinator/assets/import")
    page.get_by_label("A CSV or GeoJSON file").set_input_files(
        str(registers / "council_land_register.geojson"))
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_text("0 rows ready, 6 refused").wait_for()
    assert_accessible(page)
    page.get_by_label("For rows whose category is empty or unknown").select_option(
        label="Physical spaces")
    if not js:
        page.get_by_role("button", name="Update preview").click()
    page.get_by_text("6 rows ready, 0 refused").wait_for()
    page.get_by_label("“Library” means").select_option(label="Institutions")
    if not js:
        page.get_by_role("button", name="Update preview").click()
    page.get_by_role("row", name="2 Church Road").get_by_text("Institutions").wait_for()
    page.get_by_role("button", name="Import 6 rows").click()
    page.get_by_text("Imported: created 6").wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="Asset map").last.click()
    page.get_by_role("link", name="Riverside Community Centre, 1 High Street").first.wait_for()


def test_a_big_register_is_drawn_by_view_in_groups_that_zoom_in(new_page, live_server, app):
    """Past TIMEBANK_MAP_VIEWPORT_FROM the map asks for its view: 1,600 assets come as
    numbered groups; pressing one (mouse or keyboard) zooms in, and close up the assets
    themselves are drawn, with their popups."""
    from tests.support import many_assets

    app.config["TIMEBANK_MAP_VIEWPORT_FROM"] = 100
    many_assets(app, 1600)
    page = new_page()
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/assets/map.json" in r.url else None)
    page.goto(f"{live_server.url}/assets")
    wrap = page.locator(".map-wrap[data-grouped='1']")
    wrap.wait_for(state="attached")
    badges = page.locator(".marker-cluster")
    assert 1 < badges.count() == int(wrap.get_attribute("data-drawn")) < 1600
    numbers = [int(badges.nth(i).inner_text()) for i in range(badges.count())]
    assert sum(numbers) == 1600
    assert all("bbox=" in url and "zoom=" in url for url in asked)
    assert_accessible(page)
    the_map = "window[document.querySelector('.map-wrap').getAttribute('data-map-name')]"
    before = page.evaluate(f"() => {the_map}.getZoom()")
    biggest = numbers.index(max(numbers))
    badge = page.locator(".leaflet-marker-icon.marker-cluster").nth(biggest)
    assert badge.get_attribute("aria-label") == f"{max(numbers)} assets here: press to zoom in"
    badge.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => {the_map}.getZoom() === {before + 2}")
    # The redraw took the badge away; the keyboard focus stays on the map.
    page.locator(".map-wrap[data-drawn]").wait_for(state="attached")
    page.wait_for_function("() => document.activeElement.classList.contains('folium-map')")
    # Zoom on until the view holds few enough to draw each one.
    page.evaluate("""() => {
        const map = window[document.querySelector('.map-wrap').getAttribute('data-map-name')];
        map.setView([51.55, -0.15], 17);
    }""")
    page.locator(".map-wrap[data-zoom='17']").wait_for(state="attached")
    assert page.locator(".map-wrap").get_attribute("data-grouped") == "0"
    assert page.locator(".marker-cluster").count() == 0
    assert int(page.locator(".map-wrap").get_attribute("data-drawn")) >= 1
    page.evaluate("""() => document.querySelector('.map-wrap')._assetLayer
                        .eachLayer(m => m.openPopup())""")
    page.locator(".leaflet-popup-content a").first.wait_for()
    # (51.55, -0.15) is row 20, column 20 of the 40-wide grid.
    assert page.locator(".leaflet-popup-content a").first.inner_text() == "Place 820"
