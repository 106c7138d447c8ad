"""Named areas (wards, neighbourhoods) from boundary files, in any coordinate system.

Gap tables and asset pages name the neighbourhood a place is in instead of a grid
code, and the gap study area defaults to all of them together.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

import numpy as np
import shapely
from flask_babel import gettext as _
from shapely.geometry import Point, mapping, shape
from shapely.prepared import prep
from sqlalchemy import func, select

from timebank.core.assets import sources
from timebank.core.errors import Refused
from timebank.core.models import BoundaryUpload, Neighbourhood
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.infra import cache
from timebank.infra.extensions import db

NAME_HEADERS = ("name", "neighbourhood", "neighbourhood name", "ward", "ward name", "area",
                "area name", "label")


class BoundaryError(Refused):
    pass


def _name_of(props: dict, name_field: str) -> str:
    if name_field:
        return str(props.get(name_field) or "").strip()
    by_header = {sources.normalise(k): v for k, v in props.items()}
    for header in NAME_HEADERS:
        if str(by_header.get(header) or "").strip():
            return str(by_header[header]).strip()
    # ONS codes name their name fields like WD23NM, LSOA21NM.
    for key, value in props.items():
        if re.fullmatch(r"[A-Z]+\d{2}NM", str(key)) and str(value or "").strip():
            return str(value).strip()
    return ""


def read_boundaries(data: bytes, filename: str, crs: str = "",
                    name_field: str = "") -> tuple[list[tuple[str, object]], list[str]]:
    """The named polygons of a GeoJSON in any coordinate system, in WGS84, and notes on
    what was left out or converted. BoundaryError when nothing usable is in it."""

    text, _encoding = sources.decode(data)
    doc = sources.load_geojson(text, BoundaryError)
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise BoundaryError(_("not a GeoJSON FeatureCollection"))
    declared = doc.get("crs")
    declared = declared.get("properties") if isinstance(declared, dict) else None
    named = declared.get("name", "") if isinstance(declared, dict) else ""
    code = re.search(r"EPSG:{1,2}(\d+)", str(named))
    crs = (crs or (f"EPSG:{code.group(1)}" if code else "")).upper()
    notes: list[str] = []
    shapes = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            notes.append(_("feature %(number)s: no readable geometry, left out",
                           number=number))
            continue
        try:
            geometry = shape(feature["geometry"])
        except Exception:  # noqa: BLE001 - shapely raises several kinds
            notes.append(_("feature %(number)s: no readable geometry, left out",
                           number=number))
            continue
        if geometry.geom_type not in ("Polygon", "MultiPolygon"):
            notes.append(_("feature %(number)s: not a polygon, left out", number=number))
            continue
        props = feature.get("properties")
        name = _name_of(props if isinstance(props, dict) else {}, name_field)[:120]
        shapes.append((name, geometry))
    if not shapes:
        raise BoundaryError(_("There are no polygons in the file."))
    if not crs:
        x, y = shapes[0][1].representative_point().coords[0]
        crs = sources.BNG if abs(x) > 180 or abs(y) > 90 else sources.WGS84
        if crs == sources.BNG:
            notes.append(_("coordinates in metres with no system named: read as British "
                           "National Grid (EPSG:27700)"))
    converted = []
    try:
        to_wgs84 = sources.transformer(crs) if crs != sources.WGS84 else None
    except Exception:  # noqa: BLE001 - pyproj refuses an unknown system in several ways
        raise BoundaryError(_("The file names a coordinate system we do not know: "
                              "%(crs)s.", crs=crs[:40])) from None
    for number, (name, geometry) in enumerate(shapes, start=1):
        if to_wgs84 is not None:
            geometry = shapely.transform(geometry, lambda xy, t=to_wgs84: np.column_stack(
                t.transform(xy[:, 0], xy[:, 1])))
        if not geometry.is_valid:
            geometry = geometry.buffer(0)
        if geometry.is_empty or not all(map(np.isfinite, geometry.bounds)):
            notes.append(_("feature %(number)s: no area inside it, left out", number=number))
            continue
        converted.append((name, geometry))
    if not converted:
        raise BoundaryError(_("There are no polygons in the file."))
    if crs != sources.WGS84:
        notes.append(_("converted from %(crs)s to WGS84", crs=crs))
    return converted, notes


def _save(name: str, geometry) -> bool:
    """Create the named area, or replace the boundary of the one of that name; True
    when it was new."""
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    area = db.session.scalar(select(Neighbourhood).where(Neighbourhood.name == name))
    new = area is None
    if new:
        area = Neighbourhood(name=name)
        db.session.add(area)
    area.geometry = json.dumps(mapping(geometry))
    area.min_lon, area.min_lat, area.max_lon, area.max_lat = (min_lon, min_lat, max_lon,
                                                              max_lat)
    return new


def import_boundaries(data: bytes, filename: str, crs: str = "",
                      name_field: str = "") -> tuple[int, int, list[str]]:
    """Create or update neighbourhoods by name from a GeoJSON of polygons (the command
    line); returns (created, updated, notes). Polygons without a name are left out."""

    shapes, notes = read_boundaries(data, filename, crs, name_field)
    created = updated = 0
    for number, (name, geometry) in enumerate(shapes, start=1):
        if not name:
            notes.append(f"polygon {number}: no name, left out (say --name-field)")
            continue
        if _save(name, geometry):
            created += 1
        else:
            updated += 1
    if not created + updated:
        db.session.rollback()
        raise BoundaryError(_("no named polygons in the file"))
    db.session.commit()
    return created, updated, notes


# -- in the browser: upload, preview, name, adopt ------------------------------------

MAX_UPLOAD = 5 * 1024 * 1024
# Colour-blind-safe fills (Okabe–Ito), one per area of a preview, in turn.
FILLS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")


def stage(data: bytes, filename: str, crs: str, name_field: str,
          by_id: int) -> BoundaryUpload:
    """Read an uploaded boundary file and keep it, converted, for its preview."""
    if len(data) > MAX_UPLOAD:
        raise BoundaryError(_("The file is larger than 5 MB."))
    shapes, notes = read_boundaries(data, filename, crs, name_field)
    upload = BoundaryUpload(filename=filename[:200], by_id=by_id, notes=notes, shapes=[
        {"name": name, "geometry": mapping(geometry)} for name, geometry in shapes])
    db.session.add(upload)
    db.session.flush()
    audit(by_id, "neighbourhoods.upload", "boundary_upload", upload.id)
    db.session.commit()
    return upload


class Staged(NamedTuple):
    number: int  # from 1, as the preview numbers them
    name: str
    fill: str
    replaces: bool  # an area of this name exists: adopting replaces its boundary


def staged(upload: BoundaryUpload) -> list[Staged]:
    existing = {name_ for (name_,) in db.session.execute(select(Neighbourhood.name))}
    return [Staged(i + 1, item["name"], FILLS[i % len(FILLS)], item["name"] in existing)
            for i, item in enumerate(upload.shapes)]


def preview_layer(upload: BoundaryUpload) -> tuple[dict, tuple | None]:
    """The areas as a map layer (colours only: names go in the page, escaped) and the
    ((south, west), (north, east)) around them."""
    features, boxes = [], []
    for i, item in enumerate(upload.shapes):
        geometry = shape(item["geometry"])
        boxes.append(geometry.bounds)
        features.append({"type": "Feature", "geometry": item["geometry"],
                         "properties": {"fill": FILLS[i % len(FILLS)]}})
    fit = None
    if boxes:
        fit = ((min(b[1] for b in boxes), min(b[0] for b in boxes)),
               (max(b[3] for b in boxes), max(b[2] for b in boxes)))
    return {"type": "FeatureCollection", "features": features}, fit


def adopt(upload: BoundaryUpload, names: dict[int, str], by_id: int) -> tuple[int, int]:
    """Save the areas given a name (``names``: number → name; an empty name leaves that
    area out), replacing any of the same name. Returns (created, replaced)."""
    if upload.adopted_at is not None:
        raise BoundaryError(_("This file has already been used. Upload it again to change "
                              "the areas."))
    chosen = {number: " ".join(name.split())[:120] for number, name in names.items()
              if name.strip()}
    if not chosen:
        raise BoundaryError(_("Give at least one area a name."))
    if len(set(chosen.values())) < len(chosen):
        raise BoundaryError(_("Two areas have the same name: give each its own."))
    created = replaced = 0
    for number, name in sorted(chosen.items()):
        if not 1 <= number <= len(upload.shapes):
            continue
        if _save(name, shape(upload.shapes[number - 1]["geometry"])):
            created += 1
        else:
            replaced += 1
    upload.adopted_at = utcnow()
    audit(by_id, "neighbourhoods.adopt", "boundary_upload", upload.id, created=created,
          replaced=replaced)
    db.session.commit()
    return created, replaced


def all_areas() -> list[Neighbourhood]:
    return list(db.session.scalars(select(Neighbourhood).order_by(Neighbourhood.name)))


def areas_layer() -> tuple[dict, tuple | None]:
    """Every named area as a map layer, coloured in turn, and the box around them."""
    areas = all_areas()
    features = [{"type": "Feature", "geometry": json.loads(a.geometry),
                 "properties": {"fill": FILLS[i % len(FILLS)]}} for i, a in enumerate(areas)]
    box = union_bbox()
    fit = ((box[1], box[0]), (box[3], box[2])) if box else None
    return {"type": "FeatureCollection", "features": features}, fit


def remove(area: Neighbourhood, by_id: int) -> None:
    audit(by_id, "neighbourhoods.remove", "neighbourhood", area.id, name=area.name)
    db.session.delete(area)
    db.session.commit()


def _areas():
    """Each neighbourhood's name and prepared shape, read once per version of the
    register (a ward's boundary can be megabytes: not on every page)."""

    def build(_version: int) -> list:
        return [(a.name, prep(shape(json.loads(a.geometry))), len(a.geometry))
                for a in db.session.scalars(select(Neighbourhood)
                                            .order_by(Neighbourhood.name))]

    return [(name, shape_) for name, shape_, _size in cache.built(
        cache.REGISTER, ("named areas",), build,
        lambda areas: 1024 + sum(3 * size for _n, _s, size in areas))]


def names_for(points: list[tuple[float, float]]) -> list[str | None]:
    """The neighbourhood each (lat, lon) is in, or None."""

    areas = _areas()
    if not areas:
        return [None] * len(points)
    out = []
    for lat, lon in points:
        spot = Point(lon, lat)
        out.append(next((name for name, shape_ in areas if shape_.contains(spot)), None))
    return out


def union_bbox() -> tuple[float, float, float, float] | None:
    """(min_lon, min_lat, max_lon, max_lat) around every neighbourhood, or None."""
    box = db.session.execute(select(func.min(Neighbourhood.min_lon),
                                    func.min(Neighbourhood.min_lat),
                                    func.max(Neighbourhood.max_lon),
                                    func.max(Neighbourhood.max_lat))).one()
    return (box[0], box[1], box[2], box[3]) if box[0] is not None else None
