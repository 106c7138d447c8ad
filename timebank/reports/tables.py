"""The figures laid out as tables: one shape for the page, its chart and its CSV.

A coordinator's report has their bank in full detail; a council viewer's has the
area's banks in aggregates only, every count of people under ``figures.SMALL``
replaced by "fewer than 5" (with the hours beside it), here, once, for the page,
the charts and the downloads alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from ..models.ledger import OUTCOME_SCALE
from . import figures
from .charts import bars


@dataclass
class Table:
    key: str  # its CSV's name
    title: str
    header: tuple[str, ...]
    rows: list[tuple]
    chart: int | None = 1  # the column drawn as bars (None: no chart)
    unit: str = ""  # what the charted figure counts, for the chart's text
    note: str = ""
    page: bool = True  # False: a download only

    @property
    def svg(self):
        return bars(self, f"chart-{self.key}")


@dataclass
class Report:
    scope: figures.Scope
    council: bool
    tables: list[Table]
    members: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)


def hidden() -> str:
    return _("fewer than %(n)s", n=figures.SMALL)


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def _shown(counts: list[int], council: bool) -> list:
    if not council:
        return counts
    return [hidden() if s.suppressed else s.value for s in figures.suppress(counts)]


def _counted_rows(rows: list[tuple], council: bool, hours: bool = True) -> list[tuple]:
    """(label, count[, minutes]) rows as shown: hours beside a hidden count are hidden."""
    counts = _shown([r[1] for r in rows], council)
    out = []
    for row, count in zip(rows, counts, strict=True):
        if hours:
            out.append((row[0], count, hidden() if count == hidden() else _hours(row[2])))
        else:
            out.append((row[0], count))
    return out


def _share(part, whole) -> str:
    if not isinstance(part, int) or not isinstance(whole, int) or not whole:
        return "–"
    return f"{round(100 * part / whole)} %"


def _score_words() -> dict[int, str]:
    return {score: str(label) for score, label in OUTCOME_SCALE}


WAIT_WORDS = {
    "within 2 days": lambda: _("Helper found within 2 days"),
    "within a week": lambda: _("Helper found within a week"),
    "within a month": lambda: _("Helper found within a month"),
    "longer": lambda: _("Helper found after more than a month"),
    "still waiting": lambda: _("Still waiting for a helper"),
    "closed without a helper": lambda: _("Closed or ended without a helper"),
}
INTRODUCTION_WORDS = {
    "introduced by a coordinator": lambda: _("Introductions made by a coordinator"),
    "started by a member": lambda: _("Conversations members started themselves"),
    "accepted": lambda: _("Accepted by both"),
    "completed": lambda: _("Completed"),
    "declined": lambda: _("Declined"),
    "waiting for an answer": lambda: _("Still waiting for an answer"),
}


def _exchange_tables(scope: figures.Scope, council: bool) -> list[Table]:
    exchanges, hours = _("Exchanges"), _("Hours")
    tables = [
        Table("months", _("Exchanges and hours by month"), (_("Month"), exchanges, hours),
              _counted_rows(figures.by_month(scope), council), chart=2, unit=hours),
        Table("categories", _("Exchanges and hours by kind of help"),
              (_("Kind of help"), exchanges, hours),
              [(name or _("not said"), *rest) for name, *rest in
               _counted_rows(figures.by_category(scope), council)], chart=2, unit=hours),
    ]
    crossed = figures.between_banks(scope)
    if crossed:
        counts = _shown([r[2] for r in crossed], council)
        tables.append(Table(
            "banks", _("Time given across banks"),
            (_("Giving bank"), _("Receiving bank"), exchanges, hours),
            [(g, r, n, hidden() if n == hidden() else _hours(m))
             for (g, r, _n, m), n in zip(crossed, counts, strict=True)], chart=None))
    return tables


def _give_take_table(scope: figures.Scope, council: bool) -> tuple[Table, dict]:
    data = figures.reciprocity(scope)
    keys = ("both", "only_gave", "only_received", "neither")
    labels = (_("Gave and received"), _("Only gave"), _("Only received"),
              _("Neither, in this period"))
    counts = _shown([data[k] for k in keys], council)
    total = sum(data[k] for k in keys)
    rows = [(label, n, _share(n, total)) for label, n in zip(labels, counts, strict=True)]
    return Table("reciprocity", _("Give and take: active members"),
                 (_("Members who…"), _("How many"), _("Share")), rows, unit=_("members"),
                 note=_("Reciprocity: nobody should only give or only take.")), data


def _outcome_tables(scope: figures.Scope, council: bool) -> list[Table]:
    words = _score_words()
    rows = figures.outcomes(scope)
    counts = _shown([n for _s, n in rows], council)
    total = sum(n for _s, n in rows)
    by_score = Table(
        "outcomes", _("What difference it made (answers on the fixed scale)"),
        (_("Answer"), _("Answers"), _("Share")),
        [(words.get(score, str(score)), n, _share(n, total))
         for (score, _n), n in zip(rows, counts, strict=True)], unit=_("answers"))
    grid: dict[str, dict[int, int]] = {}
    for name, score, n in figures.outcomes_by_category(scope):
        grid.setdefault(name or _("not said"), {})[score] = n
    cells = [n for row in grid.values() for n in (row.get(s, 0) for s in words)]
    shown = iter(_shown(cells, council))
    by_kind = Table(
        "outcomes-by-kind", _("What difference it made, by kind of help"),
        (_("Kind of help"), *words.values()),
        [(name, *(next(shown) for _s in words)) for name in grid], chart=None)
    return [by_score, by_kind]


def _activity_tables(scope: figures.Scope, council: bool) -> list[Table]:
    waits = figures.request_waits(scope)
    wait_counts = _shown([n for _k, n in waits], council)
    intros = figures.introductions(scope)
    intro_counts = _shown([n for _k, n in intros], council)
    return [
        Table("requests", _("Requests posted in the period: how long they waited"),
              (_("Requests"), _("How many")),
              [(WAIT_WORDS[k](), n) for (k, _n), n in zip(waits, wait_counts, strict=True)],
              unit=_("requests")),
        Table("introductions", _("Introductions and conversations begun in the period"),
              (_("Introductions"), _("How many")),
              [(INTRODUCTION_WORDS[k](), n)
               for (k, _n), n in zip(intros, intro_counts, strict=True)], unit=_("introductions")),
    ]


def for_bank(scope: figures.Scope) -> Report:
    """A coordinator's report of their bank: every figure, the names to invite, members'
    own words where they agreed, and what needs a look."""
    give_take, reciprocity = _give_take_table(scope, council=False)
    tables = [*_exchange_tables(scope, False), give_take, *_outcome_tables(scope, False),
              *_activity_tables(scope, False),
              Table("members", _("Given and received by each member"),
                    (_("Member number"), _("Name"), _("Hours given"), _("Hours received")),
                    [], page=False)]
    stale_count, stale = figures.stale_listings(scope.bank_ids)
    return Report(scope, False, tables, members=figures.members(scope), extra={
        "reciprocity": reciprocity, "words": figures.shared_words(scope),
        "stale_listings": (stale_count, stale), "stale_assets": figures.stale_assets()})


def member_rows(scope: figures.Scope):
    """The coordinator's per-member download, streamed."""
    return ((n, name, _hours(g), _hours(r)) for n, name, g, r in figures.give_take_rows(scope))


