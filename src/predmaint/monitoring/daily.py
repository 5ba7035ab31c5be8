"""One day of monitoring, end to end: outcomes in, evidence, decisions, actions, report, page.

:func:`monitor_day` is what ``predmaint monitor``, the ``model_monitoring_pipeline`` DAG, the main
job and the demo call:

1. files dropped in ``outcomes/ds=…/`` are ingested (validated against the known prediction ids);
2. predictions of the window (batch and API) are joined to their latest outcomes: realized
   metrics per version and the shadow comparison;
3. the day's drift verdict is read from the batch report (computed while scoring);
4. the rules decide (:mod:`~predmaint.monitoring.decisions`), and with ``act`` the actions are
   applied (:mod:`~predmaint.monitoring.acting`);
5. ``monitoring/ds=…/report.json`` and ``reports/ds=…/index.html`` are written, and the day is
   logged to MLflow (experiment ``predmaint-monitoring``);
6. day partitions past their retention are removed (:mod:`predmaint.data.retention`: what this
   step reads back is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from predmaint.data.retention import REPORT_HISTORY_DAYS, clean_up
from predmaint.features.drift import DriftResult
from predmaint.models.registry import history
from predmaint.models.tracking import CHALLENGER, CHAMPION
from predmaint.models.versions import ModelVersion
from predmaint.monitoring.acting import AppliedAction, Retrain, apply_actions
from predmaint.monitoring.decisions import Action, ActionKind, DecisionRules, decide
from predmaint.monitoring.evidence import alias_info, gather
from predmaint.monitoring.outcomes import OutcomeIngest, ingest_dropped, load_outcomes
from predmaint.monitoring.page import AlertRow, PageInputs, RegistryEvent, write_page
from predmaint.monitoring.performance import realized_performance
from predmaint.monitoring.predictions import known_prediction_ids, load_predictions, window
from predmaint.monitoring.report import (
    MonitoringReport,
    drift_history,
    performance_history,
    write_monitoring_report,
)
from predmaint.monitoring.tracking import log_monitoring
from predmaint.settings import Settings
from predmaint.storage import partition_dir, read_json

BATCH_REPORT = "report.json"
PART_GLOB = "part-*.parquet"
EVENTS_SHOWN = 20
HISTORY_DAYS = REPORT_HISTORY_DAYS  # retention keeps this much monitoring history
_ALERT_COLUMNS = ("prediction_id", "failure_probability", "risk_level", "model_version")


@dataclass(frozen=True)
class MonitoringRun:
    """What monitoring one day did, and where it wrote it."""

    report: MonitoringReport
    report_path: Path
    page_path: Path
    ingested: tuple[OutcomeIngest, ...]
    mlflow_run_id: str | None
    removed_partitions: tuple[Path, ...] = ()

    @property
    def retrain_requested(self) -> bool:
        """A retraining was decided and left to the caller (the DAG emits its Asset)."""
        return any(
            a.action.kind == ActionKind.RETRAIN and a.status == "requested"
            for a in self.report.applied
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "report_path": str(self.report_path),
            "page_path": str(self.page_path),
            "ingested": [i.to_dict() for i in self.ingested],
            "mlflow_run_id": self.mlflow_run_id,
            "removed_partitions": [str(path) for path in self.removed_partitions],
            "retrain_requested": self.retrain_requested,
        }


@dataclass(frozen=True)
class ScoredDay:
    """The batch day as the page shows it: scores, risk levels, alerts, drift."""

    model_version: str | None
    simulated: bool
    probabilities: list[float]
    risk_levels: dict[str, int]
    alerts: list[AlertRow]
    drift: DriftResult | None


def scored_day(settings: Settings, ds: date) -> ScoredDay:
    """Read the day's batch report and part files (an unscored day is empty, not an error)."""
    folder = partition_dir(settings.predictions_dir, ds)
    report_file = folder / BATCH_REPORT
    payload = read_json(report_file) if report_file.is_file() else {}
    frames = []
    for path in sorted(folder.glob(PART_GLOB)) if folder.is_dir() else []:
        names = set(pq.read_schema(path).names)
        columns = [c for c in (*_ALERT_COLUMNS, "udi", "product_id") if c in names]
        frames.append(pd.read_parquet(path, columns=columns))
    day = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    alerts: list[AlertRow] = []
    if not day.empty and "risk_level" in day:
        failing = day[day["risk_level"].isin(["Alto", "Crítico"])]
        failing = failing.sort_values("failure_probability", ascending=False)
        for row in failing.to_dict("records"):
            udi = row.get("udi")
            product = row.get("product_id")
            alerts.append(
                AlertRow(
                    str(row.get("prediction_id", "")),
                    float(row["failure_probability"]),
                    str(row["risk_level"]),
                    str(row["model_version"]),
                    None if udi is None or pd.isna(udi) else int(udi),
                    None if product is None or pd.isna(product) else str(product),
                )
            )
    drift = payload.get("drift")
    return ScoredDay(
        model_version=payload.get("model_version"),
        simulated=bool(payload.get("simulated", False)),
        probabilities=day["failure_probability"].astype(float).tolist() if not day.empty else [],
        risk_levels={str(k): int(v) for k, v in (payload.get("risk_levels") or {}).items()},
        alerts=alerts,
        drift=DriftResult.from_dict(drift) if drift else None,
    )


