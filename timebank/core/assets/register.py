"""The asset register's rules: what is published, moderation, reviews, geocoding, staleness.

No request objects: routes pass plain values in. Import and export are in ``files.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from timebank.core.assets.neighbourhoods import names_for, union_bbox
from timebank.core.models import (
    Asset,
    AssetCategory,
    AssetReview,
    AssetStatus,
    GeocodeState,
    Member,
)
from timebank.core.models.assets import DEFAULT_ASSET_CATEGORIES, CheckedHow, public_point
from timebank.core.models.audit import record as audit
from timebank.core.models.banks import Bank
from timebank.core.models.base import utcnow
from timebank.core.models.names import thing_name
from timebank.core.notify import notify
from timebank.infra import cache, geo, maps
from timebank.infra.db import like_pattern
from timebank.infra.extensions import db

# Where the map opens when nothing is published yet, and where a register with no other
# clue is assumed to be when telling swapped coordinates apart (the install's home).
DEFAULT_CENTRE = (51.5072, -0.1276)

def seed_asset_categories() -> int:
    existing = set(db.session.scalars(select(AssetCategory.slug)))
    added = 0
    for position, (slug, name, colour) in enumerate(DEFAULT_ASSET_CATEGORIES):
        if slug not in existing:
            db.session.add(AssetCategory(slug=slug, name=name, colour=colour, position=position))
            added += 1
    return added


class CategoryRow(NamedTuple):
    """A kind of asset as pages, the map's layer and imports use it (plain values)."""

    id: int
    slug: str
    name_en: str
    colour: str
    names: dict

    @property
    def name(self) -> str:
        """In the reader's language (the rows are kept for every language)."""
        return thing_name(self.name_en, self.names)


def categories() -> tuple[CategoryRow, ...]:
    """The active kinds of asset in their order, read once per version of the register
    (which their changes move on), not on every map page."""
    return cache.built(cache.REGISTER, ("categories",), lambda _version: tuple(
        CategoryRow(*row) for row in db.session.execute(
            select(AssetCategory.id, AssetCategory.slug, AssetCategory.name,
                   AssetCategory.colour, AssetCategory.names).where(AssetCategory.active)
            .order_by(AssetCategory.position, AssetCategory.id))))


def locate(asset: Asset, coder: geo.Geocoder) -> str:
    """Geocode the asset's address into its coordinates; return the state reached.

    Call before changing anything else in the session (the geocoder releases the
    caller's transaction while it waits for the service).
    """
    query = ", ".join(p for p in (asset.address_1, asset.city, asset.postal_code) if p)
    if not query:
        return GeocodeState.NOT_FOUND
    try:
        place = coder.geocode(query)
    except geo.GeocoderUnavailable:
        return GeocodeState.PENDING
    if place is None:
        return GeocodeState.NOT_FOUND
    asset.latitude, asset.longitude = place.latitude, place.longitude
    asset.geocode_source = "nominatim"
    return GeocodeState.OK


# -- a register that stays true ---------------------------------------------------------

DEFAULT_CHECK_MONTHS = 12
ACV_YEARS = 5  # an Asset of Community Value is listed for five years (Localism Act 2011)
ACV_REMIND_DAYS = 90  # coordinators are told this long before a listing ends


def add_years(day: date, years: int) -> date:
    """The same day ``years`` on (29 February falls on the 28th)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def check_months() -> int:
    """How long an asset may go unchecked: the strictest of the banks' settings, since
    the register is the area's, shared by its banks."""
    return int(db.session.scalar(select(func.min(Bank.asset_check_months)))
               or DEFAULT_CHECK_MONTHS)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the 31st of a short
    month falls on its last day)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    last_day = (first_of_next - date.resolution).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def stale_cutoff(now: datetime, months: int | None = None) -> datetime:
    """Assets last checked before this are stale (``now``: the caller's clock)."""
    return months_before(now, check_months() if months is None else months)


def last_checked(asset: Asset) -> datetime:
    return asset.confirmed_at or asset.created_at


