"""Random sequences of ledger operations never break an invariant (hypothesis).

Two banks, two members in each, exchanges within and between them (through the
clearing accounts, one of them capped), confirmations, declines and reversals.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.support import TODAY, Factory
from timebank.core.banks import create_bank
from timebank.core.ledger import writer as ledger
from timebank.core.models import Account, Exchange, ExchangeStatus, Member, Outcome, Role
from timebank.infra.extensions import db

CAP = 300  # minutes bank "north" may owe or be owed by other banks


def run_machine(app, max_examples: int) -> None:
    factory = Factory(app)
    with app.app_context():
        north_id = create_bank("north", "North Bank", clearing_limit=CAP).id
        db.session.commit()
        member_ids = [factory.member(name=f"P{i}", bank=None if i < 2 else "north")
                      for i in range(4)]
        for member_id in member_ids[2:]:
            db.session.get(Member, member_id).findable_elsewhere = True
        db.session.commit()
        home = {i: (ledger.account_of(db.session.get(Member, m), None if i < 2 else north_id))
                for i, m in enumerate(member_ids)}
        account_ids = {i: a.id for i, a in home.items()}
        clearing = {bank_id: ledger.clearing_account(bank_id).id
                    for bank_id in {a.bank_id for a in home.values()}}
        db.session.commit()
        staff_id = factory.member(Role.ADMIN, name="Staff")

    class Ledger(RuleBasedStateMachine):
        """Model: the expected balance of each account, kept in plain Python."""

        def __init__(self):
            super().__init__()
            self.ctx = app.app_context()
            self.ctx.push()
            # Every example starts from an empty ledger, so runs are reproducible.
            for statement in ("DELETE FROM entry", "DELETE FROM outcome",
                              "UPDATE exchange SET reverses_id = NULL", "DELETE FROM exchange",
                              "DELETE FROM month_total", "DELETE FROM outcome_month",
                              "DELETE FROM account_month", "DELETE FROM month_person",
                              "UPDATE account SET balance = 0, given = 0, received = 0, "
                              "exchanges_given = 0, exchanges_received = 0"):
                db.session.execute(db.text(statement))
            db.session.commit()
            self.expected = {a.id: 0 for a in db.session.query(Account)}
            self.pending: list[int] = []
            self.confirmed: list[int] = []

        def teardown(self):
            db.session.remove()
            self.ctx.pop()

        def _member(self, i):
            return db.session.get(Member, member_ids[i])

        def _account(self, i):
            return db.session.get(Account, account_ids[i])

        def _move(self, exchange, sign: int = 1):
            """What a posting does to the model, within a bank or between two."""
            m = exchange.minutes * sign
            self.expected[exchange.giver_account_id] += m
            self.expected[exchange.receiver_account_id] -= m
            if exchange.counter_bank_id is not None:
                self.expected[clearing[exchange.bank_id]] -= m
                self.expected[clearing[exchange.counter_bank_id]] += m

        def _capped(self, giver, receiver, minutes) -> bool:
            if giver.bank_id == receiver.bank_id:
                return False
            north_side = clearing[north_id]
            moved = -minutes if giver.bank_id == north_id else minutes
            return abs(self.expected[north_side] + moved) > CAP

        @rule(g=st.integers(0, 3), r=st.integers(0, 3), minutes=st.integers(-30, 1500),
              confirm=st.booleans(), back=st.sampled_from([0, 40, 100]))
        def record(self, g, r, minutes, confirm, back):
            giver, receiver = self._account(g), self._account(r)
            try:
                result = ledger.record_exchange(
                    giver=giver, receiver=receiver, minutes=minutes,
                    service_date=TODAY - timedelta(days=back),
                    recorded_by=self._member(r if confirm else g),
                    idempotency_key=ledger.new_key(), confirm=confirm)
            except ledger.LedgerError:
                ok = g != r and 0 < minutes <= 1440 and not confirm
                assert not ok or confirm, "refused a valid pending exchange"
                if confirm and g != r and 0 < minutes <= 1440:
                    # Only the floor, or the cap between banks, may refuse a valid one.
                    assert (self.expected[receiver.id] - minutes < receiver.floor
                            or self._capped(giver, receiver, minutes))
                return
            assert g != r and 0 < minutes <= 1440
            if confirm:
                self._move(result.exchange)
                self.confirmed.append(result.exchange.id)
            else:
                self.pending.append(result.exchange.id)

        @precondition(lambda self: self.pending)
        @rule(data=st.data(), accept=st.booleans())
        def answer(self, data, accept):
            exchange_id = data.draw(st.sampled_from(self.pending))
            exchange = db.session.get(Exchange, exchange_id)
            receiver_member = exchange.receiver.member
            self.pending.remove(exchange_id)
            if not accept:
                ledger.decline_exchange(exchange_id, receiver_member)
                return
            try:
                ledger.confirm_exchange(exchange_id, receiver_member)
            except ledger.LedgerError as error:
                assert "limit" in error.message
                self.pending.append(exchange_id)  # still pending
                return
            self._move(exchange)
            self.confirmed.append(exchange_id)

        @precondition(lambda self: self.confirmed)
        @rule(data=st.data())
        def reverse(self, data):
            exchange_id = data.draw(st.sampled_from(self.confirmed))
            exchange = db.session.get(Exchange, exchange_id)
            try:
                ledger.reverse_exchange(exchange_id, db.session.get(Member, staff_id),
                                        "test", ledger.new_key())
            except ledger.LedgerError as error:
                assert "reversed" in error.message or "limit" in error.message
                return
            self.confirmed.remove(exchange_id)
            self._move(exchange, -1)

        @precondition(lambda self: self.confirmed)
        @rule(data=st.data(), score=st.integers(1, 4))
        def say_what_it_changed(self, data, score):
            exchange = db.session.get(Exchange, data.draw(st.sampled_from(self.confirmed)))
            receiver = exchange.receiver.member
            if receiver is None or db.session.query(Outcome).filter_by(
                    exchange_id=exchange.id).first():
                return
            ledger.add_outcome(exchange.id, receiver, score, "", False)

        @precondition(lambda self: self.confirmed)
        @rule(data=st.data())
        def reverse_a_reversal_is_refused(self, data):
            exchange_id = data.draw(st.sampled_from(self.confirmed))
            reversal = db.session.query(Exchange).filter_by(reverses_id=exchange_id).first()
            if reversal is not None:
                with pytest.raises(ledger.LedgerError):
                    ledger.reverse_exchange(reversal.id, db.session.get(Member, staff_id),
                                            "again", ledger.new_key())

        @precondition(lambda self: self.confirmed)
        @rule(data=st.data())
        def double_confirm_is_refused(self, data):
            exchange_id = data.draw(st.sampled_from(self.confirmed))
            exchange = db.session.get(Exchange, exchange_id)
            with pytest.raises(ledger.LedgerError):
                ledger.confirm_exchange(exchange_id, db.session.get(Member, staff_id))
            assert exchange.status == ExchangeStatus.CONFIRMED

        @invariant()
        def invariants_hold(self):
            db.session.expire_all()
            assert ledger.check_ledger() == []
            actual = {a.id: a.balance for a in db.session.query(Account)}
            assert actual == self.expected

    Ledger.TestCase.settings = settings(
        max_examples=max_examples, stateful_step_count=15, deadline=None,
        suppress_health_check=list(HealthCheck), derandomize=True, database=None,
    )
    Ledger.TestCase().runTest()


def test_random_operations_keep_invariants(app, db_kind):
    run_machine(app, max_examples=25 if db_kind == "sqlite" else 12)
