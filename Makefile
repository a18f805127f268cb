# The README's two commands. Each sets up what it needs: a virtual environment with the project
# and its test tools, installed from pyproject.toml whenever that file changes.

PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ADDR ?= 127.0.0.1:8000

.PHONY: install demo test lint format clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12 or newer is needed (Django 6): install it, or use pyenv with this folder'"'"'s .python-version.")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py demo --addr $(ADDR)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# The whole suite twice, side by side: on SQLite, and on a throwaway PostgreSQL server the tests start
# themselves. Much of each pass waits (leases running out, servers and workers starting), so the two
# together take little longer than the longer one. The PostgreSQL pass keeps its files under
# var/postgres-pass and its output in var/test-postgres.log, printed after the SQLite pass's.
POSTGRES_LOG := var/test-postgres.log

test: lint
	@mkdir -p var
	@VAR_DIR=$(CURDIR)/var/postgres-pass $(BIN)/python -m pytest --postgres >$(POSTGRES_LOG) 2>&1 & postgres=$$!; \
	trap 'kill $$postgres 2>/dev/null' INT TERM; \
	$(BIN)/python -m pytest; sqlite=$$?; \
	echo "Waiting for the PostgreSQL pass ($(POSTGRES_LOG))..."; wait $$postgres; pg=$$?; \
	echo "==================== PostgreSQL pass ($(POSTGRES_LOG)) ===================="; \
	cat $(POSTGRES_LOG); \
	echo "SQLite pass: $$([ $$sqlite -eq 0 ] && echo passed || echo FAILED); PostgreSQL pass: $$([ $$pg -eq 0 ] && echo passed || echo FAILED)"; \
	[ $$sqlite -eq 0 ] && [ $$pg -eq 0 ]

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/test.sqlite3* var/postgres-pass $(POSTGRES_LOG) .pytest_cache .ruff_cache
