"""Infrastructure's own tables: geocoder results (a repeated address never calls the
service again), the data versions caches are built from (``infra.cache``), and each
scheduled job's last run (the admin's page and ``/metrics`` read it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.infra.clock import utcnow
from timebank.infra.extensions import Model


class GeocodeCache(Model):
    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(300), unique=True)
    latitude: Mapped[float | None] = mapped_column(Float)  # NULL: the service found nothing
    longitude: Mapped[float | None] = mapped_column(Float)
    display_name: Mapped[str] = mapped_column(String(500), default="")
    provider: Mapped[str] = mapped_column(String(40), default="nominatim")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataVersion(Model):
    """A counter for data that caches are built from (``timebank.infra.cache``): bumped in the
    transaction that changes the data, so every worker knows its copy is old."""

    __tablename__ = "data_version"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    # How many times it moved, counted under the row's lock and so in commit order: what
    # changed since a number can be read from rows stamped with a later one (accounts'
    # ``moved_serial``), as long as ``epoch`` is the same.
    serial: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Drawn afresh when the stamps cannot tell what changed (data written past them, or
    # a restored backup): whatever was built from the data is then built again in full.
    epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class JobRun(Model):
    """The last run of one scheduled job (``timebank.jobs``), one row per job: whether it
    worked, what it said, and when. The job runner's heartbeat is the newest ``finished_at``
    of them all; ``check-ledger``'s row is the ledger's last verdict."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime] = mapped_column()
    ok: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[str] = mapped_column(Text, default="")
    # When it last worked (a failing backup still shows the last good one's time).
    last_ok_at: Mapped[datetime | None] = mapped_column()
