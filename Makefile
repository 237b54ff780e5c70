# everymetre — `make run` serves the app with demo data; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_CLAIMS ?= 2000
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test lint test-browser-deps bench clean restore-drill

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/everymetre db upgrade
	$(BIN)/everymetre demo --claims $(DEMO_CLAIMS) --if-empty
	@echo "everymetre: http://$(HOST):$(PORT)/  (API: http://$(HOST):$(PORT)/openapi.json)"
	$(BIN)/everymetre serve --host $(HOST) --port $(PORT)

# axe-core for the accessibility checks in the browser tests: installed from the npm registry, never committed.
test-browser-deps:
	@if command -v npm >/dev/null 2>&1 && [ ! -f node_modules/axe-core/axe.min.js ]; then \
		npm install --no-save --no-audit --no-fund --silent axe-core@4 >/dev/null 2>&1 || echo "note: could not install axe-core"; fi

# ruff (the rule set in pyproject.toml, each ignore commented there) and mypy over src/
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: install test-browser-deps
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Back up the PostgreSQL store (EVERYMETRE_DATABASE_URL) and its evidence, restore both into a fresh database
# and folder, and prove the copy (docs/operations.md). TARGET_DB=name to choose the restored database's name.
restore-drill: install
	$(BIN)/everymetre restore-drill $(if $(TARGET_DB),--target-db $(TARGET_DB)) --work $(or $(DRILL_DIR),./restore-drill)

clean:
	rm -rf $(VENV) everymetre.db everymetre.db-* data node_modules .pytest_cache restore-drill
