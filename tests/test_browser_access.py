"""Meeting people where they are, in Chromium: every language, a 320 px phone, no JavaScript."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.a11y import assert_accessible
from tests.support import NOW, PASSWORD, TODAY, get
from timebank.core.ledger import writer as ledger
from timebank.core.models import Role
from timebank.infra import clock

pytestmark = pytest.mark.browser


@pytest.fixture(params=["sqlite"])
def db_kind(request) -> str:
    """Pages read the same whatever the engine: these crawls run on SQLite only (the other
    browser tests run on both)."""
    return request.param

LANGS = ("en", "cy", "es")


def pages(ids: dict) -> dict:
    """Each role's pages, the objects' own pages included: all must read on a phone."""
    return {
        None: ["/", "/login", "/register", "/assets", f"/assets/{ids['asset']}",
               "/password/forgot", "/terms", "/privacy", "/ideas", "/ideas/answers",
               f"/ideas/{ids['idea']}", "/assets/community-value", ids["check"]],
        "resident": ["/", "/profile", "/exchanges/new", "/statement", "/events",
                     f"/exchanges/{ids['exchange']}", "/listings", "/listings/new",
                     f"/listings/{ids['listing']}", "/listings/mine", "/matches",
                     f"/matches/{ids['match']}", "/notifications", "/assets/new", "/assets/mine",
                     "/paper/timesheet", "/paper/nearby", "/account/password",
                     "/account/email", "/account/data", "/members", "/statement/print",
                     "/ideas/new", f"/ideas/{ids['idea']}", f"/ideas/{ids['idea']}/edit",
                     "/account/texts", "/account/proxies"],
        "coordinator": ["/", "/coordinator/members", f"/coordinator/members/{ids['member']}",
                        f"/coordinator/members/{ids['member']}/statement",
                        "/coordinator/matching", "/coordinator/exchanges",
                        "/coordinator/exchanges/new", "/coordinator/activities/new",
                        f"/exchanges/{ids['exchange']}/reverse", "/coordinator/assets",
                        f"/coordinator/assets/{ids['asset']}/edit", "/coordinator/bank",
                        "/assets/gaps", "/coordinator/members/new", "/coordinator/conversations",
                        f"/coordinator/members/{ids['member']}/edit",
                        f"/coordinator/members/{ids['member']}/suspend",
                        f"/coordinator/members/{ids['member']}/statement/print",
                        "/coordinator/exchanges?waiting=1", "/coordinator/assets/import",
                        "/coordinator/approvals",
                        "/coordinator/reports", f"/ideas/{ids['idea']}/sessions/new",
                        f"/events/{ids['session']}", "/events", "/events/new",
                        f"/events/{ids['session']}/attendance",
                        f"/events/{ids['session']}/edit", "/coordinator/checks",
                        "/coordinator/quiet",
                        f"/coordinator/members/{ids['member']}/proxy",
                        f"/coordinator/members/{ids['member']}/mobile", "/coordinator/proxies",
                        "/coordinator/neighbourhoods",
                        f"/coordinator/neighbourhoods/uploads/{ids['boundaries']}"],
        "admin": ["/admin/categories", "/admin/asset-categories", "/admin/banks",
                  f"/admin/banks/{ids['bank']}", "/admin/audit", "/admin/jobs"],
        "council": ["/", "/assets/gaps", "/assets", "/reports", f"/ideas/{ids['idea']}"],
        "helper": ["/helpers"],
    }


SCROLLS = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.scrollWidth > e.clientWidth + 1
               && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
  .map(e => e.tagName + '.' + e.className)"""


