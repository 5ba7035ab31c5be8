"""The four DAGs as Airflow itself loads them: ids, schedules, tasks, dependencies, no
parse-time work.

Airflow reads its configuration once, at import, so the DagBag is filled in a subprocess
(:mod:`tests.support.dagbag_describe`) with a temporary ``AIRFLOW_HOME`` (the environment
``make airflow`` uses); the test process never imports Airflow and a developer's own Airflow
setup cannot leak in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow_launcher import (
    DAGS,
    DESCRIBE_DAGBAG,
    load_launcher,
    script_command,
)
from tests.support.dagbag_describe import MARKER
from tests.support.project import ROOT

RUFF = Path(sys.executable).with_name("ruff")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow_home")
    env = load_launcher().airflow_env(home, port=8080)
    env["PREDMAINT_HOME"] = str(tmp_path_factory.mktemp("predmaint_home"))
    result = subprocess.run(
        script_command(DESCRIBE_DAGBAG, str(DAGS)),
        env=env,
        cwd=env["PREDMAINT_HOME"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
    assert result.returncode == 0 and lines, f"DagBag subprocess failed:\n{result.stderr[-4000:]}"
    described: dict[str, Any] = json.loads(lines[-1].removeprefix(MARKER))
    return described


EXPECTED: dict[str, dict[str, Any]] = {
    "feature_engineering_pipeline": {
        "schedule": "0 0 * * *",
        "edges": {
            "validate_data_quality": ["extract_features"],
            "extract_features": ["validate_features"],
            "validate_features": ["clean_old_files"],
            "clean_old_files": [],
        },
    },
    "model_training_pipeline": {
        "schedule": "0 0 * * 0",
        "edges": {
            "validate_training_data": ["train_random_forest", "train_svm"],
            "train_random_forest": ["evaluate_models", "promote_best_model", "register_models"],
            "train_svm": ["evaluate_models", "promote_best_model", "register_models"],
            "evaluate_models": ["register_models"],
            "register_models": ["promote_best_model"],
            "promote_best_model": ["check_champion"],
            "check_champion": [],
        },
    },
    "model_monitoring_pipeline": {
        "schedule": None,  # no clock: each scored day's Asset event
        "edges": {
            "monitor_predictions": ["needs_retraining", "request_retraining"],
            "needs_retraining": ["request_retraining"],
            "request_retraining": [],
        },
    },
    "batch_inference_pipeline": {
        "schedule": "0 0 * * *",
        "edges": {
            "load_production_model": [
                "generate_predictions",
                "inference_report",
                "process_new_data",
            ],
            "process_new_data": ["generate_predictions"],
            "generate_predictions": ["inference_report"],
            # after the spec's steps: the shadow challenger apart, then the day is published for
            # monitoring; a day with an unreadable file fails visibly, once
            "inference_report": ["check_inputs_readable", "shadow_predictions"],
            "shadow_predictions": [],
            "check_inputs_readable": [],
        },
    },
}


def test_the_dag_folder_imports_without_errors(dagbag: dict[str, Any]) -> None:
    assert dagbag["errors"] == {}, f"import errors: {dagbag['errors']}"
    assert sorted(dagbag["dags"]) == sorted(EXPECTED), "the spec's three DAGs and monitoring"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_schedule_tasks_and_dependencies_are_the_specs(dagbag: dict[str, Any], dag_id: str) -> None:
    # given the spec's steps, in order
    expected = EXPECTED[dag_id]
    # when Airflow parses the DAG
    dag = dagbag["dags"][dag_id]
    # then the schedule, the task ids and every edge are as specified
    assert dag["schedule"] == expected["schedule"], f"{dag_id} schedule"
    edges = {task_id: task["downstream"] for task_id, task in dag["tasks"].items()}
    assert edges == expected["edges"], f"{dag_id} tasks and dependencies"
    assert dag["catchup"] is False, "unpausing must not replay every day since start_date"
    assert dag["max_active_runs"] == 1, "one run at a time: days share the MLflow registry"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_every_task_retries_with_a_delay_but_not_on_bad_input(
    dagbag: dict[str, Any], dag_id: str
) -> None:
    for task_id, task in dagbag["dags"][dag_id]["tasks"].items():
        assert task["retries"] >= 1 and task["retry_delay_s"] >= 30, f"{task_id} retries"
        assert task["has_retry_policy"], f"{task_id}: predmaint errors must fail without retrying"


def test_training_data_flows_through_the_features_asset(dagbag: dict[str, Any]) -> None:
    features = dagbag["dags"]["feature_engineering_pipeline"]["tasks"]
    training = dagbag["dags"]["model_training_pipeline"]["tasks"]
    assert features["validate_features"]["outlets"] == ["predmaint_features"]
    assert training["validate_training_data"]["inlets"] == ["predmaint_features"]


def test_the_loop_runs_on_assets_not_on_a_clock(dagbag: dict[str, Any]) -> None:
    # the batch publishes each scored day; monitoring runs on it and may ask for retraining
    dags = dagbag["dags"]
    batch, monitoring = dags["batch_inference_pipeline"], dags["model_monitoring_pipeline"]
    assert batch["tasks"]["shadow_predictions"]["outlets"] == ["predmaint_predictions"]
    assert batch["tasks"]["inference_report"]["outlets"] == []
    assert monitoring["schedule_assets"] == ["predmaint_predictions"]
    assert monitoring["tasks"]["request_retraining"]["outlets"] == ["predmaint_retraining"]
    # and training runs weekly or on that request, whichever comes first
    training = dags["model_training_pipeline"]
    assert training["timetable"] == "AssetOrTimeSchedule"
    assert (training["schedule"], training["schedule_assets"]) == (
        "0 0 * * 0",
        ["predmaint_retraining"],
    )


def test_batch_scoring_is_mapped_over_the_days_files(dagbag: dict[str, Any]) -> None:
    tasks = dagbag["dags"]["batch_inference_pipeline"]["tasks"]
    assert tasks["generate_predictions"]["mapped"], "one mapped task instance per input file"
    assert not any(t["mapped"] for name, t in tasks.items() if name != "generate_predictions")


def test_parsing_reads_no_settings_and_imports_no_heavy_library(dagbag: dict[str, Any]) -> None:
    # The DAG processor re-parses every file every 30 s: pandas, MLflow, scikit-learn and the
    # settings belong inside task bodies.
    assert dagbag["heavy_imports_at_parse"] == []


def test_ruff_with_the_airflow_rules_is_clean() -> None:
    result = subprocess.run(
        [str(RUFF), "check", "--select", "AIR", "--preview", str(DAGS.parent)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"ruff AIR rules:\n{result.stdout}{result.stderr}"
