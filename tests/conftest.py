"""Fixtures: an app on SQLite and on a real PostgreSQL, clients, a live server, Chromium."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from tests import pg
from timebank import create_app, ledger
from timebank.extensions import db
from timebank.models import Member, MemberStatus, Role
from timebank.models.skills import seed_categories

PASSWORD = "correct-horse-battery"


# -- databases ----------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer]:
    server = pg.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def db_urls(tmp_path_factory, request) -> dict:
    """Lazily created database URLs, one per engine, shared by the whole run."""
    return {}


def _url_for(kind: str, db_urls: dict, request, tmp_path_factory) -> str:
    if kind not in db_urls:
        if kind == "sqlite":
            path = tmp_path_factory.mktemp("sqlite") / "test.sqlite"
            db_urls[kind] = f"sqlite:///{path}"
        else:
            server = request.getfixturevalue("pg_server")
            db_urls[kind] = server.createdb("timebank_test")
    return db_urls[kind]


_initialised: set[str] = set()


def _reset(app) -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request) -> str:
    return request.param


def build_app(url: str, **overrides):
    import tempfile
    import uuid

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
        "TIMEBANK_MATCHING_CACHE_SECONDS": 0.0,
        # Nor fetch map tiles: tests that need the tile layer set this themselves.
        "TIMEBANK_TILES_URL": "",
        "TIMEBANK_GEOCODER_LOCK": f"{tempfile.gettempdir()}/timebank-geo-{uuid.uuid4().hex}.lock",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change settings."""
    return {}


@pytest.fixture
def app(db_kind, db_urls, request, tmp_path_factory, app_config):
    url = _url_for(db_kind, db_urls, request, tmp_path_factory)
    application = build_app(url, **app_config)
    with application.app_context():
        if url not in _initialised:
            db.drop_all()
            db.create_all()
            _initialised.add(url)
        _reset(application)
        seed_categories()
        from timebank.assets import seed_asset_categories

        seed_asset_categories()
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        if "tampers_ledger" not in request.keywords:
            # The ledger contract: every test leaves the invariants holding.
            problems = ledger.check_ledger()
            assert problems == [], problems
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def nominatim():
    from tests.fake_nominatim import FakeNominatim

    with FakeNominatim(PLACES) as server:
        yield server


PLACES = {
    "1 high street, riverside": (51.5010, -0.1000),
    "2 high street, riverside": (51.5012, -0.1003),
    "10 hill road, hillcrest": (51.5200, -0.1200),
    "far farm, elsewhere": (52.2000, 0.1200),
    "rv1 1aa": (51.5008, -0.0998),
}


# -- members ------------------------------------------------------------------


class Factory:
    def __init__(self, app):
        self.app = app
        self.n = 0

    def member(self, role: Role | str = Role.RESIDENT, status=MemberStatus.ACTIVE,
               name: str | None = None, email: str | None = None, account: bool = True) -> int:
        self.n += 1
        with self.app.app_context():
            m = Member(
                email=email or f"person{self.n}@example.org",
                display_name=name or f"Person {self.n}",
                role=Role(role).value,
                status=MemberStatus(status).value,
                neighbourhood="Riverside",
            )
            m.set_password(PASSWORD)
            db.session.add(m)
            db.session.flush()
            if account:
                ledger.open_account(m)
            db.session.commit()
            return m.id


    def match(self, requester: int, helper: int, by: int, title: str = "Lawn") -> tuple[int, int]:
        """A gardening request by ``requester`` and ``by``'s introduction of ``helper``."""
        from datetime import timedelta

        from timebank.models import Category, Listing, Match

        with self.app.app_context():
            garden = db.session.query(Category).filter_by(slug="gardening").one().id
            request = Listing(member_id=requester, kind="request", category_id=garden,
                              title=title, expires_on=date.today() + timedelta(days=9))
            db.session.add(request)
            db.session.flush()
            match = Match(request_id=request.id, requester_id=requester, helper_id=helper,
                          created_by_id=by)
            db.session.add(match)
            db.session.commit()
            return request.id, match.id


@pytest.fixture
def make(app) -> Factory:
    return Factory(app)


def get(member_id: int) -> Member:
    return db.session.get(Member, member_id)


HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    found = {}
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
    html = client.get("/").get_data(as_text=True)
    if 'action="/logout"' in html:
        client.post("/logout", data=hidden_fields(html))


@pytest.fixture
def login_as(client, make, app):
    def _login(role=Role.RESIDENT, **kwargs) -> int:
        member_id = make.member(role, **kwargs)
        with app.app_context():
            email = get(member_id).email
        response = login(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return member_id

    return _login


TODAY = date.today()


# -- live server and browser --------------------------------------------------


class LiveServer:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


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


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, headless=True,
                                     args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def js(request) -> bool:
    return request.param


@pytest.fixture
def new_page(browser):
    contexts = []

    def _new(javascript: bool = True):
        context = browser.new_context(java_script_enabled=javascript,
                                      viewport={"width": 1000, "height": 800})
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.javascript_enabled = javascript
        # Any alert/confirm/prompt is a test failure (XSS canaries use alert()).
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        return page

    yield _new
    for context in contexts:
        context.close()
