# timebank: `make run` serves a demo site, `make test` runs the whole suite.
# Both work from a fresh clone: they create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app timebank
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast test-moved-clock bench lint system-deps venv clean translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests drive for real: Chromium (browser tests), PostgreSQL and
# Redis (rate limits shared by gunicorn workers), faketime (the moved-clock check).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v faketime >/dev/null 2>&1 || missing="$$missing faketime"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing fonts-liberation; \
	fi

instance/secret_key:
	mkdir -p instance
	$(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $@

# `make run PORT=5123` serves on another port; e-mailed links point there. Every e-mail
# the site queues is also printed here (TIMEBANK_MAIL_ECHO), to follow its links.
PORT ?= 5000
RUN_ENV = TIMEBANK_SECRET_KEY=$$(cat instance/secret_key) \
  TIMEBANK_BASE_URL=http://127.0.0.1:$(PORT) TIMEBANK_MAIL_ECHO=1 TIMEBANK_SMS_ECHO=1
run: $(STAMP) instance/secret_key
	$(RUN_ENV) $(FLASK) db upgrade
	$(RUN_ENV) $(FLASK) seed-demo --if-empty --assets 150
	@echo "Serving on http://127.0.0.1:$(PORT)"
	$(RUN_ENV) TIMEBANK_COOKIE_SECURE=0 $(FLASK) run --host 127.0.0.1 --port $(PORT)

# Style and shape first: a landing that breaks ruff, the layers or the types fails before
# the slow tests run. The suite is spread over one process per core (pytest-xdist; each has
# its own PostgreSQL, Redis, SMTP and browser on free ports): one process took 58 minutes.
# Work-stealing, because a few files (gunicorn, the replica, the browser) take minutes each.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
XDIST = -n $(JOBS) --dist worksteal
test: system-deps $(STAMP)
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-moved-clock

# The inner loop: the domain's own tests on SQLite, no browser and no extra servers (a few
# minutes). `make test` is what lands.
FAST_TESTS := tests/test_architecture.py tests/test_ledger.py tests/test_four_eyes.py \
  tests/test_matching.py tests/test_reports.py tests/test_clock.py tests/test_i18n.py
test-fast: $(STAMP)
	$(PY) -m pytest -q -x -m "not browser and not slow" -k "not postgresql" $(FAST_TESTS)

# The time-bomb check: the date-sensitive tests again with the machine's calendar moved a
# year on to 23:59 on 31 December (libfaketime), and the tests' own moment moved there
# too (tests/support.py NOW). A test or a line of code that reads the machine's calendar
# instead of timebank/infra/clock.py fails here, on the day it is written. (libfaketime 0.9.10
# fakes the monotonic clock too here: with it real, Python's time.sleep fails, EINVAL.)
MOVED_YEAR = $(shell echo $$(( $$(date -u +%Y) + 1 )))
CLOCK_TESTS := tests/test_clock.py tests/test_reports.py tests/test_exchanges.py \
  tests/test_ideas.py tests/test_ledger.py tests/test_listings.py tests/test_work_queue.py \
  tests/test_notifications.py tests/test_members.py tests/test_paper.py tests/test_geo.py \
  tests/test_matching.py
test-moved-clock: system-deps $(STAMP)
	TIMEBANK_TEST_NOW=$(MOVED_YEAR)-12-31T23:50:00 faketime -f '@$(MOVED_YEAR)-12-31 23:59:00' \
	  $(PY) -m pytest $(XDIST) -q -p no:cacheprovider -m "not browser and not slow" \
	  -k "not postgresql" $(CLOCK_TESTS)

# Extract every translatable string, merge it into each language's catalogue, compile.
# Then translate what is new or marked fuzzy in timebank/translations/<lang>/LC_MESSAGES/
# messages.po and run this again (tests fail on an untranslated or fuzzy message).
POT := timebank/translations/messages.pot
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k N_ -o $(POT) --no-location --sort-output .
	$(VENV)/bin/pybabel update -i $(POT) -d timebank/translations --width 100 --no-fuzzy-matching
	$(VENV)/bin/pybabel compile -d timebank/translations

# ruff; the layers' import contracts (pyproject.toml, docs/architecture.md); mypy on the
# domain and the infrastructure.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# wrk (Debian's) loads the city benchmark: a generator in C leaves the cores to the service.
bench: system-deps $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk; }
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache bench/results
