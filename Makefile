# socialrank: the two commands a new user runs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Python 3.12 (moderndid's sensitivity analysis needs it): on PATH, or pyenv's copy where it is not.
PYTHON ?= $(shell for candidate in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12); do \
	$$candidate -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null && { command -v $$candidate; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

export SOCIALRANK_HOME ?= $(CURDIR)/data
export SOCIALRANK_PROJECT_DIR := $(CURDIR)
# The sample data's configuration, named explicitly by `make run`. Other targets use yours: the first of
# $SOCIALRANK_CONFIG, ./socialrank.toml, $SOCIALRANK_HOME/socialrank.toml (`socialrank init` writes one).
SAMPLE_CONFIG := $(CURDIR)/sample/socialrank.toml
# Airflow's embedded default: SQLite metadata under the data root, this repository's DAGs.
export AIRFLOW_HOME ?= $(SOCIALRANK_HOME)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export GX_ANALYTICS_ENABLED := False
AIRFLOW := $(BIN)/airflow
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck vendor-data-docs airflow-init airflow bench bench-ingest bench-crawl bench-dags bench-build bench-impact lock clean

# Bytecode is compiled at install: every process (Airflow tasks, parse workers) then imports faster, also
# where PYTHONDONTWRITEBYTECODE keeps Python from caching it.
$(INSTALLED): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "socialrank needs Python 3.12: install it (pyenv install 3.12) or pass PYTHON=/path/to/python3.12"; exit 2; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else "socialrank needs Python 3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --constraint constraints.txt uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --constraint constraints.txt --editable '.[test]'
	touch $@

install: $(INSTALLED)

airflow-init: install
	@mkdir -p $(AIRFLOW_HOME)
	$(AIRFLOW) db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { cat $(AIRFLOW_HOME)/db-migrate.log; exit 1; }
	$(AIRFLOW) pools import airflow/pools.json
	$(AIRFLOW) connections import --overwrite airflow/connections.json

# The embedded default: `airflow standalone` on SQLite with this project's DAGs, pools and connections
# (airflow/*.json); Ctrl-C stops it. Every visitor is an admin, so it listens on 127.0.0.1 only unless
# AIRFLOW_HOST says otherwise.
AIRFLOW_PORT ?= 8080
AIRFLOW_HOST ?= 127.0.0.1
airflow: airflow-init
	@echo "Airflow UI: http://$(AIRFLOW_HOST):$(AIRFLOW_PORT)/ (local mode: every visitor is an admin, no login;"
	@echo "  listening on $(AIRFLOW_HOST) only). The DAGs start paused: unpause them in the UI or with"
	@echo "  .venv/bin/airflow dags unpause socialrank_nightly (and socialrank_ingest_events)."
	@echo "  Configuration: \$$SOCIALRANK_CONFIG, ./socialrank.toml or \$$SOCIALRANK_HOME/socialrank.toml (socialrank init"
	@echo "  writes one); for the sample data: SOCIALRANK_CONFIG=\$$PWD/sample/socialrank.toml make airflow."
	AIRFLOW__API__HOST=$(AIRFLOW_HOST) AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
	AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:$(AIRFLOW_PORT)/execution/ \
	AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True \
	PATH="$(CURDIR)/$(BIN):$$PATH" airflow/standalone.sh

# The sample data, with the sample's own configuration whatever else is set or lies around.
run: export SOCIALRANK_CONFIG := $(SAMPLE_CONFIG)
run: install
	$(BIN)/socialrank demo-data --if-empty
	$(MAKE) --no-print-directory airflow-init
	@$(BIN)/python tools/dag_test.py socialrank_nightly --log $(SOCIALRANK_HOME)/runs/airflow-dags-test.log
	$(BIN)/socialrank status

test: install
	$(BIN)/ruff check pipeline socialrank_demo dags tests bench tools
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks: not part of `make test`; results as JSON under bench/results/, summed up in
# bench/results/report.md (the README's table). bench-build generates and ingests worlds of up to
# 5M posts / 20M backlinks / 30M ranking rows (about 30 GB under $TMPDIR, cached between runs).
bench: bench-ingest bench-crawl bench-dags bench-build
	$(BIN)/python bench/report.py

bench-ingest: install
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_ingest_csv.py
	$(BIN)/python bench/bench_ingest_ga4_bigquery.py
	$(BIN)/python bench/bench_build.py --ingest-only

bench-crawl: install
	$(BIN)/python bench/bench_crawl.py

bench-dags: install
	$(BIN)/python bench/bench_dags.py

bench-build: install
	$(BIN)/python bench/bench_build.py
	$(BIN)/python bench/bench_dbt_runner.py

# The causal estimate's coverage study: 100 rank worlds of each kind, the mart's method against the
# earlier one (about an hour on 2 cores); bench/results/impact.json.
bench-impact: install
	$(BIN)/python bench/bench_impact.py

# Re-vendor Data Docs' styles and scripts from the npm registry (after a Great Expectations upgrade).
vendor-data-docs: install
	$(BIN)/python tools/vendor_data_docs.py

lint: install
	$(BIN)/ruff check pipeline socialrank_demo dags tests bench tools
	$(BIN)/ruff format --check pipeline socialrank_demo dags tests bench tools

typecheck: install
	$(BIN)/mypy

# Re-resolve every pin after changing pyproject.toml's dependencies (needs the package registry).
lock: install
	$(BIN)/uv pip compile --quiet --python-version 3.12 --extra test --no-header --no-annotate pyproject.toml \
		-o constraints.txt.new
	{ echo "# Exact pins for every package socialrank installs (runtime and test). Regenerate with 'make lock'."; \
	  { grep -v '^#' constraints.txt.new; $(BIN)/uv pip freeze --python $(BIN)/python | grep '^uv=='; } \
	  | sort -f -u; } > constraints.txt
	rm constraints.txt.new

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
