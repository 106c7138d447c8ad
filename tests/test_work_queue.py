"""The coordinator's home is a work queue: figures from a known dataset, and each item's
link leads to a page where that work is listed and can be done (issue 13)."""

from __future__ import annotations

from datetime import timedelta

# The pinned moment every test starts at (never the machine's: read at import, it was).
from tests.support import (
    NOW,  # noqa: E402
    bank_of,
    get,
    hidden_fields,
    login,
)
from timebank.core import snapshots
from timebank.core.ledger import writer as ledger
from timebank.core.models import (
    Asset,
    AssetCategory,
    Category,
    Exchange,
    Listing,
    Match,
    Member,
    Membership,
    MemberStatus,
    Role,
)
from timebank.core.queue import work_queue
from timebank.infra import clock
from timebank.infra.extensions import db

AGO = {n: NOW - timedelta(days=n) for n in (2, 8, 10, 100)}


def _listing(member_id: int, title: str, kind: str = "request", created: int = 10,
             expires: int = 30) -> int:
    garden = db.session.query(Category).filter_by(slug="gardening").one().id
    listing = Listing(bank_id=bank_of(member_id),
                      member_id=member_id, kind=kind, category_id=garden, title=title,
                      expires_on=clock.today() + timedelta(days=expires))
    listing.created_at = NOW - timedelta(days=created)
    db.session.add(listing)
    db.session.flush()
    return listing.id


def _match(request_id: int, requester: int, helper: int, by: int, status: str,
           days: int) -> None:
    match = Match(bank_id=bank_of(requester),
                  request_id=request_id, requester_id=requester, helper_id=helper,
                  created_by_id=by, status=status)
    match.created_at = NOW - timedelta(days=days)
    db.session.add(match)


