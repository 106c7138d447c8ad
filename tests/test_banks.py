"""Several banks on one install: URLs, roles, isolation, exchanges between banks, upgrade."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

from tests.support import (
    PASSWORD,
    TODAY,
    bank_of,
    flask_cli,
    get,
    hidden_fields,
    login,
    route_urls,
    submit,
)
from timebank.core.banks import create_bank
from timebank.core.ledger import writer as ledger
from timebank.core.models import (
    Account,
    AccountKind,
    Bank,
    Category,
    Entry,
    Exchange,
    ExchangeStatus,
    Listing,
    Match,
    Member,
    Membership,
    Notification,
    Role,
)
from timebank.infra.db import normalise_url
from timebank.infra.extensions import db
from timebank.web.permissions import PENDING, RULES
from timebank.web.tenancy import current_bank_id, use_bank

HX = {"HX-Request": "true"}  # the member picker asks as htmx does


def north(app) -> int:
    with app.app_context():
        bank = create_bank("north", "North Bank")
        db.session.commit()
        return bank.id


def account(member_id: int, bank_id: int | None = None) -> Account:
    return ledger.account_of(get(member_id), bank_id)


# -- one bank, several banks: addresses and navigation ----------------------------------


def test_one_bank_install_keeps_plain_addresses(client, login_as):
    login_as()
    home = client.get("/").get_data(as_text=True)
    assert "/b/" not in home  # links stay as they were
    assert client.get("/statement").status_code == 200
    assert "Switch bank" not in home


def test_bank_pages_answer_under_their_slug_and_links_stay_in_the_bank(app, client, make):
    bank_id = north(app)
    member = make.member(bank="north", name="Nora North")
    with app.app_context():
        email = get(member).email
    login(client, email)
    home = client.get("/b/north/").get_data(as_text=True)
    assert "North Bank" in home
    assert 'href="/b/north/statement"' in home
    assert client.get("/b/north/statement").status_code == 200
    assert client.get("/b/nowhere/").status_code == 404
    # A plain address serves the bank the person belongs to.
    assert "North Bank" in client.get("/statement").get_data(as_text=True)
    with app.app_context():
        assert account(member, bank_id) is not None


def test_switcher_only_for_people_in_several_banks(app, client, make):
    north(app)
    both = make.member(name="Both Banks")
    one = make.member(name="One Bank")
    with app.app_context():
        from timebank.core.banks import join

        join(get(both), db.session.query(Bank).filter_by(slug="north").one(), "resident",
             "active")
        db.session.commit()
        emails = get(both).email, get(one).email
    login(client, emails[0])
    page = client.get("/").get_data(as_text=True)
    assert "Switch bank" in page and "/b/north/" in page
    login(client, emails[1])
    assert "Switch bank" not in client.get("/").get_data(as_text=True)


def test_cli_creates_a_bank_and_its_coordinator(app, db_url):
    made = flask_cli(db_url, "create-bank", "--slug", "north", "--name", "North Bank")
    assert made.returncode == 0, made.stderr
    again = flask_cli(db_url, "create-bank", "--slug", "north", "--name", "Again")
    assert again.returncode != 0 and "already" in again.stderr
    user = flask_cli(db_url, "create-user", "--email", "Cora@Example.org", "--role",
                     "coordinator", "--bank", "north", "--name", "Cora", stdin=PASSWORD + "\n")
    assert user.returncode == 0, user.stderr
    missing = flask_cli(db_url, "create-user", "--email", "x@example.org", "--bank", "nowhere",
                        stdin=PASSWORD + "\n")
    assert missing.returncode != 0 and "no bank" in missing.stderr
    with app.app_context():
        cora = db.session.query(Member).filter_by(email="cora@example.org").one()
        bank = db.session.query(Bank).filter_by(slug="north").one()
        assert cora.role_in(bank.id) == Role.COORDINATOR
        assert cora.role_in(current_bank_id()) is None  # not in the first bank
        kinds = {a.kind for a in db.session.query(Account).filter_by(bank_id=bank.id)}
        assert kinds == {AccountKind.SYSTEM, AccountKind.CLEARING, AccountKind.MEMBER}


def test_admin_creates_a_bank_and_its_coordinator_keeps_the_contact(app, client, login_as,
                                                                    make):
    login_as(Role.ADMIN)
    bad = submit(client, "/admin/banks", {"slug": "North Bank!", "name": "North"})
    assert bad.status_code == 422 and "North Bank!" in bad.get_data(as_text=True)
    made = submit(client, "/admin/banks", {"slug": "north", "name": "North Bank"})
    assert made.status_code == 303
    with app.app_context():
        bank = db.session.query(Bank).filter_by(slug="north").one()
    # Two banks now: the link onward names one, as every link on the next page will (the
    # count read with the admin, before the bank was made, is not used for it).
    assert made.headers["Location"].startswith("/b/"), made.headers["Location"]
    settings = submit(client, f"/admin/banks/{bank.id}", {
        "name": "North Bank", "floor_hours": "-5", "default_language": "cy",
        "interbank": "y", "clearing_limit_hours": "20", "office_address": "1 High St",
        "phone": "01234 567890", "email": "office@north.example", "opening_hours": "Tue 10-2",
        "welcome_text": "Croeso"})
    assert settings.status_code == 303, settings.get_data(as_text=True)
    with app.app_context():
        bank = db.session.get(Bank, bank.id)
        assert (bank.default_floor, bank.clearing_limit, bank.default_language) == (
            -300, 1200, "cy")
    coordinator = make.member(Role.COORDINATOR, bank="north")
    with app.app_context():
        email = get(coordinator).email
    login(client, email)
    page = client.get("/b/north/coordinator/bank").get_data(as_text=True)
    assert "01234 567890" in page
    saved = submit(client, "/b/north/coordinator/bank", {
        "office_address": "2 Mill Lane", "phone": "0800 000", "email": "", "opening_hours": "",
        "welcome_text": "Welcome to North"})
    assert saved.status_code == 303
    home = client.get("/b/north/").get_data(as_text=True)
    assert "0800 000" in home and "2 Mill Lane" in home
    # The first bank's settings are not theirs to change.
    assert client.get("/admin/banks").status_code == 403


# -- exchanges between banks --------------------------------------------------------------


@pytest.fixture
def two_banks(app, make):
    bank_id = north(app)
    ann = make.member(name="Ann South")
    bob = make.member(name="Bob North", bank="north")
    with app.app_context():
        get(bob).findable_elsewhere = True
        db.session.commit()
    return {"north": bank_id, "ann": ann, "bob": bob}


def _interbank(people, minutes=60, confirm=False):
    ann, bob = get(people["ann"]), get(people["bob"])
    return ledger.record_exchange(
        giver=ledger.account_of(ann), receiver=ledger.account_of(bob, people["north"]),
        minutes=minutes, service_date=TODAY, recorded_by=bob if confirm else ann,
        idempotency_key=ledger.new_key(), confirm=confirm)


def test_exchange_between_banks_posts_through_both_clearing_accounts(app, two_banks):
    with app.app_context():
        first = current_bank_id()
        result = _interbank(two_banks)
        assert result.exchange.status == ExchangeStatus.PENDING
        assert (result.exchange.bank_id, result.exchange.counter_bank_id) == (
            first, two_banks["north"])
        use_bank(db.session.get(Bank, two_banks["north"]))
        ledger.confirm_exchange(result.exchange.id, get(two_banks["bob"]))
        entries = db.session.query(Entry).filter_by(exchange_id=result.exchange.id).all()
        assert sorted(e.minutes for e in entries) == [-60, -60, 60, 60]
        assert account(two_banks["ann"], first).balance == 60
        assert account(two_banks["bob"], two_banks["north"]).balance == -60
        assert ledger.clearing_account(first).balance == -60
        assert ledger.clearing_account(two_banks["north"]).balance == 60
        per_bank = dict(db.session.execute(text(
            "SELECT a.bank_id, SUM(e.minutes) FROM entry e JOIN account a ON a.id = e.account_id "
            "GROUP BY a.bank_id")).all())
        assert set(per_bank.values()) == {0}
        assert ledger.check_ledger() == []
        # Each member's statement names the member of the other bank.
        from timebank.core.ledger.statements import statement_page

        for me, them, bank in (("ann", "bob", first), ("bob", "ann", two_banks["north"])):
            [line], _more = statement_page(account(two_banks[me], bank).id, None, 25)
            assert line.counterparty == get(two_banks[them]).display_name
            assert line.minutes == (60 if me == "ann" else -60)


def test_an_exchange_between_banks_moves_both_banks_give_and_take(app, two_banks):
    """Each bank's matching ranks by its own members' totals: an exchange between two
    banks moves both banks' versions (and a pending one neither)."""
    from timebank.infra import cache

    with app.test_request_context("/"):
        names = [cache.give_and_take(current_bank_id()),
                 cache.give_and_take(two_banks["north"])]
        before = [cache.version(name) for name in names]
        result = _interbank(two_banks)
        assert [cache.version(name) for name in names] == before
        use_bank(db.session.get(Bank, two_banks["north"]))
        ledger.confirm_exchange(result.exchange.id, get(two_banks["bob"]))
        after = [cache.version(name) for name in names]
        assert all(a != b for a, b in zip(after, before, strict=True))


