# The two commands that matter: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint fmt typecheck importlint pytest bench migrate services localnet doctor clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## Run the bot offline on localnet (SQLite, no Redis, no secrets). Ctrl-C stops it.
demo: $(STAMP)
	$(BIN)/sniper-bot demo $(DEMO_ARGS)

## Lint, type-check, check the architecture rules and run every test against real PostgreSQL and Redis.
test: $(STAMP) services lint typecheck importlint pytest

services:
	@scripts/ensure-services.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

importlint: $(STAMP)
	$(BIN)/lint-imports --no-cache

pytest: $(STAMP) tests/oracle/node_modules/.stamp
	$(BIN)/pytest $(PYTEST_ARGS)

# The pump.fun SDK oracle (tests/oracle, its own package-lock.json)
tests/oracle/node_modules/.stamp: tests/oracle/package-lock.json
	npm ci --prefix tests/oracle --no-audit --no-fund && touch $@

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

migrate: $(STAMP)
	$(BIN)/sniper-bot migrate

localnet: $(STAMP)
	$(BIN)/sniper-bot localnet

doctor: $(STAMP)
	$(BIN)/sniper-bot doctor

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build src/*.egg-info
