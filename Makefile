# timebank: `make run` serves a demo site, `make test` runs the whole suite.
# Both work from a fresh clone: they create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app timebank
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench lint system-deps venv clean translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests drive for real: Chromium (browser tests), PostgreSQL and
# Redis (rate limits shared by gunicorn workers).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing fonts-liberation; \
	fi

instance/secret_key:
	mkdir -p instance
	$(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $@

run: $(STAMP) instance/secret_key
	TIMEBANK_SECRET_KEY=$$(cat instance/secret_key) $(FLASK) db upgrade
	TIMEBANK_SECRET_KEY=$$(cat instance/secret_key) $(FLASK) seed-demo --if-empty --assets 150
	@echo "Serving on http://127.0.0.1:5000"
	TIMEBANK_SECRET_KEY=$$(cat instance/secret_key) TIMEBANK_COOKIE_SECURE=0 \
	  $(FLASK) run --host 127.0.0.1 --port 5000

# Style first: a landing that breaks ruff fails before the slow tests run.
test: system-deps $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

# Extract every translatable string, merge it into each language's catalogue, compile.
# Then translate what is new or marked fuzzy in timebank/translations/<lang>/LC_MESSAGES/
# messages.po and run this again (tests fail on an untranslated or fuzzy message).
POT := timebank/translations/messages.pot
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k N_ -o $(POT) --no-location --sort-output .
	$(VENV)/bin/pybabel update -i $(POT) -d timebank/translations --width 100 --no-fuzzy-matching
	$(VENV)/bin/pybabel compile -d timebank/translations

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# wrk (Debian's) loads the city benchmark: a generator in C leaves the cores to the service.
bench: system-deps $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk; }
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache bench/results