def test_bank_that_says_no_or_reaches_its_cap_refuses(app, two_banks):
    with app.app_context():
        bank = db.session.get(Bank, two_banks["north"])
        bank.interbank = False
        db.session.commit()
        with pytest.raises(ledger.LedgerError, match="does not take exchanges"):
            _interbank(two_banks)
        bank = db.session.get(Bank, two_banks["north"])
        bank.interbank, bank.clearing_limit = True, 90
        db.session.commit()
        _interbank(two_banks, 60, confirm=True)
        with pytest.raises(ledger.LedgerError, match="limit"):
            _interbank(two_banks, 60, confirm=True)
        assert ledger.clearing_account(two_banks["north"]).balance == 60
        assert ledger.check_ledger() == []


def test_reversing_an_exchange_between_banks_empties_the_clearing(app, two_banks, make):
    staff = make.member(Role.ADMIN)
    with app.app_context():
        result = _interbank(two_banks, 45, confirm=True)
        reversal = ledger.reverse_exchange(result.exchange.id, get(staff), "wrong person",
                                           ledger.new_key())
        assert reversal.exchange.counter_bank_id == result.exchange.bank_id
        for bank_id in (result.exchange.bank_id, two_banks["north"]):
            assert ledger.clearing_account(bank_id).balance == 0
        assert account(two_banks["bob"], two_banks["north"]).balance == 0
        assert ledger.check_ledger() == []


