# timebank's image: the web app under gunicorn (gunicorn.conf.py), and with another
# command the job runner or a migration (see compose.yaml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# pg_dump for the job runner's daily backup (Debian's client, the server's major or newer).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 timebank

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir timebank && touch timebank/__init__.py && pip install . && pip uninstall -y timebank

COPY timebank ./timebank
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py ./
# Editable: the app finds its migrations beside the package, as in a checkout.
RUN pip install --no-deps -e . && mkdir -p instance /backups \
    && chown timebank:timebank instance /backups

USER timebank
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["gunicorn", "wsgi:app"]
