"""In Chromium: a coordinator reads their bank's report, narrows it to one kind of help
and prints it; a council viewer reads the area's; with JavaScript on (HTMX swaps the
figures and the address keeps the filters) and off (a plain GET form)."""

from __future__ import annotations

import pytest

from tests.a11y import assert_accessible
from tests.support import get, log_in
from timebank.core.ledger import writer as ledger
from timebank.core.models import Category, Role
from timebank.infra import clock
from timebank.infra.extensions import db

pytestmark = pytest.mark.browser


def _bank_with_history(app, make) -> None:
    coordinator = make.member(Role.COORDINATOR, email="coord@example.org",
                              name="Cora Coordinator")
    people = [make.member(name=f"Neighbour {n}") for n in range(6)]
    with app.app_context():
        kinds = {c.slug: c.id for c in db.session.query(Category)}
        for n, (giver, receiver) in enumerate(zip(people, people[1:] + people[:1],
                                                  strict=True)):
            ledger.record_exchange(
                giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(receiver)),
                minutes=60 + 30 * n, service_date=clock.today(), recorded_by=get(receiver),
                idempotency_key=f"b{n}", confirm=True,
                category_id=kinds["gardening" if n % 2 else "cooking"])
    assert coordinator


def test_coordinator_report_filters_and_prints(new_page, live_server, make, js, app):
    base = live_server.url
    _bank_with_history(app, make)
    page = new_page(javascript=js)
    log_in(page, base, "coord@example.org")
    page.goto(f"{base}/coordinator/reports")
    page.get_by_role("heading", name="Exchanges and hours by kind of help").wait_for()
    assert_accessible(page)
    # On a desktop, "Who helps with what" (no chart, two columns of names) fits its box:
    # it had half the width and scrolled sideways within it.
    page.set_viewport_size({"width": 1280, "height": 800})
    fits = page.evaluate("""() => {
        const wrap = document.querySelector('#who-helps-heading ~ div .table-wrap');
        return [wrap.scrollWidth, wrap.clientWidth, wrap.getBoundingClientRect().width]; }""")
    assert fits[0] <= fits[1] + 1 and fits[2] > 600, fits
    chart = page.locator("svg#chart-categories")
    assert chart.is_visible() and chart.locator("rect.chart-bar").count() == 2
    assert page.locator("#categories-heading ~ div table").get_by_text("Cooking and meals")\
        .count() == 1
    page.get_by_label("Kind of help", exact=True).select_option(label="Gardening")
    if not js:
        page.get_by_role("button", name="Show").click()
    page.get_by_text("Kind of help: Gardening.").wait_for()
    assert "category=" in page.url  # bookmarkable either way
    assert page.locator("#categories-heading ~ div table").get_by_text("Cooking and meals")\
        .count() == 0
    assert page.locator("svg#chart-categories rect.chart-bar").count() == 1
    assert_accessible(page)
    page.emulate_media(media="print")
    assert not page.locator("form.filters").is_visible()
    assert page.get_by_text("Printed on").is_visible()
    assert page.locator("svg#chart-months").is_visible()


def test_council_viewer_reads_the_area_report(new_page, live_server, make, js, app):
    base = live_server.url
    _bank_with_history(app, make)
    make.member(Role.COUNCIL, email="council@example.org", name="Carys Council")
    page = new_page(javascript=js)
    log_in(page, base, "council@example.org", wait_home=False)
    page.get_by_role("heading", name="Give and take: active members").wait_for()
    assert_accessible(page)
    text = page.locator("main").inner_text()
    assert "Neighbour 1" not in text and "Cora" not in text
    assert "fewer than 5" in text
    page.set_viewport_size({"width": 320, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320