def test_member_records_time_for_a_member_of_another_bank_through_the_site(
        app, client, two_banks):
    with app.app_context():
        ann_email, bob_email = get(two_banks["ann"]).email, get(two_banks["bob"]).email
    login(client, ann_email)
    options = client.get("/members/search?other=Bob", headers=HX).get_data(as_text=True)
    assert f"Bob North (#{two_banks['bob']})" in options and "North Bank" in options
    made = submit(client, "/exchanges/new", {
        "direction": "gave", "other": f"Bob North (#{two_banks['bob']})", "hours": "1",
        "extra_minutes": "0", "service_date": TODAY.isoformat(), "category": "0",
        "description": "Fixed a bike"})
    assert made.status_code == 303, made.get_data(as_text=True)
    exchange_id = int(made.headers["Location"].rsplit("/", 1)[1])
    login(client, bob_email)
    home = client.get("/").get_data(as_text=True)
    assert "Fixed a bike" in home
    confirm_url = f"/b/north/exchanges/{exchange_id}/confirm"
    done = client.post(confirm_url, data=hidden_fields(home))
    assert done.status_code == 303
    with app.app_context():
        assert db.session.get(Exchange, exchange_id).status == ExchangeStatus.CONFIRMED
        assert ledger.check_ledger() == []


def test_members_of_other_banks_are_found_only_if_they_chose_to_be(app, client, two_banks):
    with app.app_context():
        get(two_banks["bob"]).findable_elsewhere = False
        db.session.commit()
        ann_email = get(two_banks["ann"]).email
    login(client, ann_email)
    found = client.get("/members/search?other=Bob", headers=HX).get_data(as_text=True)
    assert "Bob North" not in found
    refused = submit(client, "/exchanges/new", {
        "direction": "gave", "other": f"Bob North (#{two_banks['bob']})", "hours": "1",
        "extra_minutes": "0", "service_date": TODAY.isoformat(), "category": "0"})
    assert refused.status_code == 422 and "No member matches" in refused.get_data(as_text=True)


@pytest.mark.tampers_ledger
def test_check_ledger_names_the_bank_when_a_clearing_entry_is_tampered_with(app, two_banks,
                                                                            db_url):
    with app.app_context():
        _interbank(two_banks, 30, confirm=True)
        clearing = ledger.clearing_account(two_banks["north"])
        db.session.execute(text("UPDATE entry SET minutes = minutes + 5 WHERE account_id = :a"),
                           {"a": clearing.id})
        db.session.commit()
        problems = "\n".join(ledger.check_ledger())
    assert "bank north" in problems and "do not mirror" in problems
    cli = flask_cli(db_url, "check-ledger")
    assert cli.returncode == 1 and "bank north" in cli.stderr


