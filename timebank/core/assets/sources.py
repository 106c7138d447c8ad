"""Reading other people's asset registers: forgiving in what it accepts.

A council's spreadsheet rarely has our column names, our categories, WGS84
coordinates or ids. This module turns a CSV or GeoJSON file into rows ready to
store, saying what it did: the encoding it read, the columns it used, the
categories it mapped, the coordinate system it converted from, coordinates it
found swapped, ids it made. ``files.import_assets`` then stores them strictly.

Rules a newcomer should know:

- Columns: common headers are recognised (``HEADERS``); ``mapping`` overrides them.
- Categories: by slug, name, singular or plural, any case, the ABCD words of the
  design ("association", "physical space"…), then the file's own category map,
  then a default; anything else is refused, never guessed.
- Coordinates: WGS84 unless a CRS is given (``--crs EPSG:27700``) or the file says
  so (a GeoJSON ``crs`` member); easting/northing columns mean British National Grid.
  Polygons and lines become a representative point inside them.
- A file whose latitude and longitude are the wrong way round (most points fall in
  the area only when swapped) is swapped back, with a note.
- Ids: a file without them gets ``<file name>:<hash of the name and the position
  rounded to about 10 m>`` (or of the name and address when there is no position),
  so importing the same file again updates instead of duplicating.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pyproj import CRS, Transformer
from shapely.geometry import shape

from timebank.core.errors import Refused

if TYPE_CHECKING:
    from timebank.core.assets.register import CategoryRow


# Our fields, and the headers (normalised: lower case, words joined by one space)
# that mean them in registers we have seen.
HEADERS: dict[str, tuple[str, ...]] = {
    "source_id": ("source id", "uprn", "id", "asset code", "asset id", "asset ref",
                  "asset reference", "reference", "ref", "site id", "site ref", "property ref",
                  "property reference", "code"),
    "name": ("name", "title", "site name", "asset name", "property name", "premises name",
             "sitename", "place name", "location name",
             "organisation name", "organization name", "venue", "site"),
    "description": ("description", "desc", "details", "summary", "about", "notes"),
    "category": ("category", "asset category", "abcd category", "category name",
                 "asset type", "type", "kind", "class", "classification"),
    "address": ("address", "address 1", "site address", "street address", "address line 1",
                "property address", "street", "full address"),
    "city": ("city", "town", "locality"),
    "postal_code": ("postcode", "post code", "postal code", "zip", "zipcode"),
    "latitude": ("latitude", "lat", "wgs84 latitude", "lat wgs84", "latitude wgs84"),
    "longitude": ("longitude", "lon", "lng", "long", "wgs84 longitude", "lon wgs84",
                  "longitude wgs84"),
    "x": ("easting", "eastings", "x", "geox", "x coordinate", "x coord", "bng x", "grid x",
          "bng easting", "os easting", "location x", "map x", "point x", "xcoordinate"),
    "y": ("northing", "northings", "y", "geoy", "y coordinate", "y coord", "bng y", "grid y",
          "bng northing", "os northing", "location y", "map y", "point y", "ycoordinate"),
    "contact": ("contact", "contact details", "contact info"),
    "email": ("email", "e mail", "email address", "contact email"),
    "phone": ("phone", "telephone", "tel", "phone number", "contact phone"),
    "url": ("url", "website", "web", "web site", "link", "homepage"),
    "opening_hours": ("opening hours", "hours", "opening times", "open"),
    "accessibility": ("accessibility", "access", "access information"),
    "audience": ("audience", "who for", "for whom"),
    "run_by": ("run by", "organisation", "organization", "owner", "managed by", "operator"),
    "open_to_all": ("open to all",),
    "step_free": ("step free", "step free access"),
}
FIELDS = tuple(HEADERS)
# Easting/northing headers say British National Grid without anyone having to.
BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
# The words of the design (``../shared/DESIGN.md``) for each ABCD category.
CATEGORY_WORDS = {
    "associations": ("association", "associations and groups", "group", "club",
                     "community group"),
    "institutions": ("institution",),
    "physical": ("physical space", "physical", "space", "place"),
    "economy": ("local economy", "economy", "economic", "business"),
    "culture": ("culture and heritage", "culture", "heritage"),
    "services": ("service",),
}


class SourceError(Refused):
    """The file as a whole cannot be read; the message says why."""


class Held(SourceError):
    """A row placed outside the bank's area: never kept silently, held for a decision."""


