"""One input file's outputs, written chunk by chunk: its part file, its quarantine, its tally.

The part file is one Parquet file with one row group per chunk (``pyarrow.parquet.ParquetWriter``),
so a day of any size is written without holding it; the quarantine is one CSV appended per chunk.
Both are written to temporary names by the caller (:class:`predmaint.storage.AtomicOutput`) and
published only when the whole file went through.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.data.readings_check import RepeatedReadings
from predmaint.features.mechanisms import MODES, UTILISATION_COLUMNS, rules_broken
from predmaint.inference.ids import PREDICTION_ID
from predmaint.inference.reports import FileSummary
from predmaint.inference.risk import RISK_LEVELS

#: Alerts (readings predicted to fail) kept per file in its summary.
ALERTS_PER_FILE = 100
ALERT_COLUMNS = (
    "prediction_id",
    "udi",
    "product_id",
    "failure_probability",
    "risk_level",
    "failure_mode",
)


class PartWriter:
    """Scored chunks appended to one Parquet file (created on the first chunk).

    Encoding and compressing a chunk (pyarrow, outside the GIL) runs on a thread of its own
    while the job reads, validates and scores the next chunk: at most one chunk is in flight,
    so memory stays bounded by two chunks.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def __enter__(self) -> PartWriter:
        return self

    def write(self, scored: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(scored, preserve_index=False)
        self._wait()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, **part_options(table.schema))
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="predmaint-part")
        elif not table.schema.equals(self._writer.schema):
            table = table.cast(self._writer.schema)  # e.g. a column all null in one chunk
        assert self._pool is not None
        self._pending = self._pool.submit(self._writer.write_table, table)
        self.rows += len(scored)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()  # a failed write fails the file here

    def __exit__(self, *_: object) -> None:
        try:
            self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            if self._writer is not None:
                self._writer.close()


def part_options(schema: Any) -> dict[str, Any]:
    """``ParquetWriter`` settings per column, chosen for the CPU they cost (the writer was a
    sixth of the batch job's CPU); the schema, and so what readers get, is unchanged.

    - Dictionary encoding where values repeat: texts and categories, and the five sensors,
      which the sensors report at a fixed resolution (0.1 K, 1 rpm, 0.1 Nm, 1 min: a few
      thousand distinct values a chunk at most); not on the other floats or the ids, which are
      near-unique (pure cost there). A sensor column with more distinct values than
      pyarrow's dictionary page limit falls back to plain encoding by itself.
    - Integers (row numbers, the 0/1 prediction) delta-encoded (a few bytes a page for a row
      number), ids delta-encoded (their day prefix stored once a page, not per reading).
    - Snappy only on the dictionary-encoded columns and texts. Not on the plain floats
      (probabilities, the diagnosis' utilisation shares: a third of the writer's time), the
      delta-encoded ids (random hex: snappy saved 2 %) or integers (already packed).
    - Column statistics (min/max) only for the integers: the ids are hashes and the floats and
      texts span their whole range in every row group, so their min/max skip nothing, and
      computing them was another sixth of the writer's time.

    Our own settings, for measured speed: on 125,000-row chunks of the 5 M-reading bench day
    (``thread_time`` of ``write_table``, same loaded machine) 26-30 ms a chunk instead of
    42-50 ms, 10.1 MB instead of 7.6 MB (the 5 M day's part file: 404 MB instead of 305 MB).
    """
    import pyarrow as pa

    def is_text(field: Any) -> bool:
        return bool(
            pa.types.is_dictionary(field.type)
            or pa.types.is_string(field.type)
            or pa.types.is_large_string(field.type)
        )

    dictionary = [
        f.name
        for f in schema
        if f.name != PREDICTION_ID and (is_text(f) or f.name in SENSOR_COLUMNS)
    ]
    integers = [f.name for f in schema if pa.types.is_integer(f.type)]
    encoding = {name: "DELTA_BINARY_PACKED" for name in integers if name not in dictionary}
    if PREDICTION_ID in schema.names:
        encoding[PREDICTION_ID] = "DELTA_BYTE_ARRAY"
    return {
        "use_dictionary": dictionary,
        "column_encoding": encoding or None,
        "compression": {f.name: "snappy" if f.name in dictionary else "none" for f in schema},
        "write_statistics": integers,
    }


