# referral-engine developer tasks. Needs only python3 (3.11+) and make: `make test` installs the rest
# from the lock files in requirements/ into .venv (project + tools), .venv-sam (AWS SAM CLI) and
# .venv-checkov (checkov).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
UV := $(BIN)/uv
SAM := $(SAM_VENV)/bin/sam
CHECKOV := $(CHECKOV_VENV)/bin/checkov

BOOT_STAMP := $(VENV)/.bootstrapped
DEV_STAMP := $(VENV)/.installed
SAM_STAMP := $(SAM_VENV)/.installed
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

# pytest arguments, e.g. `make unit PYTEST_ARGS="-n auto -k qualify"`.
PYTEST_ARGS ?=
# `make pytest` (so `make test`) runs the tiers on this many xdist workers (0: in this process).
# PYTHONHASHSEED is fixed so that every worker collects the same parametrised ids (sets among them).
PYTEST_WORKERS ?= 2
# The test tiers: a directory under tests/ each, and the pytest marker of the same name.
TIERS := unit integration infrastructure cli e2e browser

# `make run`'s ports, e.g. `make run API_PORT=3001 AWS_PORT=4567`.
API_PORT ?= 3000
AWS_PORT ?= 4566
# `make run RESET=1` starts clean, forgetting the data and API keys kept in .referrals-local/.
RESET ?=
# `make run CHAOS="dynamodb:UpdateItem=throttle@0.2,*=latency:200ms@0.3"` injects faults into the local AWS
# endpoint (grammar: docs/adr/0016-chaos-mode.md); CHAOS_SEED picks the draws (same seed, same faults).
CHAOS ?=
CHAOS_SEED ?= 0

# uv: never ask pip's configuration, always use the venv given, no progress bars in logs.
export UV_NO_PROGRESS := 1
export UV_PYTHON_DOWNLOADS := never
export SAM_CLI_TELEMETRY := 0
# The browser tier drives Debian's chromium (`make chromium`); Playwright never downloads a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

# The validators run offline: dummy credentials and a region, only for the commands that need them
# (a developer's real AWS profile is left alone for `sam deploy`).
OFFLINE_AWS := env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID=testing \
	AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION=us-east-1 \
	AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

UV_COMPILE := $(UV) pip compile --quiet --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
UV_LOCK := $(UV_COMPILE) --universal --python-version 3.11 --generate-hashes

.PHONY: help install chromium lint format typecheck validate pytest $(TIERS) test build clean lock run demo bench openapi

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# ----------------------------------------------------------------------------------- install
$(BOOT_STAMP): requirements/bootstrap.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/pip || $(BIN)/python -m ensurepip --upgrade --default-pip >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r requirements/bootstrap.txt
	@touch $@

$(DEV_STAMP): $(BOOT_STAMP) requirements/dev.txt pyproject.toml
	$(UV) pip sync --python $(BIN)/python --require-hashes requirements/dev.txt
	$(UV) pip install --python $(BIN)/python --no-deps --no-build-isolation --editable .
	@touch $@

$(SAM_STAMP): $(BOOT_STAMP) requirements/sam.txt
	@test -x $(SAM_VENV)/bin/python || $(UV) venv --quiet --python $(BIN)/python $(SAM_VENV)
	$(UV) pip sync --python $(SAM_VENV)/bin/python --require-hashes requirements/sam.txt
	@touch $@

$(CHECKOV_STAMP): $(BOOT_STAMP) requirements/checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(UV) venv --quiet --python $(BIN)/python $(CHECKOV_VENV)
	$(UV) pip sync --python $(CHECKOV_VENV)/bin/python --require-hashes requirements/checkov.txt
	@touch $@

install: $(DEV_STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) ## create .venv, .venv-sam and .venv-checkov from the lock files (idempotent)

chromium: ## Debian's chromium for the browser tier: apt-get installs it when missing and root, else says why the tier is skipped
	@bash tools/ensure_chromium.sh

# ----------------------------------------------------------------------------------- checks
lint: $(DEV_STAMP) $(CHECKOV_STAMP) ## ruff, lint-imports (the layering contracts), bandit and checkov (offline; skips with reasons in pyproject.toml and .checkov.yaml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/bandit -c pyproject.toml -q -r layers functions tools
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV) --config-file .checkov.yaml

