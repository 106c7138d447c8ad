"""Test helpers and the servers tests start: forms, logins, a factory, live servers.

Fixtures live in conftest.py and use these; tests import from here directly.
"""

from __future__ import annotations

import atexit
import email
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import requests
from werkzeug.serving import make_server

from tests.pg import free_port
from timebank import create_app
from timebank.core.ledger import writer as ledger
from timebank.core.models import Member, MemberStatus, Role
from timebank.infra import clock
from timebank.infra.extensions import db

ROOT = Path(__file__).resolve().parent.parent
# This run's own scratch folder (never a fixed path another run could share), removed at exit.
RUN_DIR = tempfile.mkdtemp(prefix="timebank-tests-")
atexit.register(shutil.rmtree, RUN_DIR, ignore_errors=True)
PASSWORD = "correct-horse-battery"
# The moment every test starts at (tests/conftest.py pins the app's clock there before
# each test, and gunicorn and CLI subprocesses get it as TIMEBANK_CLOCK_START). No test
# reads the machine's calendar: `make test` runs the date-sensitive tests again with the
# machine's clock moved and this moment moved (TIMEBANK_TEST_NOW), and they must pass.
NOW = datetime.fromisoformat(os.environ.get("TIMEBANK_TEST_NOW", "2026-06-15T12:00:00"))
TODAY = NOW.date()
PLACES = {
    "1 high street, riverside": (51.5010, -0.1000),
    "2 high street, riverside": (51.5012, -0.1003),
    "10 hill road, hillcrest": (51.5200, -0.1200),
    "far farm, elsewhere": (52.2000, 0.1200),
    "rv1 1aa": (51.5008, -0.0998),
}


def build_app(url: str, **overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        # No test may reach the internet: the default geocoder is a closed local port.
        "TIMEBANK_GEOCODER_DOMAIN": "127.0.0.1:9",
        "TIMEBANK_GEOCODER_SCHEME": "http",
        "TIMEBANK_GEOCODER_MIN_INTERVAL": 0.0,
        "TIMEBANK_GEOCODER_TIMEOUT": 1.0,
        # Nor fetch map tiles: tests that need the tile layer set this themselves.
        "TIMEBANK_TILES_URL": "",
        "TIMEBANK_GEOCODER_LOCK": os.path.join(RUN_DIR, f"geo-{uuid.uuid4().hex}.lock"),
    }
    config.update(overrides)
    return create_app(config)


# -- members --------------------------------------------------------------------


class Factory:
    def __init__(self, app):
        self.app = app
        self.n = 0

    def member(self, role: Role | str = Role.RESIDENT, status=MemberStatus.ACTIVE,
               name: str | None = None, email: str | None = None, account: bool = True,
               bank: str | None = None, neighbourhood: str = "Riverside") -> int:
        """A person: admin and council viewer are install roles; resident and coordinator
        are roles in ``bank`` (a slug; default: the first bank)."""
        from timebank.core import banks
        from timebank.core.models import Bank

        self.n += 1
        role = Role(role)
        with self.app.app_context():
            m = Member(
                email=email or f"person{self.n}@example.org",
                display_name=name or f"Person {self.n}",
                install_role=role if role in (Role.ADMIN, Role.COUNCIL) else Role.RESIDENT,
                status=MemberStatus(status),
                neighbourhood=neighbourhood,
                email_verified_at=clock.utcnow(),
            )
            m.set_password(PASSWORD)
            db.session.add(m)
            db.session.flush()
            the_bank = (db.session.query(Bank).filter_by(slug=bank).one() if bank
                        else banks.ensure_default_bank())
            if role != Role.COUNCIL:
                membership = banks.join(
                    m, the_bank, "coordinator" if role == Role.COORDINATOR else "resident",
                    MemberStatus(status) if account else MemberStatus.PENDING)
                membership.status = MemberStatus(status)
            if account:
                ledger.open_account(m, the_bank.id)
            db.session.commit()
            return m.id

    def listing(self, member: int, kind: str = "request", title: str = "Hedge",
                category: str = "gardening", days: int = 9) -> int:
        """An open offer or request of ``member``'s, ending in ``days``."""
        from timebank.core.models import Category, Listing

        with self.app.app_context():
            category_id = db.session.query(Category).filter_by(slug=category).one().id
            listing = Listing(bank_id=bank_of(member),
                              member_id=member, kind=kind, category_id=category_id, title=title,
                              expires_on=clock.today() + timedelta(days=days))
            db.session.add(listing)
            db.session.commit()
            return listing.id

    def match(self, requester: int, helper: int, by: int, title: str = "Lawn") -> tuple[int, int]:
        """A gardening request by ``requester`` and ``by``'s introduction of ``helper``."""
        from timebank.core.models import Category, Listing, Match

        with self.app.app_context():
            garden = db.session.query(Category).filter_by(slug="gardening").one().id
            request = Listing(bank_id=bank_of(requester),
                              member_id=requester, kind="request", category_id=garden,
                              title=title, expires_on=clock.today() + timedelta(days=9))
            db.session.add(request)
            db.session.flush()
            match = Match(bank_id=bank_of(requester),
                          request_id=request.id, requester_id=requester, helper_id=helper,
                          created_by_id=by)
            db.session.add(match)
            db.session.commit()
            return request.id, match.id


