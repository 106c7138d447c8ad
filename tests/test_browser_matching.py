"""In Chromium: post a request → coordinator introduces → both accept → pre-filled exchange."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.a11y import assert_accessible
from tests.support import bank_of, log_in, open_menu
from timebank.core.models import Category, Listing, Role
from timebank.infra import clock
from timebank.infra.extensions import db

pytestmark = pytest.mark.browser




def test_request_match_accept_complete(new_page, live_server, make, app, js):
    base = live_server.url
    make.member(email="rita@example.org", name="Rita Requester")
    helper = make.member(email="hal@example.org", name="Hal Helper")
    make.member(Role.COORDINATOR, email="coord@example.org", name="Coco")
    with app.app_context():
        garden_id = db.session.query(Category).filter_by(slug="gardening").one().id
        db.session.add(Listing(bank_id=bank_of(helper),
                               member_id=helper, kind="offer", category_id=garden_id,
                               title="Hedges and lawns", expires_on=clock.today()
                               + timedelta(days=20)))
        db.session.commit()

    rita = new_page(javascript=js)
    log_in(rita, base, "rita@example.org")
    rita.get_by_role("link", name="Offers and requests").click()
    rita.wait_for_url(f"{base}/listings")
    assert_accessible(rita)
    rita.get_by_role("link", name="Ask for help").click()
    assert_accessible(rita)
    rita.get_by_label("I need… (a request for help)").check()
    rita.get_by_label("Kind of help").select_option(label="Gardening")
    rita.get_by_label("Short title").fill("Hedge trimming")
    rita.get_by_label("Mon morning").check()
    rita.get_by_role("button", name="Post").click()
    rita.get_by_text("Your request is listed until").wait_for()
    assert_accessible(rita)
    assert rita.get_by_text("Hal Helper").count() >= 1  # suggested to her own request

    coco = new_page(javascript=js)
    log_in(coco, base, "coord@example.org")
    open_menu(coco, "Coordinate")
    coco.get_by_role("link", name="Matching").click()
    coco.wait_for_url(f"{base}/coordinator/matching")
    assert_accessible(coco)
    assert coco.get_by_text("offers help of this kind").count() >= 1
    coco.get_by_role("button", name="Introduce Hal Helper").first.click()
    coco.get_by_text("Introduced Hal Helper to Rita Requester").wait_for()

    hal = new_page(javascript=js)
    for page, who in ((rita, "rita@example.org"), (hal, "hal@example.org")):
        if page is hal:
            log_in(hal, base, who)
        page.goto(f"{base}/notifications")
        assert_accessible(page)
        page.get_by_role("link", name="Please accept or decline").first.click()
        assert_accessible(page)
        page.get_by_role("button", name="Accept").click()
        page.get_by_text("Thank you: you accepted.").wait_for()

    hal.get_by_label("Your message").fill("Monday 10am suits me")
    hal.get_by_role("button", name="Send").click()
    hal.get_by_text("Monday 10am suits me").wait_for()
    hal.get_by_role("button", name="It is done: record the time").click()
    hal.get_by_text("Now record the time, so it counts").wait_for()
    assert_accessible(hal)
    assert hal.get_by_label("The other member").input_value().startswith("Rita Requester (#")
    assert hal.get_by_label("I gave time to someone").is_checked()
    assert hal.get_by_label("Kind of help").input_value() == str(garden_id)
    hal.get_by_label("Hours", exact=True).fill("2")
    hal.get_by_role("button", name="Record").click()
    hal.get_by_text("It counts once Rita Requester confirms").wait_for()


def test_live_filtering_with_and_without_js(new_page, live_server, make, app, js):
    base = live_server.url
    poster = make.member(name="Poster")
    make.member(email="browse@example.org")
    with app.app_context():
        cats = {c.slug: c.id for c in db.session.query(Category)}
        for slug, title in (("gardening", "Lawn mowing"), ("cooking", "Soup for two"),
                            ("tech", "Phone set-up")):
            db.session.add(Listing(bank_id=bank_of(poster),
                                   member_id=poster, kind="offer", category_id=cats[slug],
                                   title=title, expires_on=clock.today() + timedelta(days=5)))
        db.session.commit()
    page = new_page(javascript=js)
    log_in(page, base, "browse@example.org")
    page.goto(f"{base}/listings")
    assert page.get_by_text("Soup for two").count() == 1
    page.get_by_label("Words").fill("lawn")
    if js:
        # No button press: results update as you type, and the URL follows.
        page.wait_for_url("**q=lawn**")
    else:
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**q=lawn**")
    page.get_by_text("Lawn mowing").wait_for()
    assert page.get_by_text("Soup for two").count() == 0
    assert_accessible(page)


def test_resident_answers_an_offer_and_the_time_is_confirmed(new_page, live_server, make, app,
                                                             js):
    """Issue 13: "I'd like this" on an offer → conversation → accepted → recorded →
    confirmed, with JavaScript on and off."""
    base = live_server.url
    baker = make.member(email="bea@example.org", name="Bea Baker")
    make.member(email="wes@example.org", name="Wes Wanter")
    with app.app_context():
        cooking = db.session.query(Category).filter_by(slug="cooking").one().id
        offer = Listing(bank_id=bank_of(baker), member_id=baker, kind="offer", category_id=cooking,
                        title="Bread-making lesson", expires_on=clock.today() + timedelta(days=20))
        db.session.add(offer)
        db.session.commit()
        offer_id = offer.id

    wes = new_page(javascript=js)
    log_in(wes, base, "wes@example.org")
    wes.goto(f"{base}/listings")
    wes.get_by_role("link", name="Bread-making lesson").click()
    wes.wait_for_url(f"{base}/listings/{offer_id}")
    assert_accessible(wes)
    wes.get_by_label("A message to them (optional)").fill("Any Saturday works for me")
    wes.get_by_role("button", name="I'd like this").click()
    wes.get_by_text("Bea Baker has been told").wait_for()
    assert_accessible(wes)

    bea = new_page(javascript=js)
    log_in(bea, base, "bea@example.org")
    bea.goto(f"{base}/notifications")
    bea.get_by_role("link", name="Wes Wanter would like your offer").first.click()
    bea.get_by_text("Any Saturday works for me").wait_for()
    assert_accessible(bea)
    bea.get_by_role("button", name="Accept").click()
    bea.get_by_text("Thank you: you accepted.").wait_for()
    bea.get_by_role("button", name="It is done: record the time").click()
    bea.get_by_text("Now record the time, so it counts").wait_for()
    assert bea.get_by_label("The other member").input_value().startswith("Wes Wanter (#")
    assert bea.get_by_label("I gave time to someone").is_checked()
    bea.get_by_label("Hours", exact=True).fill("2")
    bea.get_by_role("button", name="Record").click()
    bea.get_by_text("It counts once Wes Wanter confirms").wait_for()

    wes.goto(base + "/")
    wes.locator("li", has_text="Bea Baker gave you 2 h").get_by_role(
        "button", name="Confirm").click()
    wes.locator("#balance").get_by_text("−2 h").wait_for()
    assert_accessible(wes)
    from timebank.core.models import Exchange, Match

    with app.app_context():
        exchange = db.session.query(Exchange).one()
        assert exchange.status == "confirmed"
        assert exchange.match_id == db.session.query(Match).one().id
