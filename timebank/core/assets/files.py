"""Asset register files: CSV (HSDS-style headers) and GeoJSON, imported and exported.

Import is forgiving per row and strict per value: one bad row is reported
with its reason and never stops the rest; rows are matched by source id so a
second import of the same file updates instead of duplicating.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from pyproj import Transformer
from sqlalchemy import func, select

from timebank.core.assets import sources
from timebank.core.assets.neighbourhoods import union_bbox
from timebank.core.assets.register import (
    DEFAULT_CENTRE,
    categories,
    in_box,
    published_query,
)
from timebank.core.models import Asset, AssetImport, AssetStatus, Bank, GeocodeState
from timebank.core.models.assets import CheckedHow
from timebank.core.models.audit import record as audit
from timebank.core.models.banks import CouncilArea
from timebank.core.models.base import utcnow
from timebank.infra.exports import csv_chunks
from timebank.infra.extensions import db

# HSDS-style column names, in export order. Import also accepts ``id`` for source_id
# and ``category`` as a slug or a name.
FIELDS = ["source_id", "name", "category", "description", "address_1", "city", "postal_code",
          "latitude", "longitude", "email", "phone", "url", "opening_hours", "accessibility",
          "audience", "open_to_all", "step_free", "run_by"]


# -- export -------------------------------------------------------------------


def export_rows(assets: Iterable[Asset]) -> Iterator[dict]:
    """Each asset's public columns; a home's address and contact left out."""
    for a in assets:
        point = a.public_point
        home = a.at_home
        yield {"source_id": a.source_id or f"timebank-{a.id}", "name": a.name,
               "category": a.category.slug, "description": a.description,
               "address_1": "" if home else a.address_1, "city": a.city,
               "postal_code": "" if home else a.postal_code,
               "latitude": "" if point is None else point[0],
               "longitude": "" if point is None else point[1],
               "email": "" if home else a.email, "phone": "" if home else a.phone,
               "url": a.url,
               "opening_hours": a.opening_hours, "accessibility": a.accessibility,
               "audience": a.audience, "open_to_all": "yes" if a.open_to_all else "no",
               "step_free": "yes" if a.step_free else "no",
               "run_by": "" if home else a.run_by}


def to_csv_chunks(assets: Iterable[Asset]) -> Iterator[str]:
    return csv_chunks(FIELDS, ([row[k] for k in FIELDS] for row in export_rows(assets)))


def _published(slug: str, bbox) -> list[Asset]:

    found = db.session.scalars(published_query(slug, bbox=bbox).order_by(Asset.id))
    return [a for a in found if bbox is None or in_box(a, bbox)]


def geojson_bytes(slug: str = "", bbox=None) -> bytes:
    """The published register (of one kind, within a box) as GeoJSON."""
    return json.dumps(to_geojson(_published(slug, bbox)), ensure_ascii=False,
                      separators=(",", ":")).encode()


def csv_bytes(slug: str = "", bbox=None) -> bytes:
    """The published register (of one kind, within a box) as CSV, formula-safe."""
    return "".join(to_csv_chunks(_published(slug, bbox))).encode()


def to_geojson(assets: Iterable[Asset]) -> dict:
    features = []
    for row, asset in zip(export_rows(assets_list := list(assets)), assets_list, strict=True):
        if row["latitude"] == "":
            continue
        props = {k: v for k, v in row.items() if k not in ("latitude", "longitude")}
        props["id"] = asset.id
        features.append({"type": "Feature", "id": asset.id,
                         "geometry": {"type": "Point", "coordinates": [
                             row["longitude"], row["latitude"]]},
                         "properties": props})
    return {"type": "FeatureCollection", "features": features}


# The Local Government Transparency Code's land and building assets list: the council's
# own published assets, in its columns (British National Grid beside WGS84).
LAND_AND_ASSETS = ["Organisation Label", "Unique Asset Identity", "UPRN", "Asset Name",
                   "Street Address", "Post Town", "Postcode", "Easting", "Northing",
                   "Latitude", "Longitude", "Tenure Type", "Asset Type"]


def organisation_label() -> str:
    """Who publishes the list: the council area, else the (first) bank."""
    return (db.session.scalar(select(CouncilArea.name).order_by(CouncilArea.id).limit(1))
            or db.session.scalar(select(Bank.name).order_by(Bank.id).limit(1)) or "")


def land_and_assets_bytes() -> bytes:
    organisation = organisation_label()
    to_grid = Transformer.from_crs("EPSG:4326", sources.BNG, always_xy=True)

    def rows() -> Iterator[list]:
        for a in db.session.scalars(published_query().where(Asset.council_owned)
                                    .order_by(Asset.name, Asset.id)):
            point = a.public_point
            east = north = ""
            if point is not None:
                e, n = to_grid.transform(point[1], point[0])
                east, north = round(e), round(n)
            yield [organisation, a.source_id or a.uuid, "" if a.at_home else a.uprn, a.name,
                   "" if a.at_home else a.address_1, a.city,
                   "" if a.at_home else a.postal_code, east, north,
                   "" if point is None else point[0], "" if point is None else point[1],
                   a.tenure.title(), a.category.name_en]

    return "".join(csv_chunks(LAND_AND_ASSETS, rows())).encode()


def community_value() -> list[Asset]:
    """Published Assets of Community Value, the soonest to end first."""
    return list(db.session.scalars(
        published_query().where(Asset.acv_listed_on.is_not(None))
        .order_by(Asset.acv_expires_on, Asset.name)))


COMMUNITY_VALUE = ["Asset Name", "Address", "Postcode", "Run By", "Listed On", "Listing Ends"]


def community_value_bytes() -> bytes:
    return "".join(csv_chunks(COMMUNITY_VALUE, (
        [a.name, "" if a.at_home else a.address, "" if a.at_home else a.postal_code,
         "" if a.at_home else a.run_by, a.acv_listed_on.isoformat() if a.acv_listed_on else "",
         a.acv_expires_on.isoformat() if a.acv_expires_on else ""]
        for a in community_value()))).encode()


# -- import -------------------------------------------------------------------
# Reading a register (encodings, columns, categories, coordinate systems, ids) is
# ``sources.py``; this part stores what it prepared, strictly.


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    held: int = 0  # outside the area, waiting for a decision
    lines: list[str] = field(default_factory=list)
    # The same, as values the report page lays out as a table in its reader's language.
    rows: list[dict] = field(default_factory=list)

    def note(self, row: int, outcome: str, reason: str = "", dry_run: bool = False) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        words = {"created": _("would be created") if dry_run else _("created"),
                 "updated": _("would be updated") if dry_run else _("updated"),
                 "skipped": _("skipped"), "rejected": _("rejected"),
                 "held": _("held back")}[outcome]
        line = _("row %(number)s: %(outcome)s", number=row, outcome=words)
        self.lines.append(line + (f" ({reason})" if reason else ""))
        self.rows.append({"row": row, "outcome": outcome, "reason": str(reason)[:500]})

    @property
    def summary(self) -> str:
        said = _("created %(created)s, updated %(updated)s, skipped %(skipped)s, rejected "
                 "%(rejected)s", created=self.created, updated=self.updated,
                 skipped=self.skipped, rejected=self.rejected)
        if self.held:
            said += _(", held back (outside the area) %(held)s", held=self.held)
        return said


def import_assets(rows: list[sources.Prepared], by_id: int | None, *,
                  import_id: int | None = None, dry_run: bool = False,
                  progress: Callable[[int], None] | None = None) -> ImportReport:
    """Create or update published assets by source id; one bad row never stops the rest.

    ``dry_run``: the same work and the same report, then everything is rolled back.
    """
    report = ImportReport()
    seen: dict[str, int] = {}
    whole = db.session.begin_nested()
    for row in rows:
        if progress:
            progress(1)
        notes = "; ".join(row.notes)
        if row.values is None:
            report.note(row.number, "held" if row.held else "rejected", row.problem)
            continue
        values = row.values
        source = values["source_id"]
        if source in seen:
            report.note(row.number, "skipped", _("same id as row %(number)s",
                                                  number=seen[source]))
            continue
        seen[source] = row.number
        try:
            with db.session.begin_nested():  # a failing row rolls back alone
                existing = db.session.scalar(select(Asset).where(Asset.source_id == source))
                if existing is None:
                    asset = Asset(status=AssetStatus.PUBLISHED, approved_by_id=by_id,
                                  confirmed_at=utcnow(), checked_how=CheckedHow.IMPORT,
                                  checked_by_id=by_id, import_id=import_id, **values)
                    _geocode_state_for_import(asset)
                    db.session.add(asset)
                    outcome = "created"
                else:
                    changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
                    if existing.status == AssetStatus.ARCHIVED:  # imported again: back
                        changed["status"] = AssetStatus.PUBLISHED
                    if not changed:
                        report.note(row.number, "skipped", _("unchanged"))
                        continue
                    for k, v in changed.items():
                        setattr(existing, k, v)
                    _geocode_state_for_import(existing)
                    outcome = "updated"
                db.session.flush()
        except Exception as error:  # noqa: BLE001 - report the row, keep importing
            report.note(row.number, "rejected", _("could not be saved: %(why)s",
                                                   why=type(error).__name__))
            continue
        report.note(row.number, outcome, notes, dry_run=dry_run)
    if dry_run:
        whole.rollback()
    else:
        whole.commit()
        db.session.commit()
    return report


NEAR_REGISTER_KM = 50  # with no area set, rows farther than this from the register wait


def import_area() -> tuple[float, float, float, float] | None:
    """Where this install's assets should be: the configured study area, else the area
    the banks set (all of them together: registers are the whole install's), else the
    neighbourhoods', else within 50 km of the published register. Rows outside are held
    for a decision, never imported unasked, so one wrong file cannot pull the next ones
    after it."""


    configured = current_app.config.get("TIMEBANK_AREA_BBOX")
    if configured:
        return (configured[0], configured[1], configured[2], configured[3])
    banks = db.session.execute(
        select(func.min(Bank.min_lon), func.min(Bank.min_lat), func.max(Bank.max_lon),
               func.max(Bank.max_lat)).where(Bank.min_lon.is_not(None))).first()
    if banks is not None and banks[0] is not None:
        return (banks[0], banks[1], banks[2], banks[3])
    return union_bbox() or _near_register()


def _near_register() -> tuple[float, float, float, float] | None:
    """50 km around where most of the register is: the 5th to 95th percentiles of its
    places, so one far-off asset (imported anyway, or a stray) never widens the box."""

    points = db.session.execute(
        select(Asset.longitude, Asset.latitude)
        .where(Asset.status == AssetStatus.PUBLISHED, Asset.latitude.is_not(None),
               Asset.longitude.is_not(None))).all()
    if not points:
        return None
    lons, lats = sorted(p[0] for p in points), sorted(p[1] for p in points)
    low, high = int(0.05 * (len(points) - 1)), int(math.ceil(0.95 * (len(points) - 1)))
    west, south, east, north = (float(lons[low]), float(lats[low]), float(lons[high]),
                                float(lats[high]))
    dlat = NEAR_REGISTER_KM / 111.0
    dlon = NEAR_REGISTER_KM / (111.0 * max(0.2, math.cos(math.radians((south + north) / 2))))
    return (west - dlon, south - dlat, east + dlon, north + dlat)


def read_category_map(data: bytes) -> dict[str, str]:
    """A two-column CSV: the value in the file, the category it means."""
    text, _encoding = sources.decode(data)
    mapping = {}
    try:
        for cells in csv.reader(io.StringIO(text, newline="")):
            if len(cells) >= 2 and cells[0].strip() and cells[1].strip():
                mapping[cells[0].strip()] = cells[1].strip()
    except csv.Error as error:  # a cell past sources.MAX_FIELD, say
        raise sources.SourceError(_("the category map is not a readable CSV file: %(why)s",
                                    why=error)) from None
    return mapping


UK = (-10.7, 49.8, 1.9, 60.9)  # Great Britain, Northern Ireland and Ireland


def _inside_box(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def prepare_file(data: bytes, filename: str,
                 options: sources.Options) -> sources.Preparation:
    """Read and prepare a register file (raises sources.SourceError for an unreadable one)."""
    return prepare_source(sources.read_source(data, filename), options)


def prepare_source(source: sources.Source, options: sources.Options) -> sources.Preparation:

    lat, lon = DEFAULT_CENTRE
    # With no area said, swapped coordinates are told apart against the install's home:
    # the United Kingdom and Ireland around the default London centre.
    home = UK if _inside_box((lon, lat), UK) else (lon - 5, lat - 5, lon + 5, lat + 5)
    return sources.prepare(source, options, categories(), options.area or import_area(),
                           home)


def import_file(data: bytes, filename: str, options: sources.Options, by_id: int | None, *,
                dry_run: bool = False, progress=None,
                record: AssetImport | None = None) -> tuple[sources.Preparation, ImportReport]:
    """Read, prepare and import a file; keep the report on ``record`` (or a new one)."""
    prepared = prepare_file(data, filename, options)
    if not dry_run:
        if record is None:
            record = AssetImport(filename=filename[:200], by_id=by_id)
            db.session.add(record)
        record.settings = {"mapping": options.mapping, "category_map": options.category_map,
                           "default_category": options.default_category, "crs": options.crs,
                           "outside": options.outside}
        db.session.flush()
    report = import_assets(prepared.rows, by_id, import_id=record.id if record else None,
                           dry_run=dry_run, progress=progress)
    if not dry_run:
        record = db.session.merge(record)
        record.status, record.imported_at, record.data = "imported", utcnow(), None
        record.created, record.updated = report.created, report.updated
        record.skipped, record.rejected = report.skipped, report.rejected
        # Row by row, for the report page's table (capped: a city's register is 10,000).
        record.settings = {**(record.settings or {}), "held": report.held,
                           "notes": [*prepared.notes, *(
                               _("category “%(value)s”: %(how)s", value=k, how=v)
                               for k, v in prepared.category_values.items())],
                           "rows": [r for r in report.rows if r["outcome"] != "created"
                                    or r["reason"]][:5000]}
        record.report = "\n".join([*prepared.notes, *(
            _("category “%(value)s”: %(how)s", value=k, how=v)
            for k, v in prepared.category_values.items()), *report.lines])
        db.session.commit()
    return prepared, report


def archived_by(record: AssetImport) -> int:
    """How many assets archiving ``record`` would take off the map."""
    return db.session.scalar(select(func.count(Asset.id)).where(
        Asset.import_id == record.id, Asset.status == AssetStatus.PUBLISHED)) or 0


def archive_import(record: AssetImport, by_id: int | None) -> int:
    """Archive every asset this import created (they stay in the database, off the map)."""

    count = 0
    for asset in db.session.scalars(select(Asset).where(Asset.import_id == record.id,
                                                        Asset.status == AssetStatus.PUBLISHED)):
        asset.status = AssetStatus.ARCHIVED
        count += 1
    record.status = "archived"
    audit(by_id, "asset_import.archive", "asset_import", record.id, assets=count)
    db.session.commit()
    return count


def _geocode_state_for_import(asset: Asset) -> None:
    if asset.latitude is not None:
        asset.geocode_state = GeocodeState.OK
        asset.geocode_source = asset.geocode_source or "import"
    else:
        # Imports never wait on the geocoder (one request a second); `geocode-pending` will.
        asset.geocode_state = GeocodeState.PENDING


def export_file(path: str, category_slug: str = "") -> int:
    """Write the published assets (optionally one category) to ``path``: .csv or .geojson."""

    rows = db.session.scalars(published_query(category_slug).order_by(Asset.id)).all()
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if path.lower().endswith((".geojson", ".json")):
            json.dump(to_geojson(rows), fh, ensure_ascii=False)
        else:
            for chunk in to_csv_chunks(rows):
                fh.write(chunk)
    return len(rows)
