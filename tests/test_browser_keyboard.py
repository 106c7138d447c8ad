"""The main journeys with the keyboard alone, in Chromium: no mouse, no clicks.

Each step presses Tab until the wanted control has the focus (proving it can be
reached), checks the focus is visible, then types or presses Enter/Space/arrows.
"""

from __future__ import annotations

import pytest

from tests.support import PASSWORD
from timebank.core.models import Asset, Exchange, ExchangeStatus, Listing
from timebank.infra.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture(params=["sqlite"])
def db_kind(request) -> str:
    """Pages read the same whatever the engine: these crawls run on SQLite only (the other
    browser tests run on both)."""
    return request.param

def tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until an element matching ``selector`` has the focus; its outline shows."""
    for _ in range(limit):
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)",
                         selector):
            style = page.evaluate(
                "() => getComputedStyle(document.activeElement).outlineStyle")
            assert style not in ("none", ""), f"focus on {selector} is not visible"
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def log_in_by_keyboard(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    tab_to(page, "#email")
    page.keyboard.type(email)
    tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    # The log-in is a boosted form: the address changes before htmx has swapped in and
    # processed the new page; a key pressed before then submits a form natively.
    page.wait_for_function(
        "() => window.htmx && document.querySelector('h1')"
        " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


@pytest.fixture
def pair(make, app):
    giver = make.member(email="kay@example.org", name="Kay Keyboard")
    receiver = make.member(email="rob@example.org", name="Rob Receiver")
    return giver, receiver


def test_record_and_confirm_time_with_the_keyboard(new_page, live_server, app, pair):
    base = live_server.url
    giver, receiver = pair
    page = new_page()
    log_in_by_keyboard(page, base, "kay@example.org")
    tab_to(page, "nav a[href='/exchanges/new']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/exchanges/new")
    tab_to(page, "input[name=direction][value=gave]")
    page.keyboard.press("Space")
    tab_to(page, "#other")
    page.keyboard.type(f"Rob Receiver (#{receiver})")
    tab_to(page, "#hours")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, "#description")
    page.keyboard.type("Fixed the gate")
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_text("It counts once Rob Receiver confirms").wait_for()

    other = new_page()
    log_in_by_keyboard(other, base, "rob@example.org")
    tab_to(other, "#awaiting button")  # the first button there is Confirm
    assert other.evaluate("() => document.activeElement.textContent.trim()") == "Confirm"
    other.keyboard.press("Enter")
    other.get_by_text("Confirmed: 2 h from Kay Keyboard").wait_for()
    # The swapped-in answer takes the focus (and is a status message screen readers read).
    other.wait_for_function("() => document.activeElement.getAttribute('role') === 'status'")
    with app.app_context():
        exchange = db.session.query(Exchange).one()
        assert exchange.status == ExchangeStatus.CONFIRMED and exchange.minutes == 120


def test_post_a_listing_suggest_an_asset_and_filter_the_map_list(new_page, live_server, app,
                                                                 pair):
    base = live_server.url
    page = new_page()
    log_in_by_keyboard(page, base, "kay@example.org")
    tab_to(page, "nav a[href='/listings']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/listings")
    tab_to(page, "main a[href='/listings/new?kind=offer']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/listings/new?kind=offer")
    tab_to(page, "#category")
    page.keyboard.press("ArrowDown")  # the first kind of help after "Choose…"
    tab_to(page, "#title")
    page.keyboard.type("Bike repairs")
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=1, name="Bike repairs").wait_for()

    page.goto(f"{base}/assets/new")
    tab_to(page, "#name")
    page.keyboard.type("Keyboard Community Hall")
    tab_to(page, "#category")
    page.keyboard.press("ArrowDown")
    tab_to(page, "#latitude")
    page.keyboard.type("51.5")
    tab_to(page, "#longitude")
    page.keyboard.type("-0.1")
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_text("A coordinator will check your suggestion").wait_for()
    with app.app_context():
        assert db.session.query(Listing).filter_by(title="Bike repairs").count() == 1
        asset = db.session.query(Asset).filter_by(name="Keyboard Community Hall").one()
        asset.status = "published"
        db.session.commit()

    page.goto(f"{base}/assets")
    tab_to(page, "#q")
    page.keyboard.type("Keyboard")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="1 asset").wait_for()
    tab_to(page, "#asset-results a")
    assert page.evaluate("() => document.activeElement.textContent") == "Keyboard Community Hall"
