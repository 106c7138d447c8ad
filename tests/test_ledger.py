"""Unit tests of timebank/core/ledger/writer.py, on SQLite and PostgreSQL, without requests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import TODAY, get
from timebank.core.ledger import writer as ledger
from timebank.core.models import (
    AuditEvent,
    Entry,
    Exchange,
    ExchangeStatus,
    MemberStatus,
    Role,
)
from timebank.infra.extensions import db


@pytest.fixture
def people(app, make, ctx):
    ids = {
        "ann": make.member(name="Ann"),
        "bob": make.member(name="Bob"),
        "cat": make.member(Role.COORDINATOR, name="Cat"),
    }
    return ids


def acct(member_id):
    return ledger.account_of(get(member_id))


def record(giver, receiver, minutes=60, confirm=False, key=None, by=None, **kw):
    return ledger.record_exchange(
        giver=acct(giver), receiver=acct(receiver), minutes=minutes,
        service_date=kw.pop("service_date", TODAY), recorded_by=get(by or giver),
        idempotency_key=key or ledger.new_key(), confirm=confirm, **kw,
    )


def balances(*ids):
    db.session.expire_all()
    return [acct(i).balance for i in ids]


def test_confirm_writes_two_entries_and_moves_balances(people):
    result = record(people["ann"], people["bob"], 90)
    assert result.created and result.exchange.status == ExchangeStatus.PENDING
    assert balances(people["ann"], people["bob"]) == [0, 0]
    ledger.confirm_exchange(result.exchange.id, get(people["bob"]))
    assert balances(people["ann"], people["bob"]) == [90, -90]
    entries = db.session.query(Entry).filter_by(exchange_id=result.exchange.id).all()
    assert sorted(e.minutes for e in entries) == [-90, 90]
    assert all(isinstance(e.minutes, int) for e in entries)
    assert ledger.check_ledger() == []


def test_received_is_confirmed_at_once(people):
    result = record(people["ann"], people["bob"], 30, confirm=True, by=people["bob"])
    assert result.exchange.status == ExchangeStatus.CONFIRMED
    assert balances(people["ann"], people["bob"]) == [30, -30]


def test_same_key_makes_one_exchange(people):
    first = record(people["ann"], people["bob"], 60, key="k1", confirm=True, by=people["bob"])
    again = record(people["ann"], people["bob"], 60, key="k1", confirm=True, by=people["bob"])
    assert first.created and not again.created
    assert again.exchange.id == first.exchange.id
    assert db.session.query(Exchange).count() == 1
    assert balances(people["ann"], people["bob"]) == [60, -60]


@pytest.mark.parametrize("minutes,message", [
    (0, "more than zero"), (-30, "more than zero"), (24 * 60 + 1, "at most 24 hours"),
    (10**9, "at most 24 hours"), (1.5, "whole number"), ("60", "whole number"),
    (True, "whole number"),
])
def test_refuses_bad_minutes(people, minutes, message):
    with pytest.raises(ledger.LedgerError, match=message):
        record(people["ann"], people["bob"], minutes)
    assert db.session.query(Exchange).count() == 0


def test_refuses_self_exchange(people):
    with pytest.raises(ledger.LedgerError, match="different people"):
        record(people["ann"], people["ann"], 60)


def test_refuses_future_date(people):
    with pytest.raises(ledger.LedgerError, match="future"):
        record(people["ann"], people["bob"], 60, service_date=TODAY + timedelta(days=1))


def test_refuses_suspended_member(people):
    get(people["bob"]).status = MemberStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(ledger.LedgerError, match="not an active member"):
        record(people["ann"], people["bob"], 60)


def test_confirm_refuses_when_party_suspended_meanwhile(people):
    result = record(people["ann"], people["bob"], 60)
    get(people["ann"]).status = MemberStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(ledger.LedgerError, match="not an active member"):
        ledger.confirm_exchange(result.exchange.id, get(people["bob"]))
    assert db.session.get(Exchange, result.exchange.id).status == ExchangeStatus.PENDING


def test_refuses_going_below_floor(people, make):
    # Default floor is -10 h: Bob may receive 10 h, not a minute more.
    for _ in range(10):
        record(people["ann"], people["bob"], 60, confirm=True, by=people["bob"])
    assert balances(people["bob"]) == [-600]
    pending = record(people["ann"], people["bob"], 15)
    with pytest.raises(ledger.LedgerError, match="below their limit"):
        ledger.confirm_exchange(pending.exchange.id, get(people["bob"]))
    assert balances(people["ann"], people["bob"]) == [600, -600]
    with pytest.raises(ledger.LedgerError, match="below their limit"):
        record(people["ann"], people["bob"], 15, confirm=True, by=people["bob"])
    # A coordinator asks to lower the floor below the bank's; a second one agrees
    # (four_eyes.py); now it goes through.
    with pytest.raises(ledger.SecondNeeded):
        ledger.set_floor(acct(people["bob"]).id, -1200, get(people["cat"]))
    second = make.member(Role.COORDINATOR, name="Dee")
    ledger.set_floor(acct(people["bob"]).id, -1200, get(people["cat"]), second=get(second))
    ledger.confirm_exchange(pending.exchange.id, get(people["bob"]))
    assert balances(people["bob"]) == [-615]


def test_set_floor_refuses_above_balance_or_positive(people):
    record(people["ann"], people["bob"], 120, confirm=True, by=people["bob"])
    with pytest.raises(ledger.LedgerError, match="cannot be above"):
        ledger.set_floor(acct(people["bob"]).id, -60, get(people["cat"]))
    with pytest.raises(ledger.LedgerError, match="zero or below"):
        ledger.set_floor(acct(people["bob"]).id, 60, get(people["cat"]))


def test_double_confirm_refused(people):
    result = record(people["ann"], people["bob"], 60)
    ledger.confirm_exchange(result.exchange.id, get(people["bob"]))
    with pytest.raises(ledger.LedgerError, match="already confirmed"):
        ledger.confirm_exchange(result.exchange.id, get(people["bob"]))
    assert balances(people["ann"], people["bob"]) == [60, -60]


def test_only_receiver_or_staff_confirms(people):
    result = record(people["ann"], people["bob"], 60)
    with pytest.raises(ledger.LedgerError, match="Only the person who received"):
        ledger.confirm_exchange(result.exchange.id, get(people["ann"]))
    ledger.confirm_exchange(result.exchange.id, get(people["cat"]))
    assert balances(people["bob"]) == [-60]


def test_decline_and_cancel(people):
    declined = record(people["ann"], people["bob"], 60)
    ledger.decline_exchange(declined.exchange.id, get(people["bob"]))
    with pytest.raises(ledger.LedgerError, match="already declined"):
        ledger.confirm_exchange(declined.exchange.id, get(people["bob"]))
    cancelled = record(people["ann"], people["bob"], 60)
    with pytest.raises(ledger.LedgerError, match="Only the person who recorded"):
        ledger.cancel_exchange(cancelled.exchange.id, get(people["bob"]))
    ledger.cancel_exchange(cancelled.exchange.id, get(people["ann"]))
    assert db.session.get(Exchange, cancelled.exchange.id).status == ExchangeStatus.CANCELLED
    assert balances(people["ann"], people["bob"]) == [0, 0]
    assert db.session.query(Entry).count() == 0


def test_reverse_mirrors_and_keeps_original(people):
    original = record(people["ann"], people["bob"], 45, confirm=True, by=people["bob"])
    result = ledger.reverse_exchange(original.exchange.id, get(people["cat"]), "Typed wrong",
                                     ledger.new_key())
    reversal = result.exchange
    assert reversal.reverses_id == original.exchange.id
    assert reversal.giver_account_id == original.exchange.receiver_account_id
    assert balances(people["ann"], people["bob"]) == [0, 0]
    assert db.session.get(Exchange, original.exchange.id).status == ExchangeStatus.CONFIRMED
    assert db.session.query(Entry).count() == 4
    with pytest.raises(ledger.LedgerError, match="already reversed"):
        ledger.reverse_exchange(original.exchange.id, get(people["cat"]), "again",
                                ledger.new_key())
    with pytest.raises(ledger.LedgerError, match="cannot itself be reversed"):
        ledger.reverse_exchange(reversal.id, get(people["cat"]), "undo", ledger.new_key())


def test_reverse_refusals(people):
    pending = record(people["ann"], people["bob"], 30)
    with pytest.raises(ledger.LedgerError, match="Only a confirmed"):
        ledger.reverse_exchange(pending.exchange.id, get(people["cat"]), "x", ledger.new_key())
    done = record(people["ann"], people["bob"], 30, confirm=True, by=people["bob"])
    with pytest.raises(ledger.LedgerError, match="Only a coordinator"):
        ledger.reverse_exchange(done.exchange.id, get(people["ann"]), "x", ledger.new_key())
    with pytest.raises(ledger.LedgerError, match="Say why"):
        ledger.reverse_exchange(done.exchange.id, get(people["cat"]), "  ", ledger.new_key())


def test_group_activity_with_pool(people):
    participants = [get(people["ann"]), get(people["bob"])]
    made, created = ledger.record_group_activity(
        participants=participants, to_pool=True, minutes=120, service_date=TODAY,
        recorded_by=get(people["cat"]), idempotency_key="activity-1")
    assert created and len(made) == 2
    assert {e.activity_id for e in made} == {"activity-1"}
    assert balances(people["ann"], people["bob"]) == [120, 120]
    assert ledger.pool_account().balance == -240
    again, created = ledger.record_group_activity(
        participants=participants, to_pool=True, minutes=120, service_date=TODAY,
        recorded_by=get(people["cat"]), idempotency_key="activity-1")
    assert not created and [e.id for e in again] == [e.id for e in made]
    assert ledger.check_ledger() == []


def test_group_activity_is_all_or_nothing(people):
    ann = get(people["ann"])
    # Ann can spend at most 10 h; 11 h from the pool must fail for everyone.
    with pytest.raises(ledger.LedgerError, match="below their limit"):
        for _ in range(2):
            ledger.record_group_activity(
                participants=[get(people["bob"]), ann], to_pool=False, minutes=6 * 60,
                service_date=TODAY, recorded_by=get(people["cat"]),
                idempotency_key=ledger.new_key())
    assert balances(people["ann"], people["bob"]) == [-360, -360]


def test_group_activity_refusals(people):
    with pytest.raises(ledger.LedgerError, match="Only a coordinator"):
        ledger.record_group_activity(participants=[get(people["bob"])], to_pool=True,
                                     minutes=60, service_date=TODAY,
                                     recorded_by=get(people["ann"]), idempotency_key="a")
    with pytest.raises(ledger.LedgerError, match="at least one"):
        ledger.record_group_activity(participants=[], to_pool=True, minutes=60,
                                     service_date=TODAY, recorded_by=get(people["cat"]),
                                     idempotency_key="b")
    with pytest.raises(ledger.LedgerError, match="listed twice"):
        ledger.record_group_activity(participants=[get(people["bob"])] * 2, to_pool=True,
                                     minutes=60, service_date=TODAY,
                                     recorded_by=get(people["cat"]), idempotency_key="c")


def test_outcome_only_by_receiver_once(people):
    done = record(people["ann"], people["bob"], 60, confirm=True, by=people["bob"])
    with pytest.raises(ledger.LedgerError, match="Only the person who received"):
        ledger.add_outcome(done.exchange.id, get(people["ann"]), 3, "", False)
    ledger.add_outcome(done.exchange.id, get(people["bob"]), 4, "Garden tidy", True)
    with pytest.raises(ledger.LedgerError, match="already said"):
        ledger.add_outcome(done.exchange.id, get(people["bob"]), 4, "", True)


def test_every_write_is_audited(people):
    result = record(people["ann"], people["bob"], 60)
    ledger.confirm_exchange(result.exchange.id, get(people["bob"]))
    on_behalf = record(people["ann"], people["bob"], 30, confirm=True, by=people["cat"])
    actions = [a.action for a in db.session.query(AuditEvent).order_by(AuditEvent.id)
               if a.action.startswith("exchange.")]
    assert actions == ["exchange.record", "exchange.confirm", "exchange.record"]
    last = db.session.query(AuditEvent).order_by(AuditEvent.id.desc()).first()
    assert last.detail["on_behalf"] is True
    assert (last.detail["giver_member"], last.detail["receiver_member"]) == (
        people["ann"], people["bob"])
    assert "Ann" not in str(last.detail)  # numbers, not names: erasure leaves no name here
    assert last.object_id == on_behalf.exchange.id


@pytest.mark.tampers_ledger
def test_check_ledger_names_a_corrupted_balance(people):
    record(people["ann"], people["bob"], 60, confirm=True, by=people["bob"])
    account = acct(people["bob"])
    db.session.execute(db.text("UPDATE account SET balance = 999 WHERE id = :i"),
                       {"i": account.id})
    db.session.commit()
    problems = ledger.check_ledger()
    assert any(f"account {account.id}" in p and "999" in p for p in problems)
    assert any("sum of all balances" in p for p in problems)
    changed = ledger.repair_balances()
    assert changed == [(account.id, 999, -60)]
    assert ledger.check_ledger() == []


@pytest.mark.tampers_ledger
def test_check_ledger_names_monthly_figures_that_disagree_with_the_exchanges(people):
    record(people["ann"], people["bob"], 60, confirm=True, by=people["bob"])
    giver = acct(people["ann"])
    db.session.execute(db.text("UPDATE month_total SET minutes = 61"))
    db.session.execute(db.text("UPDATE account_month SET given = 7 WHERE account_id = :i"),
                       {"i": giver.id})
    db.session.commit()
    problems = ledger.check_ledger()
    assert any(p.startswith("monthly figures") and "61" in p for p in problems), problems
    assert any(f"account, month ({giver.id}," in p and "(7, 0)" in p for p in problems)
    assert ledger.repair_balances() == []  # the balances were right
    assert ledger.check_ledger() == []


def test_accounts_keep_what_was_given_and_received_and_how_often(people):
    """Minutes and exchanges given and received, kept on each account by the ledger:
    confirmed exchanges count, pending ones do not, a correction takes its original
    off; a member's record of taking part reads them."""
    from timebank.core.participation import what_they_did

    ann, bob = people["ann"], people["bob"]
    record(ann, bob, 60, confirm=True, by=bob)
    wrong = record(ann, bob, 30, confirm=True, by=bob)
    record(ann, bob, 15)  # waits for Bob
    record(bob, ann, 45, confirm=True, by=ann)
    ledger.reverse_exchange(wrong.exchange.id, get(people["cat"]), "Typed twice",
                            ledger.new_key())
    db.session.commit()
    kept = {name: (a.given, a.received, a.exchanges_given, a.exchanges_received)
            for name, a in (("ann", acct(ann)), ("bob", acct(bob)))}
    assert kept == {"ann": (60, 45, 1, 1), "bob": (45, 60, 1, 1)}
    did = what_they_did(ann)
    assert (did["gave"], did["received"], did["reviewed"]) == (1, 1, 0)
    assert ledger.check_ledger() == []


