"""Each DAG run end to end with ``dag.test()``: real Airflow, real MLflow store, real files.

One temporary Airflow home (metadata DB migrated once) and one temporary predmaint home per
module. The runs chain as in production: the feature DAG publishes the ``predmaint_features``
Asset, the training DAG finds its data through that Asset's event and registers a champion, the
batch DAG scores the day's files with it. Each ``dag.test()`` runs in a subprocess
(:mod:`tests.support.dagbag_run`), because Airflow reads its configuration (AIRFLOW_HOME, the
database) once, at import. Training uses the small ``FAST`` settings through ``PREDMAINT_*``
variables.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from predmaint.data.simulate import simulate_readings
from predmaint.settings import Settings
from tests.support.airflow_launcher import DAGS, RUN_DAG, load_launcher, script_command
from tests.support.dagbag_run import MARKER
from tests.support.project import DAY, FAST, SHARED_DATA, make_settings

pytestmark = pytest.mark.slow

FAST_ENV = {
    "PREDMAINT_RF_N_ESTIMATORS": str(FAST["rf_n_estimators"]),
    "PREDMAINT_RF_MAX_DEPTH_GRID": json.dumps(FAST["rf_max_depth_grid"]),
    "PREDMAINT_CV_FOLDS": str(FAST["cv_folds"]),
}


@dataclass
class DagRun:
    state: str
    run_id: str
    tasks: dict[str, str]
    tries: dict[str, int]
    log: str


@dataclass
class Sandbox:
    """A temporary Airflow home and predmaint home, as ``make airflow`` would set them up."""

    airflow_home: Path
    predmaint_home: Path

    @property
    def settings(self) -> Settings:
        return make_settings(self.predmaint_home, **FAST)

    def env(self, **overrides: str) -> dict[str, str]:
        env = load_launcher().airflow_env(self.airflow_home, port=8080)
        env.update(
            {"PREDMAINT_HOME": str(self.predmaint_home), "PREDMAINT_RAW_DATA": str(SHARED_DATA)}
        )
        env.update(FAST_ENV)
        env.update(overrides)
        return env

    def migrate(self) -> None:
        airflow = Path(sys.executable).with_name("airflow")
        done = subprocess.run(
            [str(airflow), "db", "migrate"],
            env=self.env(),
            cwd=self.predmaint_home,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, f"airflow db migrate failed:\n{done.stderr[-3000:]}"

    def dag_test(self, dag_id: str, day: date, **env: str) -> DagRun:
        done = subprocess.run(
            script_command(RUN_DAG, str(DAGS), dag_id, day.isoformat()),
            env=self.env(**env),
            cwd=self.predmaint_home,
            capture_output=True,
            text=True,
            timeout=600,
        )
        log = done.stdout + done.stderr
        lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
        assert done.returncode == 0 and lines, f"dag.test({dag_id}) crashed:\n{log[-6000:]}"
        return DagRun(**json.loads(lines[-1].removeprefix(MARKER)), log=log)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.airflow_home / "airflow.db") as db:
            return db.execute(sql, params).fetchall()

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        rows = self.query(
            "SELECT value FROM xcom "
            "WHERE dag_id=? AND run_id=? AND task_id=? AND key='return_value'",
            dag_id,
            run_id,
            task_id,
        )
        assert rows, f"no XCom from {dag_id}.{task_id}"
        return json.loads(rows[0][0])


def assert_succeeded(run: DagRun) -> None:
    failed = {task: state for task, state in run.tasks.items() if state != "success"}
    assert run.state == "success" and not failed, f"{failed}\n{run.log[-6000:]}"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(tmp_path_factory.mktemp("airflow_home"), tmp_path_factory.mktemp("project"))
    box.migrate()
    return box


@pytest.fixture(scope="module")
def features_run(sandbox: Sandbox) -> DagRun:
    # An old partition that retention (30 days) must remove.
    old = sandbox.settings.processed_dir / f"ds={DAY - timedelta(days=60)}"
    old.mkdir(parents=True)
    (old / "features.parquet").write_bytes(b"stale")
    return sandbox.dag_test("feature_engineering_pipeline", DAY)


@pytest.fixture(scope="module")
def training_run(sandbox: Sandbox, features_run: DagRun) -> DagRun:
    assert_succeeded(features_run)
    # The weekly run on the Sunday after DAY takes the newest features published up to its day.
    return sandbox.dag_test("model_training_pipeline", DAY + timedelta(days=4))


@pytest.fixture(scope="module")
def batch_inputs(sandbox: Sandbox) -> list[Path]:
    """Two files arrived for DAY: a CSV from one line (with one broken reading) and a Parquet."""
    folder = sandbox.settings.inference_dir / f"ds={DAY}"
    folder.mkdir(parents=True)
    line_a = simulate_readings(300, DAY, seed=1)
    line_a.loc[7, "torque"] = -3.0
    line_a.to_csv(folder / "line_a.csv", index=False)
    simulate_readings(200, DAY, seed=2).to_parquet(folder / "line_b.parquet", index=False)
    return [folder / "line_a.csv", folder / "line_b.parquet"]


@pytest.fixture(scope="module")
def batch_run(sandbox: Sandbox, training_run: DagRun, batch_inputs: list[Path]) -> DagRun:
    assert_succeeded(training_run)
    return sandbox.dag_test("batch_inference_pipeline", DAY)


def test_feature_dag_writes_the_days_partition_and_publishes_the_asset(
    sandbox: Sandbox, features_run: DagRun
) -> None:
    # given the real AI4I file, when the feature DAG runs for DAY
    assert_succeeded(features_run)
    # then the day's partition holds the validated features and both reports
    day = sandbox.settings.processed_dir / f"ds={DAY}"
    for name in (
        "validated.parquet",
        "features.parquet",
        "quality_report.json",
        "feature_report.json",
    ):
        assert (day / name).is_file(), f"{name} missing from {day}"
    assert len(pd.read_parquet(day / "features.parquet")) == 6000, "the 6,000 type L readings"
    # and the old partition is gone
    assert sorted(p.name for p in sandbox.settings.processed_dir.iterdir()) == [f"ds={DAY}"]
    # and the Asset event names the day and the file, for the training DAG
    events = sandbox.query(
        "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = ?",
        "predmaint_features",
    )
    assert [json.loads(extra) for (extra,) in events] == [
        {"ds": DAY.isoformat(), "path": str(day / "features.parquet")}
    ]
    # and XCom holds counts and paths, not data
    quality = sandbox.xcom(
        "feature_engineering_pipeline", features_run.run_id, "validate_data_quality"
    )
    assert quality["rows_kept"] == 6000 and quality["ds"] == DAY.isoformat()


def test_training_dag_trains_both_models_from_the_asset_and_registers_a_champion(
    sandbox: Sandbox, training_run: DagRun
) -> None:
    from predmaint.models.registry import history
    from predmaint.models.versions import champion_info

    assert_succeeded(training_run)
    run_id = training_run.run_id
    data = sandbox.xcom("model_training_pipeline", run_id, "validate_training_data")
    assert data["path"] == str(sandbox.settings.processed_dir / f"ds={DAY}" / "features.parquet")
    assert "from the predmaint_features asset" in training_run.log, "data came through the Asset"
    # both kinds trained in their own tasks, compared, registered
    ranking = sandbox.xcom("model_training_pipeline", run_id, "evaluate_models")
    assert sorted(row["kind"] for row in ranking) == ["random_forest", "svm"]
    assert ranking[0]["f1"] >= ranking[1]["f1"]
    versions = sandbox.xcom("model_training_pipeline", run_id, "register_models")
    assert len(versions) == 2
    # the best one is champion, and the health check ran on it
    decision = sandbox.xcom("model_training_pipeline", run_id, "promote_best_model")
    assert decision["action"] == "promoted"
    champion = champion_info(sandbox.settings)
    assert champion.version == decision["champion_version"]
    assert champion.model_type == ranking[0]["kind"]
    check = sandbox.xcom("model_training_pipeline", run_id, "check_champion")
    assert check["action"] in {"none", "alert", "rolled-back"}
    actions = [event.action for event in history(sandbox.settings)]
    assert actions.count("registered") == 2 and "promoted" in actions
    # and the task logs stay readable (skops's module scan would add ~1,000 warnings per model)
    assert training_run.log.count("DeprecatedImportWarning") < 10


def test_batch_dag_scores_each_file_in_a_mapped_task_and_writes_the_report(
    sandbox: Sandbox, batch_run: DagRun
) -> None:
    from predmaint.models.versions import champion_info

    assert_succeeded(batch_run)
    mapped = sorted(task for task in batch_run.tasks if task.startswith("generate_predictions"))
    assert mapped == ["generate_predictions[0]", "generate_predictions[1]"], "one per input file"
    out = sandbox.settings.predictions_dir / f"ds={DAY}"
    assert sorted(p.name for p in out.iterdir()) == [
        "part-line_a.parquet",
        "part-line_b.parquet",
        "quarantine",
        "report.json",
        "work_orders.csv",
        "work_orders.json",
    ]
    report = json.loads((out / "report.json").read_text())
    assert report["model_version"] == champion_info(sandbox.settings).version
    assert (report["inputs"], report["rows_in"]) == (2, 500)
    assert (report["rows_scored"], report["rows_quarantined"]) == (499, 1)
    scored = pd.concat(pd.read_parquet(p) for p in sorted(out.glob("part-*.parquet")))
    assert len(scored) == 499 and {"prediction", "failure_probability", "risk_level"} <= set(scored)
    # and the challenger answered every published prediction in its own task, by id
    assert batch_run.tasks["shadow_predictions"] == "success"
    shadow_dir = sandbox.settings.shadow_dir / f"ds={DAY}"
    shadow = pd.concat(pd.read_parquet(p) for p in sorted(shadow_dir.glob("part-*.parquet")))
    assert sorted(shadow["prediction_id"]) == sorted(scored["prediction_id"])
    assert shadow["challenger_version"].notna().all()
    # the day's quarantine lives in its partition, linked from quarantine/ds=…/inference
    quarantine = (
        sandbox.settings.quarantine_dir / f"ds={DAY}" / "inference" / "inference-line_a.csv"
    )
    assert "torque" in quarantine.read_text(), "the broken reading is quarantined with its rule"


def test_rerunning_a_batch_day_replaces_it_without_duplicates(
    sandbox: Sandbox, batch_run: DagRun, batch_inputs: list[Path]
) -> None:
    # given a scored day, when one file is withdrawn and the day is run again
    assert_succeeded(batch_run)
    out = sandbox.settings.predictions_dir / f"ds={DAY}"
    before = pd.read_parquet(out / "part-line_b.parquet").drop(columns="scored_at")
    batch_inputs[0].unlink()
    rerun = sandbox.dag_test("batch_inference_pipeline", DAY)
    # then the day holds exactly the remaining file's predictions, identical to the first run
    assert_succeeded(rerun)
    assert sorted(p.name for p in out.iterdir()) == [
        "part-line_b.parquet",
        "quarantine",
        "report.json",
        "work_orders.csv",
        "work_orders.json",
    ]
    assert not list((out / "quarantine").iterdir()), "the withdrawn file's quarantine went too"
    after = pd.read_parquet(out / "part-line_b.parquet").drop(columns="scored_at")
    pd.testing.assert_frame_equal(before, after)
    report = json.loads((out / "report.json").read_text())
    assert (report["inputs"], report["rows_scored"]) == (1, 200)


def test_a_day_without_readings_is_simulated_and_scored(
    sandbox: Sandbox, training_run: DagRun
) -> None:
    assert_succeeded(training_run)
    day = DAY - timedelta(days=1)
    run = sandbox.dag_test("batch_inference_pipeline", day, PREDMAINT_SIMULATE_ROWS="300")
    assert_succeeded(run)
    report = json.loads(
        (sandbox.settings.predictions_dir / f"ds={day}" / "report.json").read_text()
    )
    assert report["rows_in"] == 300 and report["files"][0]["input"].endswith("simulated.parquet")


def test_a_day_with_an_unreadable_file_is_scored_and_marked_partial_without_retry(
    sandbox: Sandbox, training_run: DagRun
) -> None:
    # given a day with a good file and an empty one
    assert_succeeded(training_run)
    day = DAY - timedelta(days=3)
    folder = sandbox.settings.inference_dir / f"ds={day}"
    folder.mkdir(parents=True)
    simulate_readings(120, day, seed=3).to_parquet(folder / "good.parquet", index=False)
    (folder / "empty.csv").write_bytes(b"")
    # when the batch DAG runs
    run = sandbox.dag_test("batch_inference_pipeline", day)
    # then both files' tasks and the report succeed, the good file is published...
    mapped = {t: s for t, s in run.tasks.items() if t.startswith("generate_predictions")}
    assert set(mapped.values()) == {"success"} and len(mapped) == 2
    assert run.tasks["inference_report"] == "success"
    report = json.loads(
        (sandbox.settings.predictions_dir / f"ds={day}" / "report.json").read_text()
    )
    assert (report["status"], report["rows_scored"]) == ("partial", 120)
    assert "empty.csv" in report["quality"]["unreadable_files"]
    # ...and the day is marked by one failed task, not retried, naming the file
    assert run.state == "failed"
    assert run.tasks["check_inputs_readable"] == "failed"
    assert run.tries["check_inputs_readable"] == 1
    assert "empty.csv" in run.log


def test_a_failed_validation_fails_at_once_naming_the_rule_and_the_quarantine_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # given a raw file whose every torque reading is impossible
    raw = pd.read_csv(SHARED_DATA).head(300)
    raw["Torque [Nm]"] = -5.0
    bad = tmp_path / "bad.csv"
    raw.to_csv(bad, index=False)
    day = DAY - timedelta(days=2)
    # when the feature DAG runs on it
    run = sandbox.dag_test("feature_engineering_pipeline", day, PREDMAINT_RAW_DATA=str(bad))
    # then the validation task fails on its first try (no retry can fix data), and nothing
    # downstream runs
    assert run.state == "failed"
    assert run.tasks["validate_data_quality"] == "failed"
    assert run.tries["validate_data_quality"] == 1, "bad data must not be retried"
    assert {run.tasks[t] for t in ("extract_features", "validate_features", "clean_old_files")} == {
        "upstream_failed"
    }
    # and the message names the rule and the quarantine file, which holds the rows and reasons
    quarantine = sandbox.settings.quarantine_dir / f"ds={day}" / "raw.csv"
    assert "rules broken: torque must be in [0, 200] Nm (300 rows)" in run.log
    assert f"(quarantined rows: {quarantine})" in run.log
    assert len(pd.read_csv(quarantine)) == 300


def test_monitoring_dag_runs_on_the_batchs_asset_and_writes_the_days_report(
    sandbox: Sandbox, batch_run: DagRun
) -> None:
    # given the batch DAG scored DAY, it published the day for monitoring
    assert_succeeded(batch_run)
    events = sandbox.query(
        "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = ?",
        "predmaint_predictions",
    )
    assert {json.loads(extra)["ds"] for (extra,) in events} >= {DAY.isoformat()}
    # when the monitoring DAG runs for that day
    run = sandbox.dag_test("model_monitoring_pipeline", DAY)
    # then it monitors, finds nothing to retrain for, and emits no retraining event
    assert run.state == "success", run.log[-6000:]
    assert run.tasks["monitor_predictions"] == "success"
    assert run.tasks["needs_retraining"] == "success"
    assert run.tasks["request_retraining"] == "skipped"
    summary = sandbox.xcom("model_monitoring_pipeline", run.run_id, "monitor_predictions")
    assert summary["ds"] == DAY.isoformat() and summary["retrain_requested"] is False
    assert not sandbox.query(
        "SELECT 1 FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = ?",
        "predmaint_retraining",
    )
    # and the day's report holds the batch's drift verdict and the shadow challenger
    report = json.loads(Path(summary["report_path"]).read_text())
    assert report["ds"] == DAY.isoformat() and report["drift"]["evaluated"] is True
    assert report["challenger_version"] is not None
    assert (
        report["shadow"][0]["compared"]
        == report["by_version"][report["champion_version"]]["predictions"]
    )
    assert report["actions"] and report["actions"][0]["status"] in {"none", "applied"}
    page = Path(summary["page_path"])
    assert page == sandbox.settings.reports_dir / f"ds={DAY}" / "index.html" and page.is_file()
    assert summary["mlflow_run_id"], "the day is logged to predmaint-monitoring"
