"""Home (welcome or dashboard), the language switcher and the health check."""


from flask import Response, abort, current_app, jsonify, redirect, session, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from prometheus_client import CONTENT_TYPE_LATEST

from timebank.core import queue, snapshots
from timebank.core.ledger.statements import dashboard_context
from timebank.core.members.service import set_language
from timebank.infra import clock
from timebank.infra import db as database
from timebank.web import observability
from timebank.web.forms import LanguageForm, safe_next
from timebank.web.htmx import render
from timebank.web.permissions import ANONYMOUS, PENDING, allow, audience, may
from timebank.web.routing import wrote_within
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("main", __name__)


@bp.route("/")
@allow("site.read")
def index():
    if audience() in (ANONYMOUS, PENDING):  # nothing of theirs in this bank to show
        return render("main/welcome.html")
    if current_user.is_council:  # a council viewer's home is the area's figures
        return redirect(url_for("reports.area_report"))
    bank_id = current_bank_id()
    work = None
    if may("members.manage"):  # kept a few seconds on a big bank, unless they just acted
        fresh = current_app.config["TIMEBANK_QUEUE_FRESH_SECONDS"]
        work = queue.kept_work_queue(bank_id, clock.utcnow(), str(get_locale()), fresh,
                                     afresh=wrote_within(snapshots.AFTER_ACTING_SECONDS))
    return render("main/dashboard.html", work=work, **dashboard_context(current_user, bank_id))


@bp.route("/language", methods=["POST"])
@allow("site.language")
def language():
    """The switcher on every page: remember the choice (on the profile when logged in)."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["lang"] = form.lang.data
    if current_user.is_authenticated:
        set_language(current_user, form.lang.data)
    return redirect(safe_next(form.next.data) or url_for("main.index"), 303)


@bp.route("/csrf-token")
@allow("site.read")
def csrf_token():
    """A fresh form token for this session: errors.js asks after "this form has expired",
    so the same button works again and what was typed is kept. Same-origin only (no CORS),
    never cached."""

    response = jsonify({"token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
@allow("site.read")
def healthz():
    if not database.answers():
        return jsonify({"status": "error", "db": "error"}), 503
    return jsonify({"status": "ok", "db": "ok"})


@bp.route("/metrics")
@allow("site.read")
def metrics():
    """For Prometheus, with the token (TIMEBANK_METRICS_TOKEN) as a bearer token."""
    allowed = observability.metrics_token_ok()
    if allowed is None:
        abort(404)
    if not allowed:
        return Response("A bearer token is needed.\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(observability.metrics_text(), mimetype=CONTENT_TYPE_LATEST)


@bp.route("/readyz")
@allow("site.read")
def readyz():
    """Ready for traffic: the database answers and its schema is this release's (a load
    balancer sends nothing here until the migration has run)."""
    found = observability.readiness()
    ready = all(v == "ok" for v in found.values())
    return jsonify({"status": "ready" if ready else "not ready", **found}), 200 if ready else 503