format: $(DEV_STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(DEV_STAMP) ## mypy (strict, settings in pyproject.toml)
	$(BIN)/mypy

validate: $(DEV_STAMP) $(SAM_STAMP) ## cfn-lint, sam validate --lint, sam validate (offline)
	$(BIN)/cfn-lint template.yaml
	@echo "$(SAM) validate --lint  (offline, dummy credentials)"
	@$(OFFLINE_AWS) $(SAM) validate --lint --template-file template.yaml
	@echo "$(SAM) validate --region us-east-1  (offline, dummy credentials)"
	@$(OFFLINE_AWS) $(SAM) validate --region us-east-1 --template-file template.yaml

pytest: $(DEV_STAMP) $(SAM_STAMP) chromium ## every test tier (pytest), on PYTEST_WORKERS processes
	PYTHONHASHSEED=0 $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

unit: ## the unit tier: domain and services against in-memory fakes, offline
integration: ## the integration tier: handlers in process against moto
infrastructure: ## the infrastructure tier: assertions on template.yaml
cli: ## the cli tier: the admin CLI in process against moto
e2e: ## the e2e tier: the local stack as a subprocess, driven over HTTP and the CLI
browser: chromium ## the browser tier: journeys in Debian's chromium (Playwright) across the local stack and a fixture shop
$(TIERS): $(DEV_STAMP) $(SAM_STAMP)
	$(BIN)/pytest -m $@ $(PYTEST_ARGS)

# sam build runs pip for the layer with the Lambda runtime's interpreter, python3.13: use one on
# PATH, else a pyenv-installed 3.13, else say why the build is skipped.
build: $(SAM_STAMP) ## sam build (arm64, python3.13), skipped with a reason when no python3.13 is found
	@if ! python3.13 -c '' 2>/dev/null && command -v pyenv >/dev/null; then \
		py313=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$$' | sort -V | tail -n1 || true); \
		if [ -n "$$py313" ]; then export PYENV_VERSION="$$(pyenv version-name 2>/dev/null || echo system):$$py313"; fi; \
	fi; \
	if python3.13 -c '' 2>/dev/null; then \
		echo "sam build with $$(python3.13 --version) ($$(command -v python3.13))"; \
		start=$$SECONDS; \
		$(SAM) build --template-file template.yaml; \
		echo "sam build took $$((SECONDS - start))s"; \
	else \
		echo "SKIPPED sam build: no python3.13 interpreter found (on PATH or via pyenv); SAM builds the"; \
		echo "        python3.13 layer with it. Install Python 3.13 (or set PYENV_VERSION) to build."; \
	fi

test: lint typecheck validate pytest build ## everything CI runs

# ------------------------------------------------------------------------------- local stack
run: $(DEV_STAMP) $(SAM_STAMP) ## the whole system locally, data kept across restarts (RESET=1: start clean; CHAOS=SPEC: inject faults); HTTP API on :API_PORT (3000), AWS endpoint on :AWS_PORT (4566)
	$(BIN)/referrals run --api-port $(API_PORT) --aws-port $(AWS_PORT)$(if $(filter-out 0,$(RESET)), --reset)$(if \
		$(CHAOS), --chaos '$(CHAOS)' --chaos-seed $(CHAOS_SEED))

demo: $(DEV_STAMP) ## a narrated tour against the running local stack (start it with make run)
	$(BIN)/referrals demo

# BENCH_ARGS, e.g. `make bench BENCH_ARGS="--only 1 --only 5"` (the other figures keep their last results).
bench: $(DEV_STAMP) ## the benchmark: one markdown table of six figures, JSON in bench/results/latest.json
	$(BIN)/python -m bench $(BENCH_ARGS)

# ----------------------------------------------------------------------------------- upkeep
openapi: $(DEV_STAMP) ## write docs/openapi.json from the HTTP handlers' typed routes (served at /v1/openapi.json)
	$(BIN)/python tools/openapi_document.py

lock: $(BOOT_STAMP) ## regenerate the lock files (UPGRADE=1 to move to the newest allowed versions)
	$(UV_LOCK) pyproject.toml requirements/dev.in -o requirements/dev.txt
	$(UV_LOCK) requirements/sam.in -o requirements/sam.txt
	$(UV_LOCK) requirements/checkov.in -o requirements/checkov.txt
	$(UV_LOCK) requirements/bootstrap.in -c requirements/dev.txt -o requirements/bootstrap.txt
	$(UV_COMPILE) --no-annotate --python-version 3.13 --python-platform aarch64-manylinux_2_28 \
		requirements/layer.in -c requirements/dev.txt -o layers/common/requirements.txt

clean: ## remove the venvs, build output and caches
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -not -path './.git/*' -exec rm -rf {} +
