"""A real read replica: a PostgreSQL primary and a streaming hot standby made with
``pg_basebackup -R``, on loopback. Reports and downloads read from the standby; writes
never reach it; a member never sees a stale balance, nor their own download without
what they just did, however far it lags; and with the standby gone the site carries on
from the primary."""

from __future__ import annotations

import logging
import re
import time

import psycopg
import pytest
from sqlalchemy import event, func, select

from tests import pg
from tests.support import Factory, build_app, flask_cli, hidden_fields, login, record_form
from timebank.core.models import Exchange, Member
from timebank.infra import db as database
from timebank.infra.extensions import REPLICA, db

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair():
    primary = pg.start()
    standby = None
    try:
        url = primary.createdb("timebank_primary")
        upgraded = flask_cli(url, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        standby = pg.start_standby(primary)
        yield primary, standby, url, standby.url("timebank_primary")
    finally:
        if standby is not None:
            standby.stop()
        primary.stop()


def _libpq(server: pg.PgServer) -> str:
    return f"host=127.0.0.1 port={server.port} user=postgres dbname=timebank_primary"


def _caught_up(primary: pg.PgServer, standby: pg.PgServer, *, upto: str = "replay") -> None:
    """Wait until the standby has replayed (or, with upto="receive", only received)
    everything the primary has written. Streaming is asynchronous: a standby whose replay
    is paused reads as caught up until the new WAL has actually reached it."""
    with psycopg.connect(_libpq(primary), autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    lsn = {"replay": "pg_last_wal_replay_lsn()", "receive": "pg_last_wal_receive_lsn()"}[upto]
    deadline = time.monotonic() + 30
    with psycopg.connect(_libpq(standby), autocommit=True) as conn:
        while conn.execute(f"SELECT {lsn} >= %s::pg_lsn",
                           (target,)).fetchone()[0] is not True:
            assert time.monotonic() < deadline, f"the standby did not {upto} the WAL"
            time.sleep(0.1)


@pytest.fixture
def replica_app(pair):
    """The app reading from the standby. Its pooled connections are closed however the
    test ends: left open, a failure here surfaced as another test's ResourceWarning."""
    _primary, _standby, url, replica_url = pair
    app = build_app(url, TIMEBANK_DATABASE_REPLICA_URL=replica_url,
                    TIMEBANK_REPLICA_MAX_LAG_SECONDS=3600)
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


class Statements:
    """Every statement each engine ran, as (engine, SQL)."""

    def __init__(self, app):
        self.seen: list[tuple[str, str]] = []
        with app.app_context():
            for name, engine in (("primary", db.engine), ("replica", db.engines[REPLICA])):
                event.listen(engine, "before_cursor_execute", self._hook(name))

    def _hook(self, name: str):
        def seen(_conn, _cursor, statement, *_args):
            self.seen.append((name, statement))
        return seen

    def during(self, action) -> dict[str, list[str]]:
        start = len(self.seen)
        action()
        found: dict[str, list[str]] = {"primary": [], "replica": []}
        for name, statement in self.seen[start:]:
            found[name].append(" ".join(statement.split()))
        return found


def _balance(page: str) -> str:
    """The words of the balance box on a member's home page."""
    found = re.search(r'<section id="balance".*?</section>', page, re.S)
    assert found, page[:2000]
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def test_reads_go_to_the_standby_writes_never_and_lag_never_shows_a_member(
        pair, replica_app, caplog):
    primary, standby, _url, _replica_url = pair
    app = replica_app
    make = Factory(app)
    make.member("coordinator", name="Cora Coordinator", email="cora@example.org")
    ann = make.member(name="Ann Able", email="ann@example.org")
    bob = make.member(name="Bob Baker", email="bob@example.org")
    _caught_up(primary, standby)
    statements = Statements(app)
    coordinator, giver, receiver = app.test_client(), app.test_client(), app.test_client()
    login(coordinator, "cora@example.org")
    login(giver, "ann@example.org")
    login(receiver, "bob@example.org")

    # A coordinator's report: its figures are read from the standby.
    report = statements.during(lambda: coordinator.get("/coordinator/reports"))
    assert any("month_total" in s for s in report["replica"]), report
    assert not any("month_total" in s for s in report["primary"])

    def record_and_confirm(minutes: int) -> int:
        hours, minutes = divmod(minutes, 60)
        made = giver.post("/exchanges/new", data={
            **hidden_fields(giver.get("/exchanges/new").get_data(as_text=True)),
            **record_form(f"Bob Baker (#{bob})", hours=hours, minutes=minutes,
                          description=f"Fixed a shelf, {hours} h {minutes} min")})
        assert made.status_code == 303, re.findall(
            r'id="([a-z_]+)-error"[^>]*>\s*([^<]*)', made.get_data(as_text=True))
        exchange_id = int(made.headers["Location"].rsplit("/", 1)[1])
        token = hidden_fields(receiver.get("/").get_data(as_text=True))["csrf_token"]
        done = receiver.post(f"/exchanges/{exchange_id}/confirm", data={"csrf_token": token})
        assert done.status_code in (302, 303)
        return exchange_id

    # Writes (and the pages that must show them at once) never touch the standby.
    writes = statements.during(lambda: record_and_confirm(45))
    assert writes["replica"] == [] and any("INSERT INTO exchange" in s
                                           for s in writes["primary"])
    with app.app_context():
        assert db.session.scalar(select(func.count(Exchange.id))) == 1
        db.session.remove()

    # The standby stops replaying: it lags. A member's balance and statement come from the
    # primary (never stale); so does their own download just after they acted.
    with psycopg.connect(_libpq(standby), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        before = _balance(receiver.get("/").get_data(as_text=True))
        late = record_and_confirm(60)
        after = _balance(receiver.get("/").get_data(as_text=True))
        assert after != before, (before, after)  # the new hour shows at once
        _caught_up(primary, standby, upto="receive")  # it has the hour, not yet replayed
        with app.app_context():
            assert database.replica_lag() > 0  # behind, and /metrics would say by how much
            on_standby = psycopg.connect(_libpq(standby))
            with on_standby:
                seen = on_standby.execute("SELECT count(*) FROM exchange WHERE id = %s",
                                          (late,)).fetchone()[0]
            assert seen == 0  # the standby really does not have it yet
        own = statements.during(lambda: receiver.get("/account/data.json").get_data())
        assert own["replica"] == []  # they just confirmed: read from the primary
        assert f'"id": {late}' in receiver.get("/account/data.json").get_data(as_text=True)
        # Someone who changed nothing reads the lagging standby (within the allowed lag).
        lagging = statements.during(lambda: coordinator.get("/coordinator/reports"))
        assert lagging["replica"], lagging
        # Past the allowed lag, even they read from the primary.
        app.config["TIMEBANK_REPLICA_MAX_LAG_SECONDS"] = 0.001
        time.sleep(database.LAG_MEMO_SECONDS + 0.1)
        strict = statements.during(lambda: coordinator.get("/coordinator/reports"))
        assert strict["replica"] == [s for s in strict["replica"] if "pg_last" in s]
        assert any("month_total" in s for s in strict["primary"])
        app.config["TIMEBANK_REPLICA_MAX_LAG_SECONDS"] = 3600
    finally:
        with psycopg.connect(_libpq(standby), autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
    _caught_up(primary, standby)

    # A coordinator's download of a member's data: read from the standby, audited on the
    # primary. Nothing but reading ever ran on the standby.
    download = statements.during(
        lambda: coordinator.get(f"/coordinator/members/{ann}/data.json").get_data())
    assert any("FROM exchange" in s for s in download["replica"]), download["replica"]
    assert any("INSERT INTO audit_event" in s for s in download["primary"])
    for _engine, statement in (s for s in statements.seen if s[0] == "replica"):
        assert statement.lstrip().upper().startswith("SELECT"), statement
        assert "FOR UPDATE" not in statement.upper()

    # The standby goes away: the site carries on from the primary, and says so in the log.
    pg.halt(standby)
    with caplog.at_level(logging.WARNING, logger="timebank.db"):
        gone = statements.during(lambda: assert_ok(coordinator.get("/coordinator/reports")))
    assert any("month_total" in s for s in gone["primary"])
    assert "read replica is not used" in caplog.text
    assert_ok(receiver.get("/account/data.json"))
    with app.app_context():
        assert database.replica_lag() == -1
        assert db.session.scalar(select(func.count(Exchange.id))) == 2
        assert db.session.scalar(select(func.count(Member.id))) == 3


def assert_ok(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response
