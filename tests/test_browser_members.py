"""In Chromium: a coordinator enrols a neighbour without e-mail or computer, records time
for them and prints their statement (issue 13), with JavaScript on and off."""

from __future__ import annotations

import pytest

from tests.a11y import assert_accessible
from tests.support import log_in, open_menu
from timebank.core.models import Role

pytestmark = pytest.mark.browser


def test_enrol_without_email_record_time_and_print_the_statement(new_page, live_server,
                                                                  make, js):
    base = live_server.url
    make.member(Role.COORDINATOR, email="coord@example.org", name="Cora Coordinator")
    make.member(name="Gwen Gardener", email="gwen@example.org")
    page = new_page(javascript=js)
    log_in(page, base, "coord@example.org")
    open_menu(page, "Coordinate")
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_role("link", name="Enrol a member without e-mail or computer").click()
    assert_accessible(page)
    page.get_by_label("Name").fill("Dilys Davies")
    page.get_by_label("Neighbourhood or postcode").fill("Riverside")
    page.get_by_label("Phone").fill("01234 567890")
    page.get_by_role("button", name="Enrol").click()
    page.get_by_text("Dilys Davies is a member now, number").wait_for()
    assert_accessible(page)
    number = page.locator("dt:has-text('Member number') + dd").inner_text()
    assert page.get_by_text("none: reach them by phone or post").count() == 1

    page.get_by_role("link", name="Record time for them").click()
    assert page.get_by_label("Who gave the time").input_value() == f"Dilys Davies (#{number})"
    receiver = page.get_by_label("Who received the time")
    if js:
        receiver.press_sequentially("Gwen", delay=50)
        page.locator("#receiver-options option").first.wait_for(state="attached")
    receiver.fill("Gwen Gardener")
    page.get_by_label("Hours", exact=True).fill("3")
    page.get_by_label("What was done").fill("Weeded the allotment")
    page.get_by_role("button", name="Record").click()
    # The form came filled in from a link (Dilys's page): it says what it will record.
    page.get_by_text("You are about to record that Dilys Davies gave Gwen Gardener 3 h").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Yes, record and confirm it").click()
    # Cora enrolled Dilys, so time into Dilys's account is not Cora's word alone: Gwen,
    # who can log in, confirms it (four_eyes.py).
    page.get_by_text("It counts once Gwen Gardener confirms").first.wait_for()
    exchange = page.url.rsplit("/", 1)[1]
    page.context.clear_cookies()
    log_in(page, base, "gwen@example.org")
    page.goto(f"{base}/exchanges/{exchange}")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Exchange confirmed.").wait_for()
    page.context.clear_cookies()
    log_in(page, base, "coord@example.org")

    page.goto(f"{base}/coordinator/members/{number}")
    page.get_by_role("link", name="Print a statement").click()
    page.get_by_role("heading", level=1, name="statement for Dilys Davies").wait_for()
    assert_accessible(page)
    assert page.locator("dt:has-text('Member number') + dd").inner_text() == number
    assert page.get_by_text("Printed on").count() == 1
    row = page.locator("tr", has_text="Weeded the allotment")
    assert "+3 h" in row.inner_text() and "Gwen Gardener" in row.inner_text()
    page.emulate_media(media="print")
    assert not page.locator("header.site-header").is_visible()
    assert page.locator("tr", has_text="Weeded the allotment").is_visible()
