"""In Chromium with JavaScript on: no silent button. Every failed htmx request (an expired
form, a missing page, too many attempts, a server error, a dropped connection) shows the
person a message in their language, beside what they pressed, and keeps what they typed."""

from __future__ import annotations

import pytest

from tests.support import log_in
from timebank.web.permissions import allow

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config():
    # The log-in limit for real, tight enough to meet in a test (memory is per process,
    # and the live server is one).
    return {"RATELIMIT_ENABLED": True, "TIMEBANK_LOGIN_RATE": "2 per minute"}


def _record_page(page, base, make):
    other = make.member(name="Olu Other")
    page.goto(f"{base}/exchanges/new")
    page.get_by_label("I gave time to someone").check()
    page.get_by_label("The other member").fill(f"Olu Other (#{other})")
    page.get_by_label("Hours", exact=True).fill("1")
    page.get_by_label("What was done").fill("Mended the gate, two hinges")


def test_an_expired_form_says_so_and_keeps_the_text(new_page, live_server, make, app):
    base = live_server.url
    make.member(email="me@example.org", name="Mo Member")
    page = new_page(javascript=True)
    log_in(page, base, "me@example.org")
    _record_page(page, base, make)
    # The session ends while the form is open (idle time-out, or logged out elsewhere).
    page.context.clear_cookies()
    page.get_by_role("button", name="Record").click()
    alert = page.locator(".request-error")
    alert.get_by_text("This form has expired").wait_for()
    assert "log in" in alert.inner_text()
    assert page.get_by_label("What was done").input_value() == "Mended the gate, two hinges"
    # Log in again in another tab; back here, the same button works with the same text.
    other = page.context.new_page()
    log_in(other, base, "me@example.org")
    page.bring_to_front()
    page.get_by_role("button", name="Record").click()
    page.get_by_text("It counts once Olu Other confirms").wait_for()
    assert page.get_by_text("Mended the gate, two hinges").count() == 1


def test_a_missing_page_a_failure_and_no_connection_each_say_so(new_page, live_server, make,
                                                                app):
    base = live_server.url

    @allow("site.read")
    def boom():
        raise RuntimeError("a fault on our side")

    app.add_url_rule("/test-boom", "test_boom", boom, methods=["POST"])
    app.config["PROPAGATE_EXCEPTIONS"] = False  # our 500 page, as in production
    make.member(email="me@example.org", name="Mo Member")
    page = new_page(javascript=True)
    log_in(page, base, "me@example.org")

    # A link to a page that is not there opens the error page, as without JavaScript.
    page.goto(f"{base}/ideas")
    page.evaluate("""() => { const a = document.createElement('a');
        a.href = '/no-such-page'; a.textContent = 'A stale link';
        document.querySelector('main').appendChild(a); htmx.process(a); }""")
    page.get_by_role("link", name="A stale link").click()
    page.get_by_role("heading", name="Page not found").wait_for()

    # A fault on our side, after pressing a button: a message beside it.
    def broken_button(label):
        page.evaluate("""(label) => { const f = document.createElement('form');
            f.method = 'post'; f.action = '/test-boom';
            const b = document.createElement('button'); b.type = 'submit';
            b.textContent = label; f.appendChild(b);
            document.querySelector('main').appendChild(f); htmx.process(f); }""", label)
        page.get_by_role("button", name=label).click()

    page.goto(f"{base}/ideas")
    broken_button("Try the broken thing")
    page.locator(".request-error").get_by_text("Something went wrong").wait_for()

    # The same in Welsh: the person's language, not English.
    page.get_by_role("button", name="Cymraeg").click()
    page.locator("html[lang=cy]").wait_for()
    broken_button("Broken")
    welsh = page.locator(".request-error")
    welsh.wait_for()
    assert "Something went wrong" not in welsh.inner_text() and welsh.inner_text().strip()
    page.get_by_role("button", name="English").click()
    page.locator("html[lang=en]").wait_for()

    # No connection at all: said so, and the typed text stays.
    _record_page(page, base, make)
    page.route("**/exchanges/new", lambda route: route.abort())
    page.get_by_role("button", name="Record").click()
    page.locator(".request-error").get_by_text("could not reach the site").wait_for()
    assert page.get_by_label("What was done").input_value() == "Mended the gate, two hinges"


def test_too_many_log_in_attempts_say_when_to_try_again(new_page, live_server, make):
    base = live_server.url
    make.member(email="me@example.org", name="Mo Member")
    page = new_page(javascript=True)
    page.goto(f"{base}/login")
    for _ in range(3):
        page.get_by_label("Email address").fill("me@example.org")
        page.get_by_label("Password").fill("not the password")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
    assert answer.value.status == 429
    alert = page.locator(".request-error")
    alert.get_by_text("Please try again in 1 minute").wait_for()
    assert "per 1 minute" not in page.content()
    # what was typed stays in the form
    assert page.get_by_label("Email address").input_value() == "me@example.org"
