# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export PORT
FLASK := $(BIN)/flask --app wsgi

.PHONY: run worker test test-any-day install db demo-data lint

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

db: install
	$(FLASK) db upgrade

demo-data: db
	$(FLASK) demo-data

# `serve` is the development server plus the sweep: in-process every SWEEP_INTERVAL_SECONDS,
# or scheduled on RQ when REDIS_URL is set (then also run `make worker`).
# The demo accounts sign in with their password alone: two-step sign-in is required of no role
# here unless TWO_FACTOR_REQUIRED_ROLES is set (e.g. =admin,manager, the default elsewhere).
run: demo-data
	@echo "Amends is at http://127.0.0.1:$(PORT)  (staff: http://127.0.0.1:$(PORT)/staff/login)"
	TWO_FACTOR_REQUIRED_ROLES="$${TWO_FACTOR_REQUIRED_ROLES-}" $(FLASK) serve --host 127.0.0.1 --port $(PORT)

# With REDIS_URL set: sends queued email (amends-mail) and runs the repeating sweep (default).
# SimpleWorker runs jobs in its own process, so the app is built once rather than per job.
worker: install
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL first, e.g. redis://127.0.0.1:6379/0"; exit 1; }
	$(BIN)/rq worker --with-scheduler --worker-class rq.SimpleWorker --url "$$REDIS_URL" amends-mail default

test: install
	$(BIN)/python -m pytest

# The date-sensitive tests (marked `dates`), two runs at a time, each in a process whose clock
# starts at one of these moments: a Tuesday morning, the morning before the Christmas holidays,
# a minute before the UK clocks go forward, and the last minute of a year.
# `AMENDS_TEST_NOW=... make test` runs the whole suite at any moment.
ANY_DAY_MOMENTS ?= 2026-12-15T09:00Z 2026-12-23T09:00Z 2027-03-28T00:59Z 2027-12-31T23:59Z

test-any-day: install
	$(BIN)/python -m tests.support.any_day $(ANY_DAY_MOMENTS)

lint: install
	$(BIN)/python -m ruff check .
