# Beacon: `make run` (demo server) and `make test` (whole suite) are the two set-up commands.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
SCALE  ?= 100000
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/beacon_bench
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint audit bench messages clean-db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Links in the demo's emails point at the port it serves (unless BEACON_SITE_URL is set).
run: export BEACON_SITE_URL ?= http://127.0.0.1:$(PORT)
run: $(VENV)/.runtime
	BEACON_DEMO_MODE=1 $(BIN)/python manage.py migrate --noinput
	BEACON_DEMO_MODE=1 $(BIN)/python manage.py collectstatic --noinput -v 0
	BEACON_DEMO_MODE=1 $(BIN)/python manage.py seed_demo
	@echo "Beacon (demo mode) at http://127.0.0.1:$(PORT)/  (Ctrl-C to stop)"
	@# The task worker (alert emails, escalations, overdue checks) runs beside the web server and stops with it.
	BEACON_DEMO_MODE=1 $(BIN)/python manage.py beacon_worker --verbosity 0 & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	BEACON_DEMO_MODE=1 $(BIN)/gunicorn beacon.wsgi --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --log-level warning

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/bandit -c pyproject.toml -r . -q 2>/dev/null
	BEACON_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run
	BEACON_ENV=test $(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks on PostgreSQL (the database is created if missing); figures go to docs/benchmarks.md.
# The full run: make bench SCALE=1000000 BENCH_EXTRA="--splink-sample 200000"
$(VENV)/.bench: requirements.txt requirements-bench.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-bench.txt
	touch $@ $(VENV)/.runtime

BENCH_EXTRA ?=
bench: $(VENV)/.runtime $(VENV)/.bench
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py bench_people --scale $(SCALE)
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py bench_stats
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py bench_extra $(BENCH_EXTRA)

# Known vulnerabilities in the pinned dependencies (pip-audit; needs PyPI's JSON API, says NOT RUN without it).
audit:
	AUDIT_REQUIRED=$${AUDIT_REQUIRED:-0} deploy/pip-audit.sh

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Regenerate translations after changing strings (needs GNU gettext: apt-get install gettext).
messages: $(VENV)/.dev
	$(BIN)/python manage.py makemessages -l es --ignore '.venv/*' --ignore 'staticfiles/*'
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean-db:
	rm -f var/beacon.sqlite3 var/beacon.sqlite3-wal var/beacon.sqlite3-shm