def normalise(text: object) -> str:
    """Lower case, '&' as 'and', any run of other characters as one space."""
    words = re.sub(r"[^0-9a-z]+", " ", str(text).casefold().replace("&", " and "))
    return " ".join(words.split())


def header_key(text: str) -> str:
    """A column header as we compare it: units in brackets dropped, CamelCase split
    ("Easting (m)" → "easting", "SiteName" → "site name")."""
    text = re.sub(r"\([^)]*\)|\[[^]]*\]", " ", str(text))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return normalise(text)


def singular(text: str) -> str:
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
                    for w in text.split())


# -- reading the file ------------------------------------------------------------------


@dataclass
class RawRow:
    number: int  # the spreadsheet's row number (header is row 1), or the feature's
    values: dict[str, str]  # by the file's own column names
    point: tuple[float, float] | None = None  # (x, y) from a GeoJSON geometry
    problem: str = ""


@dataclass
class Source:
    kind: str  # "csv" or "geojson"
    encoding: str
    columns: list[str]
    rows: list[RawRow]
    crs: str = ""  # what the file itself says
    filename: str = ""


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of the encoding it was read in."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 with BOM"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    mostly = data.decode("utf-8", errors="replace")
    if mostly.count("\ufffd") * 1000 < len(mostly) and re.search(r"[^\x00-\x7f\ufffd]", mostly):
        # UTF-8 with the odd stray byte (pasted from elsewhere): keep the UTF-8
        return mostly, "UTF-8 (a few bytes that were not UTF-8 replaced)"
    try:  # spreadsheets saved on Windows
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


# Bytes that no spreadsheet or GeoJSON file holds: a file with them is not text at all
# (a spreadsheet saved as .xlsx, a PDF, a picture renamed .csv).
_NOT_TEXT = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_SIGNATURES = {b"PK\x03\x04": _l("a zipped file (an Excel .xlsx or .ods spreadsheet?)"),
               b"%PDF": _l("a PDF"), b"\xd0\xcf\x11\xe0": _l("an old Excel (.xls) file"),
               b"\x89PNG": _l("a picture"), b"\xff\xd8\xff": _l("a picture")}


def _refuse_binary(data: bytes) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text has NUL bytes of its own
    for signature, what in _SIGNATURES.items():
        if data.startswith(signature):
            raise SourceError(_("this is %(what)s, not a text file: save it from the "
                                "spreadsheet as CSV (comma-separated values) and try again",
                                what=str(what)))
    head = data[:65536]
    if head and len(_NOT_TEXT.findall(head)) * 100 > len(head):
        raise SourceError(_("this is not a text file: save it from the spreadsheet as CSV "
                            "(comma-separated values), or choose a GeoJSON file"))


# What a register may hold: more than any we have met (the largest had 62 columns and
# 38,000 rows), and small enough that reading one is linear and takes seconds, whichever
# path it comes by (the browser's upload and preview, the command line). A file 50,000
# columns wide took a worker 27 to 40 s per view before these.
MAX_COLUMNS = 300
MAX_ROWS = 100_000
MAX_FIELD = 20_000  # characters in one cell (a description is kept to 5,000)
MAX_LINE = 200_000  # characters in one line of a CSV file
# The csv module's own limit on a field (one per process; nothing else here reads CSV).
csv.field_size_limit(MAX_FIELD)


