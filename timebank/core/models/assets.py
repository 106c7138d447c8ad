"""The community asset register: what the neighbourhood already has.

Field names follow Open Referral HSDS where one fits (name, description,
email, url, address_1, city, postal_code, latitude, longitude).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core.models.base import utcnow
from timebank.core.models.names import N_, NamedKind
from timebank.infra import geo
from timebank.infra.extensions import Model

if TYPE_CHECKING:
    from timebank.core.models.members import Member

# The six kinds of asset of asset-based community development, with map colours
# that stay distinguishable for colour-blind readers (Okabe–Ito palette).
DEFAULT_ASSET_CATEGORIES = [
    ("associations", N_("Associations and groups"), "#E69F00"),
    ("institutions", N_("Institutions"), "#56B4E9"),
    ("physical", N_("Physical spaces"), "#009E73"),
    ("economy", N_("Local economy"), "#CC79A7"),
    ("culture", N_("Culture and heritage"), "#D55E00"),
    ("services", N_("Services"), "#0072B2"),
]
# Ids the open data gives an asset, kind or organisation: UUIDs derived from what names
# it here (a source id, a slug), so they stay the same however often it is imported.
OPEN_DATA_NAMESPACE = uuid.UUID("6f1b9a4e-3c2d-5e8f-9a7b-1c0d2e3f4a5b")


def open_data_id(*parts: str) -> str:
    return str(uuid.uuid5(OPEN_DATA_NAMESPACE, "\x1f".join(parts)))


def _new_uuid(context) -> str:
    """An imported asset's id follows its source id; anything else gets a random one."""
    source = context.get_current_parameters().get("source_id")
    return open_data_id("asset", source) if source else str(uuid.uuid4())


class CheckedHow(StrEnum):
    """Who last said an asset is as described."""

    COORDINATOR = "coordinator"  # a coordinator checked or published it
    REVIEW = "review"  # a member said it is still there
    CONTACT = "contact"  # its named contact confirmed it from the e-mailed link
    IMPORT = "import"  # a register was imported with it


class AssetStatus(StrEnum):
    PROPOSED = "proposed"
    PUBLISHED = "published"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class GeocodeState(StrEnum):
    OK = "ok"  # has coordinates
    PENDING = "pending"  # the geocoder could not answer; `geocode-pending` retries
    NOT_FOUND = "not_found"  # the geocoder found nothing for the address


class AssetCategory(NamedKind, Model):
    __tablename__ = "asset_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    colour: Mapped[str] = mapped_column(String(7), default="#555555")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Asset(Model):
    __tablename__ = "asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("asset_category.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    address_1: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    latitude: Mapped[float | None] = mapped_column(Float, index=True)
    longitude: Mapped[float | None] = mapped_column(Float, index=True)
    geocode_source: Mapped[str] = mapped_column(String(20), default="")
    geocode_state: Mapped[str] = mapped_column(String(12), default=GeocodeState.OK)
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    opening_hours: Mapped[str] = mapped_column(String(300), default="")
    accessibility: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(300), default="")  # who it is for
    open_to_all: Mapped[bool] = mapped_column(default=True)
    step_free: Mapped[bool] = mapped_column(default=False)  # accessible without steps
    run_by: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default=AssetStatus.PROPOSED,
                                        index=True)
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    source_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When someone last said it is still there (a review or a coordinator's check).
    confirmed_at: Mapped[datetime | None]
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    checked_how: Mapped[str] = mapped_column(String(12), default="", server_default="")
    # Its id in the open data (HSDS): stable across re-imports, never the row id.
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=_new_uuid)
    # A member's home (a garden, a workshop): the public sees its ~500 m square, never
    # the address.
    at_home: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The council's own land and buildings (the Transparency Code's land and assets list).
    council_owned: Mapped[bool] = mapped_column(default=False, server_default=false())
    uprn: Mapped[str] = mapped_column(String(12), default="", server_default="")
    tenure: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # An Asset of Community Value (Localism Act 2011): listed for five years.
    acv_listed_on: Mapped[date | None]
    acv_expires_on: Mapped[date | None]
    acv_reminded_on: Mapped[date | None]
    # The import that created it (an import's assets can be archived together).
    import_id: Mapped[int | None] = mapped_column(ForeignKey("asset_import.id"), index=True)

    category: Mapped[AssetCategory] = relationship("AssetCategory", lazy="joined")

    @property
    def address(self) -> str:
        return ", ".join(p for p in (self.address_1, self.city, self.postal_code) if p)

    @property
    def public_point(self) -> tuple[float, float] | None:
        """Where anyone but coordinators may see it: a home's ~500 m square (the rule for
        members' places), anything else where it is; None when unplaced (or broken)."""
        return public_point(self.latitude, self.longitude, self.at_home)


def public_point(latitude: float | None, longitude: float | None,
                 at_home: bool) -> tuple[float, float] | None:
    """The one rule for showing an asset's position (maps, exports, open data, ideas)."""
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None  # NaN, infinities, swapped or broken: no position (JSON has no NaN)
    if at_home:
        return geo.public_point(latitude, longitude)
    return round(latitude, 6), round(longitude, 6)


class AssetChange(Model):
    """Something said about an asset that a coordinator decides on: its named contact's
    correction (from the e-mailed link), or a member's report that it closed or moved."""

    __tablename__ = "asset_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # correction / closed / moved
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # a correction's new details
    note: Mapped[str] = mapped_column(Text, default="")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))  # who reported
    # The contact who sent a correction (the address the link went to): told the outcome.
    contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_at: Mapped[datetime | None]

    asset: Mapped[Asset] = relationship("Asset", lazy="joined")


class AssetImport(Model):
    """One file brought in, in the browser or from the command line: what was done with it,
    row by row. The file is kept until it is imported, for the preview."""

    __tablename__ = "asset_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # preview (uploaded, not yet imported) → imported → archived
    status: Mapped[str] = mapped_column(String(10), default="preview")
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # mapping, categories, crs
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text, default="")
    imported_at: Mapped[datetime | None]

    by: Mapped[Member | None] = relationship("Member", lazy="joined")


class Neighbourhood(Model):
    """A named area (ward, neighbourhood) from a boundary file: gap tables and asset lists
    name it instead of a grid code."""

    __tablename__ = "neighbourhood"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON, WGS84
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BoundaryUpload(Model):
    """A boundary file uploaded in the browser, read and converted to WGS84 but not yet
    adopted: the coordinator previews it on the map and names each area first."""

    __tablename__ = "boundary_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # [{"name": …, "geometry": GeoJSON in WGS84}, …] and what reading it noticed
    shapes: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[list] = mapped_column(JSON, default=list)
    adopted_at: Mapped[datetime | None]


def name_key(column):
    """The one rule for matching a neighbourhood a member names to a named area: case
    and outer spaces aside (in SQL, so every engine and report applies it alike)."""
    return func.lower(func.trim(column))


def area_named(column):
    """The id of the named area that a neighbourhood text names (NULL if none)."""
    area = Neighbourhood.__table__.alias("named_area")  # apart from any outer query's
    return (select(area.c.id).where(name_key(area.c.name) == name_key(column))
            .order_by(area.c.id).limit(1).scalar_subquery())


class AssetReview(Model):
    """A resident's assessment of an asset (co-assessment)."""

    __tablename__ = "asset_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    still_there: Mapped[bool] = mapped_column(default=True)
    welcoming: Mapped[int] = mapped_column(Integer)  # 1 (not at all) … 4 (very)
    accessible: Mapped[str] = mapped_column(String(10))  # yes / partly / no / unsure
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship("Member", lazy="joined")