def registry_events(settings: Settings) -> list[RegistryEvent]:
    """The latest registry events, newest first."""
    events = history(settings)[-EVENTS_SHOWN:]
    return [
        RegistryEvent(
            e.time.strftime("%Y-%m-%d %H:%M:%S"),
            e.version,
            e.action + (" (auto)" if e.evidence.get("automatic") else ""),
            e.reason,
        )
        for e in reversed(events)
    ]


def _page_inputs(
    settings: Settings,
    report: MonitoringReport,
    day: ScoredDay,
    champion: ModelVersion | None,
) -> PageInputs:
    return PageInputs(
        ds=report.ds,
        model_version=day.model_version or (champion.version if champion else None),
        threshold=champion.threshold if champion else None,
        failure_probabilities=day.probabilities,
        risk_levels=day.risk_levels,
        alerts=day.alerts,
        simulated=day.simulated,
        drift=day.drift,
        drift_history=drift_history(settings, report.ds, HISTORY_DAYS),
        performance=report.performance,
        performance_history=performance_history(settings, report.ds, HISTORY_DAYS),
        actions=report.actions,
        events=registry_events(settings),
    )


def monitor_day(
    settings: Settings,
    ds: date,
    window_days: int | None = None,
    *,
    act: bool = False,
    retrain: Retrain | None = None,
    log_to_mlflow: bool = True,
) -> MonitoringRun:
    """Monitor day ``ds`` over the ``window_days`` days ending on it (default: the setting)."""
    days = window_days or settings.monitoring_window_days
    ingested = ingest_dropped(settings, ds, known_prediction_ids(settings, ds, days))
    start, end = window(ds, days)
    predictions = load_predictions(settings, start, end, sensors=True)
    outcomes = load_outcomes(settings, end)
    performance = realized_performance(predictions, outcomes, start, end)
    day = scored_day(settings, ds)
    rules = DecisionRules.from_settings(settings)
    inputs = gather(settings, ds, performance, predictions, outcomes, day.drift, rules)
    if inputs is None:
        actions: tuple[Action, ...] = (Action(ActionKind.NONE, "no champion in the registry"),)
    else:
        actions = decide(inputs, rules)
    champion = alias_info(settings, CHAMPION)
    challenger = alias_info(settings, CHALLENGER)
    report = MonitoringReport(
        ds,
        performance,
        day.drift,
        actions,
        champion_version=champion.version if champion else None,
        challenger_version=challenger.version if challenger else None,
    )
    applied: tuple[AppliedAction, ...] = apply_actions(
        settings, ds.isoformat(), actions, act=act, retrain=retrain
    )
    report = replace(report, applied=applied)
    report_path = write_monitoring_report(settings, report)
    page = write_page(settings, _page_inputs(settings, report, day, champion))
    run_id = log_monitoring(settings, report, report_path, page) if log_to_mlflow else None
    removed = clean_up(settings, ds).expired  # last: this day's inputs were read above
    return MonitoringRun(report, report_path, page, tuple(ingested), run_id, tuple(removed))