# -- isolation: a bank's people see nothing of another bank -----------------------------


SECRETS = ("Bertha Secret", "north-secret-request", "north-secret-exchange",
           "north-secret-message", "north-secret-note")


@pytest.fixture
def other_bank_objects(app, make):
    """Bank "north" with a member, a coordinator, a request, an introduction, messages,
    an exchange, an activity and a notification, each carrying a secret word."""
    north(app)
    bertha = make.member(name="Bertha Secret", bank="north")
    helper = make.member(name="Hal North", bank="north")
    staff = make.member(Role.COORDINATOR, name="Nell Coordinator", bank="north")
    with app.app_context():
        bank = db.session.query(Bank).filter_by(slug="north").one()
        use_bank(bank)
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        listing = Listing(bank_id=bank.id, member_id=bertha, kind="request", category_id=garden,
                          title="north-secret-request",
                          expires_on=TODAY.replace(year=TODAY.year + 1))
        db.session.add(listing)
        db.session.flush()
        match = Match(bank_id=bank.id, request_id=listing.id, requester_id=bertha,
                      helper_id=helper, created_by_id=staff, note="north-secret-note")
        db.session.add(match)
        db.session.flush()
        request_id, match_id = listing.id, match.id
        from timebank.core.models import MatchMessage

        db.session.add(MatchMessage(match_id=match_id, author_id=bertha,
                                    body="north-secret-message"))
        db.session.add(Notification(member_id=bertha, bank_id=bank.id,
                                    text="north-secret-note", url="/"))
        db.session.commit()
        exchange = ledger.record_exchange(
            giver=ledger.account_of(get(helper), bank.id),
            receiver=ledger.account_of(get(bertha), bank.id), minutes=60, service_date=TODAY,
            recorded_by=get(bertha), idempotency_key=ledger.new_key(), confirm=True,
            description="north-secret-exchange").exchange
        made, _ = ledger.record_group_activity(
            participants=[get(bertha)], to_pool=True, minutes=30, service_date=TODAY,
            recorded_by=get(staff), idempotency_key="north-activity-key", bank_id=bank.id,
            description="north-secret-exchange")
        ids = {"member_id": bertha, "exchange_id": exchange.id, "listing_id": request_id,
               "match_id": match_id, "activity_id": "north-activity-key", "bank_id": bank.id,
               "item_id": 1, "asset_id": 999999}
        state = _state()
    return ids, state


def _state():
    """Everything a request could change, to prove a refused one changed nothing."""
    return (
        sorted((m.id, m.status, m.install_role) for m in db.session.query(Member)),
        sorted((m.id, m.status, m.role) for m in db.session.query(Membership)),
        sorted((e.id, e.status) for e in db.session.query(Exchange)),
        sorted((a.id, a.balance, a.floor) for a in db.session.query(Account)),
        sorted((li.id, li.status, li.title) for li in db.session.query(Listing)),
        sorted((m.id, m.status, m.requester_answer, m.helper_answer)
               for m in db.session.query(Match)),
        db.session.query(Entry).count(),
    )


# Pages that are about the whole area or the person themselves, not about a bank.
NOT_BANK_PAGES = ("static", "assets.", "main.healthz")


def _urls(app, ids):
    """Every route of the site, filled in with the other bank's objects."""
    for rule, method, path in route_urls(app, ids, bank="north"):
        if not rule.endpoint.startswith(NOT_BANK_PAGES):
            yield method, path, rule.endpoint


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.COORDINATOR])
def test_people_of_one_bank_see_nothing_of_another(app, client, login_as,
                                                   other_bank_objects, role):
    ids, _ = other_bank_objects
    login_as(role)
    with app.app_context():
        before = _state()
    token = hidden_fields(client.get("/").get_data(as_text=True))["csrf_token"]
    seen = 0
    for method, path, endpoint in _urls(app, ids):
        if path in ("/logout", "/b/north/logout"):
            continue
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": token, "reason": "x",
                                               "body": "x", "request_id": ids["listing_id"],
                                               "helper_id": ids["member_id"]})
        body = response.get_data(as_text=True)
        seen += 1
        assert response.status_code < 500, (method, path, response.status_code)
        for secret in SECRETS:
            assert secret not in body, (method, path, secret)
        open_to_all = PENDING in RULES[app.view_functions[endpoint].permission].audiences
        if not open_to_all and ("/b/north" in path or any(str(ids[k]) in path for k in (
                "exchange_id", "listing_id", "match_id")) or "north-activity-key" in path):
            # The other bank's own pages and objects: refused, never shown.
            assert response.status_code in (302, 303, 400, 403, 404, 405, 409, 422), (
                method, path, response.status_code)
    assert seen > 60
    with app.app_context():
        assert _state() == before


