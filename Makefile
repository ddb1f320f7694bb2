# Everything starts from a fresh clone with only Python 3.11+ installed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Used only with the local database `make run` starts; never set on a shared server.
LOCAL_ADMIN_KEY := tsk_local_dev_admin_key

.PHONY: install run test lint format openapi bench bench-calculation bench-pools bench-loyalty db-start db-stop clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## Serve on 127.0.0.1:8000. Without DATABASE_URL, start (or reuse) a PostgreSQL under .data/postgres.
run: $(STAMP)
	@set -e; \
	export TESSERA_LOG_FORMAT="$${TESSERA_LOG_FORMAT:-console}"; \
	if [ -z "$$DATABASE_URL" ]; then \
	  export DATABASE_URL="$$($(BIN)/python scripts/localdb.py start)"; \
	  export TESSERA_BOOTSTRAP_ADMIN_KEY="$${TESSERA_BOOTSTRAP_ADMIN_KEY:-$(LOCAL_ADMIN_KEY)}"; \
	  export TESSERA_SHOW_ADMIN_KEY=1; \
	  echo "local PostgreSQL: $$DATABASE_URL"; \
	fi; \
	$(BIN)/alembic upgrade head; \
	exec $(BIN)/python -m app.serve --host 127.0.0.1 --port $${PORT:-8000}

## Lint, type-check and run every test against a throwaway PostgreSQL (or TEST_DATABASE_URL).
test: $(STAMP) lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python scripts/lint_domain.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Rewrite the committed contract from the app. Commit it with the change that made it differ.
openapi: $(STAMP)
	$(BIN)/python scripts/export_openapi.py openapi/openapi.json

## Throughput and latency against the stack's own ceilings (wrk + pgbench); prints a table and
## writes bench/results/*.json. BENCH_ARGS="--seconds 5 --concurrency 1,16" for a shorter run.
bench: $(STAMP)
	$(BIN)/python -m bench.harness $(BENCH_ARGS)

## Evaluations per second of the pure discount engine (printed, never asserted).
bench-calculation: $(STAMP)
	$(BIN)/python -m bench.calculation

## Codes per second written by a pool generation job, at 100k and 1M codes (printed).
bench-pools: $(STAMP)
	$(BIN)/python -m bench.pools $(BENCH_ARGS)

## Balance reads and reward spends under concurrency (wrk), with a ledger check (printed).
bench-loyalty: $(STAMP)
	$(BIN)/python -m bench.loyalty $(BENCH_ARGS)

db-start: $(STAMP)
	@$(BIN)/python scripts/localdb.py start

db-stop: $(STAMP)
	$(BIN)/python scripts/localdb.py stop

clean: db-stop
	rm -rf .data $(VENV)
