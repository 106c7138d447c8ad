"""In Chromium, with JavaScript on and off: a member finds an event from the menu, signs
up to come, cancels, signs up to help; a full event says so (under HTMX too, never a
silent button); the coordinator records who came and the helper is paid (issue 32)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.a11y import assert_accessible
from tests.support import NOW, get, log_in
from timebank.core import events
from timebank.core.models import Account, Bank, Role
from timebank.infra import clock
from timebank.infra.extensions import db

pytestmark = pytest.mark.browser


def test_signing_up_and_being_credited(new_page, live_server, make, js, app):
    base = live_server.url
    cora = make.member(Role.COORDINATOR, email="coord@example.org", name="Cora Coordinator")
    rosa = make.member(email="rosa@example.org", name="Rosa Resident")
    early = make.member(email="early@example.org", name="Early Bird")
    with app.app_context():
        bank_id = db.session.query(Bank).one().id
        event = events.post(get(cora), bank_id, {
            "title": "Repair café", "place": "Church hall", "purpose": "Mend, don't bin",
            "starts_at": (NOW + timedelta(days=3)).replace(hour=10, minute=0, second=0,
                                                           microsecond=0),
            "helpers_wanted": 2, "helper_minutes": 90, "places": 1})
        events.sign_up(event, get(early), False, clock.utcnow())  # the one place
        event_id = event.id
    page = new_page(javascript=js)
    log_in(page, base, "rosa@example.org")
    page.get_by_role("link", name="Events").first.click()
    page.get_by_role("link", name="Repair café").click()
    page.get_by_role("heading", level=1, name="Repair café").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Sign up to come").click()
    page.get_by_text("Sorry, every place is taken.").first.wait_for()  # told, JS or not
    page.goto(f"{base}/events/{event_id}")
    page.get_by_role("button", name="Sign up to help").click()
    page.get_by_text("You are signed up to help.").first.wait_for()
    page.get_by_role("button", name="Cancel my place").click()
    page.get_by_text("You are no longer signed up.").first.wait_for()
    page.get_by_role("button", name="Sign up to help").click()
    page.get_by_text("You are signed up to help.").first.wait_for()

    clock.pin(NOW + timedelta(days=4))
    logout = page.locator("form[action$='/logout']")
    logout.locator("button").first.click()
    expect(logout).to_have_count(0)
    log_in(page, base, "coord@example.org")
    page.goto(f"{base}/events/{event_id}/attendance")
    assert_accessible(page)
    page.get_by_label("Rosa Resident").check()
    page.get_by_label("Early Bird").check()
    page.get_by_role("button", name="Record who came").click()
    page.get_by_text("Recorded. 1 helper was credited.").wait_for()
    with app.app_context():
        assert db.session.query(Account).filter_by(member_id=rosa).one().balance == 90
        assert db.session.query(Account).filter_by(member_id=early).one().balance == 0
