# seslake: every verb runs on a fresh clone; each installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 is the Lambda runtime: prefer it (pyenv's copy if the shim is not active).
PYTHON ?= $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12 python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && command -v $$p && break; done)
PY312_DIR := $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12; do \
	$$p -c '' >/dev/null 2>&1 && dirname $$(command -v $$p) && break; done)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
LAKE ?= lake

.PHONY: help demo samples test lint validate build deploy bench clean

help:
	@echo "make demo      10,000 messages of SES traffic through the real handlers (moto), answered"
	@echo "               by the views (DuckDB), self-checked; report in demo/report.html"
	@echo "make samples   ingest the bundled AWS sample events into ./$(LAKE)"
	@echo "make test      run the whole test suite"
	@echo "make lint      ruff and mypy"
	@echo "make validate  cfn-lint, sam validate --lint and checkov on template.yaml"
	@echo "make build     sam build (python3.12)"
	@echo "make deploy    sam deploy --guided"
	@echo "make bench     ingest and demo benchmarks (figures in the README)"

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "no python3.11+ found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,dev]'
	@touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	@touch $@

demo: $(BIN)/.installed
	$(BIN)/seslake demo --out demo --keep

samples: $(BIN)/.installed
	rm -rf $(LAKE)
	$(BIN)/seslake ingest events/ses events/ingest_sns --lake $(LAKE)
	@echo "--- files written under $(LAKE)/:"
	@find $(LAKE) -type f | sort | sed 's/^/  /'

test: $(BIN)/.installed
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov>=3.2,<4'
	@touch $@

validate: $(BIN)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(BIN)/cfn-lint --include-checks I -- template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region us-east-1
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --framework cloudformation -f template.yaml

build: $(SAM_VENV)/.installed
	@test -n "$(PY312_DIR)" || { echo "sam build needs python3.12 on this machine"; exit 1; }
	PATH="$(PY312_DIR):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build
	$(PYTHON) .ci/lambda_size.py

deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --guided

bench: $(BIN)/.installed
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/columnar_probe.py
	$(BIN)/python bench/compaction_bench.py
	$(BIN)/python bench/hostile_bench.py
	$(BIN)/python bench/history_bench.py
	$(BIN)/python bench/backfill_bench.py
	$(BIN)/python bench/demo_bench.py

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam $(LAKE) demo build bench/out