def bank_of(member_id: int) -> int:
    """The bank a test member was made in (listings, matches and news belong to one)."""
    return db.session.get(Member, member_id).all_memberships()[0].bank_id


def get(member_id: int) -> Member:
    return db.session.get(Member, member_id)


def agree_to_everything(app, second: int) -> int:
    """A second coordinator (member ``second``) agrees to every request waiting for one
    (four_eyes.py); how many there were."""
    from timebank.core import approvals as service
    from timebank.core.models import Approval

    with app.test_request_context():
        waiting = db.session.query(Approval).filter_by(status="pending").all()
        for approval in waiting:
            service.decide(approval.id, get(second), True, approval.bank_id)
        return len(waiting)


def balance_of(app, member_id: int) -> int:
    with app.app_context():
        return ledger.account_of(get(member_id)).balance


def record_form(other: str, direction="gave", hours=1, minutes=30, **extra) -> dict:
    """The fields of "Record time" (``/exchanges/new``), for today."""
    return {"direction": direction, "other": other, "hours": str(hours),
            "extra_minutes": str(minutes), "service_date": TODAY.isoformat(), "category": "0",
            "description": "Helped with the garden", **extra}


def mail_to(app, smtp, to: str) -> list[tuple[str, str]]:
    """(subject, body) of every e-mail delivered to ``to`` so far, after ``send-mail``."""
    from timebank import jobs

    with app.app_context():
        jobs.send_mail(app.config)
    inbox, _port = smtp
    return [(message["Subject"], message.get_payload(decode=True).decode())
            for envelope, message in zip(inbox.envelopes, inbox.messages, strict=True)
            if envelope.rcpt_tos == [to]]


# -- forms and logins (test client) ---------------------------------------------------

HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """The CSRF token and idempotency key a page's first form carries."""
    found: dict[str, str] = {}
    for name, value in HIDDEN.findall(html):
        found.setdefault(name, value)
    return found


def submit(client, url: str, data: dict, page: str | None = None, **kwargs):
    """POST ``data`` to ``url`` with the hidden fields (CSRF, idempotency) of ``page``."""
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={**hidden_fields(html), **data}, **kwargs)


def login(client, email: str, password: str = PASSWORD):
    """Log in as ``email``, logging out whoever was logged in first."""
    logout(client)
    return submit(client, "/login", {"email": email, "password": password})


def logout(client) -> None:
    html = client.get("/", follow_redirects=True).get_data(as_text=True)  # council: /reports
    found = re.search(r'action="((?:/b/[a-z0-9-]+)?/logout)"', html)
    if found:
        client.post(found.group(1), data=hidden_fields(html))


# -- every route of the site ---------------------------------------------------------