# -- upgrading a single-bank install -------------------------------------------------------


def test_upgrade_from_the_single_bank_schema_keeps_everything(fresh_db):
    url = fresh_db("timebank_upgrade")
    old = flask_cli(url, "db", "upgrade", "0003")
    assert old.returncode == 0, old.stderr
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        # What a single-bank install held: a coordinator, two residents, a council viewer,
        # the pool, a confirmed exchange, a group activity, a listing with a match.
        now = "2026-01-02 03:04:05"
        for i, (role, name) in enumerate([("coordinator", "Cole"), ("resident", "Rosa"),
                                          ("resident", "Ravi"), ("council", "Cara")], 1):
            conn.execute(text(
                "INSERT INTO member (id, email, display_name, password_hash, role, status, "
                "neighbourhood, bio, skills, availability, phone, created_at, address, "
                "email_preference, matching_opt_out) VALUES (:i, :e, :n, 'x', :r, 'active', "
                "'', '', '', '', '', :t, '', 'never', false)"),
                {"i": i, "e": f"{name.lower()}@example.org", "n": name, "r": role, "t": now})
        for i, member in ((1, 1), (2, 2), (3, 3)):
            conn.execute(text(
                "INSERT INTO account (id, kind, member_id, name, balance, floor, created_at) "
                "VALUES (:i, 'member', :m, '', 0, -600, :t)"), {"i": i, "m": member, "t": now})
        conn.execute(text(
            "INSERT INTO account (id, kind, member_id, name, balance, floor, created_at) "
            "VALUES (4, 'system', NULL, 'Community pool', 0, NULL, :t)"), {"t": now})
        for ex, giver, receiver, minutes in ((1, 2, 3, 90), (2, 4, 1, 60)):
            conn.execute(text(
                "INSERT INTO exchange (id, giver_account_id, receiver_account_id, minutes, "
                "description, service_date, status, idempotency_key, reason, created_at, "
                "settled_at) VALUES (:x, :g, :r, :m, '', '2026-01-01', 'confirmed', :k, '', :t, "
                ":t)"), {"x": ex, "g": giver, "r": receiver, "m": minutes, "k": f"k{ex}",
                         "t": now})
            conn.execute(text("INSERT INTO entry (account_id, exchange_id, minutes, created_at) "
                              "VALUES (:a, :x, :m, :t)"),
                         {"a": giver, "x": ex, "m": minutes, "t": now})
            conn.execute(text("INSERT INTO entry (account_id, exchange_id, minutes, created_at) "
                              "VALUES (:a, :x, :m, :t)"),
                         {"a": receiver, "x": ex, "m": -minutes, "t": now})
        for acc, balance in ((2, 90), (3, -90), (4, 60), (1, -60)):
            conn.execute(text("UPDATE account SET balance = :b WHERE id = :a"),
                         {"a": acc, "b": balance})
        conn.execute(text(
            "INSERT INTO category (id, slug, name, active) VALUES (99, 'odd-jobs', 'Odd jobs', "
            "true)"))
        conn.execute(text(
            "INSERT INTO listing (id, member_id, kind, category_id, title, description, "
            "availability, remote_ok, status, expires_on, created_at, updated_at) VALUES "
            "(1, 2, 'request', 99, 'Shelf', '', 0, false, 'open', '2030-01-01', :t, :t)"),
            {"t": now})
        conn.execute(text(
            "INSERT INTO match (id, request_id, requester_id, helper_id, note, created_by_id, "
            "status, requester_answer, helper_answer, created_at) VALUES (1, 1, 2, 3, '', 1, "
            "'proposed', '', '', :t)"), {"t": now})
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # explicit ids above: move the sequences past them
            for table in ("member", "account", "exchange", "category", "listing", "match"):
                conn.execute(text(f"SELECT setval('{table}_id_seq', 100)"))
    engine.dispose()

    upgraded = flask_cli(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    check = flask_cli(url, "check-ledger")
    assert check.returncode == 0, check.stderr
    assert re.search(r"ledger OK: 2 exchanges, 5 accounts", check.stdout), check.stdout

    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        banks = conn.execute(text("SELECT id, slug, name FROM bank")).all()
        assert [(b.slug, b.name) for b in banks] == [("our-time-bank", "Our time bank")]
        bank_id = banks[0].id
        memberships = dict(conn.execute(text(
            "SELECT member_id, role FROM membership WHERE bank_id = :b"), {"b": bank_id}).all())
        assert memberships == {1: "coordinator", 2: "resident", 3: "resident"}
        roles = dict(conn.execute(text("SELECT id, role FROM member")).all())
        assert roles == {1: "resident", 2: "resident", 3: "resident", 4: "council"}
        balances = dict(conn.execute(text(
            "SELECT id, balance FROM account WHERE kind = 'member'")).all())
        assert balances == {1: -60, 2: 90, 3: -90}
        for table in ("account", "exchange", "listing", "match"):
            assert conn.execute(text(
                f"SELECT count(*) FROM {table} WHERE bank_id <> :b"),  # noqa: S608
                {"b": bank_id}).scalar() == 0
        assert conn.execute(text(
            "SELECT count(*) FROM account WHERE kind = 'clearing'")).scalar() == 1
    engine.dispose()
    # And the upgraded site works: the coordinator still coordinates.
    from tests.support import build_app

    app = build_app(url)
    client = app.test_client()
    with app.app_context():
        db.session.execute(text("UPDATE member SET password_hash = :h"),
                           {"h": _hash(PASSWORD)})
        db.session.commit()
    login(client, "cole@example.org")
    assert client.get("/coordinator/members").status_code == 200
    assert "Rosa" in client.get("/coordinator/members").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def _hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method="scrypt:1024:8:1")  # (a cheap one)


