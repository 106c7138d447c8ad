"""Nobody alone moves hours to themselves, through anyone else either (issue 28, point 1).

Each path a review found, tried end to end: the coordinator's balance does not move until
a second coordinator acts.
"""

from __future__ import annotations

import gc
import re

import pytest

from tests.support import (
    TODAY,
    balance_of,
    get,
    login,
    logout,
    mail_config,
    mail_to,
    record_form,
    submit,
)
from timebank.core.ledger import writer as ledger
from timebank.core.models import Approval, Exchange, ExchangeStatus, MemberStatus, Role
from timebank.infra import clock
from timebank.infra.extensions import db


@pytest.fixture
def app_config(smtp):
    return mail_config(smtp[1])  # the log-in link travels through a real SMTP server


def _enrol(client, name: str, email: str = "") -> int:
    response = submit(client, "/coordinator/members/new", {
        "display_name": name, "neighbourhood": "Riverside", "phone": "01234 567890",
        "address": "", "email": email})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _agree(client, approval_id: int, answer: str = "agree"):
    return submit(client, f"/coordinator/approvals/{approval_id}/{answer}", {},
                  page="/coordinator/approvals")


def _only_approval(app) -> int:
    with app.app_context():
        return db.session.query(Approval).filter_by(status="pending").one().id


def _choose_password(client, app, smtp, email: str) -> None:
    links = [path for _s, body in mail_to(app, smtp, email)
             for path in re.findall(r"https?://[^/\s]+(/password/reset/\S+)", body)]
    assert len(links) == 1
    assert submit(client, links[0], {"password": "blue-kettle-garden",
                                     "confirm": "blue-kettle-garden"}).status_code == 303


def test_a_puppet_enrolled_at_the_coordinators_address_pays_them_nothing_alone(
        app, client, make, smtp):
    """The review's chain: enrol a "member without a computer" at an address the
    coordinator controls, open the log-in link, log in as them and record "received 5 h
    from the coordinator". Now the link waits for a second coordinator, and the receipt
    waits for one too."""
    boss = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    second = make.member(Role.COORDINATOR, name="Sid Second", email="sid@example.org")
    login(client, "cora@example.org")
    puppet = _enrol(client, "Pip Puppet", "cora+pip@example.org")
    assert mail_to(app, smtp, "cora+pip@example.org") == []  # no link yet
    with app.app_context():
        assert get(puppet).email is None
    # The one who asked cannot agree.
    approval = _only_approval(app)
    assert "Another coordinator answers this one" in client.get(
        "/coordinator/approvals").get_data(as_text=True)
    assert _agree(client, approval).status_code == 403
    assert mail_to(app, smtp, "cora+pip@example.org") == []
    logout(client)
    # A second coordinator, having checked with the person, agrees: the link goes out.
    login(client, "sid@example.org")
    page = client.get("/coordinator/approvals").get_data(as_text=True)
    assert "a log-in for Pip Puppet at cora+pip@example.org" in page
    assert _agree(client, approval).status_code == 303
    logout(client)
    _choose_password(client, app, smtp, "cora+pip@example.org")
    assert login(client, "cora+pip@example.org", "blue-kettle-garden").status_code == 302
    # As the puppet: "I received 5 hours from Cora". It waits for a second coordinator.
    response = submit(client, "/exchanges/new", record_form(
        f"Cora Coordinator (#{boss})", direction="received", hours=5, minutes=0))
    assert response.status_code == 303
    exchange_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert balance_of(app, boss) == 0 and balance_of(app, puppet) == 0
    refused = submit(client, f"/exchanges/{exchange_id}/confirm", {},
                     page=f"/exchanges/{exchange_id}")
    assert refused.status_code == 303
    assert balance_of(app, boss) == 0
    logout(client)
    # Cora herself cannot confirm it, being its giver.
    login(client, "cora@example.org")
    submit(client, f"/exchanges/{exchange_id}/confirm", {}, page=f"/exchanges/{exchange_id}")
    assert balance_of(app, boss) == 0
    logout(client)
    # The second coordinator sees it waiting, and is the one who confirms it.
    login(client, "sid@example.org")
    assert f"/exchanges/{exchange_id}" in client.get("/coordinator/approvals").get_data(
        as_text=True)
    submit(client, f"/exchanges/{exchange_id}/confirm", {}, page=f"/exchanges/{exchange_id}")
    assert balance_of(app, boss) == 300 and balance_of(app, puppet) == -300
    with app.app_context():
        assert get(second).id == second
        assert ledger.check_ledger() == []


