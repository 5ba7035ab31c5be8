"""The deployment's Airflow for real: CeleryExecutor, PostgreSQL metadata, Redis broker, one
worker.

``docker-compose.yml`` runs Airflow 3 as separate services (API server, scheduler, DAG processor,
Celery worker) around PostgreSQL and Redis. Here the same commands run as local processes with
the environment ``make airflow`` uses (``pipelines/airflow/run_local.py``: DAG folder, simple auth
manager with admin/admin, execution API URL), switched to the CeleryExecutor on a private
PostgreSQL database, a private Redis key prefix and a private Celery queue. The champion is
trained into an MLflow server on PostgreSQL, as in compose, so the worker's tasks load it over
HTTP. The batch DAG is triggered through the REST API and must succeed on the worker: its task
instances carry the Celery task ids that the worker logged and the result backend recorded, and
the day's predictions and report are on disk, scored by the champion.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from predmaint.features.job import build_features
from predmaint.settings import Settings
from predmaint.workflow import train_and_promote
from tests.support.airflow_api import AirflowApi
from tests.support.airflow_launcher import load_launcher
from tests.support.loopback import free_port
from tests.support.mlflow_server import settings_on_server, start_mlflow_server
from tests.support.processes import Server, Servers
from tests.support.project import DAY, SHARED_DATA
from tests.support.services import Postgres, RedisNamespace, unique_name

pytestmark = [pytest.mark.services, pytest.mark.slow]

BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
DAG_ID = "batch_inference_pipeline"
SIMULATED_ROWS = 300
MIGRATE_TIMEOUT_S = 300
STARTUP_TIMEOUT_S = 180
RUN_TIMEOUT_S = 300
BATCH_TASKS = {
    "load_production_model",
    "process_new_data",
    "generate_predictions",
    "inference_report",
    "check_inputs_readable",
    "shadow_predictions",
}


@dataclass
class CeleryAirflow:
    """A running CeleryExecutor deployment and what a test needs to talk to it."""

    servers: Servers
    worker: Server
    postgres: Postgres
    database: str
    queue: str
    api: AirflowApi

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances as the metadata database holds them, with the type of the
        job that queued each one."""
        columns = (
            "task_id",
            "map_index",
            "state",
            "queue",
            "external_executor_id",
            "hostname",
            "queued_by",
        )
        rows = self.postgres.query(
            self.database,
            "SELECT ti.task_id, ti.map_index, ti.state, ti.queue, ti.external_executor_id, "
            "ti.hostname, job.job_type FROM task_instance ti "
            "LEFT JOIN job ON job.id = ti.queued_by_job_id "
            "WHERE ti.dag_id = %s AND ti.run_id = %s ORDER BY ti.task_id, ti.map_index",
            DAG_ID,
            run_id,
        )
        return [dict(zip(columns, row, strict=True)) for row in rows]


