"""Helpers shared by the browser tests."""

from __future__ import annotations

from tests.conftest import PASSWORD


def log_in(page, base: str, email: str, password: str = PASSWORD, *, wait_home: bool = True):
    """Log in through the real form; by default wait for the dashboard's greeting."""
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if wait_home:
        page.get_by_role("heading", level=1).filter(has_text="Hello").wait_for()
