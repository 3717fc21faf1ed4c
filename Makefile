# shopfn: the README's two commands are `make up` and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: up test test-pg8000-newest install localstack lint typecheck bench load load-containers serve clean build synth deploy

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

install: $(UV) ## Install every dependency from the lock file into .venv
	$(UV) sync --frozen --all-groups

up: install ## Install, then run the whole platform on SQLite under ./.data
	$(RUN) shopfn serve

serve: ## Run the platform (already installed)
	$(RUN) shopfn serve

CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM): ## Debian's Chromium, for the dashboard's browser test (installed once)
	$(SUDO) apt-get update
	$(SUDO) apt-get install -y chromium

PGBOUNCER := /usr/sbin/pgbouncer

$(PGBOUNCER): ## Debian's PgBouncer: the tests run the PostgreSQL suites through it too
	$(SUDO) apt-get update
	$(SUDO) apt-get install -y pgbouncer

# LocalStack on the host, no Docker (tests/localstack_server.py): a venv of its own, since its
# pins (boto3, pydantic, cryptography) are not ours, on Python 3.13, which it needs.
LOCALSTACK_VENV := .tools/localstack
LOCALSTACK_REQUIREMENTS := local/localstack/requirements-host.txt
PYTHON313 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.13))

$(LOCALSTACK_VENV)/installed.txt: $(LOCALSTACK_REQUIREMENTS) | $(UV)
ifeq ($(PYTHON313),)
	@echo "No Python 3.13 on this machine: the LocalStack tests will be skipped (CI fails them)."
else
	$(UV) venv --quiet --allow-existing --python $(PYTHON313) $(LOCALSTACK_VENV)
	$(UV) pip sync --quiet --python $(LOCALSTACK_VENV)/bin/python $(LOCALSTACK_REQUIREMENTS)
	cp $(LOCALSTACK_REQUIREMENTS) $@
endif

localstack: $(LOCALSTACK_VENV)/installed.txt ## LocalStack for the tests, in .tools/localstack

# mypy: the shared layer, each function and the local tools; the dashboard in a run of its own
# (the CDK app is not in lint yet).
TYPED := layers/shop $(wildcard functions/*/) local/shopfn

lint: install ## ruff (lint and format) on everything, mypy on the layer, functions, local tools and dashboard
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy $(TYPED)
	$(RUN) mypy dashboard  # apart: its pages (cart, orders, ...) share names with functions

typecheck: lint

test: install localstack $(CHROMIUM) $(PGBOUNCER) ## Lint, then the whole test suite (PostgreSQL and MariaDB must be running)
	$(MAKE) lint
	$(RUN) pytest
	$(MAKE) test-pg8000-newest

bench: install $(PGBOUNCER) ## The benchmarks in tests/benchmarks, not part of CI (PostgreSQL must be running)
	$(RUN) pytest tests/benchmarks -s -p no:randomly

# shop.pg_pipeline runs only on the pg8000 it was tested with (shop.postgres.PIPELINE_PG8000,
# the pinned one, which the suite above covers); on any other release the shop falls back to
# pg8000's public API. This job runs the PostgreSQL tests, directly and through PgBouncer, on
# the newest pg8000 on PyPI through that public API: a new release is caught here, before
# anyone bumps the pin, and the fallback is known to work on it.
PG8000_NEWEST := $(UV) run --frozen --refresh-package pg8000 --with "pg8000>=1.31.6"

test-pg8000-newest: install $(PGBOUNCER) ## The PostgreSQL tests on the newest pg8000 release, through its public API
	$(PG8000_NEWEST) python -c "import pg8000, shop.postgres as p; print('pg8000', pg8000.__version__, '(pg_pipeline tested)' if p.pipeline_supported() else '(pg_pipeline off)')"
	DB_PG8000_PIPELINE=false $(PG8000_NEWEST) pytest tests/api tests/concurrency -q \
		-k "postgresql or pgbouncer" \
		--ignore=tests/api/test_pg_pipeline.py --ignore=tests/api/test_pg_pipeline_faults.py

CDK_CLI_VERSION := 2.1148.1
CDK := .tools/cdk/node_modules/.bin/cdk
# The cdk CLI never phones home from here: no telemetry, notices or version checks.
CDK_FLAGS := --no-notices --no-version-reporting
export CDK_DISABLE_CLI_TELEMETRY := true

$(CDK): ## The AWS CDK CLI (npm), pinned, under .tools/cdk
	npm install --prefix .tools/cdk --no-save --no-audit --no-fund aws-cdk@$(CDK_CLI_VERSION)

build: install ## Package the Lambda layer and function zips into build/ (no Docker)
	$(RUN) shopfn build

synth: build $(CDK) ## CloudFormation for `-c stage=dev` into cdk.out/ (cdk-nag and cfn-lint must pass)
	$(CDK) synth $(CDK_FLAGS) --quiet $(if $(STAGE),-c stage=$(STAGE))
	$(RUN) cfn-lint  # .cfnlintrc: cdk.out/*.template.json, with the serverless rules

deploy: synth ## Deploy to the AWS account of your credentials (STAGE=dev|prod)
	$(CDK) deploy $(CDK_FLAGS) --all --require-approval broadening $(if $(STAGE),-c stage=$(STAGE))

load: install ## Locust: 50 shoppers/admins for 60 s against shopfn serve on PostgreSQL, then an audit
	$(RUN) python tests/load/run_load.py

load-containers: install $(PGBOUNCER) ## 64 one-connection "containers" through PgBouncer (8 server connections) and direct, 60 s each, then the audit
	$(RUN) python tests/load/containers.py

clean:
	rm -rf .venv .tools build cdk.out .pytest_cache .ruff_cache
