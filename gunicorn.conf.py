"""gunicorn's settings for running timebank in production: ``gunicorn wsgi:app`` reads this
file from the working directory. The command line overrides any of them; so do the
environment variables named below.

Measured choices (see docs/scaling.md): threads help because pages wait on the database;
``gc.freeze()`` in every worker moves the app and its caches out of the garbage
collector's way (it took a third of the time of the asset pages), and young
collections run every 10,000 new objects rather than 700; the app logs one JSON
line per request with its request id, so gunicorn's own access log is off.
"""

import gc
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("TIMEBANK_BIND", "0.0.0.0:8000")
# Two per core plus one (a worker waiting on the database leaves the core to another),
# counting the cores this process may use (a container's, not the host's), at most 9:
# each worker holds up to `threads` database connections, and PostgreSQL allows 100.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
    multiprocessing.cpu_count())
workers = int(os.environ.get("WEB_CONCURRENCY", min(9, _cores * 2 + 1)))
worker_class = "gthread"
threads = int(os.environ.get("TIMEBANK_THREADS", "4"))
timeout = int(os.environ.get("TIMEBANK_TIMEOUT", "30"))  # a stuck worker is replaced
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then, so slow growth in memory never builds up; not so often
# that their caches are rebuilt every few seconds on a busy site (every 5,000 requests
# put a rebuild of the register downloads into the p99 of bench/city.py).
max_requests = 50_000
max_requests_jitter = 5_000
# Load the app once in the master: workers share its memory until they write to it.
preload_app = True
accesslog = None
errorlog = "-"
loglevel = os.environ.get("TIMEBANK_LOG_LEVEL", "info")
# Behind a reverse proxy on the same host; set TIMEBANK_PROXY_HOPS for the app too.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

os.environ.setdefault("TIMEBANK_LOG_FORMAT", "json")
os.environ.setdefault("TIMEBANK_LOG_REQUESTS", "1")
# /metrics counts requests in every worker: each writes its figures to files here,
# which must be empty when the server starts (prometheus_client's multiprocess mode).
# Set before the app (and prometheus_client) is loaded.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="timebank-metrics-")
else:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def post_fork(server, worker):
    """A worker never uses database connections the master opened, and the objects the
    app built before the fork stay out of the garbage collector's scans."""
    from timebank.infra.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        db.engine.dispose(close=False)
    gc.freeze()
    # Young collections every 10,000 new objects rather than 700, for pages that read
    # thousands of rows. Not 50,000 (as before): the middle generation then fills with
    # dead request objects, and collecting it stalled one request in a hundred by 20-30 ms
    # (the members list's p99, in-process: 24 ms at 50,000, 10 ms at 10,000). The
    # workbench's pool build takes the same 160-170 ms at 700, 10,000 or 50,000.
    gc.set_threshold(10_000, 10, 10)


def on_starting(server):
    """Refuse to serve with several workers whose rate limits each count alone: with
    ``memory://`` anyone on a shared address could lock every neighbour out of logging
    in, while an attacker got workers x the attempts. Redis counts for all of them
    (TIMEBANK_RATELIMIT_STORAGE_URI); TIMEBANK_RATELIMIT_PER_WORKER=1 says it is meant."""
    storage = os.environ.get("TIMEBANK_RATELIMIT_STORAGE_URI", "memory://")
    enabled = os.environ.get("TIMEBANK_RATELIMIT_ENABLED", "1").strip().lower() in (
        "1", "true", "yes", "on")
    meant = os.environ.get("TIMEBANK_RATELIMIT_PER_WORKER", "").strip() == "1"
    if server.cfg.workers > 1 and enabled and storage.startswith("memory://") and not meant:
        raise SystemExit(
            f"timebank: {server.cfg.workers} workers would each count rate limits alone "
            "(TIMEBANK_RATELIMIT_STORAGE_URI is memory://). Point it at Redis, for example "
            "redis://localhost:6379/0, or set TIMEBANK_RATELIMIT_PER_WORKER=1 if that is "
            "really meant.")


def child_exit(server, worker):
    """A worker gone (recycled or crashed): its live gauges no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
