# Developer entry points. `make test` and `make demo` work on a fresh clone on a fresh Debian
# machine: the venv is created and the package installed on first use.
#
#   make install   create .venv and pip install -e '.[test]' (again whenever pyproject.toml changes)
#   make demo      run the gateway with a demo account and simulated stations (DEMO_ARGS=...)
#   make test      both backends against throw-away Postgres/Redis/Mosquitto (PYTEST_ARGS=...)
#   make fuzz      the fuzz tests for longer, random rounds (FUZZ_SECONDS=600 per test, Postgres)
#   make bench     benchmarks (BENCH_ARGS=...)
#   make lint      ruff (lint + format check) and mypy
#   make clean     remove the venv, local database, outbox and caches

SHELL := /bin/bash
PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Touched after a successful install; newer than pyproject.toml means the install is current.
STAMP := $(VENV)/.installed

PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
# make fuzz: the time budget of each fuzz test, and which tests those are.
FUZZ_SECONDS ?= 600
FUZZ_TESTS ?= $(wildcard tests/test_*fuzz*.py)

.PHONY: install venv demo test fuzz bench lint clean migrations

# The interpreter is the real file target: a half-created .venv folder without it is redone.
$(PY):
	$(PYTHON3) -m venv $(VENV)

# `make .venv` and `make venv` only create the environment.
$(VENV): $(PY)
venv: $(PY)

# --no-compile: bytecode is written on first import, for the modules used only (a quarter of the
# install's time otherwise).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --no-compile -e '.[test]'
	touch $@

install: $(STAMP)

demo: install
	$(VENV)/bin/andon demo $(DEMO_ARGS)

test: install
	bash scripts/test.sh $(PYTEST_ARGS)

# The fuzz tests of `make test` (a few derandomized examples each) with fresh random rounds until each
# has spent FUZZ_SECONDS; pytest-timeout is raised to match. A failure prints the requests to replay.
fuzz: install
	ANDON_TEST_BACKENDS=postgres ANDON_FUZZ_LONG=1 ANDON_FUZZ_SECONDS=$(FUZZ_SECONDS) ANDON_FUZZ_EXAMPLES=50 \
		bash scripts/test.sh --timeout=$$(( $(FUZZ_SECONDS) + 300 )) $(FUZZ_TESTS)

# wrk comes from Debian; services.sh installs it (and the servers) only if missing.
bench: install
	bash scripts/services.sh ensure_packages
	$(PY) -m bench $(BENCH_ARGS)

# ruff is not a test dependency; it is installed into the venv the first time lint runs.
lint: install
	test -x $(VENV)/bin/ruff || $(PY) -m pip install -q -e '.[dev]'
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check gateway models resolvers rest_compat realtime schema notifications tests bench
	$(VENV)/bin/mypy gateway models resolvers rest_compat realtime schema notifications

# After changing models/: writes the next file in models/migrations/ (commit it). Uses a scratch
# SQLite database migrated to the current head so only the model changes are detected.
migrations: install
	rm -f .migrations-scratch.db
	ANDON_DATABASE_URL=sqlite://.migrations-scratch.db $(VENV)/bin/andon migrate
	ANDON_DATABASE_URL=sqlite://.migrations-scratch.db $(VENV)/bin/tortoise -c gateway.tortoise_cli.TORTOISE_ORM makemigrations
	rm -f .migrations-scratch.db

clean:
	rm -rf $(VENV) andon.db andon.db-journal andon.db-wal andon.db-shm outbox \
		.pytest_cache .ruff_cache .mypy_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
