"""The predictions monitoring joins outcomes to: what batch and API wrote, read back.

The table's contract (one row per answer):

- ``prediction_id`` (str), ``model_version`` (str), ``prediction`` (0/1),
  ``failure_probability`` (float), and ``ds`` (the scored day, taken from the ``ds=`` folder);
- optionally the shadow challenger's answer for the same reading: ``challenger_version``,
  ``challenger_prediction``, ``challenger_failure_probability`` (missing or null when no
  challenger scored it).

Batch part files (``predictions/ds=…/part-*.parquet``) and API records
(``served/ds=…/*.parquet``) are both read; a file without ``prediction_id`` (written before
ids existed) is skipped. The challenger's answers to a batch day are in ``shadow/ds=…/``
(``predmaint shadow``, :mod:`predmaint.inference.shadow`), joined here by ``prediction_id``;
part files of days scored before the shadow step existed carry them as columns themselves.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.inference.ids import PREDICTION_ID
from predmaint.inference.shadow import SHADOW_COLUMNS, read_shadow
from predmaint.settings import Settings
from predmaint.storage import partition_date

REQUIRED: tuple[str, ...] = (PREDICTION_ID, "model_version", "prediction", "failure_probability")
SHADOW: tuple[str, ...] = SHADOW_COLUMNS
SOURCES: dict[str, str] = {"batch": "part-*.parquet", "api": "*.parquet"}


def window(end: date, days: int) -> tuple[date, date]:
    """The first and last day of a window of ``days`` days ending on ``end``."""
    return end - timedelta(days=days - 1), end


def _read(path: Path, ds: date, source: str, sensors: bool) -> pd.DataFrame | None:
    names = set(pq.read_schema(path).names)
    if not set(REQUIRED) <= names:
        return None
    columns = [*REQUIRED, *(c for c in SHADOW if c in names)]
    if sensors and set(SENSOR_COLUMNS) <= names:
        columns += SENSOR_COLUMNS
    frame = pd.read_parquet(path, columns=columns)
    frame["ds"] = ds
    frame["source"] = source
    return frame


def empty_predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            PREDICTION_ID: pd.Series(dtype=str),
            "model_version": pd.Series(dtype=str),
            "prediction": pd.Series(dtype="int64"),
            "failure_probability": pd.Series(dtype="float64"),
            "ds": pd.Series(dtype=object),
            "source": pd.Series(dtype=str),
        }
    )


def load_predictions(
    settings: Settings, start: date, end: date, *, sensors: bool = False
) -> pd.DataFrame:
    """Every batch and API prediction scored on days ``start``..``end``, in the contract's form
    (with ``sensors``, also the five readings, so another version can re-score them)."""
    frames = []
    roots = {"batch": settings.predictions_dir, "api": settings.served_dir}
    for source, root in roots.items():
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            day = partition_date(folder)
            if day is None or not start <= day <= end or not folder.is_dir():
                continue
            day_frames = [
                frame
                for path in sorted(folder.glob(SOURCES[source]))
                if not path.name.startswith(".")
                and (frame := _read(path, day, source, sensors)) is not None
            ]
            if source == "batch" and day_frames:
                day_frames = _with_shadow(settings, day, day_frames)
            frames.extend(day_frames)
    if not frames:
        return empty_predictions()
    table = pd.concat(frames, ignore_index=True)
    table["model_version"] = table["model_version"].astype(str)
    table["prediction"] = table["prediction"].astype("int64")
    if "challenger_version" in table.columns:
        table["challenger_version"] = table["challenger_version"].astype("string")
    return table


def _with_shadow(settings: Settings, ds: date, frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The day's batch predictions with the shadow step's answers joined by id (when it ran:
    its answers then replace any the part files carried)."""
    shadow = read_shadow(settings, ds, [PREDICTION_ID, *SHADOW])
    if shadow is None:
        return frames
    shadow = shadow.drop_duplicates(PREDICTION_ID).set_index(PREDICTION_ID)
    joined = []
    for frame in frames:
        plain = frame.drop(columns=[c for c in SHADOW if c in frame.columns])
        joined.append(plain.join(shadow, on=PREDICTION_ID) if len(shadow.columns) else plain)
    return joined


def known_prediction_ids(settings: Settings, end: date, days: int) -> set[str]:
    """Ids an outcome recorded on ``end`` may name: predictions of the last ``days`` days."""
    start, end = window(end, days)
    return set(load_predictions(settings, start, end)[PREDICTION_ID].astype(str))
