"""Imports in the browser: upload a register, preview it as it will be stored, adjust the
columns and categories, import, and keep the history (archivable per import)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from timebank.core.assets import files, sources
from timebank.core.assets.register import categories
from timebank.core.errors import Refused
from timebank.core.models import AssetImport
from timebank.infra.extensions import db

MAX_UPLOAD = 2 * 1024 * 1024
ALLOWED = (".csv", ".geojson", ".json")
PREVIEW_ROWS = 20
CRS_CHOICES = ("", sources.WGS84, sources.BNG)


class ImportError_(Refused):  # noqa: N801 - "ImportError" is Python's own
    pass


def upload(data: bytes, filename: str, by_id: int) -> AssetImport:
    """Keep an uploaded file for its preview; refuse what is not a register we can read."""

    name = (filename or "").strip().rsplit("/", 1)[-1][:200]
    if not name.lower().endswith(ALLOWED):
        raise ImportError_(_("Choose a CSV or GeoJSON file (.csv, .geojson or .json)."), "file")
    if len(data) > MAX_UPLOAD:
        raise ImportError_(_("The file is larger than 2 MB; split it, or ask an admin to "
                             "import it from the command line."), "file")
    if not data.strip():
        raise ImportError_(_("The file is empty."), "file")
    try:
        sources.read_source(data, name)
    except sources.SourceError as error:
        raise ImportError_(_("This file cannot be read: %(why)s", why=str(error)),
                           "file") from None
    record = AssetImport(filename=name, by_id=by_id, data=data, status="preview", settings={})
    db.session.add(record)
    db.session.commit()
    return record


def options_of(record: AssetImport) -> sources.Options:
    s = record.settings or {}
    return sources.Options(mapping=dict(s.get("mapping") or {}),
                           category_map=dict(s.get("category_map") or {}),
                           default_category=s.get("default_category") or "",
                           crs=s.get("crs") or "",
                           outside="import" if s.get("outside") == "import" else "hold")


@dataclass
class Preview:
    source: sources.Source
    preparation: sources.Preparation | None
    problem: str
    category_values: list[str]  # distinct values in the category column
    ready: int
    refused: int
    held: int = 0


def preview(record: AssetImport) -> Preview:
    source = sources.read_source(record.data or b"", record.filename)
    options = options_of(record)
    try:
        prepared = files.prepare_source(source, options)
    except sources.SourceError as error:
        return Preview(source, None, str(error), [], 0, 0)
    column = prepared.mapping.get("category")
    values = sorted({r.values.get(column, "").strip() for r in source.rows if column} - {""})
    ready = sum(1 for r in prepared.rows if r.values is not None)
    held = sum(1 for r in prepared.rows if r.held)
    return Preview(source, prepared, "", values, ready, len(prepared.rows) - ready - held, held)


def save_settings(record: AssetImport, form: dict[str, str]) -> None:
    """The mapping form: ``map_<field>`` = a column, ``cat_<n>``/``catv_<n>`` = a value and
    the category it means, ``default_category``, ``crs``. Unknown choices are ignored."""
    source = sources.read_source(record.data or b"", record.filename)
    slugs = {c.slug for c in categories()}
    mapping = {f: form.get(f"map_{f}", "") for f in sources.FIELDS
               if form.get(f"map_{f}", "") in source.columns}
    category_map = {}
    for key, value in form.items():
        if key.startswith("catv_") and value:
            chosen = form.get("cat_" + key[5:], "")
            if chosen in slugs:
                category_map[value[:200]] = chosen
    crs = form.get("crs", "").strip().upper()[:40]
    record.settings = {
        "mapping": mapping, "category_map": category_map,
        "default_category": form.get("default_category", "") if form.get(
            "default_category", "") in slugs else "",
        "crs": crs if crs in CRS_CHOICES or crs.startswith("EPSG:") else "",
        "outside": "import" if form.get("outside") == "import" else "hold",
    }
    db.session.commit()


def run(record: AssetImport, by_id: int) -> files.ImportReport:
    if record.status != "preview" or record.data is None:

        raise ImportError_(_("This file has already been imported."), status=409)
    _prepared, report = files.import_file(record.data, record.filename, options_of(record),
                                          by_id, record=record)
    return report


def history(limit: int = 100) -> list[AssetImport]:
    """Imports that happened (a preview never imported is not one: see ``previews``)."""
    return list(db.session.scalars(select(AssetImport).where(AssetImport.status != "preview")
                                   .order_by(AssetImport.id.desc()).limit(limit)))


def previews(limit: int = 20) -> list[AssetImport]:
    """Files uploaded and looked at but not imported, to finish (or leave)."""
    return list(db.session.scalars(select(AssetImport).where(AssetImport.status == "preview")
                                   .order_by(AssetImport.id.desc()).limit(limit)))