# Values for the fixed-choice parts of URLs (werkzeug's any() converter takes only its own).
URL_CHOICES = {"action": ("approve", "suspend", "reactivate", "confirm", "decline", "cancel",
                          "accept", "renew", "close", "reopen", "complete", "retire",
                          "restore", "archive", "support", "withdraw", "signup",
                          "leave"),
               "kind": ("categories",), "table": ("months", "outcomes"),
               "answer": ("agree", "refuse"), "outcome": ("dismiss",)}


def kind_choice_follows_renames(client, app, page: str, other: str) -> int:
    """A filter's kind of help, drawn once per what it shows: chosen on ``page`` (with a
    "?category=" of its own) it is drawn selected, not on ``other``, and renamed it shows
    its new name at once. Returns the kind's id."""
    from timebank.core.models import Category

    with app.app_context():
        garden = db.session.query(Category).filter_by(name="Gardening").one().id
    first = client.get(f"{page}?category={garden}").get_data(as_text=True)
    assert f'<option selected value="{garden}">Gardening<' in first
    assert f'<option selected value="{garden}">' not in client.get(other).get_data(
        as_text=True)
    with app.app_context():
        db.session.get(Category, garden).name = "Gardens and allotments"
        db.session.commit()
    again = client.get(f"{page}?category={garden}").get_data(as_text=True)
    assert f'<option selected value="{garden}">Gardens and allotments<' in again
    return garden


def route_urls(app, ids: dict, bank: str | None = None):
    """(rule, method, path) for every route and method, its arguments taken from ``ids``
    (``bank`` for the bank slug; rules under /b/<bank> are skipped when it is None)."""
    for rule in app.url_map.iter_rules():
        if "bank" in rule.arguments and bank is None:
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            values: list[dict] = [{}]
            for arg in sorted(rule.arguments):
                if arg == "bank":
                    choices = [bank]
                elif arg in URL_CHOICES:
                    choices = list(URL_CHOICES[arg])
                else:
                    choices = [ids.get(arg, "x")]
                values = [{**v, arg: c} for v in values for c in choices]
            for v in values:
                try:
                    path = rule.build(v, append_unknown=False)[1]
                except Exception:  # noqa: BLE001, S112 - werkzeug refuses values outside any()
                    continue
                yield rule, method, path


# -- servers on loopback ----------------------------------------------------------------


class Inbox:
    def __init__(self, reply: str = "250 OK"):
        self.messages: list[email.message.Message] = []
        self.envelopes = []
        self.reply = reply

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
            self.messages.append(email.message_from_bytes(envelope.content))
        return self.reply


def mail_config(port: int) -> dict:
    return {"TIMEBANK_MAIL_HOST": "127.0.0.1", "TIMEBANK_MAIL_PORT": port,
            "TIMEBANK_MAIL_SENDER": "bank@example.org", "TIMEBANK_BASE_URL": "http://testserver"}



class ThreadedServer:
    """A WSGI or http.server server on a free loopback port, run in a daemon thread."""

    def __init__(self, server):
        self.server = server
        self.port = server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class LiveServer(ThreadedServer):
    """The app itself, for the browser tests."""

    def __init__(self, app):
        super().__init__(make_server("127.0.0.1", 0, app, threaded=True))


def app_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
    env.update({
        "TIMEBANK_DATABASE_URL": db_url,
        "TIMEBANK_SECRET_KEY": "gunicorn-test-secret-" + "x" * 20,
        "TIMEBANK_COOKIE_SECURE": "0",
        "TIMEBANK_RATELIMIT_ENABLED": "0",
        # The subprocess starts where the test's own clock is now (pinned by conftest).
        "TIMEBANK_CLOCK_START": clock.utcnow().isoformat(),
    })
    env.update(extra)
    return env


def flask_cli(db_url: str, *args: str, stdin: str | None = None, timeout: int = 600):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "timebank", *args],
                          cwd=ROOT, env=app_env(db_url), input=stdin, capture_output=True,
                          text=True, timeout=timeout)


