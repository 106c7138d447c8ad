"""The permissions table, proved: every route, every audience; and nobody reaches
another member's objects by changing an id (IDOR)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import url_for

from tests.support import NOW, TODAY, get, login, route_urls
from timebank.core.banks import create_bank, join
from timebank.core.ledger import writer as ledger
from timebank.core.models import (
    Asset,
    AssetCategory,
    Category,
    Listing,
    Match,
    Membership,
    Role,
)
from timebank.infra.extensions import db
from timebank.web.permissions import (
    ADMIN,
    ANONYMOUS,
    AUDIENCES,
    COORDINATOR,
    COUNCIL,
    HELPER,
    PENDING,
    RESIDENT,
    RULES,
)
from timebank.web.tenancy import BANK_ENDPOINTS


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
        HELPER: make.member(Role.RESIDENT, name="Hal Helper"),
        COORDINATOR: make.member(Role.COORDINATOR, name="Cora Coordinator"),
        COUNCIL: make.member(Role.COUNCIL, name="Cyril Council"),
        ADMIN: make.member(Role.ADMIN, name="Ada Admin"),
        # Active in Hillside, waiting for approval in the bank under test.
        PENDING: make.member(Role.RESIDENT, name="Penny Pending", bank="hillside"),
    }
    target = make.member(Role.RESIDENT, name="Tess Target")
    with app.app_context():
        from timebank.core.models import Bank

        home = db.session.query(Bank).order_by(Bank.id).first()
        join(get(people[PENDING]), home)  # pending by default
        db.session.query(Membership).filter_by(member_id=people[HELPER]).one().role = "helper"
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
        from timebank.core.models import AssetImport

        upload = AssetImport(filename="register.csv", data=b"name,category\nHall,physical\n",
                             settings={})
        from timebank.core.models import Idea

        idea = Idea(title="A bench by the pond", need="Somewhere to sit",
                    proposer_id=people[RESIDENT])
        db.session.add_all([upload, idea])
        db.session.flush()

        from timebank.core.models import Event

        meeting = Event(bank_id=home.id, title="Pond bench", place="Hall", helpers_wanted=9,
                        helper_minutes=60, kind="codesign",
                        starts_at=NOW.replace(hour=18, minute=30) + timedelta(days=14),
                        created_by_id=people[COORDINATOR])
        from timebank.core.models import IdeaRole

        part = IdeaRole(idea_id=idea.id, title="Build it", category_id=garden, people=2,
                        created_by_id=people[COORDINATOR])
        from timebank.core.models import Approval

        # A request for a second coordinator: a lower limit for Rosa (asked, oddly, by
        # Tess, so that every staff audience may answer it).
        approval = Approval(bank_id=home.id, kind="floor", member_id=rosa.id,
                            payload={"account_id": ledger.account_of(rosa).id, "floor": -1200},
                            requested_by_id=tess.id)
        from timebank.core.models import Proxy

        # Rosa named a proxy (Tess): an arrangement to end or agree to.
        proxy = Proxy(member_id=rosa.id, proxy_id=tess.id, bank_id=home.id,
                      until=NOW.date() + timedelta(days=30), recorded_by_id=people[COORDINATOR])
        from timebank.core.models import AssetChange

        # A member says the hall has closed: a coordinator decides.
        change = AssetChange(asset_id=asset.id, kind="closed", member_id=people[RESIDENT])
        from timebank.core.models import BoundaryUpload, Neighbourhood

        square = {"type": "Polygon", "coordinates": [[[0, 51], [0.01, 51], [0.01, 51.01],
                                                      [0, 51], [0, 51]]]}
        ward = Neighbourhood(name="Riverside Ward", geometry=json.dumps(square), min_lon=0,
                             min_lat=51, max_lon=0.01, max_lat=51.01)
        boundaries = BoundaryUpload(filename="wards.geojson",
                                    shapes=[{"name": "Hillcrest", "geometry": square}])
        from timebank.core.models import MemberCheck

        # A safeguarding check of Tess's, for a coordinator to take off her record.
        check = MemberCheck(member_id=tess.id, kind="dbs", done_on=NOW.date(),
                            bank_id=home.id, recorded_by_id=people[COORDINATOR])
        db.session.add_all([meeting, part, approval, proxy, change, ward, boundaries, check])
        db.session.commit()
        ids = {"proxy_id": proxy.id, "change_id": change.id, "area_id": ward.id,
               "upload_id": boundaries.id,
               "idea_id": idea.id, "session_id": meeting.id, "event_id": meeting.id,
               "check_id": check.id,
               "role_id": part.id,
               "approval_id": approval.id,
               "member_id": target,
               "exchange_id": exchange.id,
               "listing_id": listing.id, "match_id": match.id, "asset_id": asset.id,
               "item_id": garden,
               "bank_id": home.id, "activity_id": "no-such-activity", "bank": home.slug,
               "import_id": upload.id, "token": "no-such-link"}
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
            if app.view_functions[rule.endpoint].permission == "texts.gateway":
                # Open to every audience, and shut to all of them alike without the
                # gateway's signature (test_texts signs its posts).
                assert response.status_code == 403, (method, path, who)
                continue
            # Area pages (the asset map) have no bank in their address: there the person
            # waiting in this bank is a resident of their own.
            role = RESIDENT if who == PENDING and "bank" not in rule.arguments else who
            if role in audiences:
                assert not _refused(response, who), (method, path, who, response.status_code)
            else:
                assert _refused(response, who), (method, path, who, response.status_code)
    assert checked > 6 * 70
    every_rule = {(r.rule, m) for r in app.url_map.iter_rules() if r.endpoint != "static"
                  and not (r.endpoint in BANK_ENDPOINTS and "bank" not in r.arguments)
                  for m in (r.methods or set()) & {"GET", "POST"}}
    assert every_rule <= seen, f"routes left untried: {every_rule - seen}"


def test_the_menu_offers_exactly_the_pages_the_table_opens(app, client, world):
    """Each audience's menu links every page of MENU its row opens, and none other; and
    each link it shows answers that person (not a 403, not a log-in)."""
    import re

    from timebank.web.menu import MENU

    people, _ids = world
    sessions = _sessions(app, client, people)
    menus = {}
    for who in AUDIENCES:
        if who == PENDING:
            continue  # their page is another bank's: the plain paths serve their own
        _as(app, client, sessions[who])
        page = client.get("/ideas").get_data(as_text=True)  # a page every audience sees
        menu = page[page.index('<details class="menu">'):page.index("</nav>")]
        shown = set(re.findall(r'<li><a href="([^"?]+)', menu))
        with app.test_request_context():
            expected = set()
            for section in MENU:
                for link in section.links:
                    action = app.view_functions[link.endpoint].permission
                    visitor_only = link.signed_in is False
                    signed_in_only = link.signed_in is True
                    if (who in RULES[action].audiences
                            and not (visitor_only and who != ANONYMOUS)
                            and not (signed_in_only and who == ANONYMOUS)):
                        expected.add(url_for(link.endpoint, **link.args).split("?")[0])
        assert shown == expected, (who, shown ^ expected)
        menus[who] = shown
        for path in shown:
            _as(app, client, sessions[who])
            answer = client.get(path)
            answer.close()
            assert not _refused(answer, who) and answer.status_code < 400, (who, path)
    # Helpers and coordinators alike reach the welcome page from the menu; residents not.
    def links(who: str, end: str) -> bool:  # (addresses carry /b/<bank>/: two banks here)
        return any(path.endswith(end) for path in menus[who])

    assert {who for who in menus if links(who, "/helpers")} == {HELPER, COORDINATOR, ADMIN}
    assert links(ANONYMOUS, "/login") and not links(RESIDENT, "/login")


def test_council_viewers_change_nothing_but_their_own_account(app):
    """Read-only by design: the only POSTs open to council viewers are about themselves,
    and their part in co-design."""
    writable = set()
    for rule in app.url_map.iter_rules():
        action = getattr(app.view_functions[rule.endpoint], "permission", None)
        if "POST" in (rule.methods or ()) and action and COUNCIL in RULES[action].audiences:
            writable.add(action)
    assert writable, "no POST route found"
    # Co-design (issue 16): council officers propose ideas, comment and answer in public.
    # (And the SMS gateway's webhook, open to all and shut without its signature, and the
    # page an asset's named contact reaches from a signed link, whoever they are.)
    assert {a.split(".")[0] for a in writable} <= {"site", "account", "notifications",
                                                   "ideas", "texts", "assets"}, writable
    assert {a for a in writable if a.startswith("assets.")} <= {"assets.contact"}
    assert {a for a in writable if a.startswith("ideas.")} == {
        "ideas.propose", "ideas.comment", "ideas.answer"}


# -- IDOR: changing an id shows nothing of anyone else's ---------------------------------

SECRET = "victim-secret"


@pytest.fixture
def victim(app, make):
    """Vera's things, each carrying SECRET: a closed request, an introduction with
    messages, a pending and a confirmed exchange with an outcome, a notification, an
    asset suggestion waiting for review, a review, and her contact details."""
    from timebank.core.models import AssetReview, MatchMessage, Notification

    vera = make.member(name="Vera Victim", email=f"{SECRET}@example.org")
    helper = make.member(name="Hugo Helper")
    coordinator = make.member(Role.COORDINATOR, name="Cora Coordinator")
    request_id, match_id = make.match(vera, helper, coordinator, title=f"{SECRET} request")
    with app.app_context():
        v = get(vera)
        v.phone, v.address, v.bio = f"{SECRET} phone", f"{SECRET} street", f"{SECRET} bio"
        db.session.get(Listing, request_id).status = "closed"
        match = db.session.get(Match, match_id)
        match.note = f"{SECRET} note"
        db.session.add(MatchMessage(match_id=match_id, author_id=vera, body=f"{SECRET} msg"))
        db.session.add(Notification(member_id=vera, bank_id=match.bank_id,
                                    text=f"{SECRET} notification", url="/"))
        category = db.session.query(AssetCategory).first()
        proposed = Asset(name=f"{SECRET} asset", status="proposed", latitude=51.5,
                         longitude=-0.1, category_id=category.id, submitted_by_id=vera)
        public = Asset(name="Public hall", status="published", latitude=51.5, longitude=-0.1,
                       category_id=category.id)
        db.session.add_all([proposed, public])
        db.session.flush()
        db.session.add(AssetReview(asset_id=public.id, member_id=vera, welcoming=4,
                                   accessible="yes", comment="kind place"))
        db.session.commit()
        pending = ledger.record_exchange(
            giver=ledger.account_of(get(helper)), receiver=ledger.account_of(v), minutes=60,
            service_date=TODAY, recorded_by=get(helper), idempotency_key=ledger.new_key(),
            confirm=False, description=f"{SECRET} pending").exchange
        done = ledger.record_exchange(
            giver=ledger.account_of(get(helper)), receiver=ledger.account_of(v), minutes=30,
            service_date=TODAY, recorded_by=v, idempotency_key=ledger.new_key(),
            confirm=True, description=f"{SECRET} confirmed").exchange
        ledger.add_outcome(done.id, v, 4, f"{SECRET} outcome", False)
        from timebank.core.models import AssetImport

        upload = AssetImport(filename=f"{SECRET}.csv", data=f"name\n{SECRET}\n".encode(),
                             settings={}, by_id=coordinator)
        from timebank.core.models import Approval

        approval = Approval(bank_id=match.bank_id, kind="floor", member_id=vera,
                            payload={"account_id": ledger.account_of(v).id, "floor": -1200},
                            requested_by_id=coordinator)
        db.session.add_all([upload, approval])
        db.session.commit()
        ids = {"approval_id": approval.id, "member_id": vera, "exchange_id": pending.id,
               "listing_id": request_id,
               "match_id": match_id, "asset_id": proposed.id, "item_id": 1,
               "bank_id": match.bank_id, "activity_id": "x", "token": "x",
               "import_id": upload.id}
        others = {"exchange_id": done.id, "asset_id": public.id}
    return ids, others


def _everything():
    from timebank.core.models import (
        Account,
        AssetReview,
        Exchange,
        MatchMessage,
        Member,
        Notification,
        Outcome,
    )

    return (
        sorted((m.id, m.status, m.email, m.phone, m.display_name) for m in db.session.query(
            Member)),
        sorted((e.id, e.status) for e in db.session.query(Exchange)),
        sorted((a.id, a.balance, a.floor) for a in db.session.query(Account)),
        sorted((li.id, li.status, li.title) for li in db.session.query(Listing)),
        sorted((m.id, m.status, m.note, m.requester_answer, m.helper_answer)
               for m in db.session.query(Match)),
        sorted((m.id, m.body) for m in db.session.query(MatchMessage)),
        sorted((n.id, n.read_at is None) for n in db.session.query(Notification)),
        sorted((a.id, a.status, a.name) for a in db.session.query(Asset)),
        sorted((r.id, r.member_id, r.comment) for r in db.session.query(AssetReview)),
        sorted((o.id, o.text) for o in db.session.query(Outcome)),
    )


def test_a_member_changing_ids_sees_and_changes_nothing_of_anothers(app, client, make,
                                                                   victim):
    ids, others = victim
    make.member(name="Mallory", email="mallory@example.org")
    with app.app_context():
        before = _everything()
    assert login(client, "mallory@example.org").status_code == 302
    tried = 0
    for values in (ids, {**ids, **others}):
        for rule, method, path in route_urls(app, values):
            if rule.endpoint in ("static", "auth.logout"):
                continue
            response = client.open(path, method=method, data={
                "body": "x", "text": "x", "score": "3", "reason": "x", "welcoming": "3",
                "accessible": "yes", "password": "x", "email": "x@example.org",
                "request_id": ids["listing_id"], "helper_id": ids["member_id"]})
            body = response.get_data(as_text=True)
            response.close()
            tried += 1
            assert response.status_code < 500, (method, path)
            assert SECRET not in body, (method, path, response.status_code)
    assert tried > 100
    with app.app_context():
        assert _everything() == before
