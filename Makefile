# The two commands: `make run` (service with demo data on SQLite) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# mplfonts is only the poster's CJK font (Noto Sans CJK SC); --no-deps keeps matplotlib out.
$(VENV)/.installed: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps mplfonts==0.0.11
	touch $@

$(VENV)/.installed-dev: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps mplfonts==0.0.11
	touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed
	$(BIN)/alembic upgrade head

demo: migrate
	$(BIN)/python -m api.cli seed-demo

# The outbox worker runs beside the server and stops with it; both log JSON lines.
run: demo
	$(BIN)/python -m api.worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	BIND_HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m api.serve

test: $(VENV)/.installed-dev
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api tests bench

clean:
	rm -rf $(VENV) data
