"""In Chromium, with JavaScript on and off: a coordinator proposes an idea from a coverage
gap (the gap map is for coordinators and the council), a neighbour supports and rates it,
a council officer answers, the proposer is told, the coordinator runs a session about it
and those who came are credited (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.a11y import assert_accessible
from tests.support import NOW, TODAY, log_in
from timebank.core.models import Account, Asset, AssetCategory, Role
from timebank.infra import clock
from timebank.infra.extensions import db

pytestmark = pytest.mark.browser


def _two_halls(app) -> None:
    with app.app_context():
        hall = db.session.query(AssetCategory).first().id
        db.session.add_all([
            Asset(name="West Hall", status="published", category_id=hall, latitude=51.500,
                  longitude=-0.150),
            Asset(name="East Hall", status="published", category_id=hall, latitude=51.520,
                  longitude=-0.090)])
        db.session.commit()


def _log_out(page) -> None:
    # Until the page after the log-out has come: the address never reads "/logout" (the
    # form posts, then goes home), so waiting on it let the next log-in race the post.
    form = page.locator("form[action$='/logout']")
    form.locator("button").first.click()
    expect(form).to_have_count(0)


def test_from_a_gap_to_credited_time(new_page, live_server, make, js, app):
    base = live_server.url
    _two_halls(app)
    pat = make.member(email="pat@example.org", name="Pat Proposer")
    make.member(email="sam@example.org", name="Sam Supporter")
    make.member(Role.COUNCIL, email="council@example.org", name="Carys Council")
    make.member(Role.COORDINATOR, email="coord@example.org", name="Cora Coordinator")
    page = new_page(javascript=js)

    log_in(page, base, "coord@example.org")
    page.goto(f"{base}/assets/gaps?distance=400")
    page.get_by_role("link", name="Propose an idea here").first.click()
    page.get_by_text("For the coverage gap at").wait_for()
    assert_accessible(page)
    page.get_by_label("Your idea, in a few words").fill("A bench by the pond")
    page.get_by_label("What need would it meet, and for whom?").fill(
        "Older neighbours have nowhere to rest on the way to the shops.")
    page.get_by_role("button", name="Propose").click()
    page.get_by_role("heading", level=1, name="A bench by the pond").wait_for()
    idea_url = page.url
    _log_out(page)

    log_in(page, base, "sam@example.org")
    page.goto(idea_url)
    page.get_by_role("button", name="Support this idea").click()
    page.get_by_text("You support this idea.").wait_for()
    page.get_by_role("group", name="Who benefits").get_by_label("Very much").check()
    page.get_by_role("group", name="Builds on what we have").get_by_label("Quite").check()
    page.get_by_role("group", name="Can we do it together").get_by_label("Very much").check()
    page.get_by_role("button", name="Save my rating").click()
    # One supporter and (4 + 3 + 4 − 3) / 3 = 2.67 points: merit 3.67.
    page.get_by_role("heading", name="Merit: 3.67").wait_for()
    assert_accessible(page)
    _log_out(page)

    log_in(page, base, "council@example.org", wait_home=False)
    page.wait_for_url(lambda url: "/login" not in url)  # council viewers land on /reports
    page.goto(idea_url)
    page.get_by_label("Status").select_option(label="Planned")
    page.get_by_label("Answer, in public").fill("We will put a bench there in the spring.")
    page.get_by_role("button", name="Publish the answer").click()
    page.locator(".message", has_text="We will put a bench there").wait_for()
    _log_out(page)

    log_in(page, base, "coord@example.org")
    page.goto(f"{base}/notifications")
    page.get_by_text("is now: Planned").first.wait_for()
    page.goto(idea_url)
    page.get_by_role("link", name="Schedule a co-design session").click()
    page.get_by_label("What the session is").fill("Choosing the bench")
    page.get_by_label("Date and time").fill(f"{TODAY + timedelta(days=2)}T18:30")
    page.get_by_label("Where", exact=True).fill("East Hall")
    page.get_by_label("Seats").fill("10")
    page.get_by_label("Time credited to each person who comes (minutes)").fill("90")
    page.get_by_role("button", name="Schedule").click()
    page.get_by_role("heading", level=1, name="Choosing the bench").wait_for()
    session_url = page.url
    _log_out(page)

    for who in ("pat@example.org", "sam@example.org"):
        log_in(page, base, who)
        page.goto(session_url)
        page.get_by_role("button", name="Sign up").click()
        page.get_by_text("You are signed up to help.").first.wait_for()
        _log_out(page)

    clock.pin(NOW + timedelta(days=3))  # the session has taken place
    log_in(page, base, "coord@example.org")
    page.goto(session_url)
    page.get_by_role("link", name="Who signed up, and who came").click()
    assert_accessible(page)
    page.get_by_label("Pat Proposer").check()
    page.get_by_label("Sam Supporter").check()
    page.get_by_role("button", name="Record who came").click()
    page.get_by_text("Recorded. 2 helpers were credited.").wait_for()
    with app.app_context():
        account = db.session.query(Account).filter_by(member_id=pat).one()
        assert account.balance == 90
