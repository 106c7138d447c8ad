"""Reports: every figure against a hand count on a small known bank; small numbers
suppressed for council viewers (differencing too); no personal data on their pages; a
bounded number of queries whatever the size of the data."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

from sqlalchemy import event

from tests.support import get, login
from timebank import ledger
from timebank.extensions import db
from timebank.models import Bank, Category, Membership, MemberStatus, Role
from timebank.reports import figures

PERIOD = "start=2026-01-01&end=2026-11-30"


def _exchange(giver, receiver, minutes, day, category, key):
    with_category = db.session.query(Category).filter_by(slug=category).one().id
    return ledger.record_exchange(
        giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(receiver)),
        minutes=minutes, service_date=day, recorded_by=get(receiver),
        idempotency_key=key, confirm=True, category_id=with_category).exchange


def known_bank(app, make):
    """A gave B 1 h of gardening in January; B gave A 30 min of cooking and A gave D 1.5 h
    of gardening in February, which a coordinator reversed. B said 4 of A's hour, A said
    3 of B's half hour. C, the coordinator, has done nothing for 100 days; E waits."""
    c = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    second = make.member(Role.COORDINATOR, name="Sam Second")
    a, b = make.member(name="Ann Able"), make.member(name="Bob Baker")
    d = make.member(name="Dot Dunn", email="dot-secret@example.org")
    make.member(status=MemberStatus.PENDING, account=False, name="Eve Waiting")
    with app.app_context():
        first = _exchange(a, b, 60, date(2026, 1, 10), "gardening", "r1")
        back = _exchange(b, a, 30, date(2026, 2, 3), "cooking", "r2")
        wrong = _exchange(a, d, 90, date(2026, 2, 20), "gardening", "r3")
        ledger.reverse_exchange(wrong.id, get(second), "recorded twice", "r3-undo")
        ledger.add_outcome(first.id, get(b), 4, "", False)
        ledger.add_outcome(back.id, get(a), 3, "", False)
        db.session.query(Membership).filter_by(member_id=c).one().created_at = (
            datetime.now() - timedelta(days=100))
        db.session.commit()
        return db.session.query(Bank).one().id


def test_every_figure_matches_a_hand_count(app, make):
    bank_id = known_bank(app, make)
    period = figures.Period(date(2026, 1, 1), date(2026, 11, 30))
    with app.app_context():
        # Five active (the factory approves its members today, so all five are new).
        assert figures.members([bank_id], period) == {
            "active": 5, "new": 5, "pending": 1, "dormant": 1}
        assert figures.by_month([bank_id], period) == [("2026-01", 1, 60), ("2026-02", 1, 30)]
        assert figures.by_category([bank_id], period) == [("Gardening", 1, 60),
                                                          ("Cooking and meals", 1, 30)]
        give_take = figures.reciprocity([bank_id], period)
        assert {k: give_take[k] for k in ("members", "both", "only_gave", "only_received",
                                         "neither")} == {
            "members": 5, "both": 2, "only_gave": 0, "only_received": 0, "neither": 3}
        assert figures.outcomes([bank_id], period) == [(3, 1), (4, 1)]


def test_suppression_hides_small_cells_and_what_a_total_would_give_away():
    shown = figures.suppress([10, 3, 8, 0])
    assert [s.value for s in shown] == [10, None, None, 0]  # 8 hidden too: 21 − 10 ≠ 3
    assert [s.value for s in figures.suppress([2, 4, 9])] == [None, None, 9]
    assert [s.value for s in figures.suppress([5, 6])] == [5, 6]


def test_council_pages_and_downloads_show_no_small_numbers_and_no_person(app, client, make,
                                                                         login_as):
    known_bank(app, make)
    login_as(Role.COUNCIL)
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/reports")
    page = client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    assert "fewer than 5" in page
    for private in ("Ann Able", "Bob Baker", "Dot Dunn", "dot-secret", "Cora", "Eve Waiting"):
        assert private not in page
    for table in ("months", "categories", "reciprocity", "outcomes"):
        response = client.get(f"/reports/{table}.csv?{PERIOD}")
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        counts = [cell for row in rows[1:] for cell in row[1:2]]
        assert all(c in ("fewer than 5", "0") or int(c) >= 5 for c in counts), (table, rows)
        assert "Ann" not in response.get_data(as_text=True)
    assert client.get("/coordinator/reports").status_code == 403


def test_the_coordinators_report_has_the_detail_and_downloads(app, client, make):
    known_bank(app, make)
    login(client, "cora@example.org")
    page = client.get(f"/coordinator/reports?{PERIOD}").get_data(as_text=True)
    assert "2026-01" in page and "Gardening" in page and "Of 5 active members, 2 gave" in page
    months = client.get(f"/coordinator/reports/months.csv?{PERIOD}").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(months)))[1:] == [["2026-01", "1", "1.0"],
                                                        ["2026-02", "1", "0.5"]]
    assert client.get("/coordinator/reports?start=2026-05-01&end=2026-01-01").status_code == 422


def test_report_pages_run_a_bounded_number_of_queries(app, client, make):
    known_bank(app, make)
    login(client, "cora@example.org")

    def queries(path: str) -> int:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    small = queries(f"/coordinator/reports?{PERIOD}")
    with app.app_context():  # forty more members and exchanges
        people = [make.member(name=f"Extra {n}") for n in range(40)]
        for n, (g, r) in enumerate(zip(people, people[1:], strict=False)):
            _exchange(g, r, 15, date(2026, 4, 1 + n % 28), "gardening", f"x{n}")
    assert queries(f"/coordinator/reports?{PERIOD}") == small
