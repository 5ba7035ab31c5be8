"""Work orders: a scored day turned into the list a maintenance team works through, worst first.

A technician visits machines, not readings. One work order per machine needing action (any of
its readings alerted: prediction 1), carrying its worst reading (highest failure probability):
risk level, failure mode and recommendation of that reading, how many of the machine's readings
alerted, and the time of its last reading. Readings without a machine id cannot be grouped: each
alerting one is a work order of its own, named by its ``prediction_id``. Orders are ranked by
failure probability, then by how much of a documented limit the worst reading uses (the
diagnosis' utilisation columns, when the scored readings have them), then by alert count.

The batch job counts each scored chunk as it goes (:meth:`WorkOrderTally.add`); a caller that did
not (the DAG's report task, which scores nothing) reads the day's part files back column by column
and row group by row group (:func:`collect_work_orders`). Either way memory grows with the
machines and the alerts without a machine id, not with the day. The files
``work_orders.csv`` and ``work_orders.json`` (UTF-8, ISO 8601 times in UTC, the columns of
:data:`WORK_ORDER_COLUMNS` in that order) are the import format for a maintenance system
(CMMS), documented in docs/batch.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from predmaint.data.columns import MACHINE_ID, TIMESTAMP
from predmaint.data.readers import open_parquet
from predmaint.features.mechanisms import UTILISATION_COLUMNS
from predmaint.inference.ids import PREDICTION_ID
from predmaint.storage import AtomicOutput, write_csv_atomic

CSV_FILE = "work_orders.csv"
JSON_FILE = "work_orders.json"
#: The per-reading failure mode column (the diagnosis adds it; absent: orders carry null).
FAILURE_MODE = "failure_mode"
#: Readings read back at a time (the batch job's default chunk: the same bounded memory).
READ_ROWS = 125_000
#: Orders turned into JSON text at a time.
JSON_ROWS = 20_000
_SCORED = ("prediction", "failure_probability", "risk_level", "recommendation")


@dataclass(frozen=True)
class WorkOrder:
    """One machine (or one reading without a machine id) to act on; fields are the columns."""

    priority: int  # 1 = visit first
    machine_id: str | None  # None: a reading without a machine id (see prediction_id)
    prediction_id: str  # the worst reading's id: the outcome goes back with it (POST /feedback)
    risk_level: str
    failure_probability: float
    failure_mode: str | None
    recommendation: str
    alert_readings: int
    last_reading_at: str | None  # the machine's last reading of the day (UTC, ISO 8601)


WORK_ORDER_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(WorkOrder))


def _utilisation(frame: pd.DataFrame) -> np.ndarray:
    """Each reading's largest share of a documented limit (NaN without diagnosis columns)."""
    # the diagnosis' share of each documented limit used (>= 1: the rule is broken)
    columns = [c for c in UTILISATION_COLUMNS if c in frame.columns]
    if not columns:
        return np.full(len(frame), np.nan)
    values = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return np.fmax.reduce(values, axis=1) if values.size else np.full(len(frame), np.nan)


def _text(column: pd.Series) -> pd.Series:
    """A text column as it came when categorical (one byte per reading), else as strings."""
    return column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("str")


def _failure_mode(frame: pd.DataFrame) -> pd.Series:
    """The reading's failure mode, from the diagnosis' column when the day has one."""
    if FAILURE_MODE not in frame.columns:
        return pd.Series(None, index=frame.index, dtype=object)
    return frame[FAILURE_MODE].astype(object).where(frame[FAILURE_MODE].notna(), None)


