"""Asset register files: CSV (HSDS-style headers) and GeoJSON, imported and exported.

Import is forgiving per row and strict per value: one bad row is reported
with its reason and never stops the rest; rows are matched by source id so a
second import of the same file updates instead of duplicating.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from ..exports import csv_chunks
from ..extensions import db
from ..models import Asset, AssetCategory, AssetStatus, GeocodeState
from ..models.base import utcnow
from .register import valid_point

# HSDS-style column names, in export order. Import also accepts ``id`` for source_id
# and ``category`` as a slug or a name.
FIELDS = ["source_id", "name", "category", "description", "address_1", "city", "postal_code",
          "latitude", "longitude", "email", "phone", "url", "opening_hours", "accessibility",
          "audience", "open_to_all", "step_free", "run_by"]
TEXT_LIMITS = {"name": 200, "description": 5000, "address_1": 200, "city": 100,
               "postal_code": 20, "email": 254, "phone": 40, "url": 300, "opening_hours": 300,
               "accessibility": 2000, "audience": 300, "run_by": 200, "source_id": 100}
TRUE = {"1", "true", "yes", "y", "t"}


# -- export -------------------------------------------------------------------


def export_rows(assets: Iterable[Asset]) -> Iterator[dict]:
    for a in assets:
        yield {"source_id": a.source_id or f"timebank-{a.id}", "name": a.name,
               "category": a.category.slug, "description": a.description,
               "address_1": a.address_1, "city": a.city, "postal_code": a.postal_code,
               "latitude": "" if a.latitude is None else round(a.latitude, 6),
               "longitude": "" if a.longitude is None else round(a.longitude, 6),
               "email": a.email, "phone": a.phone, "url": a.url,
               "opening_hours": a.opening_hours, "accessibility": a.accessibility,
               "audience": a.audience, "open_to_all": "yes" if a.open_to_all else "no",
               "step_free": "yes" if a.step_free else "no", "run_by": a.run_by}


def to_csv_chunks(assets: Iterable[Asset]) -> Iterator[str]:
    return csv_chunks(FIELDS, ([row[k] for k in FIELDS] for row in export_rows(assets)))


def to_geojson(assets: Iterable[Asset]) -> dict:
    features = []
    for row, asset in zip(export_rows(assets_list := list(assets)), assets_list, strict=True):
        if asset.latitude is None:
            continue
        props = {k: v for k, v in row.items() if k not in ("latitude", "longitude")}
        props["id"] = asset.id
        features.append({"type": "Feature", "id": asset.id,
                         "geometry": {"type": "Point", "coordinates": [
                             round(asset.longitude, 6), round(asset.latitude, 6)]},
                         "properties": props})
    return {"type": "FeatureCollection", "features": features}


# -- import -------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    lines: list[str] = field(default_factory=list)

    def note(self, row: int, outcome: str, reason: str = "") -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.lines.append(f"row {row}: {outcome}" + (f" ({reason})" if reason else ""))


class RowError(ValueError):
    pass


def read_rows(data: bytes, filename: str) -> list[tuple[int, dict | None, str]]:
    """Rows of a CSV or GeoJSON file as (row number, fields or None, problem)."""
    text = data.decode("utf-8-sig", errors="surrogateescape")
    if filename.lower().endswith((".geojson", ".json")) or text.lstrip().startswith("{"):
        return _geojson_rows(text)
    rows = []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "name" not in [h.strip().lower() for h in reader.fieldnames]:
        raise RowError("the file has no 'name' column; see README for the CSV headers")
    for number, raw in enumerate(reader, start=2):
        fields = {(k or "").strip().lower(): (v or "") for k, v in raw.items() if k}
        if any(_has_bad_bytes(v) for v in fields.values()):
            rows.append((number, None, "not valid UTF-8 text; save the file as UTF-8"))
        else:
            rows.append((number, fields, ""))
    return rows


def _has_bad_bytes(value) -> bool:
    return isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value)


def _geojson_rows(text: str) -> list[tuple[int, dict | None, str]]:
    if _has_bad_bytes(text):
        raise RowError("not valid UTF-8 text; save the file as UTF-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise RowError(f"not valid GeoJSON: {error}") from error
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise RowError("not a GeoJSON FeatureCollection")
    rows = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            rows.append((number, None, "not a GeoJSON feature"))
            continue
        props = {str(k).lower(): v for k, v in (feature.get("properties") or {}).items()}
        geometry = feature.get("geometry") or {}
        coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        if isinstance(coords, list) and len(coords) >= 2:
            props["longitude"], props["latitude"] = coords[0], coords[1]
        if "id" in feature and "source_id" not in props and "id" not in props:
            props["id"] = feature["id"]
        rows.append((number, {k: "" if v is None else v for k, v in props.items()}, ""))
    return rows


def clean_row(fields: dict, by_category: dict[str, AssetCategory]) -> dict:
    """Validate one imported row into Asset attributes; raise RowError with the reason."""
    out: dict = {}
    name = str(fields.get("name", "")).strip()
    if not name:
        raise RowError("missing name")
    source = str(fields.get("source_id") or fields.get("id") or "").strip()
    if not source:
        raise RowError("missing source_id (or id), needed to import twice without duplicates")
    out["source_id"] = source
    out["name"] = name
    key = str(fields.get("category", "")).strip().lower()
    category = by_category.get(key)
    if category is None:
        slugs = ", ".join(sorted({c.slug for c in by_category.values()}))
        raise RowError(f"unknown category {key!r}; use one of: {slugs}")
    out["category_id"] = category.id
    for name_ in ("description", "address_1", "city", "postal_code", "email", "phone", "url",
                  "opening_hours", "accessibility", "audience", "run_by"):
        value = str(fields.get(name_, "") or "").strip()
        if len(value) > TEXT_LIMITS[name_]:
            raise RowError(f"{name_} is longer than {TEXT_LIMITS[name_]} characters")
        out[name_] = value
    if out["url"] and not out["url"].lower().startswith(("http://", "https://")):
        raise RowError("url must start with http:// or https://")
    lat, lon = fields.get("latitude", ""), fields.get("longitude", "")
    if str(lat).strip() == "" and str(lon).strip() == "":
        out["latitude"] = out["longitude"] = None
    else:
        try:
            lat, lon = float(lat), float(lon)
        except (TypeError, ValueError) as error:
            raise RowError(f"bad coordinates {lat!r}, {lon!r}") from error
        if not valid_point(lat, lon):
            raise RowError(f"bad coordinates {lat}, {lon} (latitude −90…90, longitude −180…180)")
        out["latitude"], out["longitude"] = lat, lon
    if out["latitude"] is None and not (out["address_1"] or out["postal_code"]):
        raise RowError("no coordinates and no address to find it by")
    for flag in ("open_to_all", "step_free"):
        raw = str(fields.get(flag, "") or "").strip().lower()
        out[flag] = raw in TRUE if raw else flag == "open_to_all"
    return out


def import_assets(rows: list[tuple[int, dict | None, str]], by_id: int | None,
                  progress: Callable[[int], None] | None = None) -> ImportReport:
    """Create or update published assets by source id; one bad row never stops the rest."""
    report = ImportReport()
    cats = {}
    for c in db.session.scalars(select(AssetCategory)):
        cats[c.slug.lower()] = c
        cats[c.name.lower()] = c
    seen: dict[str, int] = {}
    for number, fields, problem in rows:
        if progress:
            progress(1)
        if fields is None:
            report.note(number, "rejected", problem)
            continue
        try:
            values = clean_row(fields, cats)
        except RowError as error:
            report.note(number, "rejected", str(error))
            continue
        source = values["source_id"]
        if source in seen:
            report.note(number, "skipped", f"same source_id as row {seen[source]}")
            continue
        seen[source] = number
        try:
            with db.session.begin_nested():  # a failing row rolls back alone
                existing = db.session.scalar(select(Asset).where(Asset.source_id == source))
                if existing is None:
                    asset = Asset(status=AssetStatus.PUBLISHED, approved_by_id=by_id,
                                  confirmed_at=utcnow(), **values)
                    _geocode_state_for_import(asset)
                    db.session.add(asset)
                    outcome = "created"
                else:
                    changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
                    if not changed:
                        report.note(number, "skipped", "unchanged")
                        continue
                    for k, v in changed.items():
                        setattr(existing, k, v)
                    _geocode_state_for_import(existing)
                    outcome = "updated"
                db.session.flush()
        except Exception as error:  # noqa: BLE001 - report the row, keep importing
            report.note(number, "rejected", f"could not be saved: {type(error).__name__}")
            continue
        report.note(number, outcome)
    db.session.commit()
    return report


def _geocode_state_for_import(asset: Asset) -> None:
    if asset.latitude is not None:
        asset.geocode_state = GeocodeState.OK
        asset.geocode_source = asset.geocode_source or "import"
    else:
        # Imports never wait on the geocoder (one request a second); `geocode-pending` will.
        asset.geocode_state = GeocodeState.PENDING


def export_file(path: str, category_slug: str = "") -> int:
    """Write the published assets (optionally one category) to ``path``: .csv or .geojson."""
    from .register import published_query

    rows = db.session.scalars(published_query(category_slug).order_by(Asset.id)).all()
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if path.lower().endswith((".geojson", ".json")):
            json.dump(to_geojson(rows), fh, ensure_ascii=False)
        else:
            for chunk in to_csv_chunks(rows):
                fh.write(chunk)
    return len(rows)
