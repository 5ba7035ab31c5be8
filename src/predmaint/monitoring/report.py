"""The day's monitoring report: realized performance, drift and actions, as ``report.json``.

Written to ``monitoring/ds=…/report.json`` (atomically). The JSON form is the issue's:
``{"by_version": {...}, "drift": {...}, "actions": [...]}``, with the window, the shadow
comparison and the counts beside them. Past reports are read back for the report page's
"over time" plots (:func:`performance_history`, :func:`drift_history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from predmaint.features.drift import DriftResult
from predmaint.monitoring.acting import AppliedAction
from predmaint.monitoring.decisions import Action, DriftDay
from predmaint.monitoring.performance import Performance
from predmaint.settings import Settings
from predmaint.storage import partition_dir, read_json, write_json_atomic

REPORT_FILE = "report.json"


@dataclass(frozen=True)
class MonitoringReport:
    ds: date
    performance: Performance
    drift: DriftResult | None
    actions: tuple[Action, ...]
    #: What became of each action (empty: decided only, before acting).
    applied: tuple[AppliedAction, ...] = ()
    champion_version: str | None = None
    challenger_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        performance = self.performance.to_dict()
        actions = (
            [a.to_dict() for a in self.applied]
            if self.applied
            else [a.to_dict() for a in self.actions]
        )
        return {
            "ds": self.ds.isoformat(),
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "window": performance["window"],
            "outcomes": performance["outcomes"],
            "by_version": performance["by_version"],
            "shadow": performance["shadow"],
            "drift": self.drift.to_dict() if self.drift is not None else None,
            "actions": actions,
        }


def report_path(settings: Settings, ds: date) -> Path:
    return partition_dir(settings.monitoring_dir, ds) / REPORT_FILE


def write_monitoring_report(settings: Settings, report: MonitoringReport) -> Path:
    return write_json_atomic(report_path(settings, report.ds), report.to_dict())


@dataclass(frozen=True)
class PerformancePoint:
    """One version's realized precision and recall as reported on day ``ds``."""

    ds: date
    version: str
    labelled: int
    precision: float | None
    recall: float | None
    f1: float | None


def _past_reports(settings: Settings, end: date, days: int) -> list[tuple[date, dict[str, Any]]]:
    found = []
    for offset in range(days - 1, -1, -1):
        day = end - timedelta(days=offset)
        path = report_path(settings, day)
        if path.is_file():
            found.append((day, read_json(path)))
    return found


def performance_history(settings: Settings, end: date, days: int = 30) -> list[PerformancePoint]:
    """Per-version realized metrics from the reports of the last ``days`` days, oldest first."""
    return [
        PerformancePoint(
            ds=day,
            version=version,
            labelled=int(entry["labelled"]),
            precision=entry["precision"],
            recall=entry["recall"],
            f1=entry["f1"],
        )
        for day, payload in _past_reports(settings, end, days)
        for version, entry in payload["by_version"].items()
    ]


@dataclass(frozen=True)
class DriftPoint:
    """One day's drift figures: PSI per feature and which features drifted."""

    ds: date
    evaluated: bool
    psi: dict[str, float]
    drifted: tuple[str, ...]
    champion_version: str | None = None  # whose training reference the day was judged against

    def as_day(self) -> DriftDay:
        return DriftDay(
            self.ds.isoformat(), self.drift_detected if self.evaluated else None, self.drifted
        )

    @property
    def drift_detected(self) -> bool:
        return bool(self.drifted)


def drift_point(ds: date, drift: DriftResult, champion_version: str | None = None) -> DriftPoint:
    return DriftPoint(
        ds=ds,
        evaluated=drift.evaluated,
        psi={name: f.psi for name, f in drift.features.items()},
        drifted=drift.drifted_features,
        champion_version=champion_version,
    )


def drift_history(settings: Settings, end: date, days: int = 30) -> list[DriftPoint]:
    """Drift figures from the reports of the last ``days`` days, oldest first."""
    points = []
    for day, payload in _past_reports(settings, end, days):
        drift = payload.get("drift")
        if drift is None:
            continue
        points.append(
            DriftPoint(
                ds=day,
                evaluated=bool(drift["evaluated"]),
                psi={name: float(f["psi"]) for name, f in drift["features"].items()},
                drifted=tuple(drift["drifted_features"]),
                champion_version=payload.get("champion_version"),
            )
        )
    return points


def retrain_requested_on(settings: Settings, end: date, days: int) -> str | None:
    """The latest day of the ``days`` days up to ``end`` whose report requested retraining."""
    latest = None
    for day, payload in _past_reports(settings, end, days):
        for action in payload.get("actions", []):
            if action.get("action") == "retrain" and action.get("status") in {
                "applied",
                "requested",
            }:
                latest = day.isoformat()
    return latest
