# The two commands: `make run` (service with demo data on SQLite) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint migrate demo console clean

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

# The PC console (web/) is built when npm is here, and again only when its sources change.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/package.json openapi.json

web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build

console:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory web/dist/index.html; \
	else \
		echo "未找到 npm：只启动接口。控制台（/admin）需要 Node.js 20 与 npm：安装后再运行 make run，"; \
		echo "或在有 npm 的机器上于 web/ 中运行 npm ci && npm run build，把 web/dist 复制到这里。"; \
	fi

# The outbox worker runs beside the server and stops with it; both log JSON lines.
run: demo console
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
	rm -rf $(VENV) data web/node_modules web/dist