class WorkOrderTally:
    """The day's alerts reduced, chunk by chunk, to one worst reading and a count per order."""

    def __init__(self) -> None:
        self._machines = pd.DataFrame()  # one row per machine: reduced as chunks come
        self._lone: list[pd.DataFrame] = []  # alerts without a machine id: nothing to reduce
        self._last_seen: dict[str, pd.Timestamp] = {}

    def add(self, scored: pd.DataFrame) -> None:
        """Count one chunk of scored readings (the part file's columns)."""
        self.see(scored)
        alerting = scored["prediction"].to_numpy() == 1
        if alerting.any():
            self.add_alerts(scored[alerting].reset_index(drop=True))

    def see(self, readings: pd.DataFrame, column: str = TIMESTAMP) -> None:
        """Remember each machine's last reading time (any reading, alerting or not); ``column``
        holds the times (a per-machine maximum already, when the caller grouped them)."""
        if MACHINE_ID not in readings.columns or column not in readings.columns:
            return
        known = readings[[MACHINE_ID, column]].dropna()
        for name, at in known.groupby(MACHINE_ID)[column].max().items():
            seen = self._last_seen.get(str(name))
            self._last_seen[str(name)] = at if seen is None else max(seen, at)

    def add_alerts(self, alerts: pd.DataFrame) -> None:
        """Fold alerting readings (prediction 1) into the orders."""
        alerts = alerts.reset_index(drop=True)
        n = len(alerts)
        machine = (
            alerts[MACHINE_ID].astype(object).where(alerts[MACHINE_ID].notna(), None)
            if MACHINE_ID in alerts.columns
            else pd.Series(np.full(n, None, dtype=object))
        )
        stamp = (
            pd.to_datetime(alerts[TIMESTAMP], utc=True)
            if TIMESTAMP in alerts.columns
            else pd.Series(pd.NaT, index=alerts.index, dtype="datetime64[us, UTC]")
        )
        # Ids stay pandas (Arrow) strings and texts categorical: a day without machine ids has
        # one order per alerting reading, held until the day ends, and a Python string per
        # column and alert was most of this fold's time and of the job's growth with the day.
        rows = pd.DataFrame(
            {
                "machine_id": machine,
                "prediction_id": alerts[PREDICTION_ID].astype("str"),
                "risk_level": _text(alerts["risk_level"]),
                "failure_probability": alerts["failure_probability"].to_numpy(),
                "failure_mode": _text(alerts[FAILURE_MODE])
                if FAILURE_MODE in alerts.columns
                else _failure_mode(alerts),
                "recommendation": _text(alerts["recommendation"]),
                "alert_readings": 1,
                "utilisation": _utilisation(alerts),
                "reading_at": stamp,
            }
        )
        # a machine's alerts make one order; an alert without a machine id is its own
        rows["by_reading"] = rows["machine_id"].isna()
        lone = rows["by_reading"].to_numpy()
        if lone.any():  # their key is their prediction id: filled in when ranked
            self._lone.append(rows[lone].drop(columns="machine_id"))
        if not lone.all():
            machines = rows[~lone].assign(key=lambda m: m["machine_id"].astype("str"))
            if not self._machines.empty:
                machines = pd.concat([self._machines, machines], ignore_index=True)
            self._machines = _reduce(machines)

    def merge(self, other: WorkOrderTally) -> None:
        """Fold in ``other``'s orders (a later file of the day, counted on its own)."""
        for name, at in other._last_seen.items():
            seen = self._last_seen.get(name)
            self._last_seen[name] = at if seen is None else max(seen, at)
        self._lone.extend(other._lone)
        if not other._machines.empty:
            machines = other._machines
            if not self._machines.empty:
                machines = pd.concat([self._machines, machines], ignore_index=True)
            self._machines = _reduce(machines)

    def table(self) -> pd.DataFrame:
        """The work orders ranked (priority 1 first), as a frame of :data:`WORK_ORDER_COLUMNS`.

        Built column-wise: a day without machine ids can hold one order per alerting reading.
        """
        parts = [f for f in (self._machines, *self._lone) if not f.empty]
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in WORK_ORDER_COLUMNS})
        every = pd.concat(parts, ignore_index=True)
        if "key" not in every.columns:
            every["key"] = every["prediction_id"]
        else:
            lone = every["by_reading"].to_numpy(dtype=bool)
            every["key"] = every["key"].where(~lone, every["prediction_id"])
        if "machine_id" not in every.columns:
            every["machine_id"] = None
        ranked = every.sort_values(
            ["failure_probability", "utilisation", "alert_readings", "by_reading", "key"],
            ascending=[False, False, False, True, True],
            na_position="last",
            kind="stable",
        )
        lone = ranked["by_reading"].to_numpy(dtype=bool)
        seen = pd.Series(self._last_seen, dtype=object)
        last = ranked["machine_id"].map(seen).where(~lone, ranked["reading_at"])
        mode = ranked["failure_mode"]
        return pd.DataFrame(
            {
                "priority": np.arange(1, len(ranked) + 1),
                "machine_id": ranked["machine_id"].astype(object).where(~lone, None),
                "prediction_id": ranked["prediction_id"].astype(object),
                "risk_level": ranked["risk_level"].astype(object),
                "failure_probability": ranked["failure_probability"].round(6),
                "failure_mode": mode.astype(object).where(mode.notna(), None),
                "recommendation": ranked["recommendation"].astype(object),
                "alert_readings": ranked["alert_readings"].astype(np.int64),
                "last_reading_at": _iso(last),
            }
        ).reset_index(drop=True)

    def orders(self) -> list[WorkOrder]:
        """The work orders as typed records, ranked: priority 1 first."""
        rows: list[dict[str, Any]] = self.table().to_dict("records")  # type: ignore[assignment]
        return [WorkOrder(**row) for row in rows]


