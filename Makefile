# Two commands matter: `make demo` runs the pipeline on sample exports into DuckDB, and
# `make test` installs everything the tests need and runs every suite. Both are idempotent:
# virtual environments are built once (stamp files) and reused.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MELTANO := $(BIN)/meltano
TAP_VENV := .meltano/extractors/tap-marina-s3/venv
TARGET_VENV := .meltano/loaders/target-oracle/venv
DBT_VENV := .meltano/utilities/dbt/venv
OPS_VENV := .meltano/utilities/marina-ops/venv
DEMO_ROWS ?= 20000
PYTEST_FLAGS ?= -q -p no:cacheprovider

export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
# uv (which Meltano uses to build plugin venvs) does not write .pyc files by default; without
# them every tap, loader and dbt process compiles its imports again (~1-5 s per start, more
# where PYTHONDONTWRITEBYTECODE is set, as on CI).
export UV_COMPILE_BYTECODE := 1

.PHONY: install demo test lint test-common test-tap test-target test-transform test-e2e bench clean dags test-orchestrate test-ops check

$(VENV)/.stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

.meltano/.stamp: $(VENV)/.stamp meltano.yml marina-common/pyproject.toml tap-marina-s3/pyproject.toml target-oracle/pyproject.toml transform/requirements.txt orchestrate/ops/pyproject.toml
	$(MELTANO) install
	touch $@

# Test tools go into the plugin venvs Meltano built, so each package is tested with exactly
# the dependencies it runs with (the plugins need SQLAlchemy 2.1; Meltano itself pins < 2.1).
# Meltano builds plugin venvs with uv (no pip inside them), so uv installs into them too.
UV := $(BIN)/uv
.meltano/.stamp-test: .meltano/.stamp transform/requirements-test.txt orchestrate/ops/pyproject.toml
	$(UV) pip install -q --python $(TAP_VENV)/bin/python -e './marina-common[test]' -e './tap-marina-s3[test]'
	$(UV) pip install -q --python $(TARGET_VENV)/bin/python -e './target-oracle[test]'
	$(UV) pip install -q --python $(DBT_VENV)/bin/python -r transform/requirements-test.txt
	$(UV) pip install -q --python $(OPS_VENV)/bin/python -e './orchestrate/ops[test]'
	touch $@

install: .meltano/.stamp

demo: install
	$(BIN)/python scripts/demo.py --rows $(DEMO_ROWS)

# marina-common (catalog model, connection settings, export listing): tested in the tap's venv,
# one of the venvs it is installed into
test-common: .meltano/.stamp-test
	cd marina-common && ../$(TAP_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

test-tap: .meltano/.stamp-test
	cd tap-marina-s3 && ../$(TAP_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

test-target: .meltano/.stamp-test
	cd target-oracle && ../$(TARGET_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

test-transform: .meltano/.stamp-test
	cd transform && ../$(DBT_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

# marina-ops (orchestrate/ops): run log, notifications, job wrapper, check (~1-2 min)
test-ops: .meltano/.stamp-test
	cd orchestrate/ops && ../../$(OPS_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

# Are the exports, the warehouse and dbt reachable in the active environment (MELTANO_ENVIRONMENT)?
check: install
	$(MELTANO) invoke marina-ops check

test-e2e: .meltano/.stamp-test
	$(BIN)/python -m pytest $(PYTEST_FLAGS) tests

# Airflow lives in its own venv (its pins clash with Meltano's); only the DAG tests use it, so
# its ~2,000 modules are not compiled to bytecode ahead of time (minutes of CI install time).
AIRFLOW_VENV := orchestrate/.venv-airflow
$(AIRFLOW_VENV)/.stamp: orchestrate/airflow/requirements.txt $(VENV)/.stamp
	$(UV) venv -q --clear --python $(PYTHON) $(AIRFLOW_VENV)
	UV_COMPILE_BYTECODE=0 $(UV) pip install -q --python $(AIRFLOW_VENV)/bin/python -r orchestrate/airflow/requirements.txt
	touch $@

# Rewrite the DAGs' schedule cache (orchestrate/airflow/dags/meltano_schedules.json) after
# changing jobs or schedules in meltano.yml; a test fails while it is stale.
dags: $(VENV)/.stamp
	cd orchestrate/airflow/dags && ../../../$(BIN)/python -m marina_orchestrate.source

test-orchestrate: .meltano/.stamp $(AIRFLOW_VENV)/.stamp
	$(BIN)/python -m pytest $(PYTEST_FLAGS) orchestrate/tests
	cd orchestrate/airflow && ../.venv-airflow/bin/python -m pytest $(PYTEST_FLAGS) tests

# Every suite, two at a time (the machine has 2 cores; the suites share no files, ports or
# warehouses): everything is installed first, then the end-to-end suite (the longest) runs beside
# the others in turn. Output is printed per suite when it ends. `make test-<suite>` runs one.
SUITES := test-e2e test-transform test-tap test-ops test-orchestrate test-target test-common lint
test: .meltano/.stamp-test $(AIRFLOW_VENV)/.stamp
	$(MAKE) -j2 --output-sync=target $(SUITES)

# Linters: ruff (ruff.toml) over every Python package; sqlfluff over the dbt project.
lint: .meltano/.stamp-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd transform && ../$(DBT_VENV)/bin/sqlfluff lint -p 2 models

bench: .meltano/.stamp-test
	$(BIN)/python tests/bench/bench_tap.py
	$(BIN)/python tests/bench/bench_pipeline.py

clean:
	rm -rf $(VENV) .meltano output orchestrate/.venv-airflow