def test_work_queue_counts_a_known_day_and_links_to_the_work(app, client, make):
    coordinator = make.member(Role.COORDINATOR, email="cora@example.org", name="Cora")
    ann, bob = make.member(name="Ann Asker"), make.member(name="Bob Busy")
    quiet = make.member(name="Quentin Quiet")
    make.member(status=MemberStatus.PENDING, account=False, name="Pat Applicant")
    make.member(status=MemberStatus.PENDING, account=False, name="Pip Applicant")
    unconfirmed = make.member(status=MemberStatus.PENDING, account=False, name="Una Unconfirmed")
    with app.app_context():
        get(unconfirmed).email_verified_at = None
        for member_id in (quiet, bob):  # long-standing members
            db.session.query(Membership).filter_by(member_id=member_id).one().created_at = AGO[100]
        _listing(ann, "Hedge (nobody yet)")
        spoken_for = _listing(ann, "Gutter (introduced)")
        _listing(ann, "Shelf (too new)", created=2)
        declined = _listing(ann, "Fence (declined, so waiting again)")
        _listing(bob, "Bread (ends soon)", kind="offer", expires=3)
        _match(spoken_for, ann, bob, coordinator, "proposed", days=8)
        _match(declined, ann, bob, coordinator, "declined", days=9)
        category = db.session.query(AssetCategory).first().id
        db.session.add_all([
            Asset(name="Suggested Hall", status="proposed", category_id=category),
            Asset(name="Published Hall", status="published", category_id=category),
            # Checked 13 months ago: past the bank's 12.
            Asset(name="Old Hall", status="published", category_id=category,
                  confirmed_at=clock.utcnow() - timedelta(days=396))])
        db.session.flush()
        from timebank.core.models import AssetChange

        db.session.add(AssetChange(kind="closed", asset_id=db.session.query(Asset).filter_by(
            name="Published Hall").one().id))
        db.session.commit()
        stale = ledger.record_exchange(
            giver=ledger.account_of(get(bob)), receiver=ledger.account_of(get(ann)),
            minutes=60, service_date=clock.today(), recorded_by=get(bob),
            idempotency_key="stale", confirm=False).exchange
        stale.created_at = AGO[8]
        ledger.record_exchange(
            giver=ledger.account_of(get(ann)), receiver=ledger.account_of(get(bob)),
            minutes=30, service_date=clock.today(), recorded_by=get(ann),
            idempotency_key="fresh", confirm=False)
        db.session.commit()
        from timebank.core.models import Bank, MemberCheck

        bank_id = db.session.query(Bank).one().id
        # Safeguarding checks: one ends in 10 days (listed), one in 40, one has ended.
        db.session.add_all([MemberCheck(member_id=bob, kind=kind, bank_id=bank_id,
                                        done_on=clock.today() - timedelta(days=700),
                                        expires_on=clock.today() + timedelta(days=days))
                            for kind, days in (("dbs", 10), ("references", 40),
                                               ("induction", -1))])
        db.session.commit()
        with app.test_request_context():
            items = {item.key: item for item in work_queue(bank_id)}
        assert {k: i.count for k, i in items.items()} == {
            "second": 0, "applications": 2, "requests": 2, "exchanges": 1, "introductions": 1,
            "assets": 1, "asset_changes": 1, "stale_assets": 1, "expiring": 1, "checks": 1,
            "quiet": 1}
        assert items["checks"].examples == ["Bob Busy (DBS check)"]
        assert items["stale_assets"].examples == ["Old Hall"]
        assert items["requests"].examples == ["Hedge (nobody yet)",
                                              "Fence (declined, so waiting again)"]
        assert items["quiet"].examples == ["Quentin Quiet"]
        assert db.session.query(Exchange).count() == 2
    login(client, "cora@example.org")
    home = client.get("/").get_data(as_text=True)
    assert "Applications to approve: <strong>2</strong>" in home
    # Each link opens the page where that work is done, showing what the figure counted.
    expected = {
        "applications": ["Pat Applicant", "Approve Pip Applicant"],
        "requests": ["Hedge (nobody yet)"],
        "exchanges": ["Bob Busy", "Ann Asker"],
        "introductions": ["Gutter (introduced)"],
        "assets": ["Suggested Hall"],
        "expiring": ["Bread (ends soon)"],
        "quiet": ["Quentin Quiet"],
        "checks": ["Bob Busy"],
    }
    for key, words in expected.items():
        page = client.get(items[key].url)
        body = page.get_data(as_text=True)
        assert page.status_code == 200, key
        for word in words:
            assert word in body, (key, word)
    assert "Una Unconfirmed" not in client.get(items["applications"].url).get_data(
        as_text=True)
    assert "Shelf (too new)" not in client.get(items["expiring"].url).get_data(as_text=True)
    unhelped = client.get(items["requests"].url).get_data(as_text=True)
    assert "Gutter (introduced)" not in unhelped and "Shelf (too new)" not in unhelped
    waiting = client.get(items["exchanges"].url).get_data(as_text=True)
    assert waiting.count("/exchanges/") - waiting.count("/exchanges/new") >= 1
    quiet_page = client.get(items["quiet"].url).get_data(as_text=True)
    assert "Bob Busy" not in quiet_page  # he traded a week ago


def test_a_quiet_day_says_nothing_is_waiting(app, client, make):
    make.member(Role.COORDINATOR, email="cora@example.org")
    login(client, "cora@example.org")
    assert "Nothing is waiting" in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Member).count() == 1


def test_a_big_banks_queue_is_kept_seconds_but_never_for_the_coordinator_who_acts(
        app, client, make, monkeypatch):
    """Kept 30 s where working it out was slow (here: always): a new application shows
    only when that time has passed; a coordinator who acts sees the list afresh at once."""
    monkeypatch.setattr(snapshots, "SLOW_SECONDS", 0)
    app.config["TIMEBANK_QUEUE_FRESH_SECONDS"] = 30
    make.member(Role.COORDINATOR, email="cora@example.org")
    make.member(status=MemberStatus.PENDING, account=False, name="First Applicant")
    login(client, "cora@example.org")

    def waiting() -> str:
        page = client.get("/").get_data(as_text=True)
        return page[page.index("Applications to approve"):][:400]

    assert "First Applicant" in waiting()
    make.member(status=MemberStatus.PENDING, account=False, name="Second Applicant")
    assert "Second Applicant" not in waiting()  # kept: someone else's news waits
    clock.pin(clock.utcnow() + timedelta(seconds=31))
    assert "Second Applicant" in waiting()
    make.member(status=MemberStatus.PENDING, account=False, name="Third Applicant")
    assert "Third Applicant" not in waiting()
    # The coordinator changes something (their language, say): their next view is fresh.
    page = client.get("/profile").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    assert client.post("/language", data={"csrf_token": token, "lang": "en",
                                          "next": "/"}).status_code in (302, 303)
    assert "Third Applicant" in waiting()
    snapshots.forget()
