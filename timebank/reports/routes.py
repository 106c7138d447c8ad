"""Report pages: a coordinator's bank in full detail; the council's area in aggregates
only, small numbers suppressed."""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..exports import csv_chunks, csv_response
from ..extensions import db
from ..forms import PeriodForm
from ..htmx import render
from ..models import Bank
from ..permissions import allow
from ..tenancy import BankBlueprint, current_bank_id
from . import figures

bp = BankBlueprint("reports", __name__)
TABLES = ("months", "categories", "reciprocity", "outcomes")


def _period() -> tuple[PeriodForm, figures.Period | None]:
    form = PeriodForm(request.args)
    if not form.validate():
        return form, None
    default = figures.Period.default()
    return form, figures.Period(form.start.data or default.start, form.end.data or default.end)


@bp.route("/coordinator/reports")
@allow("reports.bank")
def bank_report():
    form, period = _period()
    if period is None:
        return render("reports/bank.html", form=form, period=None, status=422)
    here = [current_bank_id()]
    return render("reports/bank.html", form=form, period=period,
                  members=figures.members(here, period), months=figures.by_month(here, period),
                  categories=figures.by_category(here, period),
                  reciprocity=figures.reciprocity(here, period),
                  outcomes=figures.outcomes(here, period))


def _rows(table: str, bank_ids: list[int], period: figures.Period, council: bool):
    """A table's header and rows for CSV; council tables with small numbers suppressed."""
    hidden = _("fewer than %(n)s", n=figures.SMALL)

    def shown(values):
        return [hidden if v.suppressed else v.value for v in figures.suppress(values)]

    if table in ("months", "categories"):
        rows = (figures.by_month if table == "months" else figures.by_category)(
            bank_ids, period)
        counts = shown([n for _k, n, _m in rows]) if council else [n for _k, n, _m in rows]
        header = (_("month") if table == "months" else _("kind of help"), _("exchanges"),
                  _("hours"))
        body = [(key, count, hidden if count == hidden else round(minutes / 60, 2))
                for (key, _n, minutes), count in zip(rows, counts, strict=True)]
        return header, body
    if table == "outcomes":
        rows = figures.outcomes(bank_ids, period)
        counts = shown([n for _s, n in rows]) if council else [n for _s, n in rows]
        return (_("score"), _("answers")), [(s, c) for (s, _n), c in zip(rows, counts,
                                                                          strict=True)]
    data = figures.reciprocity(bank_ids, period)
    keys = ("both", "only_gave", "only_received", "neither")
    counts = shown([data[k] for k in keys]) if council else [data[k] for k in keys]
    labels = (_("gave and received"), _("only gave"), _("only received"), _("neither"))
    return (_("members"), _("how many")), list(zip(labels, counts, strict=True))


@bp.route("/coordinator/reports/<any(months,categories,reciprocity,outcomes):table>.csv")
@allow("reports.bank")
def bank_csv(table: str):
    _form, period = _period()
    if period is None:
        abort(400, _("Please check the dates."))
    header, rows = _rows(table, [current_bank_id()], period, council=False)
    return csv_response(csv_chunks(header, rows), f"{table}.csv")


def _council_banks() -> tuple[list[Bank], list[int]]:
    banks = list(db.session.scalars(select(Bank).order_by(Bank.name)))
    chosen = request.args.get("bank", type=int)
    ids = [b.id for b in banks if chosen in (None, 0, b.id)]
    return banks, ids


@bp.route("/reports")
@allow("reports.area")
def area_report():
    """The area's figures (all banks, or one), aggregates only: no member is named, and
    any figure about fewer than five people reads "fewer than 5"."""
    form, period = _period()
    banks, ids = _council_banks()
    if period is None or not ids:
        return render("reports/area.html", form=form, period=None, banks=banks, status=422)
    tables = {t: _rows(t, ids, period, council=True) for t in TABLES}
    people = figures.members(ids, period)
    shown = dict(zip(people, figures.suppress(list(people.values())), strict=True))
    return render("reports/area.html", form=form, period=period, banks=banks,
                  chosen=request.args.get("bank", type=int) or 0, tables=tables,
                  people=shown, hidden=_("fewer than %(n)s", n=figures.SMALL))


@bp.route("/reports/<any(months,categories,reciprocity,outcomes):table>.csv")
@allow("reports.area")
def area_csv(table: str):
    _form, period = _period()
    _banks, ids = _council_banks()
    if period is None:
        abort(400, _("Please check the dates."))
    header, rows = _rows(table, ids, period, council=True)
    return csv_response(csv_chunks(header, rows), f"area-{table}.csv")