# -- found by an adversarial read of the multi-bank change (each reproduced first) -------


def test_a_coordinator_cannot_answer_for_a_member_of_another_bank(app, two_banks, make):
    staff = make.member(Role.COORDINATOR, name="Coord South")
    with app.app_context():
        south = get(staff)
        pending = ledger.record_exchange(
            giver=ledger.account_of(south), receiver=account(two_banks["bob"], two_banks["north"]),
            minutes=300, service_date=TODAY, recorded_by=south, idempotency_key=ledger.new_key(),
            confirm=False).exchange
        for answer in (ledger.confirm_exchange, ledger.decline_exchange):
            with pytest.raises(ledger.LedgerError, match="Only the person who received"):
                answer(pending.id, get(staff))
        assert account(two_banks["bob"], two_banks["north"]).balance == 0


def test_only_an_admin_reactivates_a_suspended_coordinator(app, client, make, login_as):
    suspended = make.member(Role.COORDINATOR, status="suspended", name="Cora Suspended")
    login_as(Role.COORDINATOR)
    page = f"/coordinator/members/{suspended}"
    response = submit(client, f"{page}/reactivate", {}, page=page)
    assert response.status_code == 403
    with app.app_context():
        assert get(suspended).status_in(bank_of(suspended)) == "suspended"


def test_suspended_in_one_bank_means_no_trading_there_from_another(app, two_banks, make):
    with app.app_context():
        from timebank.core.banks import join

        both = get(two_banks["ann"])
        join(both, db.session.get(Bank, two_banks["north"]), "resident", "active")
        both.findable_elsewhere = True
        membership = both.membership_in(two_banks["north"])
        membership.status = "suspended"
        db.session.commit()
        from timebank.core.members.lookup import MemberNotFound, resolve_member

        with pytest.raises(MemberNotFound):
            resolve_member(f"Ann South (#{both.id})", two_banks["north"], other_banks=True)
        with pytest.raises(ledger.LedgerError, match="not an active member"):
            ledger.record_exchange(
                giver=account(two_banks["bob"], two_banks["north"]),
                receiver=ledger.account_of(get(two_banks["ann"]), two_banks["north"]),
                minutes=60, service_date=TODAY, recorded_by=get(two_banks["bob"]),
                idempotency_key=ledger.new_key(), confirm=False)


def test_staff_find_other_banks_members_by_name_only(app, client, two_banks, make):
    coordinator = make.member(Role.COORDINATOR)
    with app.app_context():
        bob_email, email = get(two_banks["bob"]).email, get(coordinator).email
    login(client, email)
    by_email = client.get(f"/members/search?q={bob_email[:7]}", headers=HX).get_data(as_text=True)
    assert "Bob North" not in by_email
    assert "Bob North" in client.get("/members/search?q=Bob", headers=HX).get_data(as_text=True)


