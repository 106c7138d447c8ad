"""In Chromium: register → coordinator approves → log in, with JavaScript on and off."""

from __future__ import annotations

import pytest

from tests.a11y import assert_accessible
from tests.support import PASSWORD, log_in, open_menu
from timebank.core.models import Role

pytestmark = pytest.mark.browser


def _log_in(page, base, email, password=PASSWORD):
    log_in(page, base, email, password, wait_home=False)
    assert_accessible(page)


def _link_sent_to(app, address: str) -> str:
    """The confirmation link in the newest e-mail to ``address`` (site path)."""
    import re

    from timebank.core.auth import answer_reset_requests
    from timebank.core.models import OutboxMessage
    from timebank.infra.extensions import db

    with app.app_context():
        answer_reset_requests()  # as the mail job does
        body = db.session.query(OutboxMessage).filter_by(to_email=address).order_by(
            OutboxMessage.id.desc()).first().body
    return re.search(r"https?://[^/\s]+(/(?:confirm|password/reset)/\S+)", body).group(1)


def test_register_approve_login(new_page, live_server, make, js, app):
    base = live_server.url
    make.member(Role.COORDINATOR, email="coord@example.org", name="Coord")

    page = new_page(javascript=js)
    page.goto(base + "/")
    assert_accessible(page)
    page.get_by_role("link", name="Join").first.click()
    page.wait_for_url(f"{base}/register")
    assert_accessible(page)
    page.get_by_label("Email address").fill("newbie@example.org")
    page.get_by_label("Your name, as others will see it").fill("Nell Newbie")
    page.get_by_label("Neighbourhood or postcode").fill("Riverside")
    page.get_by_label("Password (at least 10 characters)").fill("short")
    page.get_by_label("Password again").fill("short")
    page.get_by_role("button", name="Ask to join").click()
    # The form comes back with the message and the text kept (422 swapped by htmx too).
    page.get_by_text("Use at least 10 characters.").wait_for()
    assert page.get_by_label("Your name, as others will see it").input_value() == "Nell Newbie"
    assert_accessible(page)
    page.get_by_label("Password (at least 10 characters)").fill("long-enough-password")
    page.get_by_label("Password again").fill("long-enough-password")
    page.get_by_role("button", name="Ask to join").click()
    # The terms must be accepted; the form comes back with the box to tick. The terms
    # message was already on the first answer, so wait for the password message to go:
    # only then is the new form in place (filling the old one races htmx's swap).
    page.get_by_text("Use at least 10 characters.").wait_for(state="detached")
    page.get_by_text("Please read and accept the terms to join.").wait_for()
    page.get_by_label("Password (at least 10 characters)").fill("long-enough-password")
    page.get_by_label("Password again").fill("long-enough-password")
    page.get_by_label("I have read and accept the terms").check()
    page.get_by_role("button", name="Ask to join").click()
    page.get_by_text("A coordinator will then check your details").wait_for()
    assert_accessible(page)

    # Not before the address is confirmed, then not before a coordinator approves.
    _log_in(page, base, "newbie@example.org", "long-enough-password")
    page.get_by_text("Please confirm your e-mail address first").wait_for()
    page.goto(base + _link_sent_to(app, "newbie@example.org"))
    assert_accessible(page)
    page.get_by_role("button", name="Confirm my address").click()
    page.get_by_text("your e-mail address is confirmed").wait_for()
    _log_in(page, base, "newbie@example.org", "long-enough-password")
    page.get_by_text("waiting for a coordinator's approval").wait_for()

    coordinator = new_page(javascript=js)
    _log_in(coordinator, base, "coord@example.org")
    open_menu(coordinator, "Coordinate")
    coordinator.get_by_role("link", name="Members").click()
    coordinator.wait_for_url(f"{base}/coordinator/members")
    assert_accessible(coordinator)
    coordinator.get_by_role("button", name="Approve Nell Newbie").click()
    coordinator.get_by_text("Nell Newbie is now active.").wait_for()
    assert_accessible(coordinator)

    _log_in(page, base, "newbie@example.org", "long-enough-password")
    page.get_by_role("heading", level=1, name="Hello, Nell Newbie").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You have logged out.").wait_for()


def test_narrow_screen_has_no_sideways_scroll(new_page, live_server, make):
    make.member(Role.ADMIN, email="wide@example.org")
    page = new_page()
    page.set_viewport_size({"width": 320, "height": 640})
    pages = ["/", "/register", "/login", "/assets"]
    for path in pages:
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, (path, width)
    log_in(page, live_server.url, "wide@example.org")
    # Wide tables scroll inside their own box; the page itself never scrolls sideways.
    for path in ("/", "/exchanges/new", "/statement", "/listings", "/listings/new",
                 "/coordinator/members", "/coordinator/matching", "/coordinator/exchanges",
                 "/coordinator/activities/new", "/assets/new", "/assets/gaps",
                 "/admin/asset-categories", "/notifications", "/profile"):
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, (path, width)


def test_page_makes_no_request_to_other_hosts(new_page, live_server):
    page = new_page()
    hosts = []
    page.on("request", lambda r: hosts.append(r.url))
    page.goto(live_server.url + "/register")
    page.wait_for_load_state("networkidle")
    assert hosts and all(u.startswith(live_server.url) for u in hosts), hosts
    # htmx loaded and configured from our own files: no CSP violations reported.
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.version").startswith("2.0.")


def test_forgotten_password_in_the_browser(new_page, live_server, make, js, app):
    base = live_server.url
    make.member(email="forgetful@example.org", name="Fay Forgetful")
    page = new_page(javascript=js)
    page.goto(base + "/login")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.wait_for_url(f"{base}/password/forgot")
    assert_accessible(page)
    page.get_by_label("Email address").fill("forgetful@example.org")
    page.get_by_role("button", name="Send me a link").click()
    page.get_by_text("If that address belongs to a member").wait_for()
    link = _link_sent_to(app, "forgetful@example.org")
    page.goto(base + link)
    assert_accessible(page)
    page.get_by_label("New password (at least 10 characters)").fill("qwertyuiop")
    page.get_by_label("Password again").fill("qwertyuiop")
    page.get_by_role("button", name="Set password").click()
    page.get_by_text("too easy to guess").wait_for()
    page.get_by_label("New password (at least 10 characters)").fill("kettle-moss-lantern")
    page.get_by_label("Password again").fill("kettle-moss-lantern")
    page.get_by_role("button", name="Set password").click()
    page.get_by_text("Your new password is set").wait_for()
    log_in(page, base, "forgetful@example.org", "kettle-moss-lantern")
    page.goto(base + link)
    page.get_by_role("heading", name="This link no longer works").wait_for()
    assert_accessible(page)
