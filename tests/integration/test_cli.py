"""The CLI as a user runs it: `predmaint run` twice, then the model and data commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from predmaint import process_group
from predmaint.cli import app
from tests.support.loopback import free_port
from tests.support.project import FAST, SHARED_DATA

DAY = "2026-11-25"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PREDMAINT_HOME", str(tmp_path))
    monkeypatch.setenv("PREDMAINT_RAW_DATA", str(SHARED_DATA))
    for key, value in FAST.items():
        monkeypatch.setenv(f"PREDMAINT_{key.upper()}", json.dumps(value))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> str:
    """Run a command; its output with line wrapping undone (rich wraps at the terminal width)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output if "--json" in args else " ".join(result.output.split())


def test_run_twice_then_inspect_the_registry(env: Path) -> None:
    # first run: everything from raw file to predictions, with the time of each step
    first = invoke("run", "--date", DAY, "--rows", "200")
    for step in (
        "acquire",
        "features",
        "train + promote",
        "simulate",
        "batch inference",
        "shadow",
        "monitoring",
        "total",
    ):
        assert step in first
    # and it ends with the day's page, written where it says
    page = env / "data" / "reports" / f"ds={DAY}" / "index.html"
    assert f"the day's report page: {page}" in first and page.is_file()
    assert "promoted" in first and "no champion yet" in first
    assert (env / "mlflow.db").is_file()
    assert (env / "data" / "predictions" / f"ds={DAY}" / "report.json").is_file()
    assert (env / "data" / "shadow" / f"ds={DAY}" / "shadow.json").is_file()

    # second run: the candidates meet the champion under the promotion rule
    second = invoke("run", "--date", DAY, "--rows", "200")
    assert "kept" in second and "re-scored on the same test data" in second

    info = json.loads(invoke("model", "info", "--json"))
    assert info["version"] == "1" and info["model_type"] in ("random_forest", "svm")
    assert {"f1", "precision", "recall", "roc_auc", "pr_auc"} <= set(info)
    assert 0 < info["threshold"] < 1 and info["run_id"]

    events = json.loads(invoke("model", "history", "--json"))
    actions = [(e["version"], e["action"]) for e in events]
    assert ("1", "promoted") in actions and ("1", "kept") in actions
    assert sum(1 for _, a in actions if a == "registered") == 4
    table = invoke("model", "history")
    assert "promoted" in table and "kept" in table

    # model check on fresh simulated data: the champion is healthy
    check = json.loads(invoke("model", "check", "--rows", "2000", "--json"))
    assert check["action"] == "none"
    # manual rollback needs a previous champion: none yet, so a clear error and exit code 1
    result = CliRunner().invoke(app, ["model", "rollback"])
    assert result.exit_code == 1 and "previous-champion" in result.output
    assert "Traceback" not in result.output
    rolled = invoke("model", "rollback", "--to", "3", "--reason", "test")
    assert "champion is now v3" in rolled
    assert json.loads(invoke("model", "info", "--json"))["version"] == "3"
    # v1 was rolled back from and no champion came before it: the command says where a further
    # rollback stands, and a plain one is refused with the reason
    assert "no earlier champion is left" in rolled
    result = CliRunner().invoke(app, ["model", "rollback"])
    assert result.exit_code == 1 and "no earlier champion is left before v3" in " ".join(
        result.output.split()
    )


def test_step_commands(env: Path) -> None:
    assert "rows kept" in invoke("features", "--date", DAY)
    trained = invoke("train", "--date", DAY)
    assert "random_forest" in trained and "promoted" in trained
    invoke("simulate", "--rows", "25", "--date", DAY, "--labels", "--drift", "0.5")
    simulated = pd.read_parquet(env / "data" / "inference" / f"ds={DAY}" / "simulated.parquet")
    assert len(simulated) == 25 and "machine_failure" in simulated.columns
    assert "rows scored" in invoke("infer", "--date", DAY)
    labelled = env / "fresh.csv"
    simulated.to_csv(labelled, index=False)
    assert "champion v1" in invoke("model", "check", "--data", str(labelled))

    # outcomes of two scored readings come back, with one id nobody answered
    scored = pd.read_parquet(env / "data" / "predictions" / f"ds={DAY}" / "part-simulated.parquet")
    outcomes = env / "outcomes.csv"
    pd.DataFrame(
        {
            "prediction_id": [*scored["prediction_id"].head(2), "20000101-0000000000000000"],
            "outcome": ["failure", "no_failure", "failure"],
            "failure_mode": ["HDF", "", ""],
        }
    ).to_csv(outcomes, index=False)
    fed = json.loads(invoke("feedback", str(outcomes), "--date", DAY, "--json"))
    assert (fed["rows_recorded"], fed["rows_quarantined"]) == (2, 1), fed
    assert any("unknown" in reason for reason in fed["quarantine_reasons"]), fed
    # and monitoring joins them to the champion's predictions (report only: nothing moves)
    report = json.loads(invoke("monitor", "--date", DAY, "--json"))
    champion = report["by_version"][report["champion_version"]]
    assert champion["labelled"] == 2 and report["outcomes"] == 2
    assert report["actions"][0]["status"] == "none"
    assert "fewer than" in report["drift"]["note"], "25 readings: no drift verdict"
    assert Path(report["page_path"]).is_file() and Path(report["report_path"]).is_file()


