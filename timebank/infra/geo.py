"""Geocoding, distances and privacy rounding. No Flask request objects here.

The geocoder is geopy's Nominatim client pointed at ``TIMEBANK_GEOCODER_DOMAIN``.
Nominatim's usage policy allows at most one request per second, and gunicorn
runs several processes, so the limit is kept with a lock file shared by every
process on the host (geopy's RateLimiter only limits one process). Results are
cached in the database: a repeated address never calls the service again.
"""

from __future__ import annotations

import fcntl
import math
import os
import time
from dataclasses import dataclass

import numpy as np
import shapely
from flask import current_app
from geopy.exc import GeocoderQueryError, GeopyError
from geopy.geocoders import Nominatim
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from timebank.infra.clock import utcnow
from timebank.infra.db import end_read_transaction
from timebank.infra.extensions import db
from timebank.infra.tables import GeocodeCache

USER_AGENT = "timebank/0.1 (neighbourhood time bank; https://github.com/timebank)"
EARTH_RADIUS_KM = 6371.0088
GRID_METRES = 500.0


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    display_name: str = ""
    cached: bool = False


class GeocoderUnavailable(RuntimeError):
    """The service is down, slow or refusing us; try again later."""


def normalise_query(text: str) -> str:
    return " ".join(text.casefold().split())[:300]


def cached_place(query: str) -> Place | None:
    """What the geocoder once found for ``query``, without asking it again (for callers
    anyone may prompt, such as the open data's postcode search: they must never send the
    service traffic)."""
    key = normalise_query(query)
    if not key:
        return None
    hit = db.session.execute(
        select(GeocodeCache.latitude, GeocodeCache.longitude, GeocodeCache.display_name)
        .where(GeocodeCache.query == key)).first()
    if hit is None or hit.latitude is None:
        return None
    return Place(hit.latitude, hit.longitude, hit.display_name, cached=True)


class Geocoder:
    def __init__(self, domain: str, scheme: str, lock_path: str, min_interval: float = 1.0,
                 timeout: float = 5.0):
        self.client = Nominatim(user_agent=USER_AGENT, domain=domain, scheme=scheme,
                                timeout=timeout)
        self.lock_path = lock_path
        self.min_interval = min_interval

    @classmethod
    def from_config(cls, config) -> Geocoder:
        return cls(
            domain=config["TIMEBANK_GEOCODER_DOMAIN"],
            scheme=config["TIMEBANK_GEOCODER_SCHEME"],
            lock_path=config["TIMEBANK_GEOCODER_LOCK"],
            min_interval=config["TIMEBANK_GEOCODER_MIN_INTERVAL"],
            timeout=config["TIMEBANK_GEOCODER_TIMEOUT"],
        )

    def _wait_turn(self) -> None:
        """Block until a full interval has passed since any process's last request."""
        os.makedirs(os.path.dirname(self.lock_path) or ".", exist_ok=True)
        with open(self.lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                fh.seek(0)
                text = fh.read().strip()
                last = float(text) if text else 0.0
                # Never longer than one interval: a time written while the clock was ahead
                # (set back since, a restored snapshot, a test with a moved clock) would
                # otherwise stall every geocode for as long as the difference.
                wait = min(last + self.min_interval - time.time(), self.min_interval)
                if wait > 0:
                    time.sleep(wait)
                fh.seek(0)
                fh.truncate()
                fh.write(repr(time.time()))
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def geocode(self, query: str) -> Place | None:
        """Coordinates for ``query``, from the cache or the service; None if nothing matches.

        Raises GeocoderUnavailable when the service cannot answer now.
        """
        key = normalise_query(query)
        if not key:
            return None
        # The cache is read and written on its own short connections, never inside the
        # caller's transaction: a slow service call must not hold a database lock.
        end_read_transaction()
        with db.engine.connect() as conn:
            hit = conn.execute(
                select(GeocodeCache.latitude, GeocodeCache.longitude, GeocodeCache.display_name)
                .where(GeocodeCache.query == key)
            ).first()
        if hit is not None and hit.latitude is not None:
            return Place(hit.latitude, hit.longitude, hit.display_name, cached=True)
        self._wait_turn()
        try:
            found = self.client.geocode(key, exactly_one=True)
        except GeocoderQueryError:
            return None
        except GeopyError as error:  # timeouts, 429, 5xx, connection refused
            raise GeocoderUnavailable(str(error) or type(error).__name__) from error
        if found is None:
            return None  # not cached: an address may become findable later
        place = Place(float(found.latitude), float(found.longitude), found.address or "")
        self._store(key, place)
        return place

    def reverse(self, latitude: float, longitude: float) -> str | None:
        self._wait_turn()
        try:
            found = self.client.reverse((latitude, longitude), exactly_one=True)
        except GeopyError as error:
            raise GeocoderUnavailable(str(error) or type(error).__name__) from error
        return found.address if found else None

    @staticmethod
    def _store(key: str, place: Place) -> None:
        try:
            with db.engine.begin() as conn:
                conn.execute(insert(GeocodeCache).values(
                    query=key, latitude=place.latitude, longitude=place.longitude,
                    display_name=place.display_name[:500], provider="nominatim",
                    created_at=utcnow()))
        except IntegrityError:
            pass  # another process cached it first


def forget(address: str) -> None:
    """Drop an address from the cache: a member's old or erased home stays nowhere (the
    next lookup of it, if any, asks the service again). Caller commits."""

    db.session.execute(delete(GeocodeCache).where(
        GeocodeCache.query == normalise_query(address)))


def geocoder():

    return Geocoder.from_config(current_app.config)


# -- distances and privacy ----------------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def haversine_km_many(lat, lon, lats, lons):
    """Distances from one point to many (numpy arrays), in km."""

    p1 = np.radians(lat)
    p2 = np.radians(lats)
    dp = p2 - p1
    dl = np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))


