# execdash: the two commands are `make run` and `make test`.
#
# Everything installs into .venv, built from a Python >= 3.12 that scripts/find_python.sh
# finds on PATH or in pyenv (override with `make PYTHON=/path/to/python3.13 ...`).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

# `make test` runs the PostgreSQL pass against these (pytest-django creates test_<name>).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/execdash
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export TEST_DATABASE_URL TEST_REDIS_URL VENV

# make run and the laptop commands: SQLite under var/, tasks in-process.
LOCAL_ENV := env -u DATABASE_URL -u REDIS_URL

.PHONY: help install lock audit run test lint fmt check worker beat serve-prod bench clean

help:
	@echo "make run         install, migrate SQLite under var/, load demo data, serve http://$(HOST):$(PORT)"
	@echo "make test        lint, type-check, checks, pytest on SQLite and again on PostgreSQL"
	@echo "make install     create/refresh .venv from the lock (requirements/dev.txt, hashes checked)"
	@echo "make lock        re-lock after editing pyproject.toml (scripts/lock.sh; see the README)"
	@echo "make audit       pip-audit of the locked versions"
	@echo "make lint        ruff check, ruff format --check, mypy"
	@echo "make fmt         ruff format and safe fixes"
	@echo "make worker      celery worker (needs REDIS_URL, DATABASE_URL)"
	@echo "make beat        celery beat (needs REDIS_URL, DATABASE_URL)"
	@echo "make serve-prod  gunicorn + worker + beat against DATABASE_URL/REDIS_URL, no Docker"
	@echo "make bench       benchmarks against DATABASE_URL"
	@echo "make clean       remove .venv, var/ and caches"

install: $(STAMP)

# Installs the locked versions (requirements/dev.txt: runtime + dev, every file checked
# against its hash), then the project itself without dependencies. Reinstalls whenever the
# lock or pyproject.toml changes; rebuilds a .venv made by a Python < 3.12.
$(STAMP): pyproject.toml requirements/dev.txt
	@set -e; \
	if [ -x "$(PY)" ] && ! "$(PY)" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "$(VENV) was built with an unsuitable Python; rebuilding it"; rm -rf "$(VENV)"; \
	fi; \
	if [ ! -x "$(PY)" ]; then \
		python="$(PYTHON)"; \
		if [ -z "$$python" ]; then python="$$(scripts/find_python.sh)"; fi; \
		echo "creating $(VENV) with $$python ($$("$$python" -V 2>&1))"; \
		"$$python" -m venv "$(VENV)"; \
	fi
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $(STAMP)

lock: install
	scripts/lock.sh $(LOCK_ARGS)

audit: install
	scripts/audit.sh

var:
	@mkdir -p var

run: install var
	$(LOCAL_ENV) $(MANAGE) migrate --noinput
	$(LOCAL_ENV) $(MANAGE) seed_demo
	@$(LOCAL_ENV) $(MANAGE) ensure_demo_admin
	@echo
	@echo "  execdash is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo
	$(LOCAL_ENV) $(MANAGE) runserver $(HOST):$(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install var
	$(LOCAL_ENV) $(MANAGE) check
	$(LOCAL_ENV) $(MANAGE) makemigrations --check --dry-run

test: lint check
	scripts/run_tests.sh

# Production-like processes, one per terminal (or all three: make serve-prod).
worker: install
	$(BIN)/celery -A execdash worker --loglevel=INFO

beat: install var
	$(BIN)/celery -A execdash beat --loglevel=INFO --schedule var/celerybeat-schedule

serve-prod: install var
	scripts/run_stack.sh

bench: install
	@set -e; \
	export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}"; \
	ran=0; \
	for b in benchmarks/metrics.py benchmarks/pages.py benchmarks/csv_import.py; do \
		if [ -f "$$b" ]; then echo "== $$b"; $(PY) "$$b" $(BENCH_ARGS); ran=1; fi; \
	done; \
	if [ "$$ran" = 0 ]; then echo "no benchmarks yet (benchmarks/metrics.py, benchmarks/pages.py)"; fi

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
