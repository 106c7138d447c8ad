"""The figures laid out as tables: one shape for the page, its chart and its CSV.

A coordinator's report has their bank in full detail; a council viewer's has the
area's banks in aggregates only, every count of people under ``figures.SMALL``
replaced by "fewer than 5" (with the hours beside it), here, once, for the page,
the charts and the downloads alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from flask_babel import gettext as _
from flask_babel import ngettext

from timebank.core import events, participation, quiet, snapshots
from timebank.core.assets import neighbourhoods
from timebank.core.models.ledger import OUTCOME_SCALE
from timebank.core.reports import figures
from timebank.core.reports.charts import bars
from timebank.infra import maps
from timebank.infra.extensions import db


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
    labels: int = 1  # leading columns that name the row (the rest are figures)

    @cached_property
    def svg(self):
        return bars(self, f"chart-{self.key}")


@dataclass
class Report:
    scope: figures.Scope
    council: bool
    tables: list[Table]
    members: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    map_of: tuple[list[int], bool] | None = None  # which banks' members the map shades

    @cached_property
    def map(self) -> AreaMap | None:
        """Built when a page shows it (never for a download)."""
        return area_map(*self.map_of) if self.map_of else None

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)


class Withheld(str):
    """A figure a council viewer may not see, as the words shown in its place (on the
    page, in the chart, which draws no bar, and in the CSV alike)."""


def hidden() -> Withheld:
    """A count of 1 to 4: it really is fewer than 5."""
    return Withheld(_("fewer than %(n)s", n=figures.SMALL))


def protected() -> Withheld:
    """A figure hidden for another's sake (the next smallest beside a lone small count, the
    hours beside a hidden count, everything about a place where few live): it may be any
    size, so it never reads "fewer than 5"."""
    return Withheld(_("hidden to protect small numbers"))


def withheld(value) -> bool:
    return isinstance(value, Withheld)


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def _shown_hours(minutes: int, council: bool):
    """Hours as the reader may see them: to the nearest 5 for council viewers, so that a
    total minus the hours shown beside other cells cannot pin down a hidden cell's."""
    return 5 * round(minutes / 300) if council else _hours(minutes)


