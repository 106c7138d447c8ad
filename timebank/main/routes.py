"""Home (welcome or dashboard) and the health check."""

import contextlib

from flask import jsonify
from flask_login import current_user
from sqlalchemy import text

from ..extensions import db
from ..htmx import render
from ..statements import dashboard_context
from ..tenancy import BankBlueprint

bp = BankBlueprint("main", __name__)


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render("main/welcome.html")
    return render("main/dashboard.html", **dashboard_context(current_user))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:  # any database failure means "not healthy"
        with contextlib.suppress(Exception):  # the connection may already be gone
            db.session.rollback()
        return jsonify({"status": "error", "db": "error"}), 503
    return jsonify({"status": "ok", "db": "ok"})