def checked_by(asset: Asset) -> str:
    """Who last said it is as described, as the asset's page says it (no member's name:
    the page is public)."""
    said: dict[str, object] = {
        CheckedHow.COORDINATOR: _l("a coordinator"), CheckedHow.REVIEW: _l("a resident"),
        CheckedHow.CONTACT: _l("its contact"), CheckedHow.IMPORT: _l("an imported register")}
    return str(said.get(asset.checked_how, said[CheckedHow.COORDINATOR]))


def is_stale(asset: Asset, now: datetime) -> bool:
    return asset.status == AssetStatus.PUBLISHED and last_checked(asset) < stale_cutoff(now)


def stale_query(now: datetime):
    """Published assets nobody has checked within the banks' time, least lately first."""
    return (select(Asset).where(
        Asset.status == AssetStatus.PUBLISHED,
        func.coalesce(Asset.confirmed_at, Asset.created_at) < stale_cutoff(now))
        .order_by(func.coalesce(Asset.confirmed_at, Asset.created_at), Asset.id))


def checked(asset: Asset, now: datetime, how: str, by_id: int | None) -> None:
    """Someone has said it is as described: the date and who, for the register and the
    open data's ``assured_date``."""
    asset.confirmed_at = now
    asset.checked_how = how
    asset.checked_by_id = by_id


# -- what is published ---------------------------------------------------------

# The columns the map and the gap analysis need: plain rows, not ORM objects,
# since a page may carry ten thousand assets.
MAP_COLUMNS = (Asset.id, Asset.name, Asset.category_id, Asset.latitude, Asset.longitude,
               func.coalesce(Asset.confirmed_at, Asset.created_at), Asset.at_home)


def published_query(category_slug: str = "", text: str = "", open_to_all: bool = False,
                    step_free: bool = False, bbox=None):
    query = select(Asset).where(Asset.status == AssetStatus.PUBLISHED)
    if category_slug:
        query = query.join(AssetCategory).where(AssetCategory.slug == category_slug)
    if text:
        like = like_pattern(text.strip())
        query = query.where(or_(Asset.name.ilike(like, escape="\\"),
                                Asset.description.ilike(like, escape="\\")))
    if open_to_all:
        query = query.where(Asset.open_to_all)
    if step_free:
        query = query.where(Asset.step_free)
    if bbox:
        # Widened by a home's square: the box is then decided on each asset's public
        # point (``in_box``), never on a home's own, which shrinking boxes would find.
        min_lon, min_lat, max_lon, max_lat = bbox
        query = query.where(Asset.latitude.between(min_lat - BOX_PAD, max_lat + BOX_PAD),
                            Asset.longitude.between(min_lon - BOX_PAD, max_lon + BOX_PAD))
    return query


BOX_PAD = 0.02  # degrees: more than half a ~500 m square, at any latitude people live


def in_box(asset: Asset, bbox) -> bool:
    """Whether the asset's public point is inside ``bbox`` (min_lon, min_lat, max_lon,
    max_lat)."""
    point = asset.public_point
    if point is None:
        return False
    min_lon, min_lat, max_lon, max_lat = bbox
    return min_lat <= point[0] <= max_lat and min_lon <= point[1] <= max_lon


class MapRow(NamedTuple):
    id: int
    name: str
    category_id: int
    latitude: float | None  # a home's: the centre of its ~500 m square
    longitude: float | None
    checked: datetime  # when someone last said it is as described

    @classmethod
    def of(cls, row) -> MapRow:
        asset_id, name, category_id, lat, lon, checked_at, at_home = row
        point = public_point(lat, lon, at_home)
        return cls(asset_id, name, category_id, *(point or (None, None)), checked_at)


def published_rows(category_slug: str = "", text: str = "", open_to_all: bool = False,
                   step_free: bool = False) -> list:
    """The published assets the map page's filters choose, as plain (id, name, category,
    latitude, longitude) rows in name order: built once per version of the register."""

    def build(_version: int) -> list:
        query = published_query(category_slug, text, open_to_all, step_free)
        return [MapRow.of(row) for row in db.session.execute(
            query.with_only_columns(*MAP_COLUMNS).order_by(Asset.name, Asset.id))]

    key = ("rows", category_slug, text, open_to_all, step_free)
    return cache.built(cache.REGISTER, key, build,
                       lambda rows: 250 * len(rows) + sum(len(r.name) for r in rows))