class QuarantineWriter:
    """Quarantined rows (original values, row number, reasons) appended to one CSV file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._file: IO[str] | None = None

    def __enter__(self) -> QuarantineWriter:
        return self

    def write(self, rows: pd.DataFrame) -> None:
        if rows.empty:
            return
        header = self._file is None
        if self._file is None:
            self._file = self.path.open("w", newline="", encoding="utf-8")
        rows.to_csv(self._file, index=False, header=header)
        self.rows += len(rows)

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            self._file.close()


class FileTally:
    """What one file's chunks added up to: counts, reasons, risk levels, the first alerts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows_in = 0
        self.rows_scored = 0
        self.rows_quarantined = 0
        self.reasons: Counter[str] = Counter()
        self.levels = np.zeros(len(RISK_LEVELS), dtype=np.int64)
        self.modes = np.zeros(len(MODES), dtype=np.int64)
        self.broken: Counter[str] = Counter()
        self.alerts: list[dict[str, Any]] = []
        self.repeats = RepeatedReadings()

    def add(self, rows_in: int, scored: pd.DataFrame | None, quarantined: pd.DataFrame) -> None:
        self.rows_in += rows_in
        self.rows_quarantined += len(quarantined)
        if len(quarantined):
            for text, count in quarantined["quarantine_reason"].value_counts().items():
                for reason in str(text).split("; "):
                    self.reasons[reason] += int(count)
        if scored is None:
            return
        self.rows_scored += len(scored)
        self.levels += np.bincount(scored["risk_level"].cat.codes, minlength=len(RISK_LEVELS))
        if "failure_mode" in scored.columns:
            codes = scored["failure_mode"].cat.codes.to_numpy()
            self.modes += np.bincount(codes[codes >= 0], minlength=len(MODES))
            utilisation = scored[list(UTILISATION_COLUMNS)].to_numpy(dtype=np.float64)
            for mode, rows in rules_broken(utilisation).items():
                self.broken[mode] += int(rows.sum())
        if len(self.alerts) < ALERTS_PER_FILE:
            alerts = scored[scored["prediction"].to_numpy() == 1]
            columns = [c for c in ALERT_COLUMNS if c in alerts.columns]
            for row in alerts[columns].head(ALERTS_PER_FILE - len(self.alerts)).to_dict("records"):
                self.alerts.append({str(k): _plain(v) for k, v in row.items()})

    def summary(self, model_version: str, part: Path, quarantine: Path) -> FileSummary:
        """The file's summary; ``part`` and ``quarantine`` are named only if written."""
        return FileSummary(
            input=str(self.path),
            output=part.name if self.rows_scored else None,
            rows_in=self.rows_in,
            rows_scored=self.rows_scored,
            rows_quarantined=self.rows_quarantined,
            quarantine_reasons=dict(self.reasons.most_common()),
            quarantine_path=str(quarantine) if self.rows_quarantined else None,
            risk_levels={
                level: int(n) for level, n in zip(RISK_LEVELS, self.levels, strict=True) if n
            },
            alerts=self.alerts,
            model_version=model_version,
            repeated_readings=self.repeats.count,
            repeated_examples=list(self.repeats.examples),
            failure_modes={mode: int(n) for mode, n in zip(MODES, self.modes, strict=True) if n},
            rules_broken={mode: n for mode, n in self.broken.items() if n},
        )


def _plain(value: Any) -> Any:
    """A JSON-ready scalar (numpy and pandas scalars, pandas' missing values)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value
