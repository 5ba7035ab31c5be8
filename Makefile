# predmaint — one task vocabulary for users, hooks and CI (`.ci/run` calls `make test`, then
# `make test-deploy`).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# `mlflow models serve` and `airflow standalone` start subprocesses by name: the venv's bin must be on PATH.
export PATH := $(BIN):$(PATH)
# MLflow's telemetry thread removes a variable from os.environ while other threads iterate it (a
# KeyError in `requests`, seen in training), and plants are often offline: never start it. The
# deployment's images set the same two variables.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
# Users download AI4I 2020 from UCI on the first run. Beside a `../shared/data/ai4i2020.csv`
# (the developers' and CI's layout, with no internet) that copy is used instead, unless
# PREDMAINT_RAW_DATA already says which file to use.
SHARED_DATA := $(abspath $(CURDIR)/../shared/data/ai4i2020.csv)
ifeq ($(origin PREDMAINT_RAW_DATA), undefined)
ifneq ($(wildcard $(SHARED_DATA)),)
export PREDMAINT_RAW_DATA := $(SHARED_DATA)
endif
endif

.PHONY: help install run test test-tools test-deploy lint format mlflow serve airflow bench clean \
	up down logs restart-airflow rebuild

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"predmaint needs Python 3.11, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip==26.3
	$(BIN)/python -m pip install -qq -r requirements.lock
	$(BIN)/python -m pip install -qq --no-deps --no-build-isolation -e .
	@# the editable install leaves our own modules uncompiled: where PYTHONDONTWRITEBYTECODE is set
	@# (as on our dev machines) every process compiled them again (10 % of a small infer's instructions)
	$(BIN)/python -m compileall -q src
	@touch $(STAMP)

install: $(STAMP)  ## create .venv with the pinned versions of requirements.lock

run: install  ## the main job on embedded defaults: data -> features -> train -> promote -> batch predictions
	$(BIN)/predmaint run

test: install test-tools  ## install the test environment and run every test (but test-deploy's)
	$(BIN)/pytest -p no:cacheprovider

test-deploy: install test-tools  ## the Docker deployment for real: build, up, every DAG, the API, down/up (~11 min on a new machine)
	tests/deployment/prepare.sh
	$(BIN)/pytest -p no:cacheprovider -s -m deploy tests/deployment

# System tools some tests drive (Debian packages; CI runs as root, as on this machine).
test-tools:
	@command -v docker-compose >/dev/null || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

lint: install  ## ruff (incl. Airflow AIR rules), mypy, and the layers contract (import-linter)
	$(BIN)/ruff check src tests bench pipelines
	$(BIN)/ruff format --check src tests bench pipelines
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

format: install
	$(BIN)/ruff check --fix src tests bench pipelines
	$(BIN)/ruff format src tests bench pipelines

mlflow: install  ## MLflow UI on http://localhost:5000 over the embedded store that `make run` writes
	$(BIN)/predmaint mlflow-ui --port 5000

serve: install  ## the real-time API on http://localhost:8000 (docs at /docs)
	$(BIN)/predmaint serve --port 8000

airflow: install  ## local Airflow on http://localhost:8080 (admin/admin): LocalExecutor, SQLite in .airflow/, the project's DAGs; Ctrl-C stops it
	$(BIN)/python pipelines/airflow/run_local.py --port 8080

bench: install  ## benchmarks: API latency vs bare ASGI and `mlflow models serve`, batch throughput, load run
	$(BIN)/python -m bench

up:  ## the Docker deployment: .env if missing, build, start, wait until healthy, print the addresses
	docker/compose.sh up

down:  ## stop the Docker deployment (volumes, i.e. runs, models and predictions, are kept)
	docker/compose.sh down

logs:  ## recent logs of the deployment (SERVICE=airflow-worker for one service)
	docker/compose.sh logs $(SERVICE)

restart-airflow:  ## restart every Airflow service of the deployment and wait until healthy
	docker/compose.sh restart-airflow

rebuild:  ## full rebuild of the deployment: down, build --no-cache, up -d (volumes kept)
	docker/compose.sh rebuild

clean:  ## remove local outputs (embedded MLflow store, data partitions); keeps .venv
	rm -rf mlflow.db mlartifacts data/processed data/predictions data/quarantine data/inference