def _too_many(what: str, found: int, most: int) -> SourceError:
    return SourceError(_("the file has %(found)s %(what)s; a register may have at most "
                         "%(most)s. Split it, or leave out what is not needed.",
                         found=f"{found:,}", what=what, most=f"{most:,}"))


def read_source(data: bytes, filename: str) -> Source:
    _refuse_binary(data)
    text, encoding = decode(data)
    if filename.lower().endswith((".geojson", ".json")) or text.lstrip().startswith("{"):
        return _geojson(text, encoding, filename)
    return _csv(text, encoding, filename)


def _csv(text: str, encoding: str, filename: str) -> Source:
    sample = text[:20000]
    try:  # the sniffer guesses quoting badly: take only its delimiter
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, doublequote=True)
    try:
        header = next(reader)
    except StopIteration:
        raise SourceError(_("the file is empty")) from None
    except csv.Error as error:
        raise SourceError(_("not a readable CSV file: %(why)s", why=error)) from None
    if len(header) > MAX_COLUMNS:
        raise _too_many(_("columns"), len(header), MAX_COLUMNS)
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > MAX_LINE:
        raise SourceError(_("a line of the file is %(found)s characters long; a register's "
                            "lines may be at most %(most)s.", found=f"{longest:,}",
                            most=f"{MAX_LINE:,}"))
    columns, seen = [], set()
    for h in header:  # a repeated header keeps its first column
        h = h.strip()
        columns.append("" if h in seen else h)
        seen.add(h)
    if len([c for c in columns if c]) < 2:
        raise SourceError(_("the first line should name the columns (at least two)"))
    named = [(i, col) for i, col in enumerate(columns) if col]
    rows: list[Any] = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells[:MAX_COLUMNS]):
                continue
            if len(rows) == MAX_ROWS:
                raise _too_many(_("rows"), MAX_ROWS + 1, MAX_ROWS)
            rows.append(RawRow(number, {col: (cells[i].strip() if i < len(cells) else "")
                                        for i, col in named}))
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise SourceError(_("a value in the file is longer than %(most)s characters.",
                                most=f"{MAX_FIELD:,}")) from None
        raise SourceError(_("not a readable CSV file: %(why)s", why=error)) from None
    return Source("csv", encoding, [c for c in columns if c], rows, filename=filename)


JSON_DEPTH = 20  # GeoJSON needs about 8 (a MultiPolygon's rings in a feature)


