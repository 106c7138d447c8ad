"""Report pages: a coordinator's bank in full detail; the council's area in aggregates
only, small numbers suppressed. The filters are a GET form (bookmarkable); HTMX swaps
only the figures."""

from __future__ import annotations

from flask import abort, current_app, request
from flask_babel import gettext as _

from timebank.core.models import Bank
from timebank.core.reports import figures, tables
from timebank.infra import clock
from timebank.infra.exports import csv_chunks, csv_response
from timebank.web.htmx import render
from timebank.web.permissions import allow
from timebank.web.reports.forms import ReportForm
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


def _page(template: str, form: ReportForm, report, csv: str, **ctx):
    return render(template, partial="reports/_figures.html", form=form, report=report,
                  csv=csv, today=clock.today(), status=200 if report is not None else 422,
                  **ctx)


@bp.route("/coordinator/reports")
@allow("reports.bank")
def bank_report():
    form, scope = _scope([current_bank_id()])
    return _page("reports/bank.html", form, scope and tables.for_bank(scope),
                 "reports.bank_csv")


def _download(report, table: str, name: str):
    if report is None:
        abort(400, _("Please check the filters."))
    found = report.table(table)
    if found is None:
        abort(404)
    rows = tables.member_rows(report.scope) if table == "members" else found.rows
    return csv_response(csv_chunks(found.header, rows), name)


@bp.route(f"/coordinator/reports/<any({TABLE_KEYS}):table>.csv")
@allow("reports.bank")
def bank_csv(table: str):
    _form, scope = _scope([current_bank_id()])
    return _download(scope and tables.for_bank(scope), table, f"{table}.csv")


def _area_name() -> str:
    return figures.area_name(current_app.config["TIMEBANK_AREA_NAME"])


def _area_banks() -> list[Bank]:
    return figures.all_banks()


@bp.route("/reports")
@allow("reports.area")
def area_report():
    """The area's figures (all banks, or one), aggregates only: no member is named, and
    any figure about fewer than five people reads "fewer than 5"."""
    banks = _area_banks()
    form, scope = _scope([b.id for b in banks], banks)
    ids = [b.id for b in banks]
    return _page("reports/area.html", form, scope and tables.for_area(scope, ids),
                 "reports.area_csv", banks=banks, area_name=_area_name())


@bp.route(f"/reports/<any({TABLE_KEYS}):table>.csv")
@allow("reports.area")
def area_csv(table: str):
    banks = _area_banks()
    _form, scope = _scope([b.id for b in banks], banks)
    return _download(scope and tables.for_area(scope, [b.id for b in banks]), table,
                     f"area-{table}.csv")