class Gunicorn:
    def __init__(self, db_url: str, workers: int = 2, threads: int = 4, cwd: Path = ROOT,
                 **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
             str(threads), "--worker-class", "gthread", "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "120", "--graceful-timeout", "5", "--access-logfile", "-",
             # worker pid, method, path, status: tests see which worker answered
             "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "wsgi:app"],
            cwd=cwd, env=app_env(db_url, **env), stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self):
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                said = self.output()
                self.log.close()  # (__exit__ never runs when __enter__ raises)
                raise RuntimeError(f"gunicorn exited: {said}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.2)

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def workers_for(self, method: str, path: str) -> set[str]:
        """The pids of the workers that answered ``method path`` (from the access log)."""
        return {line.split()[0].strip("<>") for line in self.output().splitlines()
                if f" {method} {path} " in line}

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class RedisServer:
    """Debian's redis-server on a free loopback port, keeping nothing on disk."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def __enter__(self):
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.client().ping():
                    return self
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.__exit__()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


def logged_in_session(base: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login", timeout=30).text
    response = session.post(base + "/login", data={**hidden_fields(page), "email": email,
                                                   "password": password},
                            allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:300]
    # Log-in replaces the CSRF token; fetch a page once so the session cookie holds the new
    # one before the tests clone it into many concurrent clients.
    session.get(base + "/", timeout=30)
    return session


def clone(session: requests.Session) -> requests.Session:
    twin = requests.Session()
    twin.cookies.update(session.cookies)
    return twin


# -- browser ----------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def open_menu(page, name: str) -> None:
    """Open the navigation's "Coordinate" or "Admin" menu (a <details>), on any screen."""
    menu = page.locator(".submenu details", has=page.locator("summary", has_text=name))
    if menu.get_attribute("open") is None:
        page.locator(".submenu summary", has_text=name).click()


def log_in(page, base: str, email: str, password: str = PASSWORD, *, wait_home: bool = True):
    """Log in through the real form; by default wait for the dashboard's greeting."""
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if wait_home:
        page.get_by_role("heading", level=1).filter(has_text="Hello").wait_for()


def count_queries(app, client, path: str, status: int = 200) -> int:
    """How many SQL statements one GET of ``path`` runs, its body read to the end (a
    streamed answer runs its statements as it is read). Query budgets: the same on a
    small and a large dataset."""
    from sqlalchemy import event

    seen: list[int] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: seen.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get(path)
        response.get_data()
        assert response.status_code == status
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def many_members(app, n: int, prefix: str = "Many", bank: str | None = None) -> list[int]:
    """``n`` active residents with accounts, written at once (one password hash for all)."""
    from timebank.core import banks
    from timebank.core.models import Bank

    with app.app_context():
        the_bank = (db.session.query(Bank).filter_by(slug=bank).one() if bank
                    else banks.ensure_default_bank())
        model = Member(email="model@example.invalid", display_name="model")
        model.set_password(PASSWORD)
        people = []
        for i in range(n):
            m = Member(email=f"{prefix.lower()}{i}-{uuid.uuid4().hex[:6]}@example.org",
                       display_name=f"{prefix} {i:05d}", password_hash=model.password_hash,
                       status=MemberStatus.ACTIVE, neighbourhood="Riverside",
                       email_verified_at=clock.utcnow())
            db.session.add(m)
            people.append(m)
        db.session.flush()
        for m in people:
            banks.join(m, the_bank, "resident", MemberStatus.ACTIVE).status = MemberStatus.ACTIVE
            ledger.open_account(m, the_bank.id)
        db.session.commit()
        return [m.id for m in people]


def many_assets(app, n: int, south=51.40, west=-0.30, span=0.3, prefix="Place") -> None:
    """``n`` published assets on a square grid from (south, west), ``span`` degrees wide,
    written at once (a city's register), and the register's version moved on."""
    from timebank.core.models import Asset, AssetCategory
    from timebank.core.models.base import utcnow
    from timebank.infra import cache

    side = max(1, int(n**0.5))
    with app.app_context():
        kind = db.session.query(AssetCategory).filter_by(slug="physical").one().id
        db.session.execute(Asset.__table__.insert(), [
            {"name": f"{prefix} {i}", "category_id": kind, "status": "published",
             "latitude": south + span * (i // side) / side,
             "longitude": west + span * (i % side) / side, "created_at": utcnow()}
            for i in range(n)])
        cache.bump(cache.REGISTER)
        db.session.commit()

