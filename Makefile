# predictive-scoring: `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export UV_COMPILE_BYTECODE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: help install install-benchmarks demo test test-fast check lint format lock clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv with the locked dependencies and the package
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check "uv==0.13.8"
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

install-benchmarks: install ## add the benchmarks' peers (FLAML AutoML, with xgboost) to .venv
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements-benchmarks.lock

demo: install ## run the main job end to end on generated data (outputs in ./demo-output)
	$(BIN)/predictive-scoring demo --output-dir demo-output

test: install ## run the test suite
	$(BIN)/python -m pytest -q

lint: install ## ruff format check and ruff lint
	$(BIN)/ruff format --check src tests benchmarks pipelines
	$(BIN)/ruff check src tests benchmarks pipelines

check: lint ## lint, type-check (mypy strict on src) and test
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

format: install ## apply ruff formatting and safe fixes
	$(BIN)/ruff format src tests benchmarks pipelines
	$(BIN)/ruff check --fix src tests benchmarks pipelines

lock: ## re-resolve requirements.lock from pyproject.toml
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q "uv==0.13.8"; }
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --no-header -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra benchmarks -c requirements.lock --universal --python-version 3.11 --no-header -o requirements-benchmarks.lock

clean: ## remove the virtualenv, caches and demo outputs
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache mlflow.db mlruns
