# Everything bootstraps its own virtualenv from requirements.txt: only python3, make and git needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DBT_VENV  := .venv-dbt
DBT_STAMP := $(DBT_VENV)/.installed

.PHONY: demo models schema test test-unit test-integration test-pg15 bench lint fmt typecheck terraform-check clean venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP) $(DBT_STAMP)
	$(BIN)/platform-events demo

# dbt and its adapters in their own virtualenv: their pins (protobuf among them) disagree with the
# google-cloud libraries of .venv. `platform-events models` builds the same one on first use (the
# stamp holds the requirements' digest, so both agree when it is current).
$(DBT_STAMP): analytics/requirements.txt
	$(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/pip install --quiet --disable-pip-version-check -r analytics/requirements.txt
	sha256sum analytics/requirements.txt | cut -c1-16 > $@

models: $(STAMP) $(DBT_STAMP)
	$(BIN)/platform-events models build

# Regenerates migrations/schema.sql (the current schema in one file) from freshly applied migrations;
# tests/integration/test_schema_file.py fails until it is current.
schema: $(STAMP)
	PYTHONPATH=functions $(BIN)/python -m tests.schema_file

test: $(STAMP) $(DBT_STAMP)
	$(BIN)/ruff check functions tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)
	$(BIN)/python tests/pg15.py -q $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

# Runs the suite against the PostgreSQL 15 cluster of the machine, when it has one.
test-pg15: $(STAMP)
	$(BIN)/python tests/pg15.py $(PYTEST_ARGS)

# BENCH_ARGS passes options on, e.g. make bench BENCH_ARGS=--quick (python -m bench --help).
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check functions tests bench
	$(BIN)/ruff format --check functions tests bench
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format functions tests bench
	$(BIN)/ruff check --fix functions tests bench

# Terraform checks, offline: `terraform fmt -check` (when a terraform binary is present) and checkov
# from its own virtualenv (its bc-python-hcl2 would overwrite python-hcl2's files in .venv).
CHECKOV_VENV    := .venv-checkov
CHECKOV_VERSION := 3.3.30

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

terraform-check: $(CHECKOV_VENV)/.installed
	@if command -v terraform >/dev/null 2>&1; then \
		terraform fmt -check -recursive && echo "terraform fmt: clean"; \
	else \
		echo "NOTICE: terraform binary not found, terraform fmt -check skipped"; \
	fi
	$(CHECKOV_VENV)/bin/checkov --directory . --framework terraform --skip-download --quiet --compact \
		--skip-path .venv --skip-path .venv-checkov --skip-path .local --skip-path .terraform

clean:
	-$(BIN)/platform-events db stop
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
