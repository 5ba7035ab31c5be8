"""Realized performance: predictions joined to their outcomes, per model version and in shadow.

Each version is judged on the readings it answered that have an outcome (``labelled``); its
alert rate is over everything it answered in the window. The shadow comparison puts the
champion and the challenger side by side on the readings both scored: how often they agree,
and, on those readings with an outcome, both versions' metrics (the same outcomes for both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from predmaint.inference.ids import PREDICTION_ID
from predmaint.monitoring.metrics import RealizedMetrics
from predmaint.monitoring.outcomes import OUTCOMES


@dataclass(frozen=True)
class VersionPerformance:
    """One model version over the window."""

    version: str
    predictions: int
    alerts: int
    metrics: RealizedMetrics

    @property
    def alert_rate(self) -> float | None:
        return self.alerts / self.predictions if self.predictions else None

    def to_dict(self) -> dict[str, Any]:
        rate = self.alert_rate
        return {
            "predictions": self.predictions,
            "alerts": self.alerts,
            "alert_rate": None if rate is None else round(rate, 6),
            **self.metrics.to_dict(),
        }


@dataclass(frozen=True)
class ShadowComparison:
    """Champion against shadow challenger on the readings both scored."""

    champion_version: str
    challenger_version: str
    compared: int
    agreements: int
    champion: RealizedMetrics
    challenger: RealizedMetrics

    @property
    def agreement_rate(self) -> float | None:
        return self.agreements / self.compared if self.compared else None

    @property
    def shared_labelled(self) -> int:
        return self.champion.labelled

    def to_dict(self) -> dict[str, Any]:
        rate = self.agreement_rate
        return {
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "compared": self.compared,
            "agreement_rate": None if rate is None else round(rate, 6),
            "shared_labelled": self.shared_labelled,
            "champion": self.champion.to_dict(),
            "challenger": self.challenger.to_dict(),
        }


@dataclass(frozen=True)
class Performance:
    """Realized performance over a window of scored days."""

    start: date
    end: date
    outcomes: int
    by_version: Mapping[str, VersionPerformance]
    shadow: tuple[ShadowComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "outcomes": self.outcomes,
            "by_version": {v: p.to_dict() for v, p in self.by_version.items()},
            "shadow": [s.to_dict() for s in self.shadow],
        }


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), version) if version.isdigit() else (1 << 62, version)


def join_outcomes(predictions: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """``predictions`` with an ``actual`` column: True (failure), False, or missing."""
    latest = outcomes[outcomes["outcome"].isin(OUTCOMES)][[PREDICTION_ID, "outcome"]]
    joined = predictions.merge(latest, on=PREDICTION_ID, how="left")
    joined["actual"] = joined["outcome"].map({"failure": True, "no_failure": False})
    return joined.drop(columns="outcome")


def _shadow(joined: pd.DataFrame) -> tuple[ShadowComparison, ...]:
    if "challenger_version" not in joined.columns:
        return ()
    both = joined[joined["challenger_version"].notna() & joined["challenger_prediction"].notna()]
    comparisons = []
    for (champion, challenger), group in both.groupby(
        ["model_version", "challenger_version"], sort=True
    ):
        labelled = group[group["actual"].notna()]
        actual = labelled["actual"].astype(bool)
        comparisons.append(
            ShadowComparison(
                champion_version=str(champion),
                challenger_version=str(challenger),
                compared=len(group),
                agreements=int(
                    (group["prediction"] == group["challenger_prediction"].astype(int)).sum()
                ),
                champion=RealizedMetrics.from_labels(actual, labelled["prediction"]),
                challenger=RealizedMetrics.from_labels(
                    actual, labelled["challenger_prediction"].astype(int)
                ),
            )
        )
    return tuple(comparisons)


def realized_performance(
    predictions: pd.DataFrame, outcomes: pd.DataFrame, start: date, end: date
) -> Performance:
    """Join outcomes (one per id, see :func:`~predmaint.monitoring.outcomes.latest_outcomes`)
    to the predictions scored on days ``start``..``end`` and measure each version."""
    in_window = predictions[(predictions["ds"] >= start) & (predictions["ds"] <= end)]
    joined = join_outcomes(in_window, outcomes)
    by_version = {}
    for version in sorted(joined["model_version"].unique(), key=_version_key):
        group = joined[joined["model_version"] == version]
        labelled = group[group["actual"].notna()]
        by_version[str(version)] = VersionPerformance(
            version=str(version),
            predictions=len(group),
            alerts=int((group["prediction"] == 1).sum()),
            metrics=RealizedMetrics.from_labels(
                labelled["actual"].astype(bool), labelled["prediction"]
            ),
        )
    return Performance(
        start=start,
        end=end,
        outcomes=int(joined["actual"].notna().sum()),
        by_version=by_version,
        shadow=_shadow(joined),
    )