def test_cora_recording_time_she_gave_a_member_she_enrolled_waits_too(app, client, make):
    """The other way round: the coordinator records "I gave them 5 hours" and the member
    she enrolled would confirm it. Their confirmation is not enough."""
    boss = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.COORDINATOR, name="Sid Second", email="sid@example.org")
    login(client, "cora@example.org")
    enrolled = _enrol(client, "Enid Enrolled")
    response = submit(client, "/exchanges/new", record_form(
        f"Enid Enrolled (#{enrolled})", direction="gave", hours=5, minutes=0))
    exchange_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        exchange = db.session.get(Exchange, exchange_id)
        assert exchange.status == ExchangeStatus.PENDING
        assert exchange.awaiting_member_id is None  # not Enid's word alone
        with pytest.raises(ledger.LedgerError, match="another coordinator confirms"):
            ledger.confirm_exchange(exchange_id, get(enrolled))
    assert balance_of(app, boss) == 0


def test_a_member_the_coordinator_approved_pays_them_only_with_a_second(app, client, make):
    """A puppet registered through the public form and approved by the same coordinator
    is no better: who approved someone stands behind them."""
    boss = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.COORDINATOR, name="Sid Second", email="sid@example.org")
    applicant = make.member(status=MemberStatus.PENDING, account=False, name="Reg Istered",
                            email="reg@example.org")
    login(client, "cora@example.org")
    submit(client, f"/coordinator/members/{applicant}/approve", {},
           page="/coordinator/members")
    logout(client)
    login(client, "reg@example.org")
    response = submit(client, "/exchanges/new", record_form(
        f"Cora Coordinator (#{boss})", direction="received", hours=5, minutes=0))
    assert response.status_code == 303
    assert balance_of(app, boss) == 0
    logout(client)
    # A member someone else approved pays Cora at once, as any member would.
    other = make.member(name="Olu Other", email="olu@example.org")
    login(client, "olu@example.org")
    submit(client, "/exchanges/new", record_form(f"Cora Coordinator (#{boss})",
                                                 direction="received", hours=1, minutes=0))
    assert balance_of(app, boss) == 60 and balance_of(app, other) == -60