def test_bad_date_and_missing_model_are_clear(env: Path) -> None:
    result = CliRunner().invoke(app, ["features", "--date", "25/11/2026"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output
    result = CliRunner().invoke(app, ["model", "info"])
    assert result.exit_code == 1 and "predmaint run" in result.output


def test_console_script_is_installed() -> None:
    out = subprocess.run(
        [str(Path(sys.executable).with_name("predmaint")), "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("run", "features", "train", "simulate", "infer", "model", "serve", "mlflow-ui"):
        assert command in out


def test_mlflow_ui_serves_the_embedded_store(trained_home: Any) -> None:
    # given the store `predmaint run` wrote, when `predmaint mlflow-ui` (make mlflow) starts
    import os
    import time
    import urllib.request

    from predmaint.models.versions import champion_info

    port = free_port()
    env = {**os.environ, "PREDMAINT_HOME": str(trained_home.home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("predmaint")), "mlflow-ui", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: teardown stops the server's workers too
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "MLflow UI did not start within 90 s"
                assert process.poll() is None, "MLflow UI exited"
                time.sleep(0.5)
        # then the UI's API shows the champion and serves the run's plots
        info = champion_info(trained_home)
        alias = json.load(
            urllib.request.urlopen(
                f"{base}/api/2.0/mlflow/registered-models/alias"
                f"?name={trained_home.model_name}&alias=champion",
                timeout=10,
            )
        )
        assert alias["model_version"]["version"] == info.version
        with urllib.request.urlopen(
            f"{base}/get-artifact?path=plots/roc_curve.png&run_uuid={info.run_id}", timeout=10
        ) as response:
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        # a loaded machine can take longer than any fixed wait to shut MLflow's workers down:
        # the group is killed after the grace, so teardown never fails the test
        process_group.stop(process, timeout=30)


def _console_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell for `predmaint` run as a real process in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREDMAINT_", "MLFLOW_"))}
    env.update(
        {
            "PREDMAINT_HOME": str(home),
            "PREDMAINT_RAW_DATA": str(SHARED_DATA),
            "PREDMAINT_MODELS": '["random_forest"]',
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "COLUMNS": "200",
            **{f"PREDMAINT_{key.upper()}": json.dumps(value) for key, value in FAST.items()},
            **extra,
        }
    )
    return env


PREDMAINT = Path(sys.executable).with_name("predmaint")


def test_two_runs_started_together_in_a_fresh_home_end_clearly_with_one_champion(
    tmp_path: Path,
) -> None:
    # given a fresh home, when two `predmaint run` start at the same moment
    home = tmp_path / "home"
    command = [str(PREDMAINT), "run", "--date", DAY, "--rows", "100"]
    runs = [
        subprocess.Popen(
            command,
            env=_console_env(home),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [" ".join(r.communicate(timeout=540)[0].decode().split()) for r in runs]

    # then one runs the main job and the other stops at once with one line saying why
    codes = [r.returncode for r in runs]
    assert sorted(codes) == [0, 1], outputs
    done, refused = (outputs[0], outputs[1]) if codes[0] == 0 else (outputs[1], outputs[0])
    assert "promoted" in done and "batch inference" in done, done
    assert "Traceback" not in refused, refused
    assert f"another predmaint command is working in {home}" in refused, refused
    assert "`predmaint run` started" in refused, refused

    # and the home holds exactly one champion, promoted once
    events = json.loads(
        subprocess.run(
            [str(PREDMAINT), "model", "history", "--json"],
            env=_console_env(home),
            cwd=tmp_path,
            capture_output=True,
            check=True,
        ).stdout
    )
    assert [(e["version"], e["action"]) for e in events if e["action"] == "promoted"] == [
        ("1", "promoted")
    ]
    assert next(e["aliases"] for e in events if e["version"] == "1") == ["champion"]


def test_degenerate_training_data_stops_with_one_line(tmp_path: Path) -> None:
    # given the user's own AI4I-format file: 10 failures and 3 normal readings of type L
    raw = pd.read_csv(SHARED_DATA)
    type_l = raw[raw["Type"] == "L"]
    failed = type_l["Machine failure"] == 1
    own = pd.concat([type_l[failed].head(10), type_l[~failed].head(3)])
    path = tmp_path / "own.csv"
    own.to_csv(path, index=False)

    # when the main job runs on it
    result = subprocess.run(
        [str(PREDMAINT), "run", "--date", DAY, "--rows", "50"],
        env=_console_env(tmp_path / "home", PREDMAINT_RAW_DATA=str(path)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    # then it stops before training with one line that says what the data lacks
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:"), result.stderr
    assert "10 failure(s) and 3 normal row(s)" in errors[0], errors
