# Everything starts from a fresh clone with only Python 3.11+ installed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The virtualenv is exactly requirements-dev.lock (every version pinned, every file hashed) plus
# the project itself, editable. It is rebuilt from scratch whenever the lock's content changes
# (the stamp is named by its checksum; a checkout that only touches the file rebuilds nothing),
# so nothing a former lock installed stays behind. pyproject.toml's ranges are read only by
# `make lock`.
LOCK := requirements-dev.lock
STAMP := $(VENV)/.installed-$(shell cksum $(LOCK) | cut -d' ' -f1)
PIP := $(BIN)/python -m pip --disable-pip-version-check
# Both locks: one resolution for every platform, from Python 3.11 up.
COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --quiet --custom-compile-command 'make lock'
# pytest-xdist workers for `make test` and `make test-fast`; each gets its own database on the
# run's one PostgreSQL server. WORKERS=0 runs everything in one process.
WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(WORKERS) --maxprocesses 4 --dist loadgroup
# Used only with the local database `make run` starts; never set on a shared server.
LOCAL_ADMIN_KEY := tsk_local_dev_admin_key

.PHONY: install lock upgrade run worker test test-pgbouncer test-fast explore lint format openapi bench bench-scaling bench-calculation vectors bench-pools bench-loyalty db-start db-stop clean

$(STAMP):
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes --only-binary :all: -r $(LOCK)
	$(PIP) install --quiet --no-deps --no-build-isolation --no-index -e .
	touch $@

install: $(STAMP)

## Re-resolve both locks after editing pyproject.toml's dependencies, keeping every existing pin
## that still fits (the dev lock first; the runtime lock takes its versions from it).
lock: $(STAMP)
	$(COMPILE) --extra dev -o requirements-dev.lock $(LOCK_ARGS)
	$(COMPILE) --constraints requirements-dev.lock -o requirements.lock

## Rewrite both locks with the newest versions pyproject.toml allows. Commit them after `make test`.
upgrade: $(STAMP)
	$(MAKE) lock LOCK_ARGS=--upgrade

## Serve on 127.0.0.1:8000, with one worker beside it (WORKER=0: none). Without DATABASE_URL,
## start (or reuse) a PostgreSQL under .data/postgres.
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
	if [ "$${WORKER:-1}" != 0 ]; then \
	  TESSERA_DB__APPLICATION_NAME=tessera-worker $(BIN)/python -m app.worker & \
	  worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	fi; \
	$(BIN)/python -m app.serve --host 127.0.0.1 --port $${PORT:-8000}

## Run the jobs, settle referrals and send webhooks (app/worker.py): against DATABASE_URL, or
## the local PostgreSQL `make run` uses. As many at once as you like.
worker: $(STAMP)
	@set -e; \
	export TESSERA_LOG_FORMAT="$${TESSERA_LOG_FORMAT:-console}"; \
	if [ -z "$$DATABASE_URL" ]; then \
	  export DATABASE_URL="$$($(BIN)/python scripts/localdb.py start)"; \
	fi; \
	$(BIN)/alembic upgrade head; \
	exec $(BIN)/python -m app.worker

## Lint, type-check and run every test against a throwaway PostgreSQL (or TEST_DATABASE_URL),
## then the checkout, pool and ledger tests again through PgBouncer (test-pgbouncer).
## Deterministic: hypothesis and schemathesis draw the same examples on every run.
test: $(STAMP) lint
	$(PYTEST)
	$(MAKE) --no-print-directory test-pgbouncer

# What runs through PgBouncer: the tests of what the checkout, the pools, the jobs and the
# ledger do on the service's own connections (the races on real pools, COPY, temporary tables,
# the ledger's transactions). Not the worker's feed (events, webhooks, referrals), which fails
# there (README, "Scaling out"), nor the tests about a lost or frozen direct connection
# (test_database_faults, test_read_path).
PGBOUNCER_TESTS := tests/concurrency/test_redeem_races.py tests/concurrency/test_budget_races.py \
	tests/concurrency/test_hold_races.py tests/concurrency/test_return_races.py \
	tests/concurrency/test_balance_races.py tests/concurrency/test_pool_claims.py \
	tests/concurrency/test_jobs.py tests/concurrency/test_service_replicas.py \
	tests/api/test_checkout.py tests/api/test_pools.py \
	tests/api/test_balances.py tests/api/test_loyalty.py tests/api/test_health.py \
	tests/integration/db/test_checkout_writes.py tests/integration/db/test_ledger_writes.py \
	tests/integration/db/test_sessions.py

## The checkout, pool and ledger tests through a real PgBouncer in transaction mode (Debian's
## package, installed when missing) in front of the test server, with the service set up for it.
test-pgbouncer: $(STAMP)
	TESSERA_TEST_POOLER=pgbouncer $(PYTEST) $(PGBOUNCER_TESTS)

## Unit and API tests only (no lint, no concurrency, migration or contract tests).
test-fast: $(STAMP)
	$(PYTEST) tests/unit tests/api

## Every test with fresh random examples, and more of them (hypothesis and schemathesis).
## Prints the seed; `make explore SEED=<seed>` draws the same examples again.
## PYTEST_ARGS narrows it: `make explore PYTEST_ARGS=tests/unit`.
explore: $(STAMP)
	@seed=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "explore: hypothesis seed $$seed (replay: make explore SEED=$$seed)"; \
	TESSERA_CONTRACT_EXAMPLES=$${TESSERA_CONTRACT_EXAMPLES:-150} \
	  $(PYTEST) --hypothesis-profile=explore --hypothesis-seed=$$seed $(PYTEST_ARGS); \
	status=$$?; echo "explore: hypothesis seed $$seed"; exit $$status

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python scripts/lint_layers.py

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

## validate and redeem with 1 and 2 service processes, each directly and through PgBouncer,
## against the same PostgreSQL (printed, never asserted): the scaling and the pooler's cost.
bench-scaling: $(STAMP)
	$(BIN)/python -m bench.scaling $(BENCH_ARGS)

## Evaluations per second of the pure discount engine (printed, never asserted).
bench-calculation: $(STAMP)
	$(BIN)/python -m bench.calculation

## Run the calculation vectors (vectors/*.yaml) against a Tessera through its public API:
## `make vectors URL=http://127.0.0.1:8000 KEY=tsk_...` (a key with admin and checkout scopes).
vectors: $(STAMP)
	$(BIN)/python scripts/vectors.py --url "$(URL)" --key "$(KEY)" $(VECTORS)

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