def map_json(key: tuple[str, str, bool, bool], stale_before: datetime) -> bytes:
    """The compact GeoJSON the map draws: id, name and the index of its kind per asset
    (and "s" when it was last checked before ``stale_before``), and the kinds' names and
    colours."""
    return _layer(lambda point: [point(a) for a in published_rows(*key)
                                 if a.latitude is not None], stale_before)


def _layer(features, stale_before: datetime, **extra) -> bytes:
    """The map's layer as JSON: ``features(point)`` lists its features, ``point(row)``
    being an asset's (id, name, the index of its kind, "s" if unchecked too long), beside
    the kinds' names and colours."""
    cats = categories()
    kinds = {c.id: i for i, c in enumerate(cats)}

    def point(a: MapRow) -> dict:
        props = {"n": a.name, "c": kinds.get(a.category_id, 0)}
        if a.checked < stale_before:
            props["s"] = 1
        return maps.asset_feature(a.id, a.latitude, a.longitude, props)

    # HTML-safe too: opened directly or sniffed, no name can become markup.
    return str(maps.html_safe_json({
        "type": "FeatureCollection", "features": features(point), **extra,
        "stale_label": str(_l("Not checked lately")),
        "categories": [{"name": c.name, "colour": c.colour} for c in cats]})).encode()


# -- the map's view of a big register ---------------------------------------------------

# Past TIMEBANK_MAP_VIEWPORT_FROM placed assets the map asks for what its view shows;
# below it the whole layer comes at once.
VIEW_POINTS = 1000  # a view showing more than this is drawn as groups with counts
CELL_PX = 64  # a group stands for a square this many pixels wide at the view's zoom
MAX_ZOOM = 19
# A view at most this many groups wide and high (a 4K screen is 60): a wider one is not
# what a map shows, and each distinct view is built and kept in the cache.
VIEW_CELLS = 128
MAX_GROUPS = 4000  # more groups than this and they are made twice as wide, until fewer


class MapIndex(NamedTuple):
    rows: list  # the placed MapRows
    lat: np.ndarray  # the rows' coordinates as arrays beside them
    lon: np.ndarray


def map_index(key: tuple[str, str, bool, bool]) -> MapIndex:
    """The filter's placed assets with their coordinates as arrays, once per version."""

    def build(_version: int) -> MapIndex:
        rows = [a for a in published_rows(*key) if a.latitude is not None]
        return MapIndex(rows, np.fromiter((a.latitude for a in rows), float, len(rows)),
                        np.fromiter((a.longitude for a in rows), float, len(rows)))

    return cache.built(cache.REGISTER, ("index", *key), build,
                       lambda index: 300 * len(index.rows))  # its rows and arrays


def bounds(key: tuple[str, str, bool, bool]):
    """((south, west), (north, east)) around the filter's placed assets, or None."""
    index = map_index(key)
    if not index.rows:
        return None
    return ((float(index.lat.min()), float(index.lon.min())),
            (float(index.lat.max()), float(index.lon.max())))


def view_cell(zoom: int) -> float:
    """How many degrees of longitude one group covers at ``zoom`` (256-pixel tiles)."""
    return 360.0 / 2**zoom * CELL_PX / 256


def snap_view(bbox: tuple[float, float, float, float], zoom: int) -> tuple | None:
    """``bbox`` (west, south, east, north) widened to whole groups, inside the world: views
    a little apart ask for the same thing (one cached answer), and groups do not shift
    as the map pans. None when it is wider or higher than VIEW_CELLS groups."""
    cell = view_cell(zoom)
    west, south, east, north = bbox
    snapped = (max(-180.0, math.floor(west / cell) * cell),
               max(-90.0, math.floor(south / cell) * cell),
               min(180.0, math.ceil(east / cell) * cell),
               min(90.0, math.ceil(north / cell) * cell))
    if max(snapped[2] - snapped[0], snapped[3] - snapped[1]) > VIEW_CELLS * cell:
        return None
    return snapped


