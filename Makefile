# edgesense: two commands, `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit e2e airflow mwaa-bundle lock clean
MWAA_AIRFLOW ?= 3.3.1

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "pip==25.3"
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

## venv: create .venv and install exactly the pinned versions
venv: $(STAMP)

## demo: end to end on an embedded AWS (moto_server), then stop everything
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## test: ruff + the whole pytest suite (unit and end-to-end against moto_server)
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check dags plugins tests scripts
	$(BIN)/ruff format --check dags plugins tests scripts
	$(BIN)/cfn-lint deploy/cloudformation/edgesense.yaml

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/dags

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

## airflow: `airflow standalone` on moto with everything configured (UI on :8080)
airflow: $(STAMP)
	$(BIN)/python scripts/airflow_local.py

## mwaa-bundle: dist/mwaa/ (dags/, plugins.zip, requirements.txt, startup.sh) for MWAA_AIRFLOW
mwaa-bundle: $(STAMP)
	$(BIN)/python scripts/mwaa_bundle.py --airflow $(MWAA_AIRFLOW) --out dist/mwaa

## lock: regenerate constraints.txt from a fresh resolve
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install -q "pip==25.3" && .lockvenv/bin/pip install -q -r requirements.txt -r requirements-dev.txt
	(echo "# Pinned from a working install. Regenerate with: make lock"; .lockvenv/bin/pip freeze --all | grep -v "^pip==") > constraints.txt
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) .run .airflow-* .pytest_cache .ruff_cache
