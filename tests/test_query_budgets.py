"""Query budgets: every main page runs the same number of SQL statements on a small bank
as on one many times its size (pages are paged, figures aggregated, lists loaded in
one go), so a city's data costs rows read, never round trips per row."""

from __future__ import annotations

from datetime import timedelta

from tests.support import count_queries, get, login, many_members
from timebank.core.ledger import writer as ledger
from timebank.core.models import Asset, AssetCategory, Category, Event, EventSignup, Role
from timebank.core.notify import notify
from timebank.infra import clock
from timebank.infra.extensions import db

# (who looks, the page): the pages a resident, a coordinator and a council officer use
# every day. The cached register pages are measured warm (their first request builds).
PAGES = [
    ("resident", "/"),
    ("resident", "/statement"),
    ("resident", "/listings"),
    ("resident", "/notifications"),
    ("resident", "/profile"),
    ("resident", "/account/texts"),
    ("resident", "/account/proxies"),
    ("resident", "/members"),
    ("resident", "/assets"),
    ("resident", "/assets/map.json"),
    ("resident", "/assets.geojson"),
    ("resident", "/assets.csv"),
    ("resident", "/events"),
    ("resident", "/events.ics"),
    ("coordinator", "/"),
    ("coordinator", "/coordinator/quiet"),
    ("coordinator", "/coordinator/members"),
    ("coordinator", "/coordinator/matching"),
    ("coordinator", "/coordinator/exchanges"),
    ("coordinator", "/coordinator/reports"),
    ("council", "/reports"),
    ("council", "/assets/gaps"),
]