def test_weekly_digest_carries_each_banks_own_listings(app, two_banks, make):
    from timebank.core import notify
    from timebank.core.models import OutboxMessage

    with app.app_context():
        reader = get(two_banks["ann"])
        reader.email_preference = "weekly"
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        db.session.add(Listing(bank_id=two_banks["north"], member_id=two_banks["bob"],
                               kind="offer", category_id=garden, title="North-only offer",
                               expires_on=TODAY.replace(year=TODAY.year + 1)))
        db.session.commit()
        with notify.site_context():
            notify.queue_digests()
        bodies = [m.body for m in db.session.query(OutboxMessage)]
    assert not any("North-only offer" in body for body in bodies)


def test_visiting_another_banks_address_does_not_change_ones_bank(app, client, two_banks):
    with app.app_context():
        email = get(two_banks["ann"]).email
    login(client, email)
    # North's welcome page is open to all (the permissions table); its own pages are not.
    welcome = client.get("/b/north/").get_data(as_text=True)
    assert "Hello" not in welcome and "Ask to join North Bank" in welcome
    assert client.get("/b/north/statement").status_code == 403
    assert client.get("/statement").status_code == 200
    assert client.get("/").status_code == 200 and "Hello" in client.get("/").get_data(
        as_text=True)


def test_a_reversal_key_replayed_on_another_exchange_reverses_nothing(app, two_banks, make):
    staff = make.member(Role.ADMIN)
    with app.app_context():
        first = _interbank(two_banks, 30, confirm=True).exchange
        second = _interbank(two_banks, 30, confirm=True).exchange
        key = ledger.new_key()
        ledger.reverse_exchange(first.id, get(staff), "typo", key)
        with pytest.raises(ledger.LedgerError, match="expired"):
            ledger.reverse_exchange(second.id, get(staff), "typo", key)
        assert db.session.query(Exchange).filter_by(reverses_id=second.id).count() == 0


# -- joining a second bank; an admin gives an existing person a role ---------------------


def test_a_member_of_one_bank_asks_to_join_another_and_is_approved(app, client, make):
    """From the other bank's home page, one click and an optional message; that bank's
    coordinators see the application, told with the message; approval makes the member
    active there with an account, and the switcher then names the current bank."""


    north_id = north(app)
    ann = make.member(name="Ann South", email="ann@example.org")
    nora = make.member(Role.COORDINATOR, name="Nora North", email="nora@example.org",
                       bank="north")
    login(client, "ann@example.org")
    home = client.get("/b/north/").get_data(as_text=True)
    assert "Ask to join North Bank" in home and "/b/north/join-bank" in home
    refused = submit(client, "/b/north/join-bank", {"message": "I can bake"},
                     page="/b/north/join-bank")
    assert refused.status_code == 422 and "accept the terms" in refused.get_data(as_text=True)
    asked = submit(client, "/b/north/join-bank", {"message": "I can bake bread  ",
                                                    "accept": "y"}, page="/b/north/join-bank")
    assert asked.status_code == 303
    again = client.get("/b/north/").get_data(as_text=True)
    assert "waiting for a coordinator" in again
    with app.app_context():
        membership = db.session.query(Membership).filter_by(member_id=ann,
                                                           bank_id=north_id).one()
        assert membership.status == "pending" and membership.terms_accepted_at is not None
        told = db.session.query(Notification).filter_by(member_id=nora).one()
        assert "Ann South" in told.text and "I can bake bread" in told.text
        assert told.bank_id == north_id
    # Asking twice makes one application.
    submit(client, "/b/north/join-bank", {"accept": "y"}, page="/b/north/join-bank")
    with app.app_context():
        assert db.session.query(Membership).filter_by(member_id=ann).count() == 2

    login(client, "nora@example.org")
    pending = client.get("/b/north/coordinator/members?status=pending").get_data(as_text=True)
    assert "Ann South" in pending
    approved = submit(client, f"/b/north/coordinator/members/{ann}/approve", {},
                      page=f"/b/north/coordinator/members/{ann}")
    assert approved.status_code == 303
    with app.app_context():
        assert get(ann).role_in(north_id) == "resident"
        assert ledger.account_of(get(ann), north_id) is not None

    login(client, "ann@example.org")
    page = client.get("/b/north/").get_data(as_text=True)
    assert "North Bank (current)" in page and 'aria-current="true"' in page
    assert "/b/our-time-bank/" in page or "Switch bank" in page