def _publish(n: int) -> int:
    """A council figure of 5 or more, rounded to the nearest 5: differencing two tables or
    two filtered views can then never pin down a hidden small number."""
    return 5 * ((n + 2) // 5)


def _shown(counts: list[int], council: bool, people: list[int] | None = None) -> list:
    """Counts as the reader may see them: all of them for coordinators; for council
    viewers, every figure about 1 to 4 people (``people``: each figure's; by default the
    counts are of people), and the next smallest when only one would hide, withheld:
    "fewer than 5" when the count itself is, else "hidden to protect small numbers".
    The rest are rounded to the nearest 5."""
    if not council:
        return counts
    return [(hidden() if s.small else protected()) if s.suppressed else _publish(s.value)
            for s in figures.suppress(counts, people)]


def _guarded(people, scope: figures.Scope) -> dict:
    """How many people each row of a council figure stands for, counting also what any
    other view less this one would show (``Scope.complements``): a row whose difference
    with another view is about 1 to 4 people counts as that few, and is hidden."""
    found = dict(people(scope))
    for other in scope.complements():
        for key, n in people(other).items():
            if 0 < n < figures.SMALL and key in found:
                found[key] = min(found[key], n)
    return found


def _risky(values_of, scope: figures.Scope) -> set[int]:
    """Rows of a figure that counts people whose value, set beside the same figure in a
    comparable view (``Scope.comparable``: a coordinator's exact one, say), differs by 1
    to 4 people: those rows would give the few away."""
    others = scope.comparable()
    if not others:
        return set()
    mine = values_of(scope)
    risky: set[int] = set()
    for other in others:
        for i, (a, b) in enumerate(zip(mine, values_of(other), strict=False)):
            if 0 < abs(a - b) < figures.SMALL:
                risky.add(i)
    return risky


def _people_shown(counts: list[int], council: bool, risky: set[int] | None = None) -> list:
    """Counts of people as shown: a risky row (``_risky``) counts as one person's."""
    return _shown(counts, council, None if not risky else
                  [1 if i in risky else n for i, n in enumerate(counts)])


def _aligned(people: dict | None, keys: list) -> list[int] | None:
    """How many people each row is about, in the rows' order (None: count the counts)."""
    return None if people is None else [people.get(key, 0) for key in keys]


def _counted_rows(rows: list[tuple], council: bool, people: dict | None = None,
                  hours: bool = True) -> list[tuple]:
    """(label, count[, minutes]) rows as shown: hours beside a hidden count are hidden.
    ``people``: how many people each row is about, by its label."""
    counts = _shown([r[1] for r in rows], council,
                    _aligned(people, [r[0] for r in rows]))
    out: list[tuple] = []
    for row, count in zip(rows, counts, strict=True):
        if hours:
            out.append((row[0], count,
                        protected() if withheld(count) else _shown_hours(row[2], council)))
        else:
            out.append((row[0], count))
    return out


def _shares(counts: list[int], shown: list, whole: int, council: bool) -> list[str]:
    """Each count's share of ``whole``; for council viewers to the nearest 10 %, and none
    at all when a cell is hidden (a share would give the hidden figure away)."""
    if not whole or (council and any(withheld(n) for n in shown)):
        return ["–"] * len(counts)
    step = 10 if council else 1
    return [f"{step * round(100 * n / whole / step)} %" for n in counts]


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
    # Council figures are hidden by the people they are about, not by what they count.
    who = (lambda people: _guarded(people, scope)) if council else (lambda _people: None)
    tables = [
        Table("months", _("Exchanges and hours by month"), (_("Month"), exchanges, hours),
              _counted_rows(figures.by_month(scope), council, who(figures.people_by_month)),
              chart=2, unit=hours),
        Table("categories", _("Exchanges and hours by kind of help"),
              (_("Kind of help"), exchanges, hours),
              [(name or _("not said"), *rest) for name, *rest in
               _counted_rows(figures.by_category(scope), council,
                             who(figures.people_by_category))], chart=2, unit=hours),
    ]
    helps = figures.who_helps_with_what(scope)
    people = who(figures.people_who_helps)
    counts = _shown([r[2] for r in helps], council,
                    _aligned(people, [(g, r) for g, r, _n, _m in helps]))
    tables.append(Table(
        "who-helps", _("Who helps with what"),
        (_("Received by members who mostly give"), _("Kind of help received"), exchanges,
         hours),
        [(g or _("nothing yet"), r or _("not said"), n,
          protected() if withheld(n) else _shown_hours(m, council))
         for (g, r, _n, m), n in zip(helps, counts, strict=True)], chart=None, labels=2,
        note=_("How time earned doing one thing is spent on another: each exchange counts "
               "under the kind of help its receiver had given most hours in when it was "
               "confirmed.")))
    if figures.areas():
        places = figures.where_received(scope)
        people = who(figures.people_where_received)
        counts = _shown([r[2] for r in places], council,
                        _aligned(people, [r[0] for r in places]))
        tables.append(Table(
            "received-where", _("Exchanges and hours by neighbourhood"),
            (_("Neighbourhood"), exchanges, hours),
            [(name or _("not in a named neighbourhood"), n,
              protected() if withheld(n) else _shown_hours(m, council))
             for (_i, name, _n, m), n in zip(places, counts, strict=True)], chart=2,
            unit=hours,
            note=_("Where the receivers lived when the exchange was confirmed.")))
    crossed = figures.between_banks(scope)
    if crossed:
        people = who(figures.people_between_banks)
        counts = _shown([r[2] for r in crossed], council,
                        _aligned(people, [(g, r) for g, r, _n, _m in crossed]))
        tables.append(Table(
            "banks", _("Time given across banks"),
            (_("Giving bank"), _("Receiving bank"), exchanges, hours),
            [(g, r, n, protected() if withheld(n) else _shown_hours(m, council))
             for (g, r, _n, m), n in zip(crossed, counts, strict=True)], chart=None, labels=2))
    return tables


def _give_take_counts(found: figures.GiveTake) -> list[int]:
    return [found.both, found.only_gave, found.only_received, found.neither]


def _give_take_table(found: figures.GiveTake, council: bool,
                     risky: set[int] | None = None) -> Table:
    labels = (_("Gave and received"), _("Only gave"), _("Only received"),
              _("Neither, in this period"))
    exact = _give_take_counts(found)
    counts = _people_shown(exact, council, risky)
    rows = list(zip(labels, counts, _shares(exact, counts, found.members, council),
                    strict=True))
    return Table("reciprocity", _("Give and take: active members"),
                 (_("Members who…"), _("How many"), _("Share")), rows, unit=_("members"),
                 note=_("Reciprocity: nobody should only give or only take. Counts every "
                        "kind of help."))


SHADES = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")  # fewest to most
HIDDEN_SHADE = "#d9d9d9"


def _neighbourhoods(found: figures.GiveTake, council: bool,
                    risky: set[int] | None = None) -> Table | None:
    """Members and hours given by neighbourhood, where the install has boundaries."""
    rows = figures.by_neighbourhood(found)
    if not rows:
        return None
    counts = _people_shown([n for _a, n, _m in rows], council, risky)
    return Table("neighbourhoods", _("Active members and hours given, by neighbourhood"),
                 (_("Neighbourhood"), _("Members"), _("Hours given")),
                 [(area, n, protected() if withheld(n) else _shown_hours(m, council))
                  for (area, _n, m), n in zip(rows, counts, strict=True)], unit=_("members"),
                 note=_("A member counts in the neighbourhood they name on their profile."))


@dataclass
class AreaMap:
    parts: object  # maps.MapParts
    key: list[tuple[str, str]]  # (colour, what it means)


def area_map(bank_ids: list[int], council: bool) -> AreaMap | None:
    """The neighbourhoods shaded by how many active members of these banks live in each
    (for council viewers, fewer than 5 in grey), as a folium map, or None without
    boundaries. Only shapes and colours travel in the map's script; the names and
    figures are in the table and the key."""
    members = figures.members_by_neighbourhood(bank_ids)
    box = neighbourhoods.union_bbox()
    if not members or box is None:
        return None
    counts = dict(zip(members, _shown(list(members.values()), council), strict=True))
    top = max((n for n in counts.values() if isinstance(n, int)), default=0)
    step = top // len(SHADES) + 1  # members per shade

    def shade(n) -> str:
        return HIDDEN_SHADE if not isinstance(n, int) else SHADES[min(len(SHADES) - 1,
                                                                     n // step)]

    features = [{"type": "Feature", "geometry": geometry,
                 "properties": {"fill": shade(counts[name])}}
                for name, geometry in figures.neighbourhood_shapes() if name in counts]
    key = [(colour, _("%(low)s to %(high)s members", low=i * step, high=(i + 1) * step - 1))
           for i, colour in enumerate(SHADES) if i * step <= top]
    if council:
        key.append((HIDDEN_SHADE, _("fewer than %(n)s, or hidden to protect small numbers",
                                    n=figures.SMALL)))
    west, south, east, north = box
    parts = maps.site_map(((south + north) / 2, (west + east) / 2),
                          areas={"type": "FeatureCollection", "features": features},
                          fit=((south, west), (north, east)))
    return AreaMap(parts, key)


def _outcome_tables(scope: figures.Scope, council: bool) -> list[Table]:
    words = _score_words()
    rows = figures.outcomes(scope)
    exact = [n for _s, n in rows]
    people = _guarded(figures.people_by_score, scope) if council else None
    counts = _shown(exact, council, _aligned(people, [s for s, _n in rows]))
    by_score = Table(
        "outcomes", _("What difference it made (answers on the fixed scale)"),
        (_("Answer"), _("Answers"), _("Share")),
        [(words.get(score, str(score)), n, share) for (score, _n), n, share
         in zip(rows, counts, _shares(exact, counts, sum(exact), council), strict=True)],
        unit=_("answers"))
    by_kind = _score_grid("outcomes-by-kind", _("What difference it made, by kind of help"),
                          _("Kind of help"), figures.outcomes_by_category(scope),
                          _("not said"), council,
                          _guarded(figures.people_by_category_score, scope) if council
                          else None)
    tables = [by_score, by_kind]
    if figures.areas():
        tables.append(_score_grid(
            "outcomes-by-neighbourhood", _("What difference it made, by neighbourhood"),
            _("Neighbourhood"), figures.outcomes_by_area(scope),
            _("not in a named neighbourhood"), council,
            _guarded(figures.people_by_area_score, scope) if council else None))
    return tables


def _score_grid(key: str, title: str, first: str, found: list[tuple[str, int, int]],
                unnamed: str, council: bool, people: dict | None = None) -> Table:
    """(name, score, answers) rows as one row per name and a column per score;
    ``people``: how many answered, by (name, score)."""
    words = _score_words()
    grid: dict[str, dict[int, int]] = {}
    who: dict[str, dict[int, int]] = {}
    for name, score, n in found:
        grid.setdefault(name or unnamed, {})[score] = n
        who.setdefault(name or unnamed, {})[score] = (people or {}).get((name, score), 0)
    cells = [n for row in grid.values() for n in (row.get(s, 0) for s in words)]
    answered = [n for row in who.values() for n in (row.get(s, 0) for s in words)]
    shown = iter(_shown(cells, council, answered if people is not None else None))
    return Table(key, title, (first, *words.values()),
                 [(name, *(next(shown) for _s in words)) for name in grid], chart=None)


def _activity_tables(scope: figures.Scope, council: bool) -> list[Table]:
    # Hidden by the people who posted or asked, not by the requests (one person's six).
    posted = figures.request_waits(scope, with_people=True)
    waits = [(k, n) for k, n, _p in posted]
    wait_people = [p for _k, _n, p in posted]
    found = figures.introductions(scope, with_people=True)
    intros = [(k, n) for k, n, _p in found]
    intro_people = [p for _k, _n, p in found]
    if council:  # set beside comparable views, by the people each row counts
        for people, values_of in (
                (wait_people, lambda sc: [p for *_k, p in figures.request_waits(
                    sc, with_people=True)]),
                (intro_people, lambda sc: [p for *_k, p in figures.introductions(
                    sc, with_people=True)])):
            for i in _risky(values_of, scope):
                people[i] = min(people[i], 1)
    wait_counts = _shown([n for _k, n in waits], council, wait_people)
    intro_counts = _shown([n for _k, n in intros], council, intro_people)
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


RUNG_WORDS = {
    "co_producing": lambda: _("Co-producing: took part in a co-design session or "
                              "volunteered to deliver an idea"),
    "involved": lambda: _("Involved: proposed or commented on an idea"),
    "consulted": lambda: _("Consulted: supported or rated an idea, or reviewed an asset"),
    "informed": lambda: _("Informed: none of these yet"),
}


def _ladder_counts(scope: figures.Scope) -> list[int]:
    return list(participation.ladder(scope.bank_ids, *scope.bounds()).values())


def _ladder_table(scope: figures.Scope, council: bool) -> Table:
    rungs = participation.ladder(scope.bank_ids, *scope.bounds())
    exact = list(rungs.values())
    counts = _people_shown(exact, council, _risky(_ladder_counts, scope) if council else None)
    return Table("ladder", _("Taking part: active members on each rung of the ladder"),
                 (_("Rung"), _("Members"), _("Share")),
                 list(zip([RUNG_WORDS[k]() for k in rungs], counts,
                          _shares(exact, counts, sum(exact), council), strict=True)),
                 unit=_("members"),
                 note=_("Each member counts once, on the highest rung they reached in the "
                        "period."))


def _event_figures(scope: figures.Scope) -> tuple[int, list[int]]:
    """Events held, and the people figures: who came, newcomers, quiet who came back."""
    reach = events.reach(scope.bank_ids, *scope.bounds())
    return reach["events"], [reach["people"], reach["newcomers"],
                             quiet.came_back(scope.bank_ids, *scope.bounds())]


def _event_people(scope: figures.Scope) -> list[int]:
    return _event_figures(scope)[1]


def _events_table(scope: figures.Scope, council: bool) -> Table:
    """Who events reached: people who came (helping or not), and newcomers among them.
    Council figures stand for at least five people, as every other count of people."""
    held, exact = _event_figures(scope)
    counts = _people_shown(exact, council, _risky(_event_people, scope) if council else None)
    return Table("events", _("Reaching people: events, and quiet members who came back"),
                 (_("Who"), _("People")),
                 [(_("People who came to events"), counts[0]),
                  (_("Newcomers who came (joined within 90 days before)"), counts[1]),
                  (_("Quiet members contacted who then had an exchange"), counts[2])],
                 unit=_("people"),
                 note=ngettext("%(num)d event took place in the period.",
                               "%(num)d events took place in the period.", held))


def for_bank(scope: figures.Scope) -> Report:
    """A coordinator's report of their bank: every figure, the names to invite, members'
    own words where they agreed, and what needs a look."""
    found = figures.give_take(scope)
    areas = _neighbourhoods(found, council=False)
    tables = [*_exchange_tables(scope, False), _give_take_table(found, False),
              *([areas] if areas else []), *_outcome_tables(scope, False),
              *_activity_tables(scope, False), _ladder_table(scope, False),
              _events_table(scope, False),
              Table("members", _("Given and received by each member"),
                    (_("Member number"), _("Name"), _("Hours given"), _("Hours received")),
                    [], page=False)]
    stale_count, stale = figures.stale_listings(scope.bank_ids)
    return Report(scope, False, tables, members=figures.members(scope),
                  map_of=(scope.bank_ids, False),
                  extra={"reciprocity": found, "words": figures.shared_words(scope),
                         "stale_listings": (stale_count, stale),
                         "stale_assets": figures.stale_assets()})


def member_rows(scope: figures.Scope):
    """The coordinator's per-member download."""
    return [(n, name, _hours(int(g)), _hours(int(r))) for n, name, _where, g, r
            in figures.give_take(scope).rows]


def _all_hidden(table: Table) -> Table:
    """The table with every figure withheld (its labels kept): each describes fewer than 5
    people, whatever its own size."""
    rows = [(*row[:table.labels], *(protected() for _cell in row[table.labels:]))
            for row in table.rows]
    return Table(table.key, table.title, table.header, rows, chart=None, unit=table.unit,
                 note=table.note, page=table.page, labels=table.labels)


def for_area(scope: figures.Scope, all_banks: list[int]) -> Report:
    """The council's report: the same arithmetic over the area's banks, aggregates only."""
    found = figures.give_take(scope)
    give_take = _give_take_table(found, True, _risky(
        lambda sc: _give_take_counts(figures.give_take(sc)), scope))
    areas = _neighbourhoods(found, True, _risky(
        lambda sc: [n for _a, n, _m in figures.by_neighbourhood(figures.give_take(sc))],
        scope))
    people = figures.members(scope)
    shown = dict(zip(people, _people_shown(list(people.values()), True, _risky(
        lambda sc: list(figures.members(sc).values()), scope)), strict=True))
    looks = figures.co_assessment(scope)
    keys = ("looked", "still_there", "welcoming", "accessible")
    exact = [looks[k] for k in keys]
    if 0 < looks["people"] < figures.SMALL:
        exact_shown = [protected() if n else 0 for n in exact]
    else:
        exact_shown = _shown(exact, True)
    shares = _shares(exact[1:], exact_shown[1:], looks["looked"], True)
    if any(withheld(n) for n in exact_shown):
        shares = ["–"] * 3
    labels = (_("Still there"), _("Welcoming (3 or 4 of 4)"), _("Accessible"))
    assessment = Table(
        "co-assessment", _("Co-assessment: what members found when they looked at assets"),
        (_("Of the assets members looked at"), _("How many"), _("Share")),
        [(_("Looked at in the period"), exact_shown[0], ""),
         *zip(labels, exact_shown[1:], shares, strict=True)], unit=_("assets"))
    assets = Table("assets", _("Community assets on the map, by kind"),
                   (_("Kind of asset"), _("Assets")), figures.assets_by_category(),
                   unit=_("assets"))
    kinds, places = figures.assets_by_neighbourhood()
    by_place = [Table("asset-gaps", _("Community assets by neighbourhood and kind"),
                      (_("Neighbourhood"), *kinds),
                      [(name, *(n if n else _("none") for n in counts))
                       for name, counts in places], chart=None,
                      note=_("“none” marks a gap: no asset of that kind on the map in that "
                             "neighbourhood."))] if places else []
    about_people = [*_exchange_tables(scope, True), give_take, *([areas] if areas else []),
                    *_outcome_tables(scope, True), *_activity_tables(scope, True)]
    behind = min([figures.people_in(scope)]
                 + [n for n in map(figures.people_in, scope.complements()) if n])
    if (0 < behind < figures.SMALL
            or (scope.area_id is not None and 0 < people["active"] < figures.SMALL)):
        # Figures about fewer than five people in all (whoever lives there today: they
        # may have moved away, been suspended or erased since), or a neighbourhood where
        # fewer than five members live: every figure here describes fewer than five.
        about_people = [_all_hidden(t) for t in about_people]
        shown = {key: protected() if n else 0 for key, n in shown.items()}
    tables = [*about_people, _ladder_table(scope, True), _events_table(scope, True), assets,
              *by_place, assessment]
    # The map is the whole area's, whatever the filters (they swap only the figures).
    return Report(scope, True, tables, members=shown, map_of=(all_banks, True))



def _kept(kind: str, scope: figures.Scope, build, now: datetime, language: str,
          fresh_seconds: float, afresh: bool) -> snapshots.Snapshot:
    key = snapshots.naming_people((str(db.engine.url), kind, repr(scope), language))
    return snapshots.latest(key, build, now, fresh_seconds, afresh=afresh)


def bank_report(scope: figures.Scope, now: datetime, language: str,
                fresh_seconds: float = snapshots.FRESH_SECONDS,
                afresh: bool = False) -> snapshots.Snapshot:
    """``for_bank``, kept a few minutes where it took long to work out (``snapshots``)."""
    return _kept("bank", scope, lambda: for_bank(scope), now, language, fresh_seconds,
                 afresh)


def area_report(scope: figures.Scope, all_banks: list[int], now: datetime, language: str,
                fresh_seconds: float = snapshots.FRESH_SECONDS,
                afresh: bool = False) -> snapshots.Snapshot:
    """``for_area``, kept a few minutes where it took long to work out (``snapshots``)."""
    return _kept(f"area {all_banks}", scope, lambda: for_area(scope, all_banks), now,
                 language, fresh_seconds, afresh)


def member_rows_kept(scope: figures.Scope, now: datetime,
                     fresh_seconds: float = snapshots.FRESH_SECONDS,
                     afresh: bool = False) -> snapshots.Snapshot:
    return _kept("members", scope, lambda: member_rows(scope), now, "", fresh_seconds,
                 afresh)