def public_point(latitude: float, longitude: float) -> tuple[float, float]:
    """Snap a private point to the centre of its ~500 m grid cell (what others may see)."""
    lat_step = GRID_METRES / 111_320.0
    lat = (math.floor(latitude / lat_step) + 0.5) * lat_step
    lon_step = lat_step / max(0.01, math.cos(math.radians(lat)))
    lon = (math.floor(longitude / lon_step) + 0.5) * lon_step
    return round(lat, 6), round(lon, 6)


def bbox_around(latitude: float, longitude: float, km: float) -> tuple[float, float, float, float]:
    """(min_lat, min_lon, max_lat, max_lon) of a box that contains the circle of ``km``."""
    dlat = km / 111.32
    dlon = km / (111.32 * max(0.01, math.cos(math.radians(latitude))))
    return latitude - dlat, longitude - dlon, latitude + dlat, longitude + dlon


# -- coverage gaps ------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    south: float
    west: float
    north: float
    east: float
    nearest_m: float | None  # straight-line distance from the centre to the nearest asset

    @property
    def centre(self) -> tuple[float, float]:
        return (self.south + self.north) / 2, (self.west + self.east) / 2

    @property
    def label(self) -> str:
        return f"{chr(65 + self.row % 26)}{self.row // 26 or ''}-{self.col + 1}"


def coverage_grid(
    bbox: tuple[float, float, float, float],
    assets: list[tuple[float, float]],
    cell_m: float = 250.0,
    max_cells: int = 4000,
) -> list[Cell]:
    """Cut ``bbox`` (min_lat, min_lon, max_lat, max_lon) into square cells and give each
    the distance from its centre to the nearest asset.

    Distances are straight lines, a floor on walking distance: a cell reported as a
    gap is certainly farther than that on foot.
    """

    min_lat, min_lon, max_lat, max_lon = bbox
    mid_lat = (min_lat + max_lat) / 2
    dlat = cell_m / 111_320.0
    dlon = cell_m / (111_320.0 * max(0.01, math.cos(math.radians(mid_lat))))
    rows = max(1, math.ceil((max_lat - min_lat) / dlat))
    cols = max(1, math.ceil((max_lon - min_lon) / dlon))
    if rows * cols > max_cells:  # keep the grid bounded: widen cells for big areas
        scale = math.sqrt(rows * cols / max_cells)
        dlat, dlon = dlat * scale, dlon * scale
        rows = max(1, math.ceil((max_lat - min_lat) / dlat))
        cols = max(1, math.ceil((max_lon - min_lon) / dlon))
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    centre_lat = (min_lat + (r + 0.5) * dlat).ravel()
    centre_lon = (min_lon + (c + 0.5) * dlon).ravel()
    nearest = np.full(centre_lat.shape, np.inf)
    if assets:
        nearest = nearest_m(centre_lat, centre_lon, np.asarray(assets, dtype=np.float64))
    cells = []
    for i in range(rows * cols):
        row, col = divmod(i, cols)
        south = min_lat + row * dlat
        west = min_lon + col * dlon
        cells.append(Cell(row, col, round(south, 6), round(west, 6), round(south + dlat, 6),
                          round(west + dlon, 6),
                          None if math.isinf(nearest[i]) else round(float(nearest[i]), 1)))
    return cells


def nearest_m(lat, lon, points):
    """For each (lat, lon), the distance in metres to the nearest of ``points`` (rows of
    latitude, longitude). The nearest is found in a search tree over a local flat
    projection, O((n + m) log m) rather than every pair; its distance is then the
    great-circle one."""

    scale_x = 111_320.0 * math.cos(math.radians(float(np.mean(lat))))
    tree = shapely.STRtree(shapely.points(points[:, 1] * scale_x, points[:, 0] * 111_320.0))
    index = tree.nearest(shapely.points(lon * scale_x, lat * 111_320.0))
    return haversine_km_many(lat, lon, points[index, 0], points[index, 1]) * 1000.0


def padded_bbox(points: list[tuple[float, float]], pad_m: float):
    """The box around ``points`` grown by ``pad_m`` on every side; None without points."""
    if not points:
        return None
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    lo = bbox_around(min(lats), min(lons), pad_m / 1000)
    hi = bbox_around(max(lats), max(lons), pad_m / 1000)
    return lo[0], lo[1], hi[2], hi[3]