def test_giving_a_neighbour_an_address_waits_for_a_second_coordinator(app, client, make, smtp):
    """Adding an e-mail to an existing offline member handed the coordinator that
    neighbour's log-in: now nothing changes and no link goes until a second agrees."""
    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.COORDINATOR, name="Sid Second", email="sid@example.org")
    login(client, "cora@example.org")
    neighbour = _enrol(client, "Nia Neighbour")
    logout(client)
    login(client, "sid@example.org")  # enrolled by Sid? No: Cora enrolled, Sid edits
    response = submit(client, f"/coordinator/members/{neighbour}/edit", {
        "display_name": "Nia Neighbour", "neighbourhood": "Riverside",
        "email": "sid-controlled@example.org"})
    assert response.status_code == 303
    assert "A second coordinator must agree" in client.get(
        response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert get(neighbour).email is None
    assert mail_to(app, smtp, "sid-controlled@example.org") == []
    approval = _only_approval(app)
    assert _agree(client, approval).status_code == 403  # Sid asked: not Sid
    logout(client)
    login(client, "cora@example.org")
    assert _agree(client, approval, "refuse").status_code == 303
    with app.app_context():
        assert get(neighbour).email is None
        assert db.session.get(Approval, approval).status == "refused"
    assert mail_to(app, smtp, "sid-controlled@example.org") == []


def test_a_limit_below_the_banks_waits_for_a_second_coordinator(app, client, make):
    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.COORDINATOR, name="Sid Second", email="sid@example.org")
    member = make.member(name="Fay Floor")
    login(client, "cora@example.org")
    page = f"/coordinator/members/{member}"
    # Within the bank's limit (10 hours) one coordinator is enough.
    assert submit(client, f"{page}/floor", {"floor_hours": "-5"}, page=page).status_code == 303
    response = submit(client, f"{page}/floor", {"floor_hours": "-50"}, page=page)
    assert response.status_code == 303
    assert "needs a second coordinator" in client.get(page).get_data(as_text=True)
    with app.app_context():
        account = ledger.account_of(get(member))
        assert account.floor == -300
    approval = _only_approval(app)
    assert _agree(client, approval).status_code == 403
    logout(client)
    login(client, "sid@example.org")
    # Sid's work queue shows it, and links to where it is answered.
    home = client.get("/").get_data(as_text=True)
    assert "Waiting for a second coordinator: <strong>1</strong>" in home
    assert "a limit of -50 hours for Fay Floor" in home
    assert _agree(client, approval).status_code == 303
    with app.app_context():
        assert ledger.account_of(get(member)).floor == -3000
        # And a coordinator who asked for someone's lower limit stands behind them.
        from timebank.core import four_eyes

        assert {m for m in four_eyes.sponsors(member, account.bank_id)} >= {
            db.session.get(Approval, approval).requested_by_id}


def test_a_large_payment_from_the_pool_waits_and_the_pool_has_a_floor(app, client, make):
    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.COORDINATOR, name="Sid Second", email="sid@example.org")
    people = [make.member(name=f"Walker {n}") for n in range(6)]
    third = make.member(Role.COORDINATOR)
    login(client, "cora@example.org")
    lines = "\n".join(f"Walker {n} (#{p})" for n, p in enumerate(people))
    # 6 people × 4 hours = 24 hours: more than the 20 one coordinator pays alone.
    response = submit(client, "/coordinator/activities/new", {
        "direction": "to_pool", "participants": lines, "hours": "4", "extra_minutes": "0",
        "service_date": record_form("x")["service_date"], "category": "0",
        "description": "Litter pick"})
    assert response.status_code == 303
    assert [balance_of(app, p) for p in people] == [0] * 6
    approval = _only_approval(app)
    assert _agree(client, approval).status_code == 403
    logout(client)
    login(client, "sid@example.org")
    assert _agree(client, approval).status_code == 303
    assert [balance_of(app, p) for p in people] == [240] * 6
    with app.app_context():
        bank_id = ledger.account_of(get(people[0])).bank_id
        assert ledger.pool_account(bank_id).balance == -1440
        assert ledger.check_ledger() == []
        # The pool pays out no further than its floor, whoever agrees.
        from timebank.core.models import Bank

        db.session.get(Bank, bank_id).pool_floor = -1500
        db.session.commit()
        with pytest.raises(ledger.LedgerError, match="can pay out no more"):
            ledger.record_group_activity(
                participants=[get(people[0])], to_pool=True, minutes=120,
                service_date=TODAY, recorded_by=get(third),
                idempotency_key=ledger.new_key(), bank_id=bank_id)
        assert ledger.pool_account(bank_id).balance == -1440


