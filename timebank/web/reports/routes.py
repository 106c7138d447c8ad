"""Report pages: a coordinator's bank in full detail; the council's area in aggregates
only, small numbers suppressed. The filters are a GET form (bookmarkable); HTMX swaps
only the figures."""

from __future__ import annotations

from flask import abort, current_app, make_response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from timebank.core import snapshots
from timebank.core.models import Bank
from timebank.core.reports import figures, tables
from timebank.infra import clock
from timebank.infra.exports import csv_chunks, csv_response
from timebank.web.htmx import render, wants_fragment
from timebank.web.permissions import allow
from timebank.web.reports.forms import ReportForm
from timebank.web.routing import replica_reads, wrote_within
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("reports", __name__)
TABLE_KEYS = ", ".join(f"'{key}'" for key in (
    "months", "categories", "banks", "reciprocity", "outcomes", "outcomes-by-kind", "requests",
    "introductions", "neighbourhoods", "ladder", "events", "assets", "asset-gaps", "co-assessment",
    "members", "who-helps", "received-where", "outcomes-by-neighbourhood"))


def _scope(bank_ids: list[int], banks=None) -> tuple[ReportForm, figures.Scope | None]:
    form = ReportForm(request.args).offer(banks)
    if not form.validate():
        return form, None
    default = figures.Period.default()
    period = figures.Period.months(form.start.data or default.start,
                                   form.end.data or default.end)
    area = tuple(bank_ids) if banks is not None else ()
    if banks is not None:  # the council's: whole quarters (figures.Scope.by_quarter)
        period = figures.snap_to_quarters(period)
        if form.bank.data:
            bank_ids = [form.bank.data]
    return form, figures.Scope(bank_ids, period, form.category.data or None,
                               form.neighbourhood.data or None, area_banks=area,
                               by_quarter=banks is not None)


def _kept() -> dict:
    """What a kept report is looked up by besides its scope (core/snapshots.py). One who
    has just changed something (recorded an exchange, say) sees it worked out afresh."""
    return {"now": clock.utcnow(), "language": str(get_locale()),
            "fresh_seconds": current_app.config["TIMEBANK_REPORT_FRESH_SECONDS"],
            "afresh": wrote_within(snapshots.AFTER_ACTING_SECONDS)}


FIGURES = "reports/_figures.html"
RENDERED_KEPT = 8  # renderings of one kept report (languages × filters in the URL)


def _page(template: str, form: ReportForm, found, csv: str, **ctx):
    """The report page, or (HTMX) its figures. A kept report's figures are rendered once
    per view and language: on a big bank that rendering (a thousand formatted numbers)
    took longer than reading the figures."""
    today = clock.today()
    values = {"form": form, "report": found.value if found else None, "csv": csv,
              "today": today, "made_at": found.made_at if found and found.kept else None,
              **ctx}
    status = 200 if found is not None else 422
    if found is None or not found.kept:
        return render(template, partial=FIGURES, status=status, **values)
    # By the validated filters (never the raw query: junk parameters are not new pages),
    # and a few at most per kept report.
    key = (request.endpoint, tuple(sorted(form.query().items())), str(get_locale()), today)
    figures_html = found.rendered.get(key)
    if figures_html is None:
        if len(found.rendered) >= RENDERED_KEPT:
            found.rendered.clear()
        # (Jinja escaped everything in it as it rendered: the text is HTML already.)
        figures_html = found.rendered[key] = Markup(render_template(FIGURES, **values))  # noqa: S704
    if wants_fragment():
        response = make_response(figures_html, status)
        response.vary.add("HX-Request")
        return response
    return render(template, status=status, figures_html=figures_html, **values)


@bp.route("/coordinator/reports")
@allow("reports.bank")
@replica_reads
def bank_report():
    form, scope = _scope([current_bank_id()])
    return _page("reports/bank.html", form, scope and tables.bank_report(scope, **_kept()),
                 "reports.bank_csv")


def _download(found, table: str, name: str):
    if found is None:
        abort(400, _("Please check the filters."))
    report = found.value
    wanted = report.table(table)
    if wanted is None:
        abort(404)
    if table == "members":
        kept = _kept()
        kept.pop("language")
        rows = tables.member_rows_kept(report.scope, **kept).value
    else:
        rows = wanted.rows
    return csv_response(csv_chunks(wanted.header, rows), name)


@bp.route(f"/coordinator/reports/<any({TABLE_KEYS}):table>.csv")
@allow("reports.bank")
@replica_reads
def bank_csv(table: str):
    _form, scope = _scope([current_bank_id()])
    return _download(scope and tables.bank_report(scope, **_kept()), table, f"{table}.csv")


def _area_name() -> str:
    return figures.area_name(current_app.config["TIMEBANK_AREA_NAME"])


def _area_banks() -> list[Bank]:
    return figures.all_banks()


@bp.route("/reports")
@allow("reports.area")
@replica_reads
def area_report():
    """The area's figures (all banks, or one), aggregates only: no member is named, and
    any figure about fewer than five people reads "fewer than 5"."""
    banks = _area_banks()
    form, scope = _scope([b.id for b in banks], banks)
    ids = [b.id for b in banks]
    return _page("reports/area.html", form, scope and tables.area_report(scope, ids, **_kept()),
                 "reports.area_csv", banks=banks, area_name=_area_name())


@bp.route(f"/reports/<any({TABLE_KEYS}):table>.csv")
@allow("reports.area")
@replica_reads
def area_csv(table: str):
    banks = _area_banks()
    _form, scope = _scope([b.id for b in banks], banks)
    return _download(scope and tables.area_report(scope, [b.id for b in banks], **_kept()),
                     table, f"area-{table}.csv")