def view_json(key: tuple[str, str, bool, bool], bbox: tuple, zoom: int,
              stale_before: datetime) -> bytes:
    """What the map shows inside ``bbox`` (already snapped): each asset as in ``map_json``
    when few enough, otherwise one feature per group of a ``view_cell`` square, at the
    group's centre of mass, with its count ("k"); a group of one is its asset."""

    index = map_index(key)
    west, south, east, north = bbox
    inside = np.flatnonzero((index.lat >= south) & (index.lat <= north)
                            & (index.lon >= west) & (index.lon <= east))
    if len(inside) <= VIEW_POINTS:
        return _layer(lambda point: [point(index.rows[i]) for i in inside], stale_before,
                      grouped=False, total=int(len(inside)))
    cell = view_cell(zoom)
    lat, lon = index.lat[inside], index.lon[inside]
    while True:
        square = (np.floor(lon / cell).astype(np.int64) * 4_000_000_000
                  + np.floor(lat / cell).astype(np.int64))
        _keys, which, counts = np.unique(square, return_inverse=True, return_counts=True)
        if len(counts) <= MAX_GROUPS:
            break
        cell *= 2
    mean_lat = np.bincount(which, lat) / counts
    mean_lon = np.bincount(which, lon) / counts
    member = np.empty(len(counts), dtype=np.int64)
    member[which] = inside  # an asset of each group: a group of one is shown as it

    def groups(point) -> list:
        return [point(index.rows[int(member[g])]) if counts[g] == 1 else
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                    round(float(mean_lon[g]), 6), round(float(mean_lat[g]), 6)]},
                 "properties": {"k": int(counts[g])}}
                for g in range(len(counts))]

    return _layer(groups, stale_before, grouped=True, total=int(len(inside)))


def category_by_slug(slug: str) -> AssetCategory | None:
    return db.session.scalar(select(AssetCategory).where(AssetCategory.slug == slug))


def visible_to(asset: Asset, member: Member | None) -> bool:
    """Published assets are public; others only to whoever suggested them, and to staff."""
    if asset.status == AssetStatus.PUBLISHED:
        return True
    return member is not None and (asset.submitted_by_id == member.id
                                   or member.staff_somewhere())


def reviews_of(asset: Asset, limit: int = 50) -> list[AssetReview]:
    return list(db.session.scalars(
        select(AssetReview).where(AssetReview.asset_id == asset.id)
        .order_by(AssetReview.id.desc()).limit(limit)))


def moderation_queues(now: datetime, limit: int = 200) -> dict[str, Any]:
    """What coordinators look after: suggestions, assets not checked lately, unplaced
    ones, and what contacts and members said about published ones."""
    return {
        "proposed": list(db.session.scalars(
            select(Asset).where(Asset.status == AssetStatus.PROPOSED).order_by(Asset.id)
            .limit(limit))),
        "stale": list(db.session.scalars(stale_query(now).limit(limit))),
        "check_months": check_months(),
        "unplaced": list(db.session.scalars(
            select(Asset).where(Asset.status == AssetStatus.PUBLISHED, Asset.latitude.is_(None))
            .order_by(Asset.id).limit(limit))),
    }


# -- changes ---------------------------------------------------------------------

TEXT_FIELDS = ("name", "description", "address_1", "city", "postal_code", "opening_hours",
               "audience", "accessibility", "run_by", "url", "email", "phone")


def _apply(asset: Asset, values: dict) -> None:
    for name in TEXT_FIELDS:
        setattr(asset, name, (values.get(name) or "").strip())
    asset.category_id = values["category"]
    asset.open_to_all = bool(values.get("open_to_all"))
    asset.step_free = bool(values.get("step_free"))
    asset.at_home = bool(values.get("at_home"))
    if "council_owned" in values:  # what only coordinators record
        asset.council_owned = bool(values["council_owned"])
        asset.uprn = (values.get("uprn") or "").strip()
        asset.tenure = values.get("tenure") or ""
        listed = values.get("acv_listed_on")
        if listed != asset.acv_listed_on:
            asset.acv_reminded_on = None  # a new listing gets its own reminder
        asset.acv_listed_on = listed
        asset.acv_expires_on = (values.get("acv_expires_on")
                                or (add_years(listed, ACV_YEARS) if listed else None))


