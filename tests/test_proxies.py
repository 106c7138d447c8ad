"""Proxies ("guardian angels"): a member names another to act for them, through the site."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.support import balance_of, get, login, logout, submit
from timebank.core.models import AuditEvent, Exchange, ExchangeStatus, Notification, Proxy
from timebank.infra import clock
from timebank.infra.extensions import db


def _name(client, app, proxy_id: int, days: int = 30):
    until = (clock.today() + timedelta(days=days)).isoformat()
    return submit(client, "/account/proxies/name", {"proxy": f"Pat (#{proxy_id})",
                                                    "until": until}, page="/account/proxies")


def _record(client, data: dict):
    return submit(client, "/account/proxies/record", data, page="/account/proxies")


def test_a_proxy_records_and_confirms_for_the_member(app, client, make):
    mo = make.member(name="Mo")
    pat = make.member(name="Pat")
    gil = make.member(name="Gil")
    with app.app_context():
        mo_email, pat_email, gil_email = get(mo).email, get(pat).email, get(gil).email
    login(client, mo_email)
    assert _name(client, app, pat).status_code == 303
    logout(client)
    # Gil says he gave Mo two hours: Pat, who acts for Mo, hears of it and confirms it.
    login(client, gil_email)
    page = submit(client, "/exchanges/new", {"direction": "gave", "other": f"Mo (#{mo})",
                                              "hours": "2", "extra_minutes": "0",
                                              "service_date": clock.today().isoformat(),
                                              "category": "0"})
    assert page.status_code == 303
    logout(client)
    with app.app_context():
        told = db.session.scalars(select(Notification.text).where(
            Notification.member_id == pat)).all()
        assert any(t.startswith("For Mo:") and "Gil" in t for t in told)
        [named] = [t for t in told if "named you to act for them" in t]
        until = clock.today() + timedelta(days=30)
        assert f"until {until.day} {until:%B} {until.year}" in named  # as the bank writes
        exchange_id = db.session.scalar(select(Exchange.id))
    login(client, pat_email)
    # The news links to the exchange: Pat, acting for Mo, may open it.
    shown = client.get(f"/exchanges/{exchange_id}")
    assert shown.status_code == 200 and "Answer for Mo" in shown.get_data(as_text=True)
    listing = client.get("/account/proxies").get_data(as_text=True)
    assert "Confirm for Mo" in listing and "You act for Mo" in listing
    answer = submit(client, f"/account/proxies/exchanges/{exchange_id}/confirm", {},
                    page="/account/proxies")
    assert answer.status_code == 303
    assert (balance_of(app, mo), balance_of(app, gil)) == (-120, 120)
    with app.app_context():  # Mo hears what was done for him; Pat is not told his own step
        told_mo = db.session.scalars(select(Notification.text).where(
            Notification.member_id == mo)).all()
        assert any(t.startswith("Pat confirmed for you the 2 h") for t in told_mo)
        assert not any("Pat confirmed for you" in t for t in db.session.scalars(
            select(Notification.text).where(Notification.member_id == pat)))
    # And records for Mo: time Gil gave Mo (received: Mo pays at once).
    response = _record(client, {"member": str(mo), "direction": "received",
                                "other": f"Gil (#{gil})", "hours": "1", "extra_minutes": "0",
                                "service_date": clock.today().isoformat(), "category": "0"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert balance_of(app, mo) == -180
    with app.app_context():
        trail = [e for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(["exchange.confirm", "exchange.record"]),
            AuditEvent.actor_id == pat))]
        assert {e.action for e in trail} == {"exchange.confirm", "exchange.record"}
        assert all(e.detail["for_member"] == mo for e in trail)  # "by Pat for Mo"
        made = db.session.scalar(select(Exchange).where(Exchange.proxy_id == pat))
        assert made.recorded_by_id == mo and made.status == ExchangeStatus.CONFIRMED
    logout(client)
    login(client, mo_email)  # Mo's statement says who acted for him
    assert "through Pat" in client.get("/statement").get_data(as_text=True)
    assert "Pat for Mo" in client.get(f"/exchanges/{made.id}").get_data(as_text=True)


def test_a_proxy_cannot_pay_themselves_from_the_member(app, client, make):
    mo = make.member(name="Mo")
    pat = make.member(name="Pat")
    with app.app_context():
        mo_email, pat_email = get(mo).email, get(pat).email
    login(client, mo_email)
    _name(client, app, pat)
    logout(client)
    login(client, pat_email)
    # Recording that Mo received time from Pat would pay Pat from Mo's account.
    refused = _record(client, {"member": str(mo), "direction": "received",
                               "other": f"Pat (#{pat})", "hours": "3", "extra_minutes": "0",
                               "service_date": clock.today().isoformat(), "category": "0"})
    assert refused.status_code == 422
    assert "cannot move their hours to yourself" in refused.get_data(as_text=True)
    # Nor by recording as himself that he gave Mo time, then confirming it for Mo.
    submit(client, "/exchanges/new", {"direction": "gave", "other": f"Mo (#{mo})",
                                       "hours": "3", "extra_minutes": "0",
                                       "service_date": clock.today().isoformat(),
                                       "category": "0"})
    with app.app_context():
        exchange_id = db.session.scalar(select(Exchange.id))
    refused = submit(client, f"/account/proxies/exchanges/{exchange_id}/confirm", {},
                     page="/account/proxies", follow_redirects=True)
    assert "cannot move their hours to yourself" in refused.get_data(as_text=True)
    assert (balance_of(app, mo), balance_of(app, pat)) == (0, 0)
    with app.app_context():
        assert db.session.get(Exchange, exchange_id).status == ExchangeStatus.PENDING


def test_the_member_ends_it_and_the_proxy_can_no_longer_act(app, client, make):
    mo = make.member(name="Mo")
    pat = make.member(name="Pat")
    gil = make.member(name="Gil")
    with app.app_context():
        mo_email, pat_email = get(mo).email, get(pat).email
    login(client, mo_email)
    _name(client, app, pat)
    with app.app_context():
        arrangement = db.session.scalar(select(Proxy)).id
    assert submit(client, f"/account/proxies/{arrangement}/end", {},
                  page="/account/proxies").status_code == 303
    logout(client)
    login(client, pat_email)
    response = _record(client, {"member": str(mo), "direction": "gave",
                                "other": f"Gil (#{gil})", "hours": "1", "extra_minutes": "0",
                                "service_date": clock.today().isoformat(), "category": "0"})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Exchange)) is None


def test_a_coordinator_records_a_proxy_and_a_second_one_agrees(app, client, make):
    first = make.member("coordinator", name="Cora")
    second = make.member("coordinator", name="Dee")
    mo = make.member(name="Mo")
    pat = make.member(name="Pat")
    with app.app_context():
        first_email, second_email = get(first).email, get(second).email
    login(client, first_email)
    until = (clock.today() + timedelta(days=90)).isoformat()
    response = submit(client, f"/coordinator/members/{mo}/proxy",
                      {"proxy": f"Pat (#{pat})", "until": until})
    assert response.status_code == 303
    # Until a second coordinator agrees, Pat does not act for Mo; the first cannot agree.
    with app.app_context():
        arrangement = db.session.scalar(select(Proxy))
        assert arrangement.agreed_by_id is None
    mine = submit(client, f"/coordinator/proxies/{arrangement.id}/agree", {},
                  page="/coordinator/proxies", follow_redirects=True)
    assert "Another coordinator" in mine.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Proxy, arrangement.id).agreed_by_id is None
    logout(client)
    login(client, second_email)
    assert "Pat" in client.get("/coordinator/proxies").get_data(as_text=True)
    submit(client, f"/coordinator/proxies/{arrangement.id}/agree", {},
           page="/coordinator/proxies")
    with app.app_context():
        assert db.session.get(Proxy, arrangement.id).agreed_by_id == second
