"""``predmaint demo``: the loop played over simulated days, so it can be seen without a plant.

Each day: a plant file arrives (normal readings, then a drift scenario from ``drift_from`` on),
the batch job scores it with the champion and the shadow step with the challenger, the plant
reports outcomes of earlier days (``report_share`` of the readings, 1 to ``max_delay_days`` days
late) as a file dropped in ``outcomes/ds=…/``, and monitoring runs with acting on: it ingests
the file, measures, checks drift, decides, and acts: registry moves with evidence, and
retraining on the latest data (:mod:`~predmaint.monitoring.retraining`) through the ``train``
callable the shell passes (the CLI's is the main job's training step). Every step lands in the
day's report, page, MLflow run
and the registry history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from predmaint.data.scenarios import Scenario, simulate_scenario
from predmaint.data.simulated_outcomes import reported_on, simulate_outcomes
from predmaint.inference.batch import run_batch
from predmaint.inference.shadow import run_shadow
from predmaint.monitoring.daily import monitor_day
from predmaint.monitoring.decisions import Action
from predmaint.monitoring.retraining import write_retraining_data
from predmaint.settings import Settings
from predmaint.storage import partition_dir, write_csv_atomic, write_parquet_atomic

PLANT_FILE = "plant-line-1.parquet"
#: Trains on a features file for a day; returns a one-line summary of what it did.
Train = Callable[[date, Path], str]
Notify = Callable[[str], None]


@dataclass(frozen=True)
class DemoDay:
    """One played day: what came in, what monitoring saw and what it did."""

    ds: date
    scenario: Scenario
    champion_version: str
    challenger_version: str | None
    rows_scored: int
    alerts: int
    outcomes_recorded: int
    drift_detected: bool | None
    drifted_features: tuple[str, ...]
    actions: list[dict[str, Any]]
    page: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "ds": self.ds.isoformat(),
            "scenario": self.scenario,
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "rows_scored": self.rows_scored,
            "alerts": self.alerts,
            "outcomes_recorded": self.outcomes_recorded,
            "drift_detected": self.drift_detected,
            "drifted_features": list(self.drifted_features),
            "actions": self.actions,
            "page": str(self.page),
        }


@dataclass
class DemoResult:
    days: list[DemoDay] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"days": [d.to_dict() for d in self.days]}


def _scored(settings: Settings, ds: date) -> pd.DataFrame:
    folder = partition_dir(settings.predictions_dir, ds)
    return pd.concat(pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet")))


def play_demo(
    settings: Settings,
    train: Train,
    *,
    days: int = 14,
    first: date,
    drift_from: int = 6,
    scenario: Scenario = "cooling_loss",
    rows: int = 2000,
    report_share: float = 0.8,
    max_delay_days: int = 2,
    notify: Notify | None = None,
) -> DemoResult:
    """Play ``days`` days from ``first``; the champion must exist (the shell trains one)."""
    say = notify or (lambda _message: None)
    result = DemoResult()
    pending: list[pd.DataFrame] = []
    for offset in range(days):
        ds = first + timedelta(days=offset)
        today: Scenario = scenario if offset >= drift_from else "normal"
        say(f"{ds}: {today} day")
        readings = simulate_scenario(
            rows,
            ds,
            today,
            machine_types=settings.machine_types,
            machines=settings.simulated_machines,
        )
        folder = partition_dir(settings.inference_dir, ds)
        write_parquet_atomic(readings, folder / PLANT_FILE)
        batch = run_batch(settings, ds)
        shadow = run_shadow(settings, ds)
        pending.append(
            simulate_outcomes(
                _scored(settings, ds),
                ds,
                report_share=report_share,
                max_delay_days=max_delay_days,
            )
        )
        due = pd.concat([reported_on(o, ds) for o in pending], ignore_index=True)
        if not due.empty:
            name = f"plant-outcomes-{ds}.csv"
            write_csv_atomic(due, partition_dir(settings.outcomes_dir, ds) / name)

        def retrain(action: Action, ds: date = ds) -> str:
            data = write_retraining_data(settings, ds)
            say(f"{ds}: retraining on {data.base_rows} + {data.plant_rows} plant rows")
            return (
                f"trained on {data.base_rows} feature rows + {data.plant_rows} labelled plant "
                f"readings ({data.plant_failures} failures): {train(ds, Path(data.path))}"
            )

        run = monitor_day(settings, ds, act=True, retrain=retrain)
        report = run.report
        drift = report.drift
        result.days.append(
            DemoDay(
                ds=ds,
                scenario=today,
                champion_version=batch.model_version,
                challenger_version=shadow.challenger_version,
                rows_scored=batch.rows_scored,
                alerts=batch.predicted_failures,
                outcomes_recorded=sum(i.rows_recorded for i in run.ingested),
                drift_detected=drift.drift_detected if drift and drift.evaluated else None,
                drifted_features=drift.drifted_features if drift else (),
                actions=[a.to_dict() for a in report.applied],
                page=run.page_path,
            )
        )
        for applied in report.applied:
            say(f"{ds}: {applied.action.kind.value} ({applied.status}): {applied.action.reason}")
    return result