def place(asset: Asset, values: dict, coder: geo.Geocoder, address_changed: bool) -> str:
    """Coordinates from the map picker, or from the address; return the geocode state.

    Runs before other changes: the geocoder releases the session's transaction.
    """
    if values.get("latitude") is not None and values.get("longitude") is not None:
        asset.latitude, asset.longitude = values["latitude"], values["longitude"]
        asset.geocode_source, asset.geocode_state = "map", GeocodeState.OK
        return GeocodeState.OK
    if not address_changed and asset.latitude is not None:
        return GeocodeState.OK
    probe = Asset(address_1=values.get("address_1") or "", city=values.get("city") or "",
                  postal_code=values.get("postal_code") or "")
    state = locate(probe, coder)
    asset.geocode_state = state
    if state == GeocodeState.OK:
        asset.latitude, asset.longitude = probe.latitude, probe.longitude
        asset.geocode_source = "nominatim"
    else:
        asset.latitude = asset.longitude = None
    return state


def suggest(values: dict, by: Member, coder: geo.Geocoder) -> tuple[Asset, str]:
    """A member suggests an asset; it waits for a coordinator. Returns it and its geocode state."""
    asset = Asset(status=AssetStatus.PROPOSED)
    state = place(asset, values, coder, address_changed=True)  # may wait: first
    _apply(asset, values)
    asset.submitted_by_id = by.id
    db.session.add(asset)
    db.session.flush()
    audit(by.id, "asset.suggest", "asset", asset.id)
    db.session.commit()
    return asset, state


def edit(asset: Asset, values: dict, by: Member, coder: geo.Geocoder, publish: bool) -> str:
    """A coordinator edits an asset, publishing it when ``publish``; returns the geocode state."""
    address = (values.get("address_1"), values.get("city"), values.get("postal_code"))
    address_changed = address != (asset.address_1, asset.city, asset.postal_code)
    state = place(asset, values, coder, address_changed)
    _apply(asset, values)
    if publish:
        asset.status = AssetStatus.PUBLISHED
        asset.approved_by_id = by.id
        checked(asset, utcnow(), CheckedHow.COORDINATOR, by.id)
        asset.rejection_reason = ""
    audit(by.id, "asset.publish" if publish else "asset.edit", "asset", asset.id)
    db.session.commit()
    return state


def reject(asset: Asset, reason: str, by: Member, url: str) -> None:
    """Turn a suggestion down; whoever suggested it is told why (``url``: the asset's page)."""
    asset.status = AssetStatus.REJECTED
    asset.rejection_reason = reason.strip()
    audit(by.id, "asset.reject", "asset", asset.id, reason=asset.rejection_reason)
    if asset.submitted_by_id:
        submitter = db.session.get(Member, asset.submitted_by_id)
        notify(submitter, _l("Your suggestion “%(name)s” was not added: %(reason)s",
                             name=asset.name, reason=asset.rejection_reason), url,
               site_wide=True)
    db.session.commit()


def archive(asset: Asset, by: Member) -> None:
    asset.status = AssetStatus.ARCHIVED
    audit(by.id, "asset.archive", "asset", asset.id)
    db.session.commit()


def confirm(asset: Asset, by: Member) -> None:
    """A coordinator has checked: it is still there."""
    checked(asset, utcnow(), CheckedHow.COORDINATOR, by.id)
    audit(by.id, "asset.confirm", "asset", asset.id)
    db.session.commit()


def review(asset: Asset, by: Member, still_there: bool, welcoming: str, accessible: str,
           comment: str) -> AssetReview:
    """A member's check on a published asset (co-assessment); 'still there' refreshes it."""
    item = AssetReview(asset_id=asset.id, member_id=by.id, still_there=still_there,
                       welcoming=welcoming, accessible=accessible, comment=comment.strip())
    db.session.add(item)
    if still_there:
        checked(asset, utcnow(), CheckedHow.REVIEW, by.id)
    audit(by.id, "asset.review", "asset", asset.id, still_there=still_there)
    db.session.commit()
    return item