def test_an_activity_key_is_its_banks_and_recorders_only(app, make):
    """Issue 28, point 4: another bank's coordinator used a session's key first, and the
    real attendees were never paid. Keys are unguessable, and a key seen before answers
    only its own bank and recorder."""
    from timebank.core.banks import create_bank

    here = make.member(Role.COORDINATOR)
    walker = make.member(name="Wendy Walker")
    with app.app_context():
        north = create_bank("north", "North")
        db.session.commit()
        north_id = north.id
    there = make.member(Role.COORDINATOR, bank="north")
    northerner = make.member(bank="north")
    with app.app_context():
        key = "guessed-key-123"
        ledger.record_group_activity(
            participants=[get(northerner)], to_pool=True, minutes=60, service_date=TODAY,
            recorded_by=get(there), idempotency_key=key, bank_id=north_id)
        with pytest.raises(ledger.LedgerError, match="form has expired"):
            ledger.record_group_activity(
                participants=[get(walker)], to_pool=True, minutes=60,
                service_date=TODAY, recorded_by=get(here), idempotency_key=key)
        assert ledger.account_of(get(walker)).balance == 0


def test_nobody_can_probe_another_banks_addresses_by_enrolling(app, client, make, smtp):
    """Issue 28, point 8: "Another member uses that e-mail address" told a coordinator
    who in the whole install had an account. Now another bank's member's address gets the
    answer a free one gets; its owner is told, and nothing of theirs changes."""
    from timebank.core.banks import create_bank

    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.COORDINATOR, name="Sid Second", email="sid@example.org")
    with app.app_context():
        create_bank("north", "North")
        db.session.commit()
    elsewhere = make.member(name="Ned North", email="ned@example.org", bank="north")
    login(client, "cora@example.org")
    taken = submit(client, "/coordinator/members/new", {
        "display_name": "Tess Taken", "neighbourhood": "Riverside", "email": "ned@example.org"})
    free = submit(client, "/coordinator/members/new", {
        "display_name": "Fred Free", "neighbourhood": "Riverside", "email": "fred@example.org"})
    assert taken.status_code == free.status_code == 303
    # Within the bank the coordinator already sees who uses an address, so it is said.
    same_bank = submit(client, "/coordinator/members/new", {
        "display_name": "Sam Same", "neighbourhood": "Riverside", "email": "sid@example.org"})
    assert same_bank.status_code == 422
    assert "Another member uses that e-mail address" in same_bank.get_data(as_text=True)
    logout(client)
    login(client, "sid@example.org")
    with app.app_context():
        waiting = [a.id for a in db.session.query(Approval).order_by(Approval.id)]
    for approval in waiting:
        assert _agree(client, approval).status_code == 303
    with app.app_context():
        assert get(elsewhere).email == "ned@example.org"
        tess = db.session.query(type(get(elsewhere))).filter_by(display_name="Tess Taken").one()
        assert tess.email is None
    told = mail_to(app, smtp, "ned@example.org")
    assert [s for s, _b in told] == ["Your address was given for a new log-in"]
    assert "/password/reset/" not in told[0][1]
    assert mail_to(app, smtp, "fred@example.org")  # the free one got its link


def test_small_payments_from_the_pool_add_up_to_the_banks_size(app, make):
    """Twenty hours alone in one go is the bank's size; so it is in three goes of eight
    within 30 days: the third waits for a second coordinator."""
    boss = make.member(Role.COORDINATOR)
    people = [make.member(name=f"Helper {n}") for n in range(2)]
    with app.app_context():
        for n in range(2):
            ledger.record_group_activity(
                participants=[get(p) for p in people], to_pool=True, minutes=240,
                service_date=TODAY, recorded_by=get(boss), idempotency_key=f"small-{n}")
        with pytest.raises(ledger.SecondNeeded):
            ledger.record_group_activity(
                participants=[get(p) for p in people], to_pool=True, minutes=240,
                service_date=TODAY, recorded_by=get(boss), idempotency_key="small-2")
        assert [ledger.account_of(get(p)).balance for p in people] == [480, 480]


