"""Named areas (wards, neighbourhoods) from boundary files, in any coordinate system.

Gap tables and asset pages name the neighbourhood a place is in instead of a grid
code, and the gap study area defaults to all of them together.
"""

from __future__ import annotations

import json
import re

import numpy as np
import shapely
from flask_babel import gettext as _
from shapely.geometry import Point, mapping, shape
from shapely.prepared import prep
from sqlalchemy import func, select

from timebank.core.assets import sources
from timebank.core.errors import Refused
from timebank.core.models import Neighbourhood
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


def import_boundaries(data: bytes, filename: str, crs: str = "",
                      name_field: str = "") -> tuple[int, int, list[str]]:
    """Create or update neighbourhoods by name from a GeoJSON of polygons; returns
    (created, updated, notes)."""

    text, _encoding = sources.decode(data)
    doc = sources.load_geojson(text, BoundaryError)
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise BoundaryError(_("not a GeoJSON FeatureCollection"))
    named = ((doc.get("crs") or {}).get("properties") or {}).get("name", "")
    code = re.search(r"EPSG:{1,2}(\d+)", str(named))
    crs = (crs or (f"EPSG:{code.group(1)}" if code else "")).upper()
    notes: list[str] = []
    shapes = []
    for number, feature in enumerate(features, start=1):
        try:
            geometry = shape(feature["geometry"])
        except Exception:  # noqa: BLE001 - shapely raises several kinds
            notes.append(f"feature {number}: no readable geometry, left out")
            continue
        if geometry.geom_type not in ("Polygon", "MultiPolygon"):
            notes.append(f"feature {number}: not a polygon, left out")
            continue
        name = _name_of(feature.get("properties") or {}, name_field)[:120]
        if not name:
            notes.append(f"feature {number}: no name, left out (say --name-field)")
            continue
        shapes.append((name, geometry))
    if not shapes:
        raise BoundaryError(_("no named polygons in the file"))
    if not crs:
        x, y = shapes[0][1].representative_point().coords[0]
        crs = sources.BNG if abs(x) > 180 or abs(y) > 90 else sources.WGS84
        if crs == sources.BNG:
            notes.append("coordinates in metres with no system named: read as British "
                         "National Grid (EPSG:27700)")
    created = updated = 0
    for name, geometry in shapes:
        if crs != sources.WGS84:
            to_wgs84 = sources.transformer(crs)
            geometry = shapely.transform(geometry, lambda xy, t=to_wgs84: np.column_stack(
                t.transform(xy[:, 0], xy[:, 1])))
        if not geometry.is_valid:
            geometry = geometry.buffer(0)
        min_lon, min_lat, max_lon, max_lat = geometry.bounds
        area = db.session.scalar(select(Neighbourhood).where(Neighbourhood.name == name))
        if area is None:
            area = Neighbourhood(name=name)
            db.session.add(area)
            created += 1
        else:
            updated += 1
        area.geometry = json.dumps(mapping(geometry))
        area.min_lon, area.min_lat, area.max_lon, area.max_lat = (min_lon, min_lat, max_lon,
                                                                  max_lat)
    db.session.commit()
    if crs != sources.WGS84:
        notes.append(f"converted from {crs} to WGS84")
    return created, updated, notes


def _areas():
    """Each neighbourhood's name and prepared shape (a few dozen: read per request)."""

    return [(a.name, prep(shape(json.loads(a.geometry))))
            for a in db.session.scalars(select(Neighbourhood).order_by(Neighbourhood.name))]


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