@pytest.mark.tampers_ledger
def test_check_ledger_names_a_wrong_count_of_exchanges_and_repair_mends_it(people):
    record(people["ann"], people["bob"], 60, confirm=True, by=people["bob"])
    account = acct(people["ann"])
    db.session.execute(db.text("UPDATE account SET exchanges_given = 5 WHERE id = :i"),
                       {"i": account.id})
    db.session.commit()
    problems = ledger.check_ledger()
    assert any(f"of account {account.id}: kept (60, 0, 5, 0)" in p for p in problems), problems
    assert ledger.repair_balances() == []  # the balances were right
    assert ledger.check_ledger() == []
    db.session.expire_all()
    assert acct(people["ann"]).exchanges_given == 1


def test_the_upgrade_counts_the_exchanges_already_recorded(tmp_path):
    """Migration 0016 fills each account's counts from the exchanges it finds."""
    from tests.support import build_app, flask_cli

    url = f"sqlite:///{tmp_path}/counts.sqlite"
    assert flask_cli(url, "db", "upgrade").returncode == 0
    app = build_app(url)
    with app.test_request_context("/"):
        from tests.support import Factory

        make = Factory(app)
        ann, bob = make.member(name="Ann"), make.member(name="Bob")
        coordinator = make.member(Role.COORDINATOR, name="Cy")
        for n in range(3):
            record(ann, bob, 20, confirm=True, by=bob, key=f"up-{n}")
        wrong = record(bob, ann, 30, confirm=True, by=ann, key="up-wrong")
        ledger.reverse_exchange(wrong.exchange.id, get(coordinator), "Never happened",
                                "up-undo")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    assert flask_cli(url, "db", "downgrade", "0015").returncode == 0
    upgraded = flask_cli(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    with app.test_request_context("/"):
        # The reversed exchange and its correction count on neither side.
        assert (acct(ann).exchanges_given, acct(ann).exchanges_received,
                acct(bob).exchanges_given, acct(bob).exchanges_received) == (3, 0, 0, 3)
        assert ledger.check_ledger() == []
        db.session.remove()
        db.engine.dispose()


@pytest.mark.tampers_ledger
def test_check_ledger_names_an_unbalanced_exchange(people):
    result = record(people["ann"], people["bob"], 60, confirm=True, by=people["bob"])
    db.session.execute(db.text("UPDATE entry SET minutes = 59 WHERE minutes = 60"))
    db.session.commit()
    problems = ledger.check_ledger()
    assert any(p.startswith(f"exchange {result.exchange.id}:") for p in problems)


def test_no_float_balance_columns(app):
    from sqlalchemy import Float, Numeric

    checked = 0
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if table.name in ("account", "entry", "exchange") or any(
                    word in column.name for word in ("minute", "balance", "floor")):
                checked += 1
                assert not isinstance(column.type, Float | Numeric), f"{table.name}.{column.name}"
    assert checked >= 20


def test_a_key_only_replays_for_its_own_recorder(people):
    record(people["ann"], people["bob"], 60, key="mine", confirm=True, by=people["bob"])
    with pytest.raises(ledger.LedgerError, match="expired"):
        record(people["ann"], people["bob"], 60, key="mine", confirm=True, by=people["ann"])


def test_refuses_dates_more_than_a_year_back(people):
    with pytest.raises(ledger.LedgerError, match="more than a year ago"):
        record(people["ann"], people["bob"], 60, service_date=TODAY - timedelta(days=400))