# -- coverage gaps -----------------------------------------------------------------


def area_points(configured_bbox, asset_points) -> list[tuple[float, float]]:
    """The area studied: the configured bbox if set, else the neighbourhoods', else around
    every published asset.

    Never members' locations: their outermost points would show where people live.
    """

    configured_bbox = configured_bbox or union_bbox()  # else all the neighbourhoods
    if configured_bbox:
        min_lon, min_lat, max_lon, max_lat = configured_bbox
        return [(min_lat, min_lon), (max_lat, max_lon)]
    everything = db.session.execute(
        select(Asset.latitude, Asset.longitude, Asset.at_home).where(
            Asset.status == AssetStatus.PUBLISHED, Asset.latitude.isnot(None))).all()
    # Homes by their square: the study's edge must not give one away.
    return ([p for p in (public_point(*row) for row in everything) if p is not None]
            or list(asset_points))


def coverage(located, distance: float, configured_bbox):
    """Grid cells over the area with the distance to the nearest of the (latitude,
    longitude) points ``located`` (None where not yet placed).

    Returns (bbox or None, every cell, the cells farther than ``distance``, farthest first).
    """
    points = [(lat, lon) for lat, lon in located if lat is not None]
    bbox = geo.padded_bbox(area_points(configured_bbox, points), distance)
    if not bbox:
        return None, [], []
    cells = geo.coverage_grid(bbox, points, cell_m=max(100.0, distance / 3))
    gaps = sorted((c for c in cells if c.nearest_m is None or c.nearest_m > distance),
                  key=lambda c: -(c.nearest_m or 1e12))
    return bbox, cells, gaps


@dataclass(frozen=True)
class Gaps:
    bbox: tuple | None
    cells: list  # every square of the grid, with its distance to the nearest asset
    named: list  # (square, neighbourhood name or "") farther than the distance, farthest first
    layer: dict  # the squares as the map's GeoJSON layer


def gaps(category_slug: str, distance: float, configured_bbox) -> Gaps:
    """Where assets (of one kind) are missing, built once per kind, distance and version
    of the register (the same for every viewer)."""

    def build(_version: int) -> Gaps:
        rows = published_rows(category_slug)
        bbox, cells, gap_cells = coverage([(r.latitude, r.longitude) for r in rows], distance,
                                          configured_bbox)
        named = list(zip(gap_cells, names_for([c.centre for c in gap_cells]), strict=True))
        if union_bbox() and not configured_bbox:
            named = [(cell, place) for cell, place in named if place]  # the area is theirs
        return Gaps(bbox, cells, named, maps.gap_features(cells, distance))

    key = ("gaps", category_slug, float(distance), tuple(configured_bbox or ()))
    return cache.built(cache.REGISTER, key, build, lambda found: 1800 * len(found.cells) + 1024)


def suggested_by(member: Member, limit: int = 200) -> list[Asset]:
    return list(db.session.scalars(
        select(Asset).where(Asset.submitted_by_id == member.id)
        .order_by(Asset.id.desc()).limit(limit)))


def locate_pending(coder: geo.Geocoder) -> dict[str, int]:
    """Retry assets waiting for the geocoder; stop at the first 'still unavailable'.

    Returns how many reached each geocode state.
    """
    waiting = list(db.session.scalars(
        select(Asset.id).where(Asset.geocode_state == GeocodeState.PENDING)))
    states: dict[str, int] = {}
    for asset_id in waiting:
        state = locate(db.session.get(Asset, asset_id), coder)
        asset = db.session.get(Asset, asset_id)
        asset.geocode_state = state
        db.session.commit()
        states[state] = states.get(state, 0) + 1
        if state == GeocodeState.PENDING:
            break
    return states


def proposed_query():
    """Assets members suggested, waiting for a coordinator to check them."""
    return select(Asset).where(Asset.status == AssetStatus.PROPOSED).order_by(Asset.id)