def _reduce(alerts: pd.DataFrame) -> pd.DataFrame:
    """One row per machine: its worst reading (probability, then utilisation), alerts summed."""
    worst = alerts.sort_values(
        ["failure_probability", "utilisation", "reading_at"],
        ascending=[False, False, False],
        na_position="last",
        kind="stable",
    ).drop_duplicates("key")
    counts = alerts.groupby("key")["alert_readings"].sum()
    return worst.assign(alert_readings=worst["key"].map(counts).to_numpy()).reset_index(drop=True)


def _iso(stamps: pd.Series) -> pd.Series:
    """ISO 8601 texts in UTC (``2026-11-25T08:30:00+00:00``); None where there is no time."""
    utc = pd.to_datetime(stamps, utc=True)
    text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return text.astype(object).where(utc.notna(), None)


def collect_work_orders(parts: Iterable[Path]) -> WorkOrderTally:
    """The work orders of a day's part files (read back a row group at a time)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tally = WorkOrderTally()
    for path in parts:
        with open_parquet(path) as parquet:
            names = set(parquet.schema_arrow.names)
            wanted = [
                c
                for c in parquet.schema_arrow.names
                if c in {PREDICTION_ID, MACHINE_ID, TIMESTAMP, FAILURE_MODE, *_SCORED}
                or c in UTILISATION_COLUMNS
            ]
            if not {PREDICTION_ID, *_SCORED} <= names:
                continue  # not a scored part file
            plant = [c for c in (MACHINE_ID, TIMESTAMP) if c in names]
            for batch in parquet.iter_batches(batch_size=READ_ROWS, columns=wanted):
                # only the alerts and one time per machine become Python objects
                if len(plant) == 2:
                    latest = pa.Table.from_batches([batch.select(plant)]).group_by(MACHINE_ID)
                    tally.see(
                        latest.aggregate([(TIMESTAMP, "max")]).to_pandas(), f"{TIMESTAMP}_max"
                    )
                alerts = batch.filter(pc.equal(batch.column("prediction"), 1))
                if alerts.num_rows:
                    tally.add_alerts(alerts.to_pandas())
    return tally


def write_work_orders(out_dir: Path, table: pd.DataFrame) -> tuple[Path, Path]:
    """``work_orders.csv`` and ``work_orders.json`` in ``out_dir`` from :meth:`WorkOrderTally.table`
    (a header line and ``[]`` when there is no order)."""
    table = table[list(WORK_ORDER_COLUMNS)]
    csv = write_csv_atomic(table, out_dir / CSV_FILE)
    with AtomicOutput(out_dir / JSON_FILE) as out, out.tmp.open("w", encoding="utf-8") as file:
        _write_json(table, file)
    return csv, out_dir / JSON_FILE


def _write_json(table: pd.DataFrame, file: IO[str]) -> None:
    """The orders as one JSON array of records, written a slice at a time: the text of a day
    with an order per alerting reading is larger than the table itself."""
    if not len(table):
        file.write("[]\n")
        return
    file.write("[\n")
    for start in range(0, len(table), JSON_ROWS):
        text = table.iloc[start : start + JSON_ROWS].to_json(
            orient="records", force_ascii=False, indent=2
        )
        if start:
            file.write(",\n")
        file.write(text[2:-2])  # the records without the slice's own "[\n" and "\n]"
    file.write("\n]\n")
