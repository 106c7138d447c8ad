"""Foundation: health, settings, security headers, error pages, static files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import build_app, submit
from timebank.core.models import Member
from timebank.infra import config as config_module
from timebank.infra.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "db": "ok"}


def test_healthz_reports_unreachable_database(tmp_path):
    # A SQLite path inside a missing folder cannot be opened.
    app = build_app(f"sqlite:///{tmp_path}/missing/dir/x.sqlite")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "db": "error"}


def test_healthz_unreachable_postgres():
    from tests.pg import free_port

    app = build_app(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["db"] == "error"


def test_readyz_needs_the_database_and_this_releases_schema(tmp_path):
    """Ready only when the database answers and its schema is at the latest migration:
    a release whose migration has not run gets no traffic."""
    from tests.support import flask_cli

    url = f"sqlite:///{tmp_path}/ready.sqlite"
    assert flask_cli(url, "db", "upgrade").returncode == 0
    ready = build_app(url).test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "db": "ok", "schema": "ok"}
    assert flask_cli(url, "db", "downgrade", "0012").returncode == 0
    behind = build_app(url).test_client().get("/readyz")
    assert behind.status_code == 503 and behind.get_json()["schema"].startswith("at ")
    gone = build_app(f"sqlite:///{tmp_path}/missing/dir/x.sqlite").test_client().get("/readyz")
    assert gone.status_code == 503 and gone.get_json()["db"] == "error"


def test_request_ids_and_json_log_lines(db_url, capfd):
    """Each response names its request id (a proxy's, when it is a sane one); with JSON
    logs, every line is one JSON object that carries it."""
    import json

    app = build_app(db_url, TIMEBANK_LOG_FORMAT="json", TIMEBANK_LOG_REQUESTS=True)
    client = app.test_client()
    given = client.get("/healthz", headers={"X-Request-ID": "proxy-abc-12345"})
    assert given.headers["X-Request-ID"] == "proxy-abc-12345"
    made = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()
             if line.startswith("{")]
    ours = [line for line in lines if line.get("path") == "/healthz"]
    assert [line["request_id"] for line in ours] == ["proxy-abc-12345",
                                                     made.headers["X-Request-ID"]]
    assert ours[0]["status"] == 200 and ours[0]["ms"] >= 0
    with app.app_context():
        db.engine.dispose()


def test_static_files_are_named_by_content_and_kept_a_year(client):
    page = client.get("/assets").get_data(as_text=True)
    address = re.search(r'src="(/static/js/assetmap\.js\?v=[0-9a-f]{10})"', page).group(1)
    with client.get(address) as response:
        assert response.status_code == 200
        assert "immutable" in response.headers["Cache-Control"]
        assert "max-age=31536000" in response.headers["Cache-Control"]
    with client.get("/static/js/assetmap.js") as plain:
        assert "immutable" not in plain.headers.get("Cache-Control", "")
    # An address naming other content (an old release's, say) is never kept long.
    with client.get("/static/js/assetmap.js?v=0123456789") as other:
        assert "immutable" not in other.headers.get("Cache-Control", "")


def test_secret_key_required_outside_debug(monkeypatch, tmp_path):
    monkeypatch.delenv("TIMEBANK_SECRET_KEY", raising=False)
    monkeypatch.delenv("TIMEBANK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="TIMEBANK_SECRET_KEY"):
        config_module.load(str(tmp_path))
    monkeypatch.setenv("TIMEBANK_SECRET_KEY", "x" * 40)
    cfg = config_module.load(str(tmp_path))
    assert cfg["SECRET_KEY"] == "x" * 40
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True


def test_commands_find_the_key_make_run_keeps(monkeypatch, tmp_path):
    monkeypatch.delenv("TIMEBANK_SECRET_KEY", raising=False)
    monkeypatch.delenv("TIMEBANK_DEBUG", raising=False)
    (tmp_path / "secret_key").write_text("k" * 64 + "\n")
    assert config_module.load(str(tmp_path))["SECRET_KEY"] == "k" * 64


def test_settings_come_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TIMEBANK_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("TIMEBANK_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("TIMEBANK_TILES_URL", "")
    monkeypatch.setenv("TIMEBANK_GEOCODER_DOMAIN", "127.0.0.1:9999")
    monkeypatch.setenv("TIMEBANK_GEOCODER_SCHEME", "http")
    cfg = config_module.load(str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql://u@h/db"
    assert cfg["TIMEBANK_TILES_URL"] == ""
    assert cfg["TIMEBANK_GEOCODER_DOMAIN"] == "127.0.0.1:9999"
    assert cfg["TIMEBANK_GEOCODER_SCHEME"] == "http"


def test_default_database_is_sqlite_in_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("TIMEBANK_DATABASE_URL", raising=False)
    cfg = config_module.load(str(tmp_path), {"TESTING": True})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/timebank.sqlite"


def test_sqlite_uses_wal_and_busy_timeout(tmp_path):
    app = build_app(f"sqlite:///{tmp_path}/wal.sqlite")
    with app.app_context():
        conn = db.session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]


def test_error_pages_use_site_layout(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "<main" in body and body.count("<h1") == 1 and "Page not found" in body
    assert client.delete("/").status_code == 405
    json_404 = client.get("/nothing.geojson")
    assert json_404.status_code == 404 and json_404.is_json


def test_request_size_limit(client, app):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/register", data=big, content_type="text/plain")
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


def test_csrf_missing_token_is_refused_and_changes_nothing(client, app):
    response = client.post("/register", data={
        "email": "eve@example.org", "display_name": "Eve", "neighbourhood": "X",
        "password": "long-enough-pw", "confirm": "long-enough-pw"})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Member).count() == 0


def test_csrf_header_accepted_for_htmx(client, app):
    html = client.get("/register").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    response = client.post("/register", headers={"X-CSRFToken": token, "HX-Request": "true"},
                           data={"email": "hx@example.org", "display_name": "Hx",
                                 "neighbourhood": "Y", "password": "long-enough-pw",
                                 "confirm": "long-enough-pw", "accept": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.query(Member).filter_by(email="hx@example.org").count() == 1


def test_validation_error_is_422_for_htmx_and_full_page(client):
    for headers in ({}, {"HX-Request": "true"}):
        response = submit(client, "/register", {"email": "nope"}, headers=headers)
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert "Enter an email address" in body
        assert 'value="nope"' in body  # the user's text is kept


def test_static_and_templates_reference_no_other_host():
    offenders = []
    allowed = {"https://tile.openstreetmap.org", "https://www.openstreetmap.org"}
    for folder in ("timebank/templates", "timebank/static"):
        for path in (ROOT / folder).rglob("*"):
            if not path.is_file() or "vendor" in path.parts or path.suffix in (".png", ".gz"):
                continue
            for url in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", path.read_text()):
                if not any(url.startswith(a) for a in allowed):
                    offenders.append(f"{path.relative_to(ROOT)}: {url}")
    assert offenders == []


def test_rendered_pages_load_nothing_from_other_hosts(client):
    for url in ("/", "/login", "/register"):
        html = client.get(url).get_data(as_text=True)
        refs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert refs, url
        assert all(r.startswith(("/", "#", "data:")) and not r.startswith("//") for r in refs), refs


def test_vendored_htmx_is_2_0(client):
    versions = (ROOT / "timebank/static/VERSIONS.txt").read_text()
    assert re.search(r"htmx\.org 2\.0\.\d+", versions)
    js = client.get("/static/vendor/htmx/htmx.min.js")
    assert js.status_code == 200
    assert b'version:"2.0.' in js.data
    js.close()


def test_server_error_page_in_layout_and_json_for_machine_urls(tmp_path):
    app = build_app(f"sqlite:///{tmp_path}/boom.sqlite", PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("kaboom")

    @app.route("/boom.json")
    def boom_json():
        raise RuntimeError("kaboom")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    body = page.get_data(as_text=True)
    assert "Something went wrong" in body and "<main" in body and "kaboom" not in body
    machine = client.get("/boom.json")
    assert machine.status_code == 500 and machine.get_json()["error"] == "Something went wrong"


def test_every_error_code_has_a_page(client):
    from timebank.web.errors import MESSAGES

    assert {400, 403, 404, 405, 413, 422, 429, 500} <= set(MESSAGES)


FIRST_LOAD_BUDGET = 100 * 1024  # bytes, uncompressed: a slow phone's first visit


@pytest.mark.parametrize("role", [None, "resident", "coordinator"])
def test_first_load_of_every_page_but_the_map_is_under_100_kb(client, login_as, role):
    from timebank.core.models import Role

    if role:
        login_as(Role(role))
    paths = ["/", "/login", "/register"] if role is None else [
        "/", "/profile", "/exchanges/new", "/statement", "/listings", "/listings/new",
        "/notifications"]
    if role == "coordinator":
        paths += ["/coordinator/members", "/coordinator/matching", "/coordinator/exchanges",
                  "/coordinator/exchanges/new", "/coordinator/activities/new"]
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        total = len(page.data)
        for ref in re.findall(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="(/static/[^"]+)"', html):
            asset = client.get(ref)
            assert asset.status_code == 200, ref
            total += len(asset.data)
            asset.close()
        assert total <= FIRST_LOAD_BUDGET, (path, total)


@pytest.mark.slow
def test_gunicorn_conf_logs_json_lines_with_request_ids(db_url):
    """gunicorn reads gunicorn.conf.py from the project: preloaded app, each worker's
    inherited connections dropped, one JSON line per request carrying its id."""
    import json

    import requests

    from tests.support import Gunicorn

    with Gunicorn(db_url, workers=2, threads=2) as server:
        answers = [requests.get(server.url + "/healthz", timeout=10) for _ in range(6)]
        assert all(a.status_code == 200 for a in answers)
        ids = {a.headers["X-Request-ID"] for a in answers}
        logged = [json.loads(line) for line in server.output().splitlines()
                  if line.startswith("{")]
    assert len(ids) == 6
    assert ids <= {line.get("request_id") for line in logged if line.get("path") == "/healthz"}
