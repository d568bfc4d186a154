# edgesense: two commands, `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
# Two runtimes, one codebase: .venv runs Airflow 3.x (the default for everything),
# .venv-airflow2 runs Airflow 2.11 with Amazon MWAA 2.11.2's provider and DuckDB pins.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENV2 := .venv-airflow2
BIN2 := $(VENV2)/bin
STAMP2 := $(VENV2)/.installed
PIP := -m pip install -q --disable-pip-version-check

.PHONY: demo test test-airflow3 test-airflow2 bench bench-latency bench-anomaly lint unit e2e airflow mwaa-bundle lock lock-one clean venv venv-airflow2
MWAA_AIRFLOW ?= 3.3.1

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP) "pip==25.3"
	$(BIN)/python $(PIP) -c constraints.txt -r requirements.txt -r requirements-dev.txt
	$(BIN)/python $(PIP) --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(STAMP2): requirements.txt requirements-dev-airflow2.txt constraints-airflow2.txt pyproject.toml
	test -x $(BIN2)/python || $(PYTHON) -m venv $(VENV2)
	$(BIN2)/python $(PIP) "pip==25.3"
	$(BIN2)/python $(PIP) -c constraints-airflow2.txt -r requirements.txt -r requirements-dev-airflow2.txt
	$(BIN2)/python $(PIP) --no-deps --no-build-isolation -e .
	touch $(STAMP2)

## venv: create .venv (Airflow 3) and install exactly the pinned versions
venv: $(STAMP)

## venv-airflow2: create .venv-airflow2 (Airflow 2.11, MWAA 2.11.2 pins)
venv-airflow2: $(STAMP2)

## demo: end to end on an embedded AWS (moto_server), then stop everything
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## test: lint, then the whole pytest suite on Airflow 3.x and again on Airflow 2.11
test: lint test-airflow3 test-airflow2

test-airflow3: $(STAMP)
	@echo "== pytest on Airflow $$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("apache-airflow"))') (.venv)"
	time $(BIN)/python -m pytest

test-airflow2: $(STAMP2)
	@echo "== pytest on Airflow $$($(BIN2)/python -c 'import importlib.metadata as m; print(m.version("apache-airflow"))') (.venv-airflow2)"
	time $(BIN2)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check dags plugins tests scripts benchmarks
	$(BIN)/ruff format --check dags plugins tests scripts benchmarks
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

## bench: 2 M-line DS2 corpus (and a 200-rule, ~1 M-path stress case): DuckDB's scan ceiling,
## edgesense aggregate and plain Python, with lines/s, ratios and peak RSS (see README, Performance)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

## bench-latency: seconds from an object landing to its metric readable in CloudWatch, with a
## real scheduler on moto, 10 min of synthetic traffic; prints p50/p95 (goal p95 <= 90 s)
bench-latency: $(STAMP)
	$(BIN)/python benchmarks/latency.py $(LATENCY_ARGS)

## bench-anomaly: the detector over generated days with labelled incidents: recall, precision, false alarms per host-day
bench-anomaly: $(STAMP)
	$(BIN)/python benchmarks/anomaly.py $(ANOMALY_ARGS)

## lock: regenerate constraints.txt and constraints-airflow2.txt from fresh resolves
lock:
	$(MAKE) LOCK_REQS=requirements-dev.txt LOCK_OUT=constraints.txt lock-one
	$(MAKE) LOCK_REQS=requirements-dev-airflow2.txt LOCK_OUT=constraints-airflow2.txt lock-one

LOCK_REQS ?= requirements-dev.txt
LOCK_OUT ?= constraints.txt
lock-one:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install -q "pip==25.3" && .lockvenv/bin/pip install -q -r requirements.txt -r $(LOCK_REQS)
	(echo "# Pinned from a working install of requirements.txt + $(LOCK_REQS). Regenerate with: make lock"; \
	 .lockvenv/bin/pip freeze --all | grep -v "^pip==") > $(LOCK_OUT)
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) $(VENV2) .run .airflow-* .pytest_cache .ruff_cache
