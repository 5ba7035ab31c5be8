"""A real Airflow, started the way ``make airflow`` starts it, runs ``batch_inference_pipeline``.

The launcher (``pipelines/airflow/run_local.py``) starts the API server, scheduler and DAG
processor on a temporary home and a free port; the test logs in as admin/admin through the REST
API, unpauses and triggers the batch DAG, waits (bounded) for the run to succeed, checks the day's
predictions, then stops the launcher with SIGINT, as Ctrl-C would, and checks nothing is left.
Another start is stopped with SIGTERM to the launcher's process group (what ``timeout``, a
supervisor or a container runtime sends), and the launcher's environment sizes LocalExecutor.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from predmaint.settings import Settings
from tests.support.airflow_api import AirflowApi
from tests.support.airflow_launcher import LAUNCHER, load_launcher
from tests.support.loopback import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

T = TypeVar("T")
DAG_ID = "batch_inference_pipeline"
STARTUP_TIMEOUT_S = 180
RUN_TIMEOUT_S = 240
STOP_TIMEOUT_S = 90


@dataclass
class LocalAirflow:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    api: AirflowApi = field(init=False)

    def __post_init__(self) -> None:
        self.api = AirflowApi(f"http://127.0.0.1:{self.port}")

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def died(self) -> str | None:
        code = self.process.poll()
        return None if code is None else f"the launcher (code {code})"

    def wait_for(
        self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 2.0
    ) -> T:
        """Call ``probe`` until it returns something truthy; fail with the launcher's log."""
        return wait_for(what, probe, timeout, interval, died=self.died, report=self.log_tail)

    def component_pids(self) -> list[int]:
        started = re.search(r"started: (.*)", self.log_path.read_text())
        assert started, f"the launcher did not report its components:\n{self.log_tail()}"
        return [int(pid) for pid in re.findall(r"=(\d+)", started.group(1))]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def launch(
    predmaint_home: Path, tmp_path: Path, *, new_session: bool = False, **extra: str
) -> LocalAirflow:
    """``make airflow`` on a temporary home and a free port, its output in ``airflow.log``."""
    port = free_port()
    log_path = tmp_path / "airflow.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"PREDMAINT_HOME": str(predmaint_home), "PYTHONUNBUFFERED": "1", **extra})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                str(LAUNCHER),
                "--home",
                str(tmp_path / "airflow_home"),
                "--port",
                str(port),
                "--no-triggerer",
            ],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    return LocalAirflow(process, port, log_path)


def stop_if_running(airflow: LocalAirflow) -> None:
    process = airflow.process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def local_airflow(fresh_trained: Settings, tmp_path: Path) -> Iterator[LocalAirflow]:
    """``make airflow`` on a temporary home and a free port, over a project with a champion."""
    airflow = launch(fresh_trained.home, tmp_path, PREDMAINT_SIMULATE_ROWS="300")
    try:
        yield airflow
    finally:
        stop_if_running(airflow)


def test_a_real_scheduler_runs_the_batch_dag_and_ctrl_c_stops_everything(
    local_airflow: LocalAirflow, fresh_trained: Settings
) -> None:
    airflow, api = local_airflow, local_airflow.api
    # given a running local Airflow, logged in as the spec's admin/admin
    airflow.wait_for("waiting for the API server", api.healthy, STARTUP_TIMEOUT_S)
    api.log_in()
    api.wait_until_parsed(DAG_ID, airflow.wait_for, STARTUP_TIMEOUT_S)

    # when the batch DAG is triggered for today (the interval unpausing schedules, so there is
    # exactly one run) and unpaused
    today = datetime.now(UTC).date()
    run_id = api.trigger(DAG_ID, today, "test")

    # then the scheduler runs it to success within the bound
    state = api.wait_until_finished(DAG_ID, run_id, airflow.wait_for, RUN_TIMEOUT_S)
    tasks = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
    states = {
        f"{t['task_id']}[{t['rendered_map_index'] or t['map_index']}]": t["state"]
        for t in tasks["task_instances"]
    }
    assert state == "success", f"run {run_id} {state}: {states}\n{airflow.log_tail()}"
    assert states["generate_predictions[simulated.parquet]"] == "success", states

    # and the day's predictions and report are on disk, scored by the champion
    report = json.loads((fresh_trained.predictions_dir / f"ds={today}" / "report.json").read_text())
    assert report["rows_scored"] == 300 and report["model_version"] == "1"

    # and the task's log is readable through the API, as the UI shows it (no log server needed)
    log = api.call(
        "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/inference_report/logs/1"
    )
    assert "rows_scored" in json.dumps(log), "the report task's log shows its result"

    # and SIGINT (Ctrl-C) stops the launcher and every component it started
    pids = airflow.component_pids()
    airflow.process.send_signal(signal.SIGINT)
    assert airflow.process.wait(STOP_TIMEOUT_S) == 0, airflow.log_tail()
    assert [pid for pid in pids if alive(pid)] == [], (
        f"components left running:\n{airflow.log_tail()}"
    )


def test_sigterm_to_the_launchers_process_group_stops_everything(tmp_path: Path) -> None:
    # given `make airflow` started as a supervisor, `timeout` or a container runtime starts it:
    # the leader of its own process group, here with LocalExecutor sized to two task processes
    airflow = launch(
        tmp_path / "project", tmp_path, new_session=True, PREDMAINT_AIRFLOW_PARALLELISM="2"
    )
    try:
        airflow.wait_for("waiting for the API server", airflow.api.healthy, STARTUP_TIMEOUT_S)
        pids = airflow.component_pids()
        started = re.search(r"scheduler=(\d+)", airflow.log_path.read_text())
        assert started, airflow.log_tail()
        scheduler = int(started.group(1))
        environ = Path(f"/proc/{scheduler}/environ").read_bytes().split(b"\0")
        assert b"AIRFLOW__CORE__PARALLELISM=2" in environ

        # when the whole group gets SIGTERM
        os.killpg(airflow.process.pid, signal.SIGTERM)

        # then the launcher stops every component and exits cleanly, leaving nothing running
        assert airflow.process.wait(STOP_TIMEOUT_S) == 0, airflow.log_tail()
        assert [pid for pid in pids if alive(pid)] == [], (
            f"components left running:\n{airflow.log_tail()}"
        )
        log = airflow.log_path.read_text()
        for name in ("api-server", "scheduler", "dag-processor"):
            assert f"{name} stopped" in log, airflow.log_tail()
    finally:
        stop_if_running(airflow)


def test_local_executor_parallelism_follows_the_setting_and_defaults_to_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launcher = load_launcher()
    monkeypatch.delenv("PREDMAINT_AIRFLOW_PARALLELISM", raising=False)
    env = launcher.airflow_env(tmp_path / "airflow_home", port=8080)
    assert env["AIRFLOW__CORE__PARALLELISM"] == str(len(os.sched_getaffinity(0)))

    monkeypatch.setenv("PREDMAINT_AIRFLOW_PARALLELISM", "3")
    env = launcher.airflow_env(tmp_path / "airflow_home", port=8080)
    airflow = Path(sys.executable).with_name("airflow")
    read = subprocess.run(
        [str(airflow), "config", "get-value", "core", "parallelism"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip().splitlines()[-1] == "3", read.stdout