def airflow_environment(
    home: Path,
    port: int,
    predmaint: Settings,
    postgres: Postgres,
    database: str,
    redis: RedisNamespace,
    queue: str,
) -> dict[str, str]:
    """``make airflow``'s environment, moved onto the deployment's executor and databases."""
    launcher = load_launcher()
    inherited = {
        k: v for k, v in os.environ.items() if k.startswith(("AIRFLOW", "PREDMAINT_", "MLFLOW_"))
    }
    env = {k: v for k, v in launcher.airflow_env(home, port).items() if k not in inherited}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.url(database),
            "AIRFLOW__CELERY__BROKER_URL": redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{postgres.url(database)}",
            # Two test runs on one Redis must not take each other's tasks: a key prefix of this
            # test's own (queues, bindings, pub/sub), and a queue name of its own besides.
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": redis.prefix,
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            # Said explicitly, as a deployment must (Airflow warns otherwise): a task not acked
            # within this time is handed to another worker.
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            # One API worker process is plenty for a test and spares the 2 CI cores.
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # Tasks load the champion from the MLflow server, as the compose workers do.
            "MLFLOW_TRACKING_URI": predmaint.resolved_tracking_uri,
            "PREDMAINT_HOME": str(predmaint.home),
            "PREDMAINT_RAW_DATA": str(SHARED_DATA),
            "PREDMAINT_SIMULATE_ROWS": str(SIMULATED_ROWS),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def trained_on_server(
    postgres: Postgres, servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """A project home whose champion lives on an MLflow server (PostgreSQL, served artifacts)."""
    mlflow_server = start_mlflow_server(servers, postgres, tmp_path / "served-artifacts")
    settings = settings_on_server(tmp_path / "predmaint-home", mlflow_server.uri, monkeypatch)
    features = build_features(settings, DAY)
    outcome = train_and_promote(settings, DAY, features.features_path)
    assert outcome.decision.champion_version == "1", outcome.decision
    return settings


@pytest.fixture
def celery_airflow(
    trained_on_server: Settings,
    postgres: Postgres,
    redis_namespace: RedisNamespace,
    servers: Servers,
    tmp_path: Path,
) -> Iterator[CeleryAirflow]:
    """Migrated metadata on PostgreSQL, then API server, scheduler, DAG processor and one
    Celery worker as processes (the `servers` fixture stops them, `postgres` drops the database)."""
    home = tmp_path / "airflow-home"
    load_launcher().write_passwords(home)
    database = postgres.create_database("airflow")
    queue = unique_name("queue")
    port = free_port()
    env = airflow_environment(
        home, port, trained_on_server, postgres, database, redis_namespace, queue
    )
    migrate = subprocess.run(
        [AIRFLOW, "db", "migrate"],
        env=env,
        cwd=trained_on_server.home,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_S,
    )
    assert migrate.returncode == 0, f"airflow db migrate failed:\n{migrate.stderr[-4000:]}"

    servers.env = env
    cwd = trained_on_server.home
    # No log servers (they listen on every interface): all components share one AIRFLOW_HOME,
    # so the API server reads task logs from local files.
    servers.start("airflow-api-server", [AIRFLOW, "api-server"], cwd=cwd)
    servers.start("airflow-scheduler", [AIRFLOW, "scheduler", "--skip-serve-logs"], cwd=cwd)
    servers.start("airflow-dag-processor", [AIRFLOW, "dag-processor"], cwd=cwd)
    worker = servers.start(
        "airflow-celery-worker",
        [
            AIRFLOW,
            "celery",
            "worker",
            "--queues",
            queue,
            "--concurrency",
            "2",
            "--celery-hostname",
            f"{queue}@%h",
            "--skip-serve-logs",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=cwd,
    )
    api = AirflowApi(f"http://127.0.0.1:{port}")
    airflow = CeleryAirflow(servers, worker, postgres, database, queue, api)
    servers.wait_for(
        "waiting for the Airflow API server's health endpoint", api.healthy, STARTUP_TIMEOUT_S
    )
    servers.wait_for(
        "waiting for the Celery worker to connect to Redis",
        lambda: " ready." in worker.log(),
        STARTUP_TIMEOUT_S,
    )
    yield airflow


def test_the_batch_dag_runs_on_a_celery_worker_over_postgresql_and_redis(
    celery_airflow: CeleryAirflow, trained_on_server: Settings, redis_namespace: RedisNamespace
) -> None:
    airflow, servers, api = celery_airflow, celery_airflow.servers, celery_airflow.api
    # given the deployment up, logged in as the spec's admin/admin, the batch DAG parsed
    api.log_in()
    api.wait_until_parsed(DAG_ID, servers.wait_for, STARTUP_TIMEOUT_S)

    # when the batch DAG is triggered for today and unpaused (the unpaused schedule's latest
    # interval is the same logical date, so there is exactly one run)
    today = datetime.now(UTC).date()
    run_id = api.trigger(DAG_ID, today, "services-test")

    # then the run succeeds within the bound
    state = api.wait_until_finished(DAG_ID, run_id, servers.wait_for, RUN_TIMEOUT_S)
    tis = airflow.task_instances(run_id)
    assert state == "success", (
        f"run {run_id} {state}: {[(t['task_id'], t['state']) for t in tis]}\n{servers.report()}"
    )

    # and every task ran through Celery: queued by the scheduler on this test's Celery queue,
    # each with a Celery task id that the worker logged executing and that the result backend
    # (PostgreSQL) recorded as a success
    assert {t["task_id"] for t in tis} == BATCH_TASKS, tis
    assert all(t["state"] == "success" for t in tis), tis
    assert {t["queued_by"] for t in tis} == {"SchedulerJob"}, tis
    assert {t["queue"] for t in tis} == {airflow.queue}, tis
    celery_ids = {t["external_executor_id"] for t in tis}
    assert None not in celery_ids and len(celery_ids) == len(tis), tis
    worker_log = airflow.worker.log()
    for ti in tis:
        lines = [
            line
            for line in worker_log.splitlines()
            if f"[{ti['external_executor_id']}] Executing workload in Celery" in line
        ]
        assert lines and ti["task_id"] in lines[0], (
            f"the worker's log does not show {ti['task_id']} "
            f"(Celery task {ti['external_executor_id']})\n{servers.report()}"
        )

    # (a task reports its end to the API server before its Celery task returns: the result
    # backend's row for the last task may come a moment after the run is marked a success)
    def celery_results() -> dict[str, str] | None:
        rows = airflow.postgres.query(
            airflow.database, "SELECT task_id, status FROM celery_taskmeta"
        )
        results = {task_id: status for task_id, status in rows if task_id in celery_ids}
        final = {"SUCCESS", "FAILURE", "REVOKED"}  # not PENDING/STARTED (task_track_started)
        done = len(results) == len(celery_ids) and set(results.values()) <= final
        return results if done else None

    results = servers.wait_for("waiting for the Celery results", celery_results, 60)
    assert set(results.values()) == {"SUCCESS"}, results
    assert redis_namespace.keys(), "the broker's keys are under this test's prefix"

    # and the day's predictions partition and report exist, scored by the champion
    partition = trained_on_server.predictions_dir / f"ds={today}"
    parts = sorted(partition.glob("part-*.parquet"))
    assert parts, f"no prediction parts in {partition}"
    report = json.loads((partition / "report.json").read_text())
    assert report["rows_scored"] + report["rows_quarantined"] == SIMULATED_ROWS, report
    assert report["rows_scored"] > 0 and report["model_version"] == "1", report
    # (the workers loaded it from the MLflow server: no embedded store appeared in the home)
    assert not trained_on_server.mlflow_db.exists() and not trained_on_server.artifact_root.exists()
