"""The evidence the decision rules weigh, gathered from the registry and the day's files.

- the champion: its registered (test) F1, and its realized metrics on its own labelled answers;
- the previous champion, re-scored on those same labelled readings (only when the champion
  degraded: loading a model costs seconds, and no rule needs it otherwise);
- the shadow challenger: both versions on the labelled readings both scored;
- drift: the verdicts of the last days, today's last.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.errors import ModelNotFoundError
from predmaint.features.drift import DriftResult
from predmaint.models.loading import load_version
from predmaint.models.tracking import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from predmaint.models.versions import ModelVersion, champion_info
from predmaint.monitoring.decisions import (
    DecisionInputs,
    DecisionRules,
    DriftDay,
    VersionEvidence,
    degraded,
)
from predmaint.monitoring.metrics import RealizedMetrics
from predmaint.monitoring.performance import Performance, join_outcomes
from predmaint.monitoring.report import drift_history, drift_point, retrain_requested_on
from predmaint.settings import Settings


def alias_info(settings: Settings, alias: str) -> ModelVersion | None:
    """A registered version by alias, or None when the alias is not set."""
    try:
        return champion_info(settings, alias)
    except ModelNotFoundError:
        return None


def rescore(
    settings: Settings, version: ModelVersion, labelled: pd.DataFrame
) -> RealizedMetrics | None:
    """``version``'s realized metrics on readings whose outcome is known (``actual``)."""
    if labelled.empty or not set(SENSOR_COLUMNS) <= set(labelled.columns):
        return None
    model = load_version(settings, version)
    predicted = model.failure_probability(labelled) >= model.threshold
    return RealizedMetrics.from_labels(labelled["actual"].astype(bool), predicted)


def recent_drift(
    settings: Settings, ds: date, today: DriftResult | None, days: int, champion: str
) -> list[DriftDay]:
    """The drift verdicts of the ``days`` days up to ``ds`` (today's from ``today``), counting
    only days judged against ``champion``'s reference: a new champion starts a new count."""
    past = [
        p.as_day()
        for p in drift_history(settings, ds - timedelta(days=1), max(days - 1, 0))
        if days > 1 and p.champion_version == champion
    ]
    return [*past, drift_point(ds, today, champion).as_day()] if today is not None else past


def gather(
    settings: Settings,
    ds: date,
    performance: Performance,
    predictions: pd.DataFrame,
    outcomes: pd.DataFrame,
    drift: DriftResult | None,
    rules: DecisionRules,
) -> DecisionInputs | None:
    """What :func:`~predmaint.monitoring.decisions.decide` needs; None without a champion."""
    champion = alias_info(settings, CHAMPION)
    if champion is None:
        return None
    mine = performance.by_version.get(champion.version)
    inputs = DecisionInputs(
        champion=VersionEvidence(
            champion.version, champion.metrics.get("f1"), mine.metrics if mine else None
        ),
        drift=recent_drift(settings, ds, drift, rules.drift_window, champion.version),
        retrain_requested_on=retrain_requested_on(
            settings, ds - timedelta(days=1), max(rules.drift_window - 1, 1)
        ),
    )
    challenger = alias_info(settings, CHALLENGER)
    if challenger is not None:
        shadow = next(
            (
                s
                for s in performance.shadow
                if s.champion_version == champion.version
                and s.challenger_version == challenger.version
            ),
            None,
        )
        inputs = replace(
            inputs,
            challenger=VersionEvidence(
                challenger.version,
                challenger.metrics.get("f1"),
                shadow.challenger if shadow else None,
            ),
            champion_on_shared=shadow.champion if shadow else None,
        )
    previous = alias_info(settings, PREVIOUS_CHAMPION)
    if previous is not None and previous.version != champion.version and degraded(inputs, rules):
        joined = join_outcomes(predictions, outcomes)
        labelled = joined[(joined["model_version"] == champion.version) & joined["actual"].notna()]
        inputs = replace(
            inputs,
            previous=VersionEvidence(
                previous.version, previous.metrics.get("f1"), rescore(settings, previous, labelled)
            ),
        )
    return inputs
