"""The app factory: settings, extensions, blueprints, CLI (``timebank.create_app``)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from timebank.cli import register_cli
from timebank.core import models  # noqa: F401  (every table registered, and what caches watch)
from timebank.infra import (
    cache,  # noqa: F401  (data versions bumped on flush)
    clock,
)
from timebank.infra import config as config_module
from timebank.infra import extensions as ext
from timebank.infra.db import init_engine, normalise_url
from timebank.web import (
    auth,
    errors,
    i18n,
    observability,
    permissions,
    routing,
    security,
    templating,
    tenancy,
)
from timebank.web import extensions as web_ext
from timebank.web.admin.routes import bp as admin_bp
from timebank.web.approvals.routes import bp as approvals_bp
from timebank.web.assets.routes import bp as assets_bp
from timebank.web.auth.routes import bp as auth_bp
from timebank.web.banks.routes import bp as banks_bp
from timebank.web.events.routes import bp as events_bp
from timebank.web.exchanges.routes import bp as exchanges_bp
from timebank.web.hsds.routes import bp as hsds_bp
from timebank.web.ideas.routes import bp as ideas_bp
from timebank.web.listings.routes import bp as listings_bp
from timebank.web.main.routes import bp as main_bp
from timebank.web.matching.routes import bp as matching_bp
from timebank.web.members.routes import bp as members_bp
from timebank.web.notifications.routes import bp as notifications_bp
from timebank.web.paper.routes import bp as paper_bp
from timebank.web.proxies.routes import bp as proxies_bp
from timebank.web.reports.routes import bp as reports_bp
from timebank.web.routing import IdConverter
from timebank.web.texts.routes import account as text_account_bp
from timebank.web.texts.routes import bp as texts_bp

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "migrations")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask("timebank", instance_relative_config=True)

    app.url_map.converters["int"] = IdConverter  # before any route is added
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config_module.load(app.instance_path, config))
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if app.config["TIMEBANK_DATABASE_REPLICA_URL"]:  # reads that may lag (infra/db.py)
        app.config.setdefault("SQLALCHEMY_BINDS", {})[ext.REPLICA] = {
            "url": normalise_url(app.config["TIMEBANK_DATABASE_REPLICA_URL"]),
            "pool_pre_ping": True, "connect_args": {"connect_timeout": 3}}
    if app.config.get("TIMEBANK_CLOCK_START"):
        clock.pin(clock.parse(app.config["TIMEBANK_CLOCK_START"]))

    if app.config["TIMEBANK_PROXY_HOPS"]:
        # Behind a reverse proxy: take the client's address (rate limits) and scheme
        # from that many trusted X-Forwarded-* hops, and no more.

        hops = app.config["TIMEBANK_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    # (The extension objects are reached through ``ext``: ``timebank.web.htmx`` is our module.)
    ext.db.init_app(app)
    init_engine(app)
    ext.migrate.init_app(app, ext.db, directory=MIGRATIONS)
    web_ext.csrf.init_app(app)
    web_ext.htmx.init_app(app)
    web_ext.limiter.init_app(app)
    web_ext.login_manager.init_app(app)


    blueprints = (main_bp, auth_bp, members_bp, exchanges_bp, listings_bp, matching_bp,
                  notifications_bp, assets_bp, ideas_bp, events_bp, admin_bp, banks_bp, paper_bp,
                  reports_bp, approvals_bp, texts_bp, text_account_bp,
                  proxies_bp, hsds_bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


    observability.init_app(app)
    routing.init_app(app)
    tenancy.init_app(app)
    permissions.init_app(app)
    i18n.init_app(app)
    auth.init_login(app)
    errors.register(app)
    security.register(app)
    templating.register(app)
    register_cli(app)
    return app
