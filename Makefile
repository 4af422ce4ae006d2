# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export PORT
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test install db demo-data lint

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

run: demo-data
	@echo "Amends is at http://127.0.0.1:$(PORT)  (staff: http://127.0.0.1:$(PORT)/staff/login)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/python -m ruff check .
