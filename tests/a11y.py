"""Accessibility checks run on every page the browser tests visit."""

from __future__ import annotations

from functools import cache

SERIOUS = {"serious", "critical"}


@cache
def _axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def assert_accessible(page) -> None:
    """One <h1>, a <main>, a label on every field, and no serious axe-core violations."""
    assert page.locator("h1").count() == 1, f"{page.url}: want exactly one <h1>"
    assert page.locator("main").count() == 1, f"{page.url}: want one <main>"
    results = _axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    detail = "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )
    assert not bad, f"{page.url}: {detail}"
