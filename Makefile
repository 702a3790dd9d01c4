# Failure Catalog — the two commands a new user needs: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
HOST    ?= 127.0.0.1
PORT    ?= 5000
export CATALOG_ENV ?= development

.PHONY: runtime install run serve demo test lint format migrate report clean

# Two stamps: `make run` needs the app and its runtime dependencies only (about
# 380 MB, SciPy the most of it); `make test` adds the development tools (pytest, Playwright, schemathesis…).
$(BIN)/.runtime: pyproject.toml
	@echo "== creating the virtualenv in $(VENV) (runtime dependencies only)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --progress-bar off -e . \
	  && echo "== installed: $$($(BIN)/pip list --format=freeze --disable-pip-version-check | wc -l) packages"
	@touch $@

$(BIN)/.installed: $(BIN)/.runtime pyproject.toml
	@echo "== installing the development tools (tests, lint, browser driver)"
	@$(BIN)/pip install -q --disable-pip-version-check --progress-bar off -e '.[dev]'
	@touch $@

runtime: $(BIN)/.runtime ## create .venv with what serving needs
install: $(BIN)/.installed ## create .venv and install the app with its dev tools

migrate: runtime ## apply the Alembic migrations to CATALOG_DATABASE_URL (default: instance/catalog.sqlite)
	$(BIN)/catalog db upgrade

run: migrate ## migrate, create the first admin if needed, then serve on http://127.0.0.1:5000
	@echo ""
	@echo "  Failure Catalog is starting at http://$(HOST):$(PORT)/"
	@$(BIN)/catalog users bootstrap
	@echo "  Demo data: in another terminal, 'make demo' adds a year of incidents (the server can keep running)."
	@echo ""
	$(BIN)/catalog run --host $(HOST) --port $(PORT)

# Production serving: gunicorn on CATALOG_BIND (default 127.0.0.1:8000) with CATALOG_WORKERS
# workers against CATALOG_DATABASE_URL. Without CATALOG_SECRET_KEY(_FILE) a random key is
# made once in instance/secret_key (mode 600) so that sessions survive restarts.
serve: runtime ## migrate, then serve with gunicorn (production mode; see docs/deploy.md)
	@mkdir -p instance
	@if [ -z "$$CATALOG_SECRET_KEY$$CATALOG_SECRET_KEY_FILE" ] && [ ! -s instance/secret_key ]; then \
	  (umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' > instance/secret_key) \
	  && echo "  made instance/secret_key (keep it: it signs every session)"; fi
	@export CATALOG_ENV=$${SERVE_ENV:-production}; \
	if [ -z "$$CATALOG_SECRET_KEY$$CATALOG_SECRET_KEY_FILE" ]; then \
	  export CATALOG_SECRET_KEY_FILE="$(CURDIR)/instance/secret_key"; fi; \
	$(BIN)/catalog db upgrade && $(BIN)/catalog users bootstrap && \
	echo "  Failure Catalog (gunicorn) is starting on $${CATALOG_BIND:-127.0.0.1:8000}" && \
	exec $(BIN)/gunicorn -c python:catalog.gunicorn_conf wsgi:app

demo: migrate ## add a year of demo incidents and post-mortems (safe while the server runs)
	$(BIN)/catalog demo

report: migrate ## print the MTTD/MTTR table by vector
	$(BIN)/catalog report

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install lint ## the whole suite (PostgreSQL too when CATALOG_TEST_DATABASE_URL is set)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
