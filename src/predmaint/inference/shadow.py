"""The shadow challenger: the ``challenger`` alias scores a published day's readings, apart.

``predmaint shadow --date D`` (and the batch DAG's ``shadow_predictions`` task, and the main job's
``shadow`` step) reads the day's published predictions (``predictions/ds=D/part-*.parquet``) a
row group at a time, scores their five sensor values with the challenger's compiled form
(:meth:`LoadedModel.bulk_failure_probability`: ONNX Runtime, or its scikit-learn pipeline when
the conversion does not reproduce it) and writes ``shadow/ds=D/part-*.parquet``: one row per
prediction, keyed by ``prediction_id``, with ``challenger_version``, ``challenger_prediction`` and
``challenger_failure_probability``, plus ``shadow.json``. The partition is built aside and swapped
in whole, like the predictions; re-running a day replaces it. Monitoring joins it to the day's
predictions by id (:func:`predmaint.monitoring.predictions.load_predictions`).

Why a step of its own, not a column of ``predmaint infer``: a shadow model must neither delay nor
fail the day's published champion predictions. The challenger is whatever training registered
last (an RBF SVM today scores about 0.2 M readings/s, 25 times slower than the champion's
forest), so inside the plant-facing job it set the pace of the whole day (docs/benchmarks.md), and
a broken challenger would have failed the plant's predictions with it. Apart, it runs after the
day is published, and its failure leaves the champion's predictions standing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from predmaint.clock import utc_now
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.data.readers import open_parquet
from predmaint.errors import ModelNotFoundError
from predmaint.inference.ids import PREDICTION_ID
from predmaint.models.loading import LoadedModel, load_version
from predmaint.models.tracking import CHALLENGER
from predmaint.models.versions import champion_info
from predmaint.settings import Settings
from predmaint.storage import partition_dir, read_json, replace_partition, write_json_atomic

SHADOW_COLUMNS = ("challenger_version", "challenger_prediction", "challenger_failure_probability")
SHADOW_REPORT = "shadow.json"
PART_GLOB = "part-*.parquet"
_READ_COLUMNS = (PREDICTION_ID, "model_version", "prediction", *SENSOR_COLUMNS)


@dataclass(frozen=True)
class ShadowReport:
    """What the challenger did with a day: how many readings, how often it agreed."""

    ds: str
    champion_version: str | None  # the version that scored the day's published predictions
    challenger_version: str | None  # None: no challenger (or it is the champion): no parts
    rows: int
    agreements: int  # readings where the challenger's decision equals the champion's
    runtime: str | None  # the challenger's compiled form: onnxruntime or sklearn
    parts: list[str] = field(default_factory=list)
    shadow_dir: str = ""
    written_at: str = ""

    @property
    def agreement(self) -> float | None:
        return self.agreements / self.rows if self.rows else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "agreement": self.agreement}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShadowReport:
        return cls(**{k: v for k, v in data.items() if k != "agreement"})


def shadow_partition(settings: Settings, ds: date) -> Path:
    return partition_dir(settings.shadow_dir, ds)


def day_champion(settings: Settings, ds: date) -> str | None:
    """The version that scored day ``ds`` (its ``report.json``), None if it was not scored."""
    report = partition_dir(settings.predictions_dir, ds) / "report.json"
    return str(read_json(report)["model_version"]) if report.is_file() else None


def challenger_for(settings: Settings, champion_version: str | None) -> LoadedModel | None:
    """The ``challenger`` alias, or None when there is none or it is the day's champion."""
    try:
        info = champion_info(settings, CHALLENGER)
    except ModelNotFoundError:
        return None
    return None if info.version == champion_version else load_version(settings, info)


def run_shadow(settings: Settings, ds: date) -> ShadowReport:
    """Score day ``ds``'s published predictions with the challenger; swap ``shadow/ds=…`` in."""
    champion = day_champion(settings, ds)
    challenger = challenger_for(settings, champion) if champion is not None else None
    rows = agreements = 0
    parts: list[str] = []
    with replace_partition(settings.shadow_dir, ds) as staging:
        if challenger is not None:
            source = partition_dir(settings.predictions_dir, ds)
            for path in sorted(source.glob(PART_GLOB)):
                n, agreed = _score_part(path, staging / path.name, challenger, settings)
                rows, agreements = rows + n, agreements + agreed
                parts.append(path.name)
        report = ShadowReport(
            ds=ds.isoformat(),
            champion_version=champion,
            challenger_version=challenger.info.version if challenger else None,
            rows=rows,
            agreements=agreements,
            runtime=challenger.scorer.runtime if challenger else None,
            parts=parts,
            shadow_dir=str(shadow_partition(settings, ds)),
            written_at=utc_now().isoformat(),
        )
        write_json_atomic(staging / SHADOW_REPORT, report.to_dict())
    return report


def _batches(path: Path, rows: int) -> Iterator[Any]:
    with open_parquet(path) as parquet:
        names = set(parquet.schema_arrow.names)
        if not {PREDICTION_ID, "prediction", *SENSOR_COLUMNS} <= names:
            return  # not a scored part file
        yield from parquet.iter_batches(batch_size=rows, columns=list(_READ_COLUMNS))


def _score_part(
    path: Path, out: Path, challenger: LoadedModel, settings: Settings
) -> tuple[int, int]:
    """One part file's shadow rows written to ``out``; returns (rows, agreements)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = agreements = 0
    writer = None
    try:
        for batch in _batches(path, settings.batch_chunk_rows):
            sensors = np.column_stack(
                [batch.column(name).to_numpy(zero_copy_only=False) for name in SENSOR_COLUMNS]
            ).astype(np.float64, copy=False)
            probability = challenger.bulk_failure_probability(sensors)
            decision = (probability >= challenger.threshold).astype(np.int64)
            champion = batch.column("prediction").to_numpy(zero_copy_only=False)
            agreements += int((decision == champion).sum())
            rows += len(decision)
            table = pa.table(
                {
                    PREDICTION_ID: batch.column(PREDICTION_ID),
                    "challenger_version": pa.DictionaryArray.from_arrays(
                        np.zeros(len(decision), np.int8), [challenger.info.version]
                    ),
                    "challenger_prediction": decision,
                    "challenger_failure_probability": probability,
                }
            )
            writer = writer or pq.ParquetWriter(out, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return rows, agreements


def read_shadow(settings: Settings, ds: date, columns: list[str] | None = None) -> Any:
    """The day's shadow rows (``prediction_id`` + :data:`SHADOW_COLUMNS`), None if never run."""
    import pandas as pd

    folder = shadow_partition(settings, ds)
    if not (folder / SHADOW_REPORT).is_file():
        return None
    paths = sorted(p for p in folder.glob(PART_GLOB) if not p.name.startswith("."))
    if not paths:
        return pd.DataFrame({PREDICTION_ID: pd.Series(dtype="str")})
    return pd.concat([pd.read_parquet(p, columns=columns) for p in paths], ignore_index=True)


def read_shadow_report(settings: Settings, ds: date) -> ShadowReport | None:
    path = shadow_partition(settings, ds) / SHADOW_REPORT
    return ShadowReport.from_dict(read_json(path)) if path.is_file() else None
