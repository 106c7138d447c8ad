"""Accessibility checks run on every page the browser tests visit."""

from __future__ import annotations

from functools import cache

SERIOUS = {"serious", "critical"}


@cache
def _axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def _run_axe(page):
    if getattr(page, "javascript_enabled", True):
        return _axe().run(page)
    # axe needs JavaScript: check the very same HTML in a scripting twin of the page,
    # served at the same URL so the same stylesheets apply.
    html = page.content()
    url = page.url
    context = page.context.browser.new_context(java_script_enabled=True)
    try:
        twin = context.new_page()
        twin.route(url, lambda route: route.fulfill(status=200, body=html,
                                                    content_type="text/html; charset=utf-8"))
        twin.goto(url)
        return _axe().run(twin)
    finally:
        context.close()


def assert_accessible(page) -> None:
    """One <h1>, a <main>, and no serious or critical axe-core violations."""
    page.wait_for_load_state("load")
    assert page.locator("h1").count() == 1, f"{page.url}: want exactly one <h1>"
    assert page.locator("main").count() == 1, f"{page.url}: want one <main>"
    results = _run_axe(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    detail = "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )
    assert not bad, f"{page.url}: {detail}"