def test_a_puppet_made_coordinator_is_no_second_pair_of_eyes(app, client, make):
    """An admin approves an account they registered themselves, makes it a coordinator,
    and has it agree to, or confirm, what the admin gains from: refused, because the
    admin stands behind it."""
    from timebank.core import four_eyes
    from timebank.core.members import service

    admin = make.member(Role.ADMIN, name="Ada Admin", email="ada@example.org")
    other_admin = make.member(Role.ADMIN, name="Oli Otheradmin")
    puppet = make.member(status=MemberStatus.PENDING, account=False, name="Pup Pet",
                         email="pup@example.org")
    friend = make.member(name="Fred Friend")
    with app.test_request_context():
        from timebank.core.banks import ensure_default_bank

        bank_id = ensure_default_bank().id
        service.change_status(get(puppet), "approve", get(admin), bank_id, "")
        # Ada may not make the account she approved a coordinator herself...
        with pytest.raises(service.MemberError, match="another admin"):
            service.set_role(get(puppet), Role.COORDINATOR, get(admin), bank_id)
        # ...and if another admin does, it is still no second pair of eyes on Ada's gain.
        service.set_role(get(puppet), Role.COORDINATOR, get(other_admin), bank_id)
        assert four_eyes.acts_for(puppet, admin)
        account = ledger.account_of(get(friend))
        with pytest.raises(ledger.LedgerError, match="Another coordinator must agree"):
            ledger.set_floor(account.id, -3000, get(admin), second=get(puppet))
        # Fred "received" 5 h from Ada, recorded by Fred: Ada's puppet may not confirm it.
        pending = ledger.record_exchange(
            giver=ledger.account_of(get(admin), bank_id), receiver=account, minutes=300,
            service_date=TODAY, recorded_by=get(admin), idempotency_key="ada-gave",
            confirm=False).exchange
        with pytest.raises(ledger.LedgerError):
            ledger.confirm_exchange(pending.id, get(puppet))
        # Nor record it for them as if checked with both sides.
        with pytest.raises(ledger.LedgerError, match="Another coordinator must record"):
            ledger.record_exchange(
                giver=ledger.account_of(get(admin), bank_id), receiver=account, minutes=300,
                service_date=TODAY, recorded_by=get(puppet), idempotency_key="pup-records",
                confirm=True)
        assert ledger.account_of(get(admin), bank_id).balance == 0


def test_time_recorded_for_someone_into_a_members_account_the_recorder_enrolled_waits(
        app, client, make):
    """Review, round two: a coordinator recorded "Pat (whom I enrolled) gave Rita 24 h" for
    them, confirmed at once: Rita's hours moved into an account the coordinator runs. Now
    Rita confirms it (or a second coordinator does), never the recorder."""
    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.COORDINATOR, name="Sid Second", email="sid@example.org")
    rita = make.member(name="Rita Real", email="rita@example.org")
    login(client, "cora@example.org")
    pat = _enrol(client, "Pat Puppet")
    response = submit(client, "/coordinator/exchanges/new", {
        **{k: v for k, v in record_form("x", hours=5, minutes=0).items()
           if k not in ("direction", "other")},
        "giver": f"Pat Puppet (#{pat})", "receiver": f"Rita Real (#{rita})"})
    assert response.status_code == 303
    exchange_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert balance_of(app, pat) == 0 and balance_of(app, rita) == 0
    submit(client, f"/exchanges/{exchange_id}/confirm", {}, page=f"/exchanges/{exchange_id}")
    assert balance_of(app, pat) == 0  # not Cora, who stands behind Pat
    logout(client)
    login(client, "rita@example.org")  # Rita is asked, and says yes
    assert submit(client, f"/exchanges/{exchange_id}/confirm", {},
                  page=f"/exchanges/{exchange_id}").status_code == 303
    assert balance_of(app, pat) == 300 and balance_of(app, rita) == -300


