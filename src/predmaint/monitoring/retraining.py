"""Retraining on the latest data: the validated features plus the plant's labelled readings.

When monitoring asks for retraining (drift on K of M days, or a degraded champion with nothing
better), the new candidates should learn from what the plant has seen since: every reading of
the window whose outcome came back becomes a labelled row (``machine_failure`` from the outcome,
the failure-mode flag from ``failure_mode``; a failure without a mode counts as RNF, the data's
"random" mode). They are added to the newest validated features and written, atomically, to
``processed/ds=…/retraining.parquet``, which the training job (CLI or DAG) then validates and
trains on like any features file. Promotion compares candidate and champion on the test split of
this same file, so a champion that no longer fits the plant loses to one that does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from predmaint.data.columns import FAILURE_MODES, SENSOR_COLUMNS, TARGET
from predmaint.features.job import latest_features, processed_partition
from predmaint.monitoring.outcomes import load_outcomes
from predmaint.monitoring.performance import join_outcomes
from predmaint.monitoring.predictions import window
from predmaint.settings import Settings
from predmaint.storage import partition_date, write_parquet_atomic

RETRAINING_FILE = "retraining.parquet"
IDENTITY = ("udi", "product_id", "type")


@dataclass(frozen=True)
class RetrainingData:
    """The file retraining uses and what it holds."""

    path: str
    base: str
    base_rows: int
    plant_rows: int
    plant_failures: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batch_readings(settings: Settings, start: date, end: date) -> pd.DataFrame:
    """The scored batch readings of the window, with their ids and identity columns."""
    frames = []
    root = settings.predictions_dir
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        day = partition_date(folder)
        if day is None or not start <= day <= end:
            continue
        for path in sorted(folder.glob("part-*.parquet")):
            frame = pd.read_parquet(path)
            columns = ["prediction_id", "model_version", "prediction", *IDENTITY, *SENSOR_COLUMNS]
            if set(columns) <= set(frame.columns):
                frames.append(frame[columns])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def plant_labelled(settings: Settings, ds: date, days: int) -> pd.DataFrame:
    """The window's batch readings whose outcome is known, labelled like AI4I rows."""
    start, end = window(ds, days)
    readings = _batch_readings(settings, start, end)
    if readings.empty:
        return readings
    outcomes = load_outcomes(settings, end)
    joined = join_outcomes(readings, outcomes)
    labelled = joined[joined["actual"].notna()].copy()
    modes = outcomes.set_index("prediction_id")["failure_mode"]
    mode = labelled["prediction_id"].map(modes).astype("string").str.lower()
    failed = labelled["actual"].astype(bool)
    labelled[TARGET] = failed.astype(int)
    for name in FAILURE_MODES:
        labelled[name] = (failed & (mode == name)).astype(int)
    unexplained = failed & labelled[list(FAILURE_MODES)].sum(axis=1).eq(0)
    labelled.loc[unexplained, "rnf"] = 1
    return labelled[[*IDENTITY, *SENSOR_COLUMNS, TARGET, *FAILURE_MODES]].reset_index(drop=True)


def write_retraining_data(settings: Settings, ds: date, days: int | None = None) -> RetrainingData:
    """Newest validated features + the window's labelled plant readings, for day ``ds``."""
    base_path = latest_features(settings)
    base = pd.read_parquet(base_path)
    plant = plant_labelled(settings, ds, days or settings.monitoring_window_days)
    columns = [c for c in (*IDENTITY, *SENSOR_COLUMNS, TARGET, *FAILURE_MODES) if c in base]
    combined = pd.concat([base[columns], plant[columns]], ignore_index=True)
    path = write_parquet_atomic(combined, processed_partition(settings, ds) / RETRAINING_FILE)
    return RetrainingData(
        path=str(path),
        base=str(base_path),
        base_rows=len(base),
        plant_rows=len(plant),
        plant_failures=int(plant[TARGET].sum()) if not plant.empty else 0,
    )


def retraining_path(settings: Settings, ds: date) -> Path:
    return processed_partition(settings, ds) / RETRAINING_FILE
