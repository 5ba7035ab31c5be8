"""`predmaint demo` end to end, as a user runs it: normal days, then a cooling loss; outcomes come
back late; drift is detected; retraining is triggered on the latest data; the registry moves.
Each step is checked against the reason it happened for, in the reports, MLflow and the history.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from predmaint.cli import app
from predmaint.models.registry import history
from predmaint.settings import Settings
from predmaint.storage import partition_dir, read_json
from tests.support.project import FAST, SHARED_DATA, make_settings

pytestmark = pytest.mark.slow
DAYS, DRIFT_FROM, ROWS = 10, 3, 1500


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, Any]]:
    home = tmp_path_factory.mktemp("demo")
    env = {"PREDMAINT_HOME": str(home), "PREDMAINT_RAW_DATA": str(SHARED_DATA)}
    env |= {f"PREDMAINT_{k.upper()}": json.dumps(v) for k, v in FAST.items()}
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--days",
            str(DAYS),
            "--drift-from",
            str(DRIFT_FROM),
            "--rows",
            str(ROWS),
            "--json",
        ],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output[-4000:]
    return make_settings(home, **FAST), json.loads(result.output)


def _actions(day: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [a for a in day["actions"] if a["action"] == kind]


def test_drift_is_detected_on_the_hot_days_and_named(
    played: tuple[Settings, dict[str, Any]],
) -> None:
    _, demo = played
    days = demo["days"]
    assert [d["scenario"] for d in days] == ["normal"] * DRIFT_FROM + ["cooling_loss"] * (
        DAYS - DRIFT_FROM
    )
    for day in days[DRIFT_FROM:]:
        assert day["drift_detected"] is True, day
        assert "process_temperature" in day["drifted_features"], day
    # outcomes come back late: none on the first day, then every day
    assert days[0]["outcomes_recorded"] == 0
    assert all(d["outcomes_recorded"] > 0.5 * ROWS * 0.8 for d in days[2:]), days


def test_retraining_is_triggered_by_k_drifted_days_and_runs_on_the_latest_data(
    played: tuple[Settings, dict[str, Any]],
) -> None:
    settings, demo = played
    days = demo["days"]
    retrains = [(d, a) for d in days for a in _actions(d, "retrain")]
    assert retrains, "drift on 3 of 5 days must trigger a retraining"
    day, first = retrains[0]
    index = days.index(day)
    # for the rule's reason: K drifted days, on or after the drift began, features named
    evidence = first["evidence"]
    assert index >= DRIFT_FROM, (index, first)
    assert evidence["metrics"]["drift_days"] >= settings.drift_trigger_days
    assert "process_temperature" in evidence["drifted_features"]
    # and it ran, on the features plus the plant's labelled readings
    assert first["status"] == "applied" and "labelled plant readings" in first["detail"]
    ds = date.fromisoformat(days[index]["ds"])
    retraining = pd.read_parquet(
        partition_dir(settings.processed_dir, ds) / "retraining.parquet", columns=["type"]
    )
    assert len(retraining) > 6000, "the 6,000 type L feature rows and the plant's readings"
    # the training round's own verdict is consistent with its comparison
    verdict = first["detail"].split(": ", 1)[1] if ": " in first["detail"] else ""
    assert ("promoted" in verdict and " > " in verdict) or ("kept" in verdict and "<=" in verdict)


def test_every_registry_move_follows_its_rule_and_is_in_the_history(
    played: tuple[Settings, dict[str, Any]],
) -> None:
    settings, demo = played
    days = demo["days"]
    events = history(settings)
    moves = [
        (i, a)
        for i, d in enumerate(days)
        for a in d["actions"]
        if a["action"] in {"promote", "rollback"}
    ]
    for index, action in moves:
        assert action["status"] == "applied", action
        metrics = action["evidence"]["metrics"]
        assert action["evidence"]["labelled"] >= settings.min_outcomes
        if action["action"] == "promote":
            assert metrics["challenger_f1"] > metrics["champion_f1"] + settings.promotion_margin
        else:
            assert metrics["previous_f1"] > metrics["champion_f1"]
        # the next day is scored by the version it moved to
        if index + 1 < len(days):
            assert days[index + 1]["champion_version"] == action["to_version"]
    automatic = [e for e in events if e.evidence.get("automatic")]
    assert {e.action for e in automatic} >= {"retrain-requested"}
    assert len([e for e in automatic if e.action == "promoted"]) == len(
        [m for m in moves if m[1]["action"] == "promote"]
    )
    # the champion changed during the demo: by a training round or by monitoring's evidence
    served = [d["champion_version"] for d in days]
    assert len(set(served)) >= 2, served


def test_each_day_has_its_report_page_and_mlflow_run(
    played: tuple[Settings, dict[str, Any]],
) -> None:
    from mlflow.tracking import MlflowClient

    settings, demo = played
    client = MlflowClient(settings.resolved_tracking_uri)
    experiment = client.get_experiment_by_name("predmaint-monitoring")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    assert sorted(r.data.tags["ds"] for r in runs) == [d["ds"] for d in demo["days"]]
    for day in demo["days"]:
        folder = partition_dir(settings.monitoring_dir, date.fromisoformat(day["ds"]))
        report = read_json(folder / "report.json")
        assert report["ds"] == day["ds"] and "by_version" in report and "actions" in report
        assert Path(day["page"]).is_file()
    last = max(runs, key=lambda r: r.data.tags["ds"])
    assert "champion_f1" in last.data.metrics and "drift_detected" in last.data.metrics
    artifacts = {a.path for a in client.list_artifacts(last.info.run_id, "report")}
    assert artifacts == {"report/index.html", "report/report.json"}
