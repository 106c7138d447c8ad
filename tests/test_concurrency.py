"""Two gunicorn workers, hundreds of concurrent requests: no doubled exchange, invariants hold."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from tests import pg
from tests.support import (
    PASSWORD,
    Factory,
    Gunicorn,
    build_app,
    clone,
    flask_cli,
    hidden_fields,
    logged_in_session,
)
from timebank.core.banks import create_bank
from timebank.core.ledger import writer as ledger
from timebank.core.models import Account, AccountKind, Entry, Exchange, ExchangeStatus, Member
from timebank.infra import cache, clock
from timebank.infra.extensions import db

pytestmark = pytest.mark.slow

MEMBERS = 8
DUPLICATE_ROUNDS = 100  # each: GET form + the same POST twice at once = 3 requests
CONFIRM_ROUNDS = 50  # each: GET form, POST pending, GET dashboard, 3 confirms at once


def _twice(session, url: str, data: dict):
    """The same form sent twice at the same moment, as a double click on a slow line does."""
    with ThreadPoolExecutor(2) as pair:
        return tuple(pair.map(lambda s: s.post(url, data=data, allow_redirects=False,
                                                timeout=60), [clone(session), clone(session)]))


@pytest.fixture
def server_db(fresh_db):
    url = fresh_db("timebank_concurrency")
    upgraded = flask_cli(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    app = build_app(url)
    factory = Factory(app)
    emails = []
    with app.app_context():
        for i in range(MEMBERS):
            factory.member(email=f"c{i}@example.org", name=f"Conc {i}")
            emails.append(f"c{i}@example.org")
    yield url, app, emails
    with app.app_context():
        db.engine.dispose()


def test_concurrent_duplicates_and_confirmations(server_db):
    url, app, emails = server_db
    rng = random.Random(7)
    requests_sent = 0
    keys: list[str] = []
    statuses: list[int] = []

    with Gunicorn(url, workers=2, threads=4) as server:
        base = server.url
        sessions = [logged_in_session(base, e, PASSWORD) for e in emails]
        requests_sent += 2 * len(sessions)

        def duplicate_round(i: int) -> tuple[int, int, str, str]:
            me = i % MEMBERS
            other = (me + 1 + rng.randrange(MEMBERS - 1)) % MEMBERS
            session = sessions[me]
            page = clone(session).get(base + "/exchanges/new", timeout=60).text
            fields = hidden_fields(page)
            data = {**fields, "direction": "received" if i % 2 else "gave",
                    "other": f"Conc {other} (#{other + 1})", "hours": "0",
                    "extra_minutes": "15", "service_date": clock.today().isoformat(),
                    "category": "0", "description": f"round {i}"}
            a, b = _twice(session, base + "/exchanges/new", data)
            return a.status_code, b.status_code, a.headers.get("Location", ""), \
                b.headers.get("Location", "") + "|" + fields["idempotency_key"]

        with ThreadPoolExecutor(8) as pool:
            for sa, sb, la, lb_key in pool.map(duplicate_round, range(DUPLICATE_ROUNDS)):
                lb, key = lb_key.split("|")
                statuses += [sa, sb]
                keys.append(key)
                assert sa == sb == 303, (sa, sb)
                assert la == lb, (la, lb)  # the second request gets the first result
        requests_sent += 3 * DUPLICATE_ROUNDS

        def confirm_round(i: int) -> list[int]:
            giver = i % MEMBERS
            receiver = (giver + 3) % MEMBERS
            page = clone(sessions[giver]).get(base + "/exchanges/new", timeout=60).text
            data = {**hidden_fields(page), "direction": "gave",
                    "other": f"Conc {receiver} (#{receiver + 1})", "hours": "0",
                    "extra_minutes": "30", "service_date": clock.today().isoformat(),
                    "category": "0", "description": f"confirm {i}"}
            made = clone(sessions[giver]).post(base + "/exchanges/new", data=data,
                                               allow_redirects=False, timeout=60)
            assert made.status_code == 303, made.text[:300]
            exchange_id = int(made.headers["Location"].rsplit("/", 1)[1])
            dash = clone(sessions[receiver]).get(base + "/", timeout=60).text
            token = hidden_fields(dash)["csrf_token"]
            target = f"{base}/exchanges/{exchange_id}/confirm"
            with ThreadPoolExecutor(3) as trio:
                answers = list(trio.map(
                    lambda s: s.post(target, data={"csrf_token": token},
                                     allow_redirects=False, timeout=60),
                    [clone(sessions[receiver]) for _ in range(3)]))
            return [made.status_code] + [a.status_code for a in answers] + [exchange_id]

        confirmed_ids = []
        before = _stamp(app)
        with _WorkbenchReader(app) as reader, ThreadPoolExecutor(8) as pool:
            for result in pool.map(confirm_round, range(CONFIRM_ROUNDS)):
                *codes, exchange_id = result
                statuses += codes
                confirmed_ids.append(exchange_id)
                assert codes[1:] == [303, 303, 303], codes
        requests_sent += 6 * CONFIRM_ROUNDS
        # Each confirmation's commit counted once, in order; the workbench, read again
        # and again meanwhile (only what moved since each read), ends with the figures a
        # full read gives.
        assert _stamp(app).serial == before.serial + CONFIRM_ROUNDS
        assert reader.partial > 5, (reader.reads, reader.partial)
        _pool_as_read_in_full(app)

        log_text = server.output()

    assert requests_sent >= 500, requests_sent
    assert 500 not in statuses
    assert "Traceback" not in log_text, log_text[-3000:]
    with app.app_context():
        # One exchange per submitted form, however often it arrived.
        made_keys = [k for (k,) in db.session.query(Exchange.idempotency_key)]
        assert len(made_keys) == len(set(made_keys))
        assert set(keys) <= set(made_keys)
        assert db.session.query(Exchange).count() == DUPLICATE_ROUNDS + CONFIRM_ROUNDS
        for exchange_id in confirmed_ids:
            exchange = db.session.get(Exchange, exchange_id)
            assert exchange.status == ExchangeStatus.CONFIRMED
            assert db.session.query(Entry).filter_by(exchange_id=exchange_id).count() == 2
        assert ledger.check_ledger() == []
    check = flask_cli(url, "check-ledger")
    assert check.returncode == 0, check.stderr
    assert re.search(r"ledger OK: \d+ exchanges", check.stdout)


def _stamp(app) -> cache.Stamp:
    from timebank.web.tenancy import current_bank_id

    with app.test_request_context("/"):
        return cache.stamp(cache.give_and_take(current_bank_id()))


class _WorkbenchReader:
    """Reads the workbench's pool over and over while exchanges are confirmed, each time
    only what moved since the read before, and checks each against a full read of the
    same snapshot (on PostgreSQL, REPEATABLE READ: the pool's own reads are READ
    COMMITTED in the app, but in one snapshot every commit counted so far is seen)."""

    def __init__(self, app):
        self.app, self.reads, self.stop, self.failed = app, 0, threading.Event(), None
        self.partial = 0  # reads of only what moved
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from timebank.core.matching import brokering
        from timebank.web.tenancy import current_bank_id

        read = brokering.account_totals

        def counted(bank_id, moved_after=None):
            self.partial += moved_after is not None
            return read(bank_id, moved_after)

        brokering.account_totals = counted
        try:
            while not self.stop.is_set():
                with self.app.test_request_context("/"):
                    if db.engine.dialect.name == "postgresql":
                        db.session.connection(
                            execution_options={"isolation_level": "REPEATABLE READ"})
                    bank = current_bank_id()
                    pool = brokering.candidate_pool(bank)
                    assert pool.with_totals(read(bank)) is pool, "behind a full read"
                    db.session.remove()
                self.reads += 1
        except Exception as error:  # noqa: BLE001 - raised again in __exit__
            self.failed = error
        finally:
            brokering.account_totals = read

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()
        if self.failed is not None:
            raise self.failed


def _pool_as_read_in_full(app) -> None:
    from timebank.core.matching import brokering
    from timebank.web.tenancy import current_bank_id

    with app.test_request_context("/"):
        bank = current_bank_id()
        pool = brokering.candidate_pool(bank)
        full = pool.with_totals(brokering.account_totals(bank))
        assert full is pool  # nothing differs from a full read
        given = db.session.scalar(select(func.sum(Account.given)).where(
            Account.bank_id == bank, Account.member_id.isnot(None)))
        assert int(pool.given.sum()) == int(pool.received.sum()) == given >= 30 * CONFIRM_ROUNDS


def test_check_ledger_cli_fails_naming_a_tampered_account(server_db):
    url, app, emails = server_db
    with app.app_context():
        a, b = (ledger.account_of(db.session.query(ledger.Member).filter_by(email=e).one())
                for e in emails[:2])
        ledger.record_exchange(giver=a, receiver=b, minutes=60, service_date=clock.today(),
                               recorded_by=b.member, idempotency_key="t", confirm=True)
        account_id = b.id
        db.session.execute(db.text("UPDATE account SET balance = balance + 7 WHERE id = :i"),
                           {"i": account_id})
        db.session.commit()
    check = flask_cli(url, "check-ledger")
    assert check.returncode == 1
    assert f"account {account_id} " in check.stderr and "-53" in check.stderr
    repaired = flask_cli(url, "check-ledger", "--repair-balances")
    assert repaired.returncode == 0, repaired.stderr
    assert f"account {account_id}: balance -53 -> -60" in repaired.stdout


INTERBANK_ROUNDS = 40


@pytest.fixture
def two_bank_db(fresh_db):
    """A migrated database with the first bank and "north", four members in each."""
    url = fresh_db("timebank_interbank")
    upgraded = flask_cli(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    app = build_app(url)
    factory = Factory(app)
    with app.app_context():
        create_bank("north", "North Bank")
        db.session.commit()
    south = [factory.member(email=f"s{i}@example.org", name=f"South {i}") for i in range(4)]
    north = [factory.member(email=f"n{i}@example.org", name=f"North {i}", bank="north")
             for i in range(4)]
    with app.app_context():
        for member_id in south + north:
            db.session.get(Member, member_id).findable_elsewhere = True
        db.session.commit()
    yield url, app, south, north
    with app.app_context():
        db.engine.dispose()


def test_concurrent_exchanges_between_banks(two_bank_db):
    """Members of two banks record time for each other through two workers at once:
    one exchange per form, one confirmation each, every bank balanced, clearings mirror."""
    url, app, south, north = two_bank_db
    statuses: list[int] = []
    with Gunicorn(url, workers=2, threads=4) as server:
        base = server.url
        sessions = {m: logged_in_session(base, f"{p}{i}@example.org", PASSWORD)
                    for p, group in (("s", south), ("n", north)) for i, m in enumerate(group)}

        def round_trip(i: int) -> tuple[list[int], int, int]:
            # South member i gives to North member i (pending; North confirms three times at
            # once); South member i+1 says they received from North member i (confirmed).
            giver, receiver = south[i % 4], north[i % 4]
            page = clone(sessions[giver]).get(base + "/exchanges/new", timeout=60).text
            data = {**hidden_fields(page), "direction": "gave",
                    "other": f"North {i % 4} (#{receiver})", "hours": "0",
                    "extra_minutes": "45", "service_date": clock.today().isoformat(),
                    "category": "0", "description": f"between {i}"}
            a, b = _twice(sessions[giver], base + "/exchanges/new", data)
            codes = [a.status_code, b.status_code]
            assert a.headers["Location"] == b.headers["Location"]
            exchange_id = int(a.headers["Location"].rsplit("/", 1)[1])
            dash = clone(sessions[receiver]).get(base + "/", timeout=60).text
            token = hidden_fields(dash)["csrf_token"]
            with ThreadPoolExecutor(3) as trio:
                codes += [r.status_code for r in trio.map(
                    lambda s: s.post(f"{base}/b/north/exchanges/{exchange_id}/confirm",
                                     data={"csrf_token": token}, allow_redirects=False,
                                     timeout=60),
                    [clone(sessions[receiver]) for _ in range(3)])]
            taker = south[(i + 1) % 4]
            page = clone(sessions[taker]).get(base + "/exchanges/new", timeout=60).text
            data = {**hidden_fields(page), "direction": "received",
                    "other": f"North {i % 4} (#{receiver})", "hours": "0",
                    "extra_minutes": "30", "service_date": clock.today().isoformat(),
                    "category": "0", "description": f"back {i}"}
            c, d = _twice(sessions[taker], base + "/exchanges/new", data)
            codes += [c.status_code, d.status_code]
            assert c.headers["Location"] == d.headers["Location"]
            return codes, exchange_id, int(c.headers["Location"].rsplit("/", 1)[1])

        made = []
        with ThreadPoolExecutor(8) as pool:
            for codes, first, second in pool.map(round_trip, range(INTERBANK_ROUNDS)):
                statuses += codes
                assert codes == [303] * 7, codes
                made += [first, second]
        log_text = server.output()

    assert len(statuses) >= 7 * INTERBANK_ROUNDS and 500 not in statuses
    assert "Traceback" not in log_text, log_text[-3000:]
    with app.app_context():
        assert db.session.query(Exchange).count() == 2 * INTERBANK_ROUNDS  # no doubles
        for exchange_id in made:
            exchange = db.session.get(Exchange, exchange_id)
            assert exchange.status == ExchangeStatus.CONFIRMED
            assert exchange.counter_bank_id is not None
            assert db.session.query(Entry).filter_by(exchange_id=exchange_id).count() == 4
        clearings = {a.bank_id: a.balance for a in db.session.query(Account).filter_by(
            kind=AccountKind.CLEARING)}
        assert sorted(clearings.values()) == [-(45 - 30) * INTERBANK_ROUNDS,
                                              (45 - 30) * INTERBANK_ROUNDS]
        assert ledger.check_ledger() == []
    check = flask_cli(url, "check-ledger")
    assert check.returncode == 0, check.stderr


# -- faults ------------------------------------------------------------------------------


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its children (gunicorn's master and workers), from /proc."""
    found = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