def _grow(app, make, people: dict, size: int, tag: str) -> None:
    """``size`` more members, and for the resident ``size`` exchanges both ways,
    listings, notifications and assets."""
    others = many_members(app, size, prefix=f"{tag} member")
    with app.app_context():
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        kind = db.session.query(AssetCategory).first().id
        me = get(people["resident"])
        mine = ledger.account_of(me)
        for n, other in enumerate(others):
            theirs = ledger.account_of(get(other))
            giver, receiver = (mine, theirs) if n % 2 else (theirs, mine)
            ledger.record_exchange(giver=giver, receiver=receiver, minutes=30,
                                   service_date=clock.today() - timedelta(days=n % 40),
                                   recorded_by=get(receiver.member_id), confirm=True,
                                   idempotency_key=f"{tag}-{n}", category_id=garden)
            notify(me, f"Note {tag} {n}", "/notifications", bank_id=mine.bank_id)
            db.session.add(Asset(name=f"{tag} hall {n}", category_id=kind, status="published",
                                 latitude=51.5 + n / 5000, longitude=-0.1))
            if n % 5 == 0:  # an event a week ahead, the resident coming to each
                event = Event(bank_id=mine.bank_id, title=f"{tag} lunch club {n}",
                              place="Hall", starts_at=clock.utcnow() + timedelta(days=7 + n),
                              created_by_id=other, helpers_wanted=2, helper_minutes=60)
                db.session.add(event)
                db.session.flush()
                db.session.add(EventSignup(event_id=event.id, member_id=me.id))
        db.session.commit()
    for n, other in enumerate(others[: size // 3]):
        make.listing(other, kind="offer" if n % 2 else "request", title=f"{tag} help {n}")


def _budgets(app, client, people: dict) -> dict:
    found = {}
    for who, path in PAGES:
        login(client, people[f"{who}_email"])
        client.get(path)  # warm: a cached page builds on its first request
        found[(who, path)] = count_queries(app, client, path)
        client.post("/logout")
    return found


def test_main_pages_cost_the_same_queries_on_a_small_and_a_large_bank(app, client, make):
    people = {
        "resident": make.member(name="Rhian Resident", email="rhian@example.org"),
        "coordinator": make.member(Role.COORDINATOR, email="cora@example.org"),
        "council": make.member(Role.COUNCIL, email="council@example.org"),
    }
    people |= {"resident_email": "rhian@example.org", "coordinator_email": "cora@example.org",
               "council_email": "council@example.org"}
    _grow(app, make, people, 6, "small")
    small = _budgets(app, client, people)
    _grow(app, make, people, 120, "large")
    large = _budgets(app, client, people)
    differ = {page: (small[page], large[page]) for page in small if small[page] != large[page]}
    assert differ == {}
    assert max(small.values()) <= 40  # and each page is a handful of statements


# Tables that grow with a city: a page may read them only through an index.
GROWING = {"account", "asset", "entry", "exchange", "listing", "match", "member",
           "membership", "notification"}


def _statements(app, client, path: str) -> list[tuple[str, object]]:
    """The SELECT statements (with their parameters) one GET of ``path`` runs."""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def listener(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


def _full_scans(connection, statement: str, parameters) -> set[str]:
    """The growing tables ``statement`` reads in full.

    PostgreSQL: sequential scans are priced out, so any index that serves is taken and a
    Seq Scan left means none does. (On a test's few hundred rows the planner may still
    walk a whole index where a big table would not: only Seq Scans say something.)
    SQLite: a SCAN, unless it walks an index in order for a statement with a LIMIT (it
    stops at the page's end)."""
    import re

    if connection.dialect.name == "postgresql":
        plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                          parameters).scalar()
        found, nodes = set(), [plan[0]["Plan"]]
        while nodes:
            node = nodes.pop()
            if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in GROWING:
                found.add(node["Relation Name"])
            nodes += node.get("Plans", [])
        return found
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    limited = re.search(r"\bLIMIT\b", statement) is not None
    return {m.group(1) for row in rows
            if (m := re.fullmatch(r"SCAN (\w+)( USING (COVERING )?INDEX \w+)?", row[-1]))
            and m.group(1) in GROWING and not (m.group(2) and limited)}


def test_main_pages_read_growing_tables_through_indexes(app, client, make):
    """EXPLAIN every statement of every main page on a grown bank: none reads a table
    that grows with the city (members, entries, exchanges, notifications…) in full."""
    people = {
        "resident": make.member(name="Rhian Resident", email="rhian@example.org"),
        "coordinator": make.member(Role.COORDINATOR, email="cora@example.org"),
        "council": make.member(Role.COUNCIL, email="council@example.org"),
    }
    _grow(app, make, people, 60, "large")
    emails = {"resident": "rhian@example.org", "coordinator": "cora@example.org",
              "council": "council@example.org"}
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # plans from this data, as autovacuum
            with db.engine.connect() as connection:  # keeps them in production
                connection.exec_driver_sql("ANALYZE")
    scans = {}
    explained = 0
    for who, path in PAGES:
        login(client, emails[who])
        client.get(path)  # warm, as above
        statements = _statements(app, client, path)
        client.post("/logout")
        with app.app_context():
            connection = db.session.connection()
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for statement, parameters in statements:
                explained += 1
                if found := _full_scans(connection, statement, parameters):
                    scans[(who, path, statement[:200])] = found
            db.session.rollback()
    assert explained > len(PAGES)  # the listener saw the pages' statements
    with app.app_context():  # and the check can fail: a filter no index serves is caught
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        unindexed = "SELECT id FROM member WHERE bio = 'gardener'"
        assert _full_scans(connection, unindexed, {}) == {"member"}
        db.session.rollback()
    assert scans == {}


def test_a_request_that_only_read_keeps_its_prepared_statements(app, client, make,
                                                               db_kind):
    """A request that only read ends its transaction with COMMIT (infra/db.end_reads):
    psycopg forgets every prepared statement on a ROLLBACK, and every request ended with
    one, so no statement was ever prepared on PostgreSQL and each was planned afresh on
    every view. A request that wrote, and did not commit, still ends with a rollback."""
    from sqlalchemy import event, text

    from timebank.core.models import Member

    @app.get("/_unsaved")
    def unsaved():
        db.session.get(Member, 1).display_name = "Never saved"
        db.session.flush()  # written, not committed
        return "written"

    make.member(email="reader@example.org")
    login(client, "reader@example.org")
    ended: list[str] = []
    with app.app_context():
        engine = db.engine
    listeners = {"commit": lambda conn: ended.append("commit"),
                 "rollback": lambda conn: ended.append("rollback")}
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    try:
        for _ in range(7):  # (psycopg prepares a statement on its fifth run)
            ended.clear()
            assert client.get("/statement").status_code == 200
            assert "commit" in ended and "rollback" not in ended, ended
        if db_kind == "postgresql":
            with app.app_context():  # the pool's one connection, used by every request
                prepared = db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
            assert prepared >= 3, prepared

        ended.clear()
        assert client.get("/_unsaved").status_code == 200
        assert ended[-1:] == ["rollback"], ended
        with app.app_context():
            assert db.session.get(Member, 1).display_name != "Never saved"
    finally:
        for name, listener in listeners.items():
            event.remove(engine, name, listener)


def test_the_person_behind_a_session_costs_one_statement(app, client, make):
    """Every logged-in page needs the member, their memberships (their role in the bank)
    and how many banks there are (for its links): one statement, not three, since on
    PostgreSQL each is a round trip of its own. What the page shows is unchanged."""
    from timebank.core import banks
    from timebank.core.models import Member

    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    with app.app_context():
        second = banks.create_bank("second", "Second Bank")
        banks.join(db.session.get(Member, cora), second, "resident", "active")
        db.session.commit()
    login(client, "cora@example.org")
    statements = [" ".join(s.split()) for s, _ in _statements(app, client, "/privacy")]
    loads = [s for s in statements if "FROM member " in s]
    assert len(loads) == 1, statements
    assert "LEFT OUTER JOIN membership" in loads[0] and "count(bank.id)" in loads[0]
    assert not [s for s in statements if s.startswith("SELECT count(bank.id)")], statements
    assert not [s for s in statements if s.startswith("SELECT membership.")], statements
    # The person; their two banks' names, for the switcher; their unread notifications.
    assert len(statements) == 3, statements
    # Both banks are hers: links name the bank she is in, and she may switch.
    home = client.get("/").get_data(as_text=True)
    assert "Second Bank" in home and "/b/" in home
    assert client.get("/b/second/").status_code == 200