def load_geojson(text: str, refused: type[Exception] = None):
    """The parsed document, or ``refused`` (a SourceError by default) with a message: not
    JSON, or nested deeper than any GeoJSON is (which would exhaust Python's stack in the
    parser or in shapely; a walk with its own stack checks, in one pass)."""
    refused = refused or SourceError
    too_deep, doc = False, None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise refused(_("not valid GeoJSON: %(why)s", why=error)) from None
    except RecursionError:
        too_deep = True
    except ValueError:  # a number of thousands of digits, say
        raise refused(_("not valid GeoJSON: a number in it is too long")) from None
    stack = [] if too_deep else [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > JSON_DEPTH:
            too_deep = True
            break
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    if too_deep:
        raise refused(_("not GeoJSON: it is nested more than %(depth)s levels deep",
                        depth=JSON_DEPTH))
    return doc


def _geojson(text: str, encoding: str, filename: str) -> Source:

    doc = load_geojson(text)
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise SourceError(_("not a GeoJSON FeatureCollection"))
    named = doc.get("crs") or ""
    if isinstance(named, dict):  # {"type": "name", "properties": {"name": "…"}}
        named = (named.get("properties") or {}).get("name", "") \
            if isinstance(named.get("properties"), dict) else ""
    crs = named if isinstance(named, str) else ""
    if len(features) > MAX_ROWS:
        raise _too_many(_("features"), len(features), MAX_ROWS)
    rows, columns, seen = [], [], set()
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            rows.append(RawRow(number, {}, problem="not a GeoJSON feature"))
            continue
        properties = feature.get("properties")
        props = {str(k): "" if v is None else str(v)
                 for k, v in (properties.items() if isinstance(properties, dict) else ())}
        if "id" in feature and not any(normalise(k) == "id" for k in props):
            props["id"] = str(feature["id"])
        for key in props:
            if key not in seen:
                seen.add(key)
                columns.append(key)
        if len(columns) > MAX_COLUMNS:
            raise _too_many(_("properties"), len(columns), MAX_COLUMNS)
        if any(len(v) > MAX_FIELD for v in props.values()):
            raise SourceError(_("a value in feature %(number)s is longer than %(most)s "
                                "characters.", number=number, most=f"{MAX_FIELD:,}"))
        point, problem = None, ""
        geometry = feature.get("geometry")
        if geometry:
            try:
                spot = shape(geometry)
                spot = spot if spot.geom_type == "Point" else spot.representative_point()
                point = (float(spot.x), float(spot.y))
            except Exception as error:  # noqa: BLE001 - shapely raises several kinds
                problem = f"its geometry cannot be read ({type(error).__name__})"
        rows.append(RawRow(number, props, point, problem))
    return Source("geojson", encoding, columns, rows, crs, filename)


def detect_mapping(columns: list[str]) -> dict[str, str]:
    """Our field → the file's column, from the headers we recognise."""
    # Compared without spaces: councils write GeoX, Geo_X, X_COORD, XCoord, "x coord"
    # (a GeoX read as "geo x" once left 459 rows off the map).
    by_header: dict[str, str] = {}
    for c in columns:
        by_header.setdefault(header_key(c).replace(" ", ""), c)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name, headers in HEADERS.items():
        for header in headers:
            column = by_header.get(header.replace(" ", ""))
            if column and column not in used:
                mapping[name] = column
                used.add(column)
                break
    return mapping


# -- categories ----------------------------------------------------------------------------


def category_lookup(categories: Sequence[CategoryRow]) -> dict[str, CategoryRow]:
    """Every spelling we accept without being told: slug, name, the design's words, each
    singular and plural, any case."""
    lookup: dict[str, CategoryRow] = {}
    for category in categories:
        # The English name, and its names in the other languages, whoever imports.
        words = {category.slug, category.name_en, *category.names.values(),
                 *CATEGORY_WORDS.get(category.slug, ())}
        for word in words:
            key = normalise(word)
            for form in (key, singular(key), key + "s"):
                lookup.setdefault(form, category)
    return lookup


# -- preparing rows ---------------------------------------------------------------------


@dataclass
class Options:
    mapping: dict[str, str] = field(default_factory=dict)  # overrides: field → column
    category_map: dict[str, str] = field(default_factory=dict)  # source value → slug or name
    default_category: str = ""
    crs: str = ""
    area: tuple[float, float, float, float] | None = None  # --area: where the places are
    # Rows placed outside the area: "hold" them back (listed, not imported) until someone
    # decides, or "import" them anyway.
    outside: str = "hold"


@dataclass
class Prepared:
    number: int
    values: dict | None  # Asset attributes, or None when refused
    problem: str = ""
    notes: list[str] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    held: bool = False  # outside the area: waits for a decision (``Options.outside``)


@dataclass
class Preparation:
    rows: list[Prepared]
    mapping: dict[str, str]
    crs: str
    notes: list[str]  # about the whole file
    category_values: dict[str, str]  # each source category value → how it was mapped


TEXT_LIMITS = {"name": 200, "description": 5000, "address_1": 200, "city": 100,
               "postal_code": 20, "email": 254, "phone": 40, "url": 300, "opening_hours": 300,
               "accessibility": 2000, "audience": 300, "run_by": 200, "source_id": 100}
TRUE = {"1", "true", "yes", "y", "t"}


_DEGREES = re.compile(r"([-+]?\d+(?:[.,]\d+)?)\s*°?\s*([NSEW])?", re.I)


def _number(value: str, grid: bool = False) -> float | None:
    """A coordinate as written in registers: '51.5034', '51,5034' (decimal comma),
    '51.4787 N', '3.18° W'; for grid references (metres) '326,947' or '326 947'."""
    text = (value or "").strip().replace("\u00a0", " ")
    if grid:
        text = re.sub(r"(?<=\d)[, ](?=\d{3}(\D|$))", "", text)  # thousands separators
    matched = _DEGREES.fullmatch(text)
    if not matched:
        return None
    digits, hemisphere = matched.groups()
    if not grid and digits.count(",") == 1:  # a decimal comma
        digits = digits.replace(",", ".")
    try:
        number = float(digits)
    except ValueError:
        return None
    if hemisphere and hemisphere.upper() in "SW":
        number = -abs(number)
    return number if math.isfinite(number) else None


def normalise_crs(text: str) -> str:
    """'EPSG:27700' for any way of naming it (27700, epsg:27700, urn:ogc:def:crs:EPSG::27700,
    http://www.opengis.net/def/crs/EPSG/0/27700…); WGS84 for CRS84."""

    name = str(text or "").strip()
    if not name:
        return ""
    if "CRS84" in name.upper():
        return WGS84
    try:
        crs = CRS.from_user_input(int(name) if name.isdigit() else name)
    except Exception as error:  # noqa: BLE001 - pyproj's errors are many
        raise SourceError(_("unknown coordinate system %(crs)r: %(why)s; choose the "
                            "coordinate system (for example EPSG:27700, British National "
                            "Grid)", crs=name, why=error)) from None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.srs


def prepare(source: Source, options: Options, categories: Sequence[CategoryRow],
            area: tuple[float, float, float, float] | None,
            home: tuple[float, float, float, float] | None = None) -> Preparation:
    """Every row as the Asset values it will be stored with, or the reason it cannot be.

    ``area``: (min_lon, min_lat, max_lon, max_lat) the bank works in, or None; used to
    spot swapped coordinates and to refuse positions far outside it. ``home``: a wider
    box where the install is, used only to spot swapped coordinates when there is no area.
    """
    mapping = {**detect_mapping(source.columns),
               **{k: v for k, v in options.mapping.items() if v}}
    unknown = [f"{k}={v}" for k, v in options.mapping.items()
               if v and (k not in FIELDS or v not in source.columns)]
    if unknown:
        raise SourceError(_("unknown field or column in the mapping: %(items)s",
                            items=", ".join(unknown)))
    notes = [_("read as %(encoding)s", encoding=source.encoding)]
    crs = _crs(source, options, mapping, notes)
    points = _points(source, mapping, crs)
    swapped = _swapped(points, area or home)
    if not any(k in mapping for k in ("latitude", "x")) and source.kind == "csv":
        notes.append(_("no coordinate columns found: rows are placed by their address, "
                       "later (say which columns hold them in the column choices)"))
    if swapped:
        notes.append(_("latitude and longitude were the wrong way round in this file; "
                       "swapped back"))
    lookup = category_lookup(categories)
    by_slug = {c.slug: c for c in categories}
    explicit = {normalise(k): v for k, v in options.category_map.items()}
    unmapped = sorted(v for v in options.category_map.values()
                      if _category(v, lookup, by_slug) is None)
    if unmapped:
        raise SourceError(_("the category map names categories we do not have: %(names)s",
                            names=", ".join(unmapped)))
    default = _category(options.default_category, lookup, by_slug) \
        if options.default_category else None
    if options.default_category and default is None:
        raise SourceError(_("unknown default category %(name)r", name=options.default_category))
    category_values: dict[str, str] = {}
    stem = re.sub(r"[^a-z0-9]+", "-", PurePath(source.filename or "file").stem.casefold())
    stem = stem.strip("-") or "file"
    rows = []
    for raw, point in zip(source.rows, points, strict=True):
        row = Prepared(raw.number, None, raw=raw.values)
        if raw.problem:
            row.problem = raw.problem
            rows.append(row)
            continue
        try:
            row.values = _clean(raw, mapping, point, swapped, area, stem, row.notes,
                                options.outside == "import")
            row.values["category_id"] = _row_category(
                raw.values.get(mapping.get("category", ""), ""), lookup, by_slug, explicit,
                default, category_values).id
        except Held as error:
            row.values, row.problem, row.held = None, str(error), True
        except SourceError as error:
            row.values, row.problem = None, str(error)
        rows.append(row)
    if not source.rows:
        notes.append(_("the file has no rows, only its headers"))
    if "source_id" not in mapping:
        notes.append(_("the file has no id column: ids are made from the file name and each "
                       "row's name and position, so import it under the same name next time"))
    return Preparation(rows, mapping, crs, notes, category_values)


# British National Grid covers Great Britain: eastings 0–700 km, northings 0–1300 km.
BNG_RANGE = (0, 0, 700_000, 1_300_000)


def _crs(source: Source, options: Options, mapping: dict[str, str], notes: list[str]) -> str:
    """The coordinate system of the file's grid coordinates (GeoJSON geometries, x/y or
    easting/northing columns); latitude/longitude columns are always WGS84."""
    crs = normalise_crs(options.crs) or normalise_crs(source.crs)
    if not crs and ("x" in mapping or source.kind == "geojson"):
        if normalise(mapping.get("x", "")) in ("easting", "eastings"):
            crs = BNG
        else:
            sample = [p for p in _grid_points(source, mapping)[:500] if p]
            metres = [p for p in sample if abs(p[0]) > 180 or abs(p[1]) > 90]
            if sample and len(metres) * 2 > len(sample):
                if sum(_inside(p, BNG_RANGE) for p in metres) * 2 <= len(metres):
                    raise SourceError(_("the coordinates are in metres, but not British "
                                        "National Grid ones: choose their coordinate system "
                                        "(for example EPSG:3857)"))
                crs = BNG  # metres, not degrees, in Great Britain's range: the National Grid
                notes.append(_("coordinates are in metres with no system named: read as "
                               "British National Grid (EPSG:27700); choose another "
                               "coordinate system if they are not"))
    crs = crs or WGS84
    if crs != WGS84:
        try:
            transformer(crs)
        except Exception as error:  # noqa: BLE001 - pyproj's errors are many
            raise SourceError(_("unknown coordinate system %(crs)r: %(why)s", crs=crs,
                                why=error)) from None
        notes.append(_("coordinates converted from %(crs)s to WGS84", crs=crs))
    return crs


_TRANSFORMERS: dict[str, object] = {}


def transformer(crs: str):

    if crs not in _TRANSFORMERS:
        _TRANSFORMERS[crs] = Transformer.from_crs(crs, WGS84, always_xy=True)
    return _TRANSFORMERS[crs]


def _pair(raw: RawRow, mapping: dict[str, str], names: tuple[str, str], grid: bool):
    """(first, second) numbers from two columns; None if both are empty; ("bad", texts)
    if something is written that is not a number."""
    if not all(n in mapping for n in names):
        return None
    texts = [raw.values.get(mapping[n], "").strip() for n in names]
    if not any(texts):
        return None
    numbers = [_number(t, grid) for t in texts]
    if None in numbers:
        return ("bad", texts)
    return tuple(numbers)


def _grid_points(source: Source, mapping: dict[str, str]) -> list:
    """(x, y) as written, for rows placed by a geometry or by x/y columns."""
    out = []
    for raw in source.rows:
        point = raw.point if raw.point is not None else _pair(raw, mapping, ("x", "y"), True)
        out.append(point if point and point[0] != "bad" else None)
    return out


def _points(source: Source, mapping: dict[str, str], crs: str) -> list:
    """For each row: ((longitude, latitude), from_degrees) in WGS84, None when it has no
    position, or ("bad", texts); not yet checked or swapped."""
    out = []
    for raw in source.rows:
        degrees = True
        point = _pair(raw, mapping, ("latitude", "longitude"), False)
        if point is not None and point[0] != "bad":
            point = (point[1], point[0])  # (longitude, latitude)
        if point is None:  # no latitude/longitude here: the geometry or x/y columns
            point = raw.point if raw.point is not None else _pair(raw, mapping, ("x", "y"),
                                                                  crs != WGS84)
            degrees = crs == WGS84
        if point is None or point[0] == "bad":
            out.append(point)
            continue
        x, y = point
        if x == 0 and y == 0:  # a blank written as zeros
            out.append(None)
            continue
        if not degrees:
            try:
                x, y = transformer(crs).transform(x, y)
            except Exception:  # noqa: BLE001 - a point the projection cannot take
                out.append(None)
                continue
            if not (math.isfinite(x) and math.isfinite(y)):
                out.append(None)
                continue
        out.append(((x, y), degrees))
    return out


def _inside(point, area) -> bool:
    min_lon, min_lat, max_lon, max_lat = area
    return min_lon <= point[0] <= max_lon and min_lat <= point[1] <= max_lat


def _swapped(points: list, area) -> bool:
    """Are this file's latitudes and longitudes the wrong way round? Judged on the whole
    file, on the points given in degrees."""
    found = [p[0] for p in points if p is not None and p[0] != "bad" and p[1]]
    if not found:
        return False
    if area is not None:
        as_given = sum(_inside(p, area) for p in found)
        turned = sum(_inside((p[1], p[0]), area) for p in found)
        return turned > as_given and turned * 2 >= len(found)
    # No area known: only impossible latitudes (most of them) that swapping makes
    # possible give it away.
    return (sum(abs(p[1]) > 90 for p in found) * 2 > len(found)
            and all(abs(p[0]) <= 90 and abs(p[1]) <= 180 for p in found))


def _text(raw: RawRow, mapping: dict[str, str], name: str) -> str:
    column = mapping.get(name)
    return (raw.values.get(column, "") if column else "").strip()


def _clean(raw: RawRow, mapping, point, swapped: bool, area, stem: str,
           notes: list[str], outside_ok: bool = False) -> dict:
    out: dict = {}
    for name, attribute in (("description", "description"), ("address", "address_1"),
                            ("city", "city"), ("postal_code", "postal_code"),
                            ("email", "email"), ("phone", "phone"), ("url", "url"),
                            ("opening_hours", "opening_hours"),
                            ("accessibility", "accessibility"), ("audience", "audience"),
                            ("run_by", "run_by")):
        out[attribute] = _text(raw, mapping, name)
    contact = _text(raw, mapping, "contact")
    if contact:
        if "@" in contact and not out["email"]:
            out["email"] = contact
        elif re.fullmatch(r"[+\d][\d ()-]{5,}", contact) and not out["phone"]:
            out["phone"] = contact
        elif not out["run_by"]:
            out["run_by"] = contact
    name = _text(raw, mapping, "name")
    if not name:
        name = ", ".join(filter(None, [out["address_1"], out["city"]])) or out["postal_code"]
        if not name:
            raise SourceError(_("no name, and no address to name it by"))
        notes.append(_("no name: the address is used as its name"))
    out["name"] = name
    if out["url"] and not out["url"].lower().startswith(("http://", "https://")):
        if re.match(r"^(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(/\S*)?$", out["url"], re.I):
            out["url"] = "https://" + out["url"]  # "cardiff.gov.uk/halls"
        else:
            notes.append(_("the website %(url)r is not a web address: left out",
                           url=out["url"][:80]))
            out["url"] = ""
    for attribute, limit in TEXT_LIMITS.items():
        if attribute in out and len(out[attribute]) > limit:
            notes.append(_("%(field)s cut to %(limit)s characters", field=attribute,
                           limit=limit))
            out[attribute] = out[attribute][:limit]
    # Coordinates that cannot be used (text, 0,0, off the globe) do not cost the row: it
    # comes in without a position, placed later by its address, and the report says so.
    unusable = ""
    if point is not None and point[0] == "bad":
        unusable, point = f"{point[1][0]!r}, {point[1][1]!r}", None
    if point is not None:
        (lon, lat), degrees = point
        if swapped and degrees:
            lon, lat = lat, lon
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            unusable, point = f"{lat}, {lon}", None
    if unusable and (out["address_1"] or out["postal_code"]):
        notes.append(_("the coordinates %(where)s cannot be used: imported without a "
                       "position, to be found by its address", where=unusable))
    elif unusable:
        raise SourceError(_("the coordinates %(where)s cannot be used, and there is no "
                            "address to find it by", where=unusable))
    if point is not None:
        (lon, lat), degrees = point
        if swapped and degrees:
            lon, lat = lat, lon
        if area is not None and not _inside((lon, lat), _padded(area)):
            where = ", ".join(f"{v:g}" for v in area)
            if not outside_ok:
                raise Held(_("%(lat).5f, %(lon).5f is outside the area this bank covers "
                             "(%(area)s): held back until you choose to import it anyway",
                             lat=lat, lon=lon, area=where))
            notes.append(_("outside the area this bank covers (%(area)s), imported as "
                           "chosen", area=where))
        out["latitude"], out["longitude"] = lat, lon
    else:
        out["latitude"] = out["longitude"] = None
        if not (out["address_1"] or out["postal_code"]):
            raise SourceError(_("no coordinates and no address to find it by"))
    source_id = _text(raw, mapping, "source_id")
    if re.fullmatch(r"\d{1,6}", source_id):
        # 1, 2, 3…: a row number in this file, not an id the world shares (a UPRN has up
        # to 12 digits): tie it to the file so two files' "1"s stay two assets.
        source_id = f"{stem}:{source_id}"
    if not source_id:
        # GeoJSON features name their ids differently from one to the next.
        by_header = {normalise(k): v for k, v in raw.values.items() if str(v).strip()}
        source_id = next((str(by_header[h]).strip() for h in HEADERS["source_id"]
                          if h in by_header), "")
    if not source_id:
        key = (f"{normalise(name)}|{round(out['latitude'], 4)}|{round(out['longitude'], 4)}"
               if out["latitude"] is not None
               else f"{normalise(name)}|{normalise(out['address_1'])}|{out['postal_code']}")
        source_id = f"{stem}:{hashlib.sha1(key.encode()).hexdigest()[:12]}"  # noqa: S324 - an id, not a secret
    out["source_id"] = source_id[:TEXT_LIMITS["source_id"]]
    for flag in ("open_to_all", "step_free"):
        value = _text(raw, mapping, flag).casefold()
        out[flag] = value in TRUE if value else flag == "open_to_all"
    return out


def _padded(area, margin: float = 0.05):
    """The area with a few kilometres' margin: a hall just over the boundary still counts."""
    min_lon, min_lat, max_lon, max_lat = area
    return (min_lon - margin, min_lat - margin, max_lon + margin, max_lat + margin)


def _category(value: str, lookup, by_slug) -> CategoryRow | None:
    key = normalise(value)
    return lookup.get(key) or lookup.get(singular(key)) or by_slug.get(value)


def _row_category(value: str, lookup, by_slug, explicit, default, seen: dict) -> CategoryRow:
    key = normalise(value)
    if key in explicit:
        category = _category(explicit[key], lookup, by_slug)
        how = _("by the category map")
    else:
        category = _category(value, lookup, by_slug) if key else None
        how = _("by its name")
    if category is None and default is not None:
        category, how = default, _("by the default category")
    if category is None:
        raise SourceError(_("unknown category %(value)r: map it (--category-map) or give a "
                            "default (--default-category)", value=value) if key else
                          _("no category: give a default (--default-category)"))
    seen.setdefault(value or "(none)", f"{category.name} ({how})")
    return category