def test_an_admin_makes_an_existing_person_coordinator_of_a_new_bank(app, client, make):
    """A new bank set up in the browser: created, then a person who already has a log-in
    made its coordinator (told so); they keep their first bank. Not themselves."""


    make.member(Role.ADMIN, email="ada@example.org", name="Ada Admin")
    cole = make.member(name="Cole Carter", email="cole@example.org")
    login(client, "ada@example.org")
    made = submit(client, "/admin/banks", {"slug": "east", "name": "East Bank"},
                  page="/admin/banks")
    assert made.status_code == 303
    settings = made.headers["Location"]
    bank_id = int(settings.rsplit("/", 1)[1])
    nobody = submit(client, f"{settings}/members", {"email": "nobody@example.org",
                                                    "role": "coordinator"}, page=settings)
    assert nobody.status_code == 422 and "Nobody has an account" in nobody.get_data(
        as_text=True)
    herself = submit(client, f"{settings}/members", {"email": "ada@example.org",
                                                     "role": "coordinator"}, page=settings)
    assert herself.status_code == 422 and "Another admin" in herself.get_data(as_text=True)
    added = submit(client, f"{settings}/members", {"email": "COLE@example.org",
                                                   "role": "coordinator"}, page=settings)
    assert added.status_code == 303
    page = client.get(settings).get_data(as_text=True)
    assert "Cole Carter" in page
    with app.app_context():
        cole_now = get(cole)
        assert cole_now.role_in(bank_id) == "coordinator"
        assert cole_now.role_in(current_bank_id()) == "resident"  # kept
        told = db.session.query(Notification).filter_by(member_id=cole).one()
        assert "coordinator of East Bank" in told.text and told.bank_id == bank_id
    login(client, "cole@example.org")
    assert client.get("/b/east/coordinator/members").status_code == 200


def test_add_member_command_gives_an_existing_person_a_role(db_url, app, make):
    north_id = north(app)
    make.member(name="Cole Carter", email="cole@example.org")
    done = flask_cli(db_url, "add-member", "--email", "cole@example.org", "--bank", "north",
                     "--role", "coordinator")
    assert done.returncode == 0, done.stderr
    assert "coordinator in north" in done.stdout
    missing = flask_cli(db_url, "add-member", "--email", "who@example.org", "--bank", "north")
    assert missing.returncode != 0 and "Nobody has an account" in missing.stderr
    created = flask_cli(db_url, "create-user", "--email", "cole@example.org",
                        stdin="a long password\n")
    assert created.returncode != 0 and "add-member" in created.stderr
    with app.app_context():
        member = db.session.query(Member).filter_by(email="cole@example.org").one()
        assert member.role_in(north_id) == "coordinator"


def test_admins_cannot_undo_a_suspension_or_give_a_role_to_an_inactive_account(app, client,
                                                                                make):
    """Found by review: adding a person whose membership the bank's coordinators suspended
    made it active again, and an unconfirmed or suspended log-in got a role it could not
    use. Both are refused; a declined applicant cannot re-ask (and re-mail everyone)."""
    from timebank.core.models import Membership, MemberStatus

    north_id = north(app)
    make.member(Role.ADMIN, email="ada@example.org", name="Ada Admin")
    sid = make.member(name="Sid Suspended", email="sid@example.org", bank="north")
    una = make.member(name="Una Unconfirmed", email="una@example.org")
    dee = make.member(name="Dee Declined", email="dee@example.org")
    with app.app_context():
        db.session.query(Membership).filter_by(member_id=sid, bank_id=north_id).one() \
            .status = MemberStatus.SUSPENDED
        get(una).email_verified_at = None
        db.session.add(Membership(member_id=dee, bank_id=north_id, role="resident",
                                  status=MemberStatus.DECLINED))
        db.session.commit()
    login(client, "ada@example.org")
    page = f"/admin/banks/{north_id}"
    for email, words in (("sid@example.org", "suspended that membership"),
                         ("una@example.org", "not active yet")):
        answer = submit(client, f"{page}/members", {"email": email, "role": "coordinator"},
                        page=page)
        assert answer.status_code == 422 and words in answer.get_data(as_text=True)
    with app.app_context():
        assert get(sid).membership_in(north_id).status == MemberStatus.SUSPENDED
        assert get(una).membership_in(north_id) is None
    login(client, "dee@example.org")
    again = submit(client, "/b/north/join-bank", {"accept": "y"}, page="/b/north/join-bank")
    assert again.status_code == 422 and "declined your application" in again.get_data(
        as_text=True)
