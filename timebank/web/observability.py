"""What an operator sees: a request id on every request (taken from a trusted proxy's
``X-Request-ID`` or made here, returned in the response and carried in every log line),
structured (JSON) log lines when ``TIMEBANK_LOG_FORMAT=json``, and ``/readyz``'s
checks: the database answers and its schema is this code's; ``/metrics`` in
Prometheus's text format (request latency by route, counted across gunicorn's workers
in prometheus_client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set, as
gunicorn.conf.py does; and, read from the database at each scrape, the e-mail and text
queues, the job runner's heartbeat, the ledger's last check and the replica's lag).

Static files are named by their content (``?v=`` a short hash), so browsers keep them
for a year and a new release is fetched at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import time
import uuid
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import Flask, current_app, g, has_request_context, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text

from timebank.core import operations
from timebank.infra import clock
from timebank.infra import db as database
from timebank.infra.extensions import db

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
YEAR = 365 * 24 * 3600


def request_id() -> str:
    return g.get("request_id", "") if has_request_context() else ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the
    exception if any (log collectors parse it without guessing)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage(),
                "request_id": getattr(record, "request_id", "")}
        for key in ("method", "path", "status", "ms"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def _static_versions(app: Flask):
    """A short hash of each static file's content, computed once per file."""
    root = Path(app.static_folder or "")
    known: dict[str, str] = {}

    def version_of(filename: str) -> str | None:
        if filename not in known:
            path = (root / filename).resolve()
            if not path.is_file() or root.resolve() not in path.parents:
                return None
            known[filename] = hashlib.blake2b(path.read_bytes(), digest_size=5).hexdigest()
        return known[filename]

    return version_of


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REGISTRY = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "timebank_request_duration_seconds", "Time to answer a request, by route and method",
    ["route", "method"], registry=_REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def metrics_token_ok() -> bool | None:
    """None: /metrics is off (no token set); else whether the request bears the token."""
    token = current_app.config.get("TIMEBANK_METRICS_TOKEN") or ""
    if not token:
        return None
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


class _DatabaseFigures:
    """The figures read from the database at each scrape."""

    def collect(self):
        found = operations.figures()
        now = clock.utcnow()

        def gauge(name: str, about: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, about, value=value)

        yield gauge("timebank_outbox_waiting", "E-mails waiting to be sent", found.outbox)
        yield gauge("timebank_texts_waiting", "Texts waiting to be sent", found.texts)
        yield gauge("timebank_jobs_heartbeat_age_seconds",
                    "Seconds since the job runner last finished a job (-1: never)",
                    (now - found.heartbeat).total_seconds() if found.heartbeat else -1)
        yield gauge("timebank_ledger_check_ok",
                    "1 when the last scheduled check-ledger passed, 0 when it failed, "
                    "-1 before the first", -1 if found.ledger_ok is None else int(found.ledger_ok))
        yield gauge("timebank_ledger_check_age_seconds",
                    "Seconds since the last scheduled check-ledger (-1: never)",
                    (now - found.ledger_checked_at).total_seconds()
                    if found.ledger_checked_at else -1)
        lag = database.replica_lag()
        if lag is not None:
            yield gauge("timebank_replica_lag_seconds",
                        "How far the read replica is behind the primary (-1: unreachable)", lag)


def metrics_text() -> bytes:
    """Everything /metrics shows, in Prometheus's text format."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:  # every worker's counts, from the files they write
        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests, path=folder)
    else:
        requests = _REGISTRY
    figures = CollectorRegistry()
    figures.register(_DatabaseFigures())  # type: ignore[arg-type]
    return generate_latest(requests) + generate_latest(figures)


def readiness() -> dict[str, str]:
    """What /readyz checks: the database answers, and its schema is at this code's
    latest migration (a release whose migration has not run is not ready)."""

    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not ready"
        with contextlib.suppress(Exception):  # the connection may already be gone
            db.session.rollback()
        return {"db": "error", "schema": "unknown"}
    found = {"db": "ok", "schema": "ok"}
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no table: the schema was never migrated
        current = None
    db.session.rollback()
    migrate = current_app.extensions["migrate"]
    script = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))
    if current != script.get_current_head():
        found["schema"] = f"at {current}, code wants {script.get_current_head()}"
    return found


def init_app(app: Flask) -> None:
    handler_filter = _RequestIdFilter()
    if app.config.get("TIMEBANK_LOG_FORMAT") == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(handler_filter)
        app.logger.handlers[:] = [handler]
        app.logger.setLevel(logging.INFO)
        app.logger.propagate = False
    else:
        for handler in app.logger.handlers:
            handler.addFilter(handler_filter)
    version_of = _static_versions(app)

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        # Known methods only: any other word a client sends would be a new series each.
        method = request.method if request.method in _METHODS else "OTHER"
        REQUEST_SECONDS.labels(rule, method).observe(
            time.perf_counter() - g.get("started", time.perf_counter()))
        asked = request.args.get("v") if request.endpoint == "static" else None
        if asked and asked == version_of((request.view_args or {}).get("filename", "")):
            # Named by content: the same address always means the same bytes.
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        if app.config.get("TIMEBANK_LOG_REQUESTS"):
            app.logger.info("request", extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "ms": round(1000 * (time.perf_counter() - g.get("started", time.perf_counter())),
                            1)})
        return response

    @app.url_defaults
    def _static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            found = version_of(values["filename"])
            if found:
                values["v"] = found
