"""The permissions table, proved: every route, every audience; and nobody reaches
another member's objects by changing an id (IDOR)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support import get, login, route_urls
from timebank import ledger
from timebank.banks.service import create_bank, join
from timebank.extensions import db
from timebank.models import Asset, AssetCategory, Category, Listing, Match, Role
from timebank.permissions import (
    ADMIN,
    ANONYMOUS,
    AUDIENCES,
    COORDINATOR,
    COUNCIL,
    PENDING,
    RESIDENT,
    RULES,
)
from timebank.tenancy import BANK_ENDPOINTS

TODAY = date.today()


@pytest.fixture
def app_config():
    # CSRF has its own test (test_security); here an empty POST must reach the role check.
    return {"WTF_CSRF_ENABLED": False}


@pytest.fixture
def world(app, make):
    """One person per audience, a target member and one object of each kind."""
    with app.app_context():
        create_bank("hillside", "Hillside")
        db.session.commit()
    people = {
        RESIDENT: make.member(Role.RESIDENT, name="Rosa Resident"),
        COORDINATOR: make.member(Role.COORDINATOR, name="Cora Coordinator"),
        COUNCIL: make.member(Role.COUNCIL, name="Cyril Council"),
        ADMIN: make.member(Role.ADMIN, name="Ada Admin"),
        # Active in Hillside, waiting for approval in the bank under test.
        PENDING: make.member(Role.RESIDENT, name="Penny Pending", bank="hillside"),
    }
    target = make.member(Role.RESIDENT, name="Tess Target")
    with app.app_context():
        from timebank.models import Bank

        home = db.session.query(Bank).order_by(Bank.id).first()
        join(get(people[PENDING]), home)  # pending by default
        rosa, tess = get(people[RESIDENT]), get(target)
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        listing = Listing(bank_id=home.id, member_id=rosa.id, kind="offer", category_id=garden,
                          title="Rosa's offer", expires_on=TODAY + timedelta(days=30))
        request = Listing(bank_id=home.id, member_id=tess.id, kind="request",
                          category_id=garden, title="Tess's request",
                          expires_on=TODAY + timedelta(days=30))
        db.session.add_all([listing, request])
        db.session.flush()
        match = Match(bank_id=home.id, request_id=request.id, requester_id=tess.id,
                      helper_id=rosa.id, created_by_id=people[COORDINATOR])
        hall = db.session.query(AssetCategory).first()
        asset = Asset(name="Hall", status="published", latitude=51.5, longitude=-0.1,
                      category_id=hall.id)
        db.session.add_all([match, asset])
        db.session.commit()
        exchange = ledger.record_exchange(
            giver=ledger.account_of(rosa), receiver=ledger.account_of(tess), minutes=60,
            service_date=TODAY, recorded_by=tess, idempotency_key=ledger.new_key(),
            confirm=False).exchange
        ids = {"member_id": target, "exchange_id": exchange.id, "listing_id": listing.id,
               "match_id": match.id, "asset_id": asset.id, "item_id": garden,
               "bank_id": home.id, "activity_id": "no-such-activity", "bank": home.slug}
    return people, ids


def _sessions(app, client, people) -> dict[str, dict]:
    """Each audience's logged-in session, to put back before every request (a request
    may log them out)."""
    saved: dict[str, dict] = {ANONYMOUS: {}}
    for who, member_id in people.items():
        with app.app_context():
            email = get(member_id).email
        assert login(client, email).status_code == 302, who
        with client.session_transaction() as session:
            saved[who] = {k: v for k, v in session.items() if k != "sv"}
            saved[who]["member"] = member_id
    return saved


def _as(app, client, saved: dict) -> None:
    with client.session_transaction() as session:
        session.clear()
        if saved:
            session.update({k: v for k, v in saved.items() if k != "member"})
            with app.app_context():
                session["sv"] = get(saved["member"]).session_version


def _refused(response, who: str) -> bool:
    if who == ANONYMOUS:
        location = response.headers.get("Location", "")
        return response.status_code in (302, 401) and "/login" in location + str(
            response.headers.get("HX-Redirect", ""))
    return response.status_code == 403


def test_every_route_names_an_action_in_the_table(app):
    named = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue  # Flask's own: stylesheets, scripts and images, open to all
        action = getattr(app.view_functions[rule.endpoint], "permission", None)
        assert action in RULES, f"{rule.rule} ({rule.endpoint}) names no action in the table"
        named.add(action)
    assert named == set(RULES), f"rows no route uses: {set(RULES) - named}"


def test_every_route_answers_each_audience_as_the_table_says(app, client, world):
    people, ids = world
    sessions = _sessions(app, client, people)
    checked = 0
    seen: set[tuple[str, str]] = set()
    for rule, method, path in route_urls(app, ids, bank=ids["bank"]):
        if rule.endpoint == "static" or (rule.rule, method) in seen:
            continue
        if rule.endpoint in BANK_ENDPOINTS and "bank" not in rule.arguments:
            continue  # the plain path serves the person's own bank: test /b/<bank>/…
        seen.add((rule.rule, method))
        audiences = RULES[app.view_functions[rule.endpoint].permission].audiences
        for who in AUDIENCES:
            _as(app, client, sessions[who])
            response = client.open(path, method=method, data={})
            response.close()  # CSV downloads stream
            checked += 1
            assert response.status_code < 500, (method, path, who)
            # Area pages (the asset map) have no bank in their address: there the person
            # waiting in this bank is a resident of their own.
            role = RESIDENT if who == PENDING and "bank" not in rule.arguments else who
            if role in audiences:
                assert not _refused(response, who), (method, path, who, response.status_code)
            else:
                assert _refused(response, who), (method, path, who, response.status_code)
    assert checked > 6 * 70


def test_council_viewers_change_nothing_but_their_own_account(app):
    """Read-only by design: the only POSTs open to council viewers are about themselves."""
    writable = set()
    for rule in app.url_map.iter_rules():
        action = getattr(app.view_functions[rule.endpoint], "permission", None)
        if "POST" in (rule.methods or ()) and action and COUNCIL in RULES[action].audiences:
            writable.add(action)
    assert writable, "no POST route found"
    assert {a.split(".")[0] for a in writable} <= {"site", "account", "notifications"}, writable