class _Recorders:
    """MEMBERS members recording exchanges as fast as the server lets them, each noting
    what the server told them was recorded (a 303 to the exchange)."""

    def __init__(self, base: str, sessions):
        self.base, self.sessions = base, sessions
        self.told: list[str] = []
        self.refused: list[str] = []  # answers that were not "recorded", as shown
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(i,)) for i in range(MEMBERS)]

    def _loop(self, me: int) -> None:
        other = (me + 1) % MEMBERS
        n = 0
        while not self.stop.is_set():
            n += 1
            description = f"fault {me}-{n}"
            try:
                page = clone(self.sessions[me]).get(self.base + "/exchanges/new", timeout=10)
                made = clone(self.sessions[me]).post(
                    self.base + "/exchanges/new", allow_redirects=False, timeout=10, data={
                        **hidden_fields(page.text), "direction": "gave",
                        "other": f"Conc {other} (#{other + 1})", "hours": "0",
                        "extra_minutes": "15", "service_date": clock.today().isoformat(),
                        "category": "0", "description": description})
            except requests.RequestException:
                time.sleep(0.05)  # the server is away: try again until told to stop
                continue
            if made.status_code == 303:
                self.told.append(description)
            else:
                self.refused.append(f"{made.status_code} {made.text[:200]}")
                time.sleep(0.05)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def until(self, count: int, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        start = len(self.told)
        while len(self.told) < start + count:
            assert time.monotonic() < deadline, (len(self.told), self.refused[-3:])
            time.sleep(0.05)

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def _recorded(app, descriptions: list[str]) -> set[str]:
    with app.app_context():
        found = set(db.session.scalars(select(Exchange.description).where(
            Exchange.description.in_(descriptions))))
        db.session.remove()
        db.engine.dispose()
    return found


def test_the_server_killed_under_load_loses_nothing_it_said_was_recorded(server_db):
    """SIGKILL to gunicorn's master and workers at once while eight members record: every
    exchange a member was told was recorded is there after, the ledger checks, and a new
    server takes the work up."""
    url, app, emails = server_db
    server = Gunicorn(url, workers=2, threads=4).__enter__()
    try:
        sessions = [logged_in_session(server.url, e, PASSWORD) for e in emails]
        with _Recorders(server.url, sessions) as members:
            members.until(60)
            for pid in _process_tree(server.proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            server.proc.wait(10)
        told = list(members.told)
    finally:
        server.__exit__()
    assert len(told) >= 60
    assert _recorded(app, told) == set(told)
    check = flask_cli(url, "check-ledger")
    assert check.returncode == 0, check.stdout + check.stderr
    with Gunicorn(url, workers=2, threads=4) as again:
        sessions = [logged_in_session(again.url, e, PASSWORD) for e in emails]
        with _Recorders(again.url, sessions) as members:
            members.until(8)
        assert _recorded(app, members.told) == set(members.told)
    assert flask_cli(url, "check-ledger").returncode == 0


def test_postgresql_restarted_under_load_fails_cleanly_and_the_site_recovers(tmp_path):
    """The database restarts while members record: requests in that moment get a 503 that
    says so (never a 500), and the same gunicorn serves again once it is
    back, without a restart; nothing a member was told was recorded is lost."""
    server = pg.start()
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        url = server.createdb("timebank_restart")
        assert flask_cli(url, "db", "upgrade").returncode == 0
        app = build_app(url)
        stack.callback(_dispose, app)  # (its pool holds connections to this server)
        factory = Factory(app)
        emails = [f"c{i}@example.org" for i in range(MEMBERS)]
        with app.app_context():
            for i, email in enumerate(emails):
                factory.member(email=email, name=f"Conc {i}")
        with Gunicorn(url, workers=2, threads=4) as web:
            sessions = [logged_in_session(web.url, e, PASSWORD) for e in emails]
            with _Recorders(web.url, sessions) as members:
                members.until(30)
                pg.stop_only(server)
                deadline = time.monotonic() + 60
                while not any(r.startswith("503 ") for r in members.refused):
                    assert time.monotonic() < deadline, members.refused[-3:]
                    time.sleep(0.05)
                pg.start_again(server)
                members.until(30)  # the same workers, recording again by themselves
            told, refused = list(members.told), list(members.refused)
            output = web.output()
        # In that moment: 503 "could not reach its database… may not have been saved"; a
        # form whose page
        # came back as that 503 (no token) is sent again and refused as expired (400).
        # Never a 500, and each with its words.
        assert {r[:4] for r in refused} <= {"503 ", "400 "}, [
            r for r in refused if not r.startswith(("503", "400"))][:3]
        assert any("could not reach its database" in r for r in refused)
        assert "database unavailable" in output
        assert "Internal Server Error" not in output
        assert _recorded(app, told) == set(told)
        assert flask_cli(url, "check-ledger").returncode == 0


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
