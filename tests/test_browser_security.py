"""Stored XSS, in Chromium: classic payloads in every free-text field people fill, every
page that shows them opened with the Content-Security-Policy switched off (so escaping
alone must hold), and no script of theirs runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import bank_of, log_in
from timebank.core.ledger import writer as ledger
from timebank.core.models import Member, Role
from timebank.infra import clock
from timebank.infra.extensions import db

pytestmark = pytest.mark.browser

# Each HTML payload marks what it would create with data-xss; each script calls alert().
PAYLOADS = [
    "<script data-xss>alert(1)</script>",
    "<img src=x onerror=alert(2) data-xss>",
    '"><svg onload=alert(3) data-xss>',
    "'><img src=x onerror=alert(4) data-xss>",
    "</textarea><img src=x onerror=alert(5) data-xss>",
    "</title><img src=x onerror=alert(6) data-xss>",
    '<iframe src="javascript:alert(7)" data-xss></iframe>',
    '<a href="javascript:alert(8)" data-xss>x</a>',
    "<body onload=alert(9) data-xss>",
    "<details open ontoggle=alert(10) data-xss>",
    "<input autofocus onfocus=alert(11) data-xss>",
    "</script><script data-xss>alert(12)</script>",
    "<svg><script data-xss>alert(13)</script></svg>",
    '<object data="javascript:alert(14)" data-xss></object>',
    "'-alert(15)-'",
    '";alert(16);//',
    "`${alert(17)}`",
    '<div style="background:url(javascript:alert(18))" data-xss>',
    "{{ 7*191 }}{% raw %}",
    "javascript:alert(20)",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(21) data-xss>\">",
    "<math><mi xlink:href=\"javascript:alert(22)\" data-xss>x</mi></math>",
    "%3Cscript data-xss%3Ealert(23)%3C/script%3E",
    "<marquee onstart=alert(24) data-xss>",
]


def _cut(text: str, size: int) -> str:
    return text[:size]


@pytest.fixture(params=["sqlite"])
def db_kind(request) -> str:
    """Escaping happens when pages are drawn, whatever the engine: SQLite only."""
    return request.param


@pytest.fixture
def poisoned(app, make):
    """A bank where every free text a member or coordinator can fill holds a payload."""
    from timebank.core.models import (
        Asset,
        AssetCategory,
        AssetReview,
        Bank,
        Category,
        Listing,
        Match,
        MatchMessage,
        Notification,
    )

    coordinator = make.member(Role.COORDINATOR, email="coord@example.org", name="Cora")
    make.member(Role.ADMIN, email="admin@example.org", name="Ada")
    ids: dict = {"members": [], "listings": [], "matches": [], "exchanges": [], "assets": []}
    with app.app_context():
        bank = db.session.query(Bank).one()
        bank.welcome_text = bank.terms_text = bank.privacy_text = "\n\n".join(PAYLOADS)
        bank.opening_hours = _cut(PAYLOADS[1], 300)
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        hall = db.session.query(AssetCategory).first().id
        db.session.add(Category(name=_cut(PAYLOADS[2], 80), slug="xss"))
        db.session.commit()
    for n, payload in enumerate(PAYLOADS):
        member_id = make.member(name=_cut(payload, 80), email=f"p{n}@example.org")
        ids["members"].append(member_id)
        with app.app_context():
            member = db.session.get(Member, member_id)
            member.bio = member.skills = payload
            member.neighbourhood = _cut(payload, 80)
            member.availability = _cut(payload, 200)
            member.phone = _cut(payload, 40)
            listing = Listing(bank_id=bank_of(member_id),
                              member_id=member_id, kind="request", category_id=garden,
                              title=_cut(payload, 120), description=payload,
                              expires_on=clock.today() + timedelta(days=30))
            db.session.add(listing)
            db.session.flush()
            match = Match(bank_id=listing.bank_id, request_id=listing.id,
                          requester_id=member_id, helper_id=coordinator,
                          created_by_id=coordinator, note=payload)
            db.session.add(match)
            db.session.flush()
            db.session.add(MatchMessage(match_id=match.id, author_id=member_id, body=payload))
            db.session.add(Notification(member_id=coordinator, bank_id=listing.bank_id,
                                        text=_cut(payload, 300), url="/"))
            asset = Asset(name=_cut(payload, 200), description=payload, status="published",
                          latitude=51.5 + n / 1000, longitude=-0.1, category_id=hall,
                          address_1=_cut(payload, 200), city=_cut(payload, 100),
                          opening_hours=_cut(payload, 300), accessibility=payload,
                          audience=_cut(payload, 300), run_by=_cut(payload, 200),
                          url=_cut(payload, 300), email=_cut(payload, 254),
                          phone=_cut(payload, 40), geocode_state="ok")
            db.session.add(asset)
            db.session.flush()
            db.session.add(AssetReview(asset_id=asset.id, member_id=member_id, welcoming=3,
                                       accessible="yes", comment=payload))
            db.session.commit()
            # Cora gave each of them time; they say what difference it made, and share it.
            exchange = ledger.record_exchange(
                giver=ledger.account_of(db.session.get(type(member), coordinator)),
                receiver=ledger.account_of(member), minutes=30, service_date=clock.today(),
                recorded_by=member, idempotency_key=f"xss-{n}", confirm=True,
                description=payload).exchange
            ledger.add_outcome(exchange.id, member, 3, payload, True)
            ids["listings"].append(listing.id)
            ids["matches"].append(match.id)
            ids["exchanges"].append(exchange.id)
            ids["assets"].append(asset.id)
    with app.app_context():
        reversal = ledger.reverse_exchange(
            ids["exchanges"][0], db.session.get(type(member), make.member(
                Role.COORDINATOR, email="second@example.org", name="Sam")),
            PAYLOADS[0], "xss-reversal")
        ids["reversal"] = reversal.exchange.id
    return ids


def _pages(ids: dict) -> dict[str, list[str]]:
    some = [0, 4, 11, 15, 19]
    member_pages = [f"/coordinator/members/{ids['members'][i]}" for i in some]
    return {
        "coord@example.org": [
            "/", "/listings", "/matches", "/coordinator/matching", "/coordinator/members",
            "/coordinator/exchanges", "/statement", "/notifications", "/assets",
            "/assets/gaps", "/coordinator/assets", "/terms", "/privacy", "/paper/timesheet",
            "/paper/nearby", "/members/search?q=%3C", "/coordinator/bank",
            f"/exchanges/{ids['reversal']}", *member_pages,
            *[f"/coordinator/members/{ids['members'][i]}/statement" for i in some],
            *[f"/listings/{ids['listings'][i]}" for i in some],
            *[f"/matches/{ids['matches'][i]}" for i in some],
            *[f"/exchanges/{ids['exchanges'][i]}" for i in some],
            *[f"/assets/{ids['assets'][i]}" for i in some],
            *[f"/coordinator/assets/{ids['assets'][i]}/edit" for i in some[:2]],
            *[f"/listings/{ids['listings'][i]}/edit" for i in some[:2]],
        ],
        "admin@example.org": ["/admin/categories", "/admin/audit", "/admin/banks"],
    }


OPEN_POPUPS = """() => {
  const wrap = document.querySelector('[data-map-name]');
  if (!wrap || !wrap._assetLayer) { return 0; }
  const layers = wrap._assetLayer.getLayers();
  layers.forEach(m => { m.openPopup(); m.closePopup(); m.openPopup(); });
  return layers.length;
}"""


def test_no_payload_runs_on_any_page(new_page, live_server, poisoned):
    base = live_server.url
    visited = 0
    for email, paths in _pages(poisoned).items():
        page = new_page(bypass_csp=True)
        log_in(page, base, email, wait_home=False)
        for path in paths:
            response = page.goto(base + path)
            assert response.status == 200, path
            page.wait_for_load_state("load")
            if path == "/assets":
                # The layer arrives by fetch after the page has loaded: wait for it drawn.
                page.locator(".map-wrap[data-drawn]").wait_for(state="attached")
                assert page.evaluate(OPEN_POPUPS) >= len(PAYLOADS) - 1
            html = page.content()
            assert page.locator("[data-xss]").count() == 0, path
            assert page.locator('a[href^="javascript:"], iframe, object, embed').count() == 0, path
            assert "1337" not in html, path  # no template ran what a member wrote
            assert page.dialogs == [], (path, page.dialogs)
            visited += 1
    assert visited >= 40