@pytest.fixture
def people(app, make):
    resident = make.member(email="res@example.org", name="Rhian Resident")
    other = make.member(email="oth@example.org", name="Owen Other")
    make.member(Role.COORDINATOR, email="coord@example.org", name="Cai Coordinator")
    make.member(Role.COUNCIL, email="council@example.org", name="Cerys Council")
    admin = make.member(Role.ADMIN, email="admin@example.org", name="Aled Admin")
    helper = make.member(email="helper@example.org", name="Heledd Helper")
    listing, match = make.match(resident, other, other)
    with app.app_context():
        from timebank.core.models import Asset, AssetCategory, Bank
        from timebank.infra.extensions import db

        exchange = ledger.record_exchange(
            giver=ledger.account_of(get(resident)), receiver=ledger.account_of(get(other)),
            minutes=90, service_date=clock.today(),
            recorded_by=get(other), idempotency_key="access", confirm=True).exchange.id
        asset = Asset(name="Neuadd y Dref", status="published", latitude=51.5, longitude=-0.1,
                      category_id=db.session.query(AssetCategory).first().id,
                      geocode_state="ok", email="neuadd@example.org",
                      acv_listed_on=TODAY, acv_expires_on=TODAY + timedelta(days=1826))
        db.session.add(asset)
        db.session.commit()
        from timebank.core.assets import upkeep
        from timebank.core.models import AssetChange, BoundaryUpload

        # What the moderation page lists with buttons, and a boundary file to name.
        square = {"type": "Polygon", "coordinates": [[[-0.1, 51.5], [-0.09, 51.5],
                                                      [-0.09, 51.51], [-0.1, 51.5]]]}
        boundaries = BoundaryUpload(filename="wardiau.geojson", shapes=[
            {"name": "Glan yr Afon", "geometry": square}])
        db.session.add_all([boundaries, AssetChange(asset_id=asset.id, kind="correction",
                                                    values={"phone": "01234 567890"})])
        db.session.commit()
        check = f"/assets/check/{upkeep.token_for(asset)}"
        from timebank.core import events, ideas
        from timebank.core.models import Membership

        db.session.query(Membership).filter_by(member_id=helper).one().role = "helper"

        idea = ideas.propose(get(resident), {"title": "Mainc wrth y pwll",
                                             "need": "Somewhere to sit", "show_name": True})
        coordinator = db.session.query(type(get(resident))).filter_by(
            email="coord@example.org").one()
        bank_id = db.session.query(Bank).one().id
        meeting = ideas.schedule(coordinator, bank_id, [idea.id], {
            "title": "Cynllunio'r fainc", "place": "Neuadd", "helpers_wanted": 12,
            "helper_minutes": 90,
            "starts_at": NOW.replace(hour=18, minute=30) + timedelta(days=14),
            "accessibility": "Step-free"})
        events.sign_up(meeting, get(resident), True, clock.utcnow())
        from timebank.core.models import Approval

        # Something waiting for a second coordinator, so its page has buttons to read.
        db.session.add(Approval(bank_id=bank_id, kind="floor", member_id=other,
                                payload={"account_id": ledger.account_of(get(other)).id,
                                         "floor": -1200}, requested_by_id=admin))
        db.session.commit()
        ids = {"idea": idea.id, "session": meeting.id, "exchange": exchange, "listing": listing,
               "match": match,
               "member": resident, "asset": asset.id, "bank": db.session.query(Bank).one().id,
               "check": check, "boundaries": boundaries.id}
    return {"resident": "res@example.org", "coordinator": "coord@example.org",
            "council": "council@example.org", "admin": "admin@example.org",
            "helper": "helper@example.org", "ids": ids}


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_in_every_language_reads_on_a_phone(new_page, live_server, people, lang,
                                                       app):
    base = live_server.url
    with app.app_context():  # a sheet printed for a member is in theirs: make it this one
        from timebank.infra.extensions import db

        get(people["ids"]["member"]).language = lang
        db.session.commit()
    for role, paths in pages(people["ids"]).items():
        page = new_page()
        page.context.set_extra_http_headers({"Accept-Language": lang})
        page.set_viewport_size({"width": 320, "height": 640})
        if role:
            page.goto(f"{base}/login")
            page.locator("#email").fill(people[role])
            page.locator("#password").fill(PASSWORD)
            page.locator("main button[type=submit]").click()
            page.wait_for_url(lambda url: "/login" not in url)  # council viewers: /reports
        for path in paths:
            response = page.goto(base + path)
            assert response.status == 200, (lang, role, path)
            assert page.locator("html").get_attribute("lang") == lang, (lang, path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 320, (lang, path, width)
            # Nothing inside the page scrolls sideways either: tables stack up.
            assert page.evaluate(SCROLLS) == [], (lang, path)
            assert_accessible(page)


def test_the_menu_button_opens_the_navigation_without_javascript(new_page, live_server,
                                                                  people):
    page = new_page(javascript=False)
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_server.url}/login")
    page.locator("#email").fill(people["resident"])
    page.locator("#password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    statement = page.get_by_role("link", name="Statement", exact=True)
    assert not statement.is_visible()
    page.get_by_text("Menu").click()
    statement.click()
    page.wait_for_url(f"{live_server.url}/statement")


def test_without_javascript_the_map_gives_way_to_the_list(new_page, live_server, app):
    from timebank.core.models import Asset, AssetCategory
    from timebank.infra.extensions import db

    with app.app_context():
        category = db.session.query(AssetCategory).first()
        db.session.add(Asset(name="Riverside Hall", category_id=category.id, status="published",
                             latitude=51.5, longitude=-0.1, geocode_state="ok"))
        db.session.commit()
    page = new_page(javascript=False)
    page.goto(f"{live_server.url}/assets")
    assert not page.locator(".map-wrap").is_visible()
    page.get_by_text("The map needs JavaScript").wait_for()
    assert page.get_by_role("link", name="Riverside Hall").is_visible()
    # The key names the kinds; it offers nothing to click.
    legend = page.get_by_role("list", name="Map key")
    assert legend.locator("input, button, a").count() == 0
    assert legend.locator("li").count() >= 6


def test_usable_at_200_percent_zoom(browser, live_server, people):
    """1280 px at 200 % zoom: a 640 CSS px viewport at twice the pixel density."""
    context = browser.new_context(viewport={"width": 640, "height": 400},
                                  device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/login")
        page.locator("#email").fill(people["coordinator"])
        page.locator("#password").fill(PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")
        for path in ("/", "/coordinator/members", "/statement", "/listings", "/assets/gaps"):
            page.goto(live_server.url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 640, path
            assert page.evaluate(SCROLLS) == [], path
            # The menu is one tap away and every link in it fits the screen.
            page.get_by_text("Menu").click()
            right = page.evaluate("""() => Math.max(...[...document.querySelectorAll('nav a')]
                .map(a => a.getBoundingClientRect().right))""")
            assert right <= 640, (path, right)
    finally:
        context.close()
