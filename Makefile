# CognitionOS — every command a developer or CI needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PYTHONPATH := $(CURDIR):$(CURDIR)/functions:$(CURDIR)/layers/kernel/python

.PHONY: run test unit integration infra e2e lint format security synth bench openapi clean \
	dashboard-assets compliance

# The dashboard inlines Chart.js's UMD build; it is copied from node_modules (pinned in
# package.json), not committed, for the local runner and the tests. Synth does not need this
# copy: it puts node_modules' file in the revenue asset itself (infra/constructs/function_code.py).
CHART_JS_SRC := node_modules/chart.js/dist/chart.umd.min.js
CHART_JS := functions/revenue/dashboard/vendor/chart.umd.min.js

# The venv is rebuilt whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-agents.txt requirements-operators.txt package.json package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHART_JS): $(VENV)/.installed
	@test -f $(CHART_JS_SRC) || { echo "$(CHART_JS_SRC) is missing: run npm ci" >&2; exit 1; }
	mkdir -p $(@D)
	cp $(CHART_JS_SRC) $@

dashboard-assets: $(CHART_JS)

run: $(VENV)/.installed $(CHART_JS)
	$(PY) -m infra.local

test: $(VENV)/.installed $(CHART_JS) lint security synth
	$(PY) -m pytest -n 2 --dist worksteal tests/unit tests/integration tests/infra tests/e2e

unit integration infra e2e: $(VENV)/.installed $(CHART_JS)
	$(PY) -m pytest tests/$@

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions layers/kernel/python infra app.py

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

security: $(VENV)/.installed
	$(BIN)/bandit --quiet -c pyproject.toml -r functions layers infra app.py
	$(BIN)/pip-audit --progress-spinner off -r requirements.txt -r requirements-agents.txt -r requirements-code-validation.txt -r requirements-operators.txt

synth: $(VENV)/.installed
	npx cdk synth --quiet
	$(BIN)/cfn-lint cdk.out/*.template.json
	$(PY) -m infra.asset_sizes cdk.out

# The privacy compliance checker against the running local runner (make run in another
# shell); STACK=<name> checks a deployed stack instead. Exits 1 on findings.
compliance: $(VENV)/.installed
	$(PY) -m infra.compliance $(if $(STACK),--stack $(STACK))

openapi: $(VENV)/.installed
	$(PY) -m infra.openapi --write

bench: $(VENV)/.installed $(CHART_JS)
	$(PY) -m pytest tests/bench -s -p no:randomly

clean:
	rm -rf cdk.out .cognitionos .pytest_cache .mypy_cache .ruff_cache