def test_standing_behind_passes_down_a_chain_of_puppets(app, make):
    """An admin's puppet coordinator enrols a puppet of its own; the admin asks a second
    ... the admin's puppet: every link of the chain is the admin's."""
    from timebank.core import four_eyes
    from timebank.core.members import service

    admin = make.member(Role.ADMIN, name="Ada Admin")
    other_admin = make.member(Role.ADMIN, name="Oli Otheradmin")
    pup = make.member(status=MemberStatus.PENDING, account=False, name="Pup Pet")
    with app.test_request_context():
        from timebank.core.banks import ensure_default_bank
        from timebank.infra import geo

        bank = ensure_default_bank()
        service.change_status(get(pup), "approve", get(admin), bank.id, "")
        service.set_role(get(pup), Role.COORDINATOR, get(other_admin), bank.id)
        grandchild, _located = service.enrol({"display_name": "Q Puppet"}, get(pup), bank,
                                             geo.geocoder())
        assert admin in four_eyes.sponsors(grandchild.id)
        assert four_eyes.second_needed(admin, grandchild.id, bank.id)
        assert four_eyes.tied(pup, admin) and four_eyes.tied(admin, grandchild.id)


def test_loosening_a_banks_limits_waits_for_a_second_person(app, client, make):
    """Review, round two: an admin lowered the bank's default limit to -1000 h, so every
    new account (a puppet's too) opened there, and any limit down to it needed nobody
    else. Loosening any of the bank's limits now waits; tightening does not."""
    from tests.support import agree_to_everything
    from timebank.core.banks import ensure_default_bank
    from timebank.core.models import Bank

    make.member(Role.ADMIN, name="Ada Admin", email="ada@example.org")
    second = make.member(Role.COORDINATOR, name="Sid Second")
    with app.app_context():
        bank_id = ensure_default_bank().id
    login(client, "ada@example.org")
    page = f"/admin/banks/{bank_id}"
    fields = {"name": "Our time bank", "floor_hours": "-1000", "default_language": "",
              "english_dates": "en_GB", "pool_floor_hours": "-500", "pool_cap_hours": "400",
              "pool_alone_hours": "20"}
    assert submit(client, page, fields).status_code == 303
    with app.app_context():
        bank = db.session.get(Bank, bank_id)
        assert bank.default_floor == -600 and bank.pool_cap == 400 * 60  # tightened: done
    assert "Looser limits wait" in client.get(page).get_data(as_text=True)
    assert agree_to_everything(app, second) == 1
    with app.app_context():
        assert db.session.get(Bank, bank_id).default_floor == -60_000


def _insert(conn, table, **values) -> int:
    """A row in a table as an older schema has it (read from the database, not today's
    models): every column that must be filled gets a plain value unless given."""
    import sqlalchemy as sa

    plain = {sa.String: "", sa.Text: "", sa.Integer: 0, sa.BigInteger: 0, sa.Boolean: False,
             sa.Float: 0.0, sa.DateTime: clock.utcnow(), sa.Date: clock.today(), sa.JSON: {}}
    for column in table.columns:
        if (column.name in values or column.nullable or column.primary_key
                or column.server_default is not None):
            continue
        values[column.name] = next(v for t, v in plain.items() if isinstance(column.type, t))
    return conn.execute(table.insert().values(**values)).inserted_primary_key[0]