def for_area(scope: figures.Scope) -> Report:
    """The council's report: the same arithmetic over the area's banks, aggregates only."""
    give_take, _data = _give_take_table(scope, council=True)
    people = figures.members(scope)
    shown = dict(zip(people, _shown(list(people.values()), True), strict=True))
    looks = figures.co_assessment(scope)
    few = 0 < looks["people"] < figures.SMALL or 0 < looks["looked"] < figures.SMALL
    looked = hidden() if few else looks["looked"]
    assessment = Table(
        "co-assessment", _("Co-assessment: what members found when they looked at assets"),
        (_("Of the assets members looked at"), _("How many"), _("Share")),
        [(_("Looked at in the period"), looked, "")]
        + [(label, hidden() if few else looks[key], "–" if few else
            _share(looks[key], looks["looked"]))
           for key, label in (("still_there", _("Still there")),
                              ("welcoming", _("Welcoming (3 or 4 of 4)")),
                              ("accessible", _("Accessible")))], unit=_("assets"))
    assets = Table("assets", _("Community assets on the map, by kind"),
                   (_("Kind of asset"), _("Assets")), figures.assets_by_category(),
                   unit=_("assets"))
    tables = [*_exchange_tables(scope, True), give_take, *_outcome_tables(scope, True),
              *_activity_tables(scope, True), assets, assessment]
    return Report(scope, True, tables, members=shown)

