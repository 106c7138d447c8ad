"""Fixtures only: an app on SQLite and on a real PostgreSQL, clients, servers, Chromium.

Helpers the fixtures and tests share are in tests/support.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from tests import pg
from tests.pg import free_port
from tests.support import (
    CHROMIUM_ARGS,
    NOW,
    PLACES,
    Factory,
    Inbox,
    LiveServer,
    build_app,
    get,
    login,
)
from timebank.core.ledger import writer as ledger
from timebank.core.models import Role
from timebank.core.models.skills import seed_categories
from timebank.infra import clock
from timebank.infra.extensions import db

# -- the clock ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def pinned_clock(request) -> Iterator[None]:
    """Every test starts at the same moment (tests.support.NOW), whatever today is; a test
    whose data are fixed dates says which moment they belong to with ``@pytest.mark.now``."""
    marker = request.node.get_closest_marker("now")
    clock.pin(datetime.fromisoformat(marker.args[0]) if marker else NOW)
    yield
    clock.unpin()


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


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change settings."""
    return {}


@pytest.fixture
def fresh_db(db_kind, tmp_path, request):
    """Make a new, empty database of this engine by name; returns its URL."""
    def _fresh(name: str) -> str:
        if db_kind == "sqlite":
            return f"sqlite:///{tmp_path}/{name}.sqlite"
        return request.getfixturevalue("pg_server").createdb(name)

    return _fresh


@pytest.fixture
def db_url(db_kind, db_urls, request, tmp_path_factory) -> str:
    """The test database of this engine (the ``app`` fixture empties it for each test)."""
    return _url_for(db_kind, db_urls, request, tmp_path_factory)


@pytest.fixture
def app(db_url, request, app_config):
    url = db_url
    application = build_app(url, **app_config)
    with application.app_context():
        if url not in _initialised:
            db.drop_all()
            db.create_all()
            # The models are the latest migration's schema (test_cli proves it): say so,
            # as `flask db upgrade` would, so /readyz finds this release's schema.
            from alembic.script import ScriptDirectory

            from timebank.app import MIGRATIONS

            head = ScriptDirectory(MIGRATIONS).get_current_head()
            with db.engine.begin() as conn:
                conn.execute(text("CREATE TABLE IF NOT EXISTS alembic_version "
                                  "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
                conn.execute(text("DELETE FROM alembic_version"))
                conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})
            _initialised.add(url)
        _reset(application)
        seed_categories()
        from timebank.core.assets.register import seed_asset_categories
        from timebank.core.banks import ensure_default_bank

        ensure_default_bank()

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
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def nominatim():
    from tests.fake_nominatim import FakeNominatim

    with FakeNominatim(PLACES) as server:
        yield server


# -- members ------------------------------------------------------------------


@pytest.fixture
def make(app) -> Factory:
    return Factory(app)


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


# -- live server and browser --------------------------------------------------


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


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

    def _new(javascript: bool = True, bypass_csp: bool = False):
        context = browser.new_context(java_script_enabled=javascript, bypass_csp=bypass_csp,
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
