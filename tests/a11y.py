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
    assert_contrast(page)


# Every element's own text against the background it is drawn on (the nearest ancestor
# with one), as WCAG computes it: 4.5:1, or 3:1 for large text. axe's colour-contrast rule
# leaves a transparent button over the page as "needs review", which let white-on-white
# language buttons through; this reads what is really painted.
CONTRAST = """() => {
  const rgb = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(x => parseFloat(x)); return {r: p[0], g: p[1], b: p[2],
    a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const backdrop = el => { for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage && s.backgroundImage !== 'none') return null;
      const c = rgb(s.backgroundColor); if (c && c.a > 0.5) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none' || el.closest('[hidden]')
        || el.closest('.leaflet-container, svg, .visually-hidden, .skip-link')) continue;
    const box = el.getBoundingClientRect(); if (!box.width || !box.height) continue;
    const fg = rgb(s.color), bg = backdrop(el); if (!fg || !bg) continue;
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) bad.push(el.tagName + ' "' + el.textContent.trim().slice(0, 30) + '" '
                                + ratio.toFixed(2));
  }
  return bad;
}"""


def assert_contrast(page) -> None:
    bad = page.evaluate(CONTRAST) if getattr(page, "javascript_enabled", True) else []
    assert bad == [], f"{page.url}: text below 4.5:1 against its background: {bad[:5]}"