def test_log_ins_given_alone_before_four_eyes_still_count(fresh_db):
    """Review, round two: coordinators gave log-ins alone before this change; the
    upgrade reads who did from the audit trail, so those members' payments to them wait
    for a second coordinator too. (The rows are written as schema 0022 has them: today's
    models have columns it has not.)"""
    import sqlalchemy as sa

    from tests.support import build_app, flask_cli
    from timebank.core import four_eyes
    from timebank.core.models import Approval

    url = fresh_db("timebank_sponsors")
    assert flask_cli(url, "db", "upgrade", "0022").returncode == 0  # the schema before
    engine = sa.create_engine(url)
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.begin() as conn:
        bank = conn.execute(sa.select(tables.tables["bank"].c.id)).scalar() or _insert(
            conn, tables.tables["bank"], slug="ours", name="Ours")
        people = {}
        for name, role in (("Cora", "coordinator"), ("Pat", "resident")):
            people[name] = _insert(conn, tables.tables["member"], display_name=name,
                                   email=f"{name.lower()}@example.org", status="active",
                                   role="resident")
            _insert(conn, tables.tables["membership"], member_id=people[name], bank_id=bank,
                    role=role, status="active")
        _insert(conn, tables.tables["audit_event"], actor_id=people["Cora"],
                action="member.login_link_sent", object_type="member",
                object_id=people["Pat"], detail={})
    engine.dispose()
    upgraded = flask_cli(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    app = build_app(url)
    coordinator, member = people["Cora"], people["Pat"]
    with app.app_context():
        assert db.session.query(Approval).filter_by(kind="login").count() == 1
        assert four_eyes.sponsors(member) == {coordinator}
        assert four_eyes.second_needed(coordinator, member, bank)
        db.session.remove()
        gc.collect()  # (so that dispose closes every connection, none left to the collector)
        db.engine.dispose()


def test_nobody_pays_from_the_pool_an_account_they_stand_behind(app, make):
    """Review, round three: a coordinator paid the member they enrolled from the pool,
    alone, up to the bank's size every 30 days."""
    cora = make.member(Role.COORDINATOR, name="Cora")
    with app.test_request_context():
        from timebank.core.banks import ensure_default_bank
        from timebank.core.members import service
        from timebank.infra import geo

        pat, _located = service.enrol({"display_name": "Pat Puppet"}, get(cora),
                                      ensure_default_bank(), geo.geocoder())
        with pytest.raises(ledger.LedgerError, match="take part in"):
            ledger.record_group_activity(
                participants=[pat], to_pool=True, minutes=600, service_date=TODAY,
                recorded_by=get(cora), idempotency_key="to-pat")
        assert ledger.account_of(get(pat.id)).balance == 0


def test_a_log_in_given_after_recording_still_keeps_the_puppets_word_out(app, make):
    """Review, round three: Cora recorded "I gave Pat 10 h", waiting for Pat; then got a
    log-in for Pat at her own address (a second coordinator agreeing). Pat's "yes" must
    not confirm it: Cora stands behind Pat by then."""
    from timebank.core.models import Approval

    cora = make.member(Role.COORDINATOR, name="Cora")
    dan = make.member(Role.COORDINATOR, name="Dan")
    pat = make.member(name="Pat", email="pat@example.org")
    with app.app_context():
        pending = ledger.record_exchange(
            giver=ledger.account_of(get(cora)), receiver=ledger.account_of(get(pat)),
            minutes=600, service_date=TODAY, recorded_by=get(cora), idempotency_key="late",
            confirm=False).exchange
        assert pending.awaiting_member_id == pat
        bank_id = ledger.account_of(get(pat)).bank_id
        db.session.add(Approval(bank_id=bank_id, kind="login", member_id=pat,
                                status="approved", payload={}, requested_by_id=cora,
                                decided_by_id=dan))
        db.session.commit()
        with pytest.raises(ledger.LedgerError, match="another coordinator confirms"):
            ledger.confirm_exchange(pending.id, get(pat))
        assert ledger.account_of(get(cora)).balance == 0


def test_standing_behind_has_no_depth_limit(app, make):
    """Review, round three: the chain stopped after six links; one admin can build ten."""
    from timebank.core import four_eyes
    from timebank.core.models import Approval

    chain = [make.member(name=f"Link {n}") for n in range(10)]
    with app.app_context():
        bank_id = ledger.account_of(get(chain[0])).bank_id
        for above, below in zip(chain, chain[1:], strict=False):
            db.session.add(Approval(bank_id=bank_id, kind="login", member_id=below,
                                    status="approved", payload={}, requested_by_id=above))
        db.session.commit()
        assert four_eyes.sponsors(chain[-1]) == set(chain[:-1])
        assert four_eyes.second_needed(chain[0], chain[-1], bank_id)
