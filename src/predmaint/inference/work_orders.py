"""Work orders: a scored day turned into the list a maintenance team works through, worst first.

A technician visits machines, not readings. One work order per machine needing action (any of
its readings alerted: prediction 1), carrying its worst reading (highest failure probability):
risk level, failure mode and recommendation of that reading, how many of the machine's readings
alerted, and the time of its last reading. Readings without a machine id cannot be grouped: each
alerting one is a work order of its own, named by its ``prediction_id``. Orders are ranked by
failure probability, then by how much of a documented limit the worst reading uses (the
diagnosis' utilisation columns, when the scored readings have them), then by alert count.

The day's part files are read back column by column and row group by row group, so memory grows
with the machines and the alerts without a machine id, not with the day. The files
``work_orders.csv`` and ``work_orders.json`` (UTF-8, ISO 8601 times in UTC, the columns of
:data:`WORK_ORDER_COLUMNS` in that order) are the import format for a maintenance system
(CMMS), documented in docs/batch.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predmaint.data.columns import MACHINE_ID, TIMESTAMP
from predmaint.inference.ids import PREDICTION_ID
from predmaint.storage import write_csv_atomic, write_json_atomic

CSV_FILE = "work_orders.csv"
JSON_FILE = "work_orders.json"
#: The per-reading failure mode column (the diagnosis adds it; absent: orders carry null).
FAILURE_MODE = "failure_mode"
#: Per-reading columns ending so are the diagnosis' share of a documented limit used (>= 1:
#: the rule is broken); a reading's utilisation is the largest of them.
UTILISATION_SUFFIX = "utilisation"
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
    columns = [c for c in frame.columns if str(c).endswith(UTILISATION_SUFFIX)]
    if not columns:
        return np.full(len(frame), np.nan)
    values = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return np.fmax.reduce(values, axis=1) if values.size else np.full(len(frame), np.nan)


def _failure_mode(frame: pd.DataFrame) -> pd.Series:
    """The reading's failure mode, from the diagnosis' column when the day has one."""
    if FAILURE_MODE not in frame.columns:
        return pd.Series(None, index=frame.index, dtype=object)
    return frame[FAILURE_MODE].astype(object).where(frame[FAILURE_MODE].notna(), None)


class WorkOrderTally:
    """The day's alerts reduced, chunk by chunk, to one worst reading and a count per order."""

    def __init__(self) -> None:
        self._alerts = pd.DataFrame()
        self._last_seen: dict[str, pd.Timestamp] = {}

    def add(self, scored: pd.DataFrame) -> None:
        """Count one chunk of scored readings (the part file's columns)."""
        self.see(scored)
        alerting = scored["prediction"].to_numpy() == 1
        if alerting.any():
            self.add_alerts(scored[alerting].reset_index(drop=True))

    def see(self, readings: pd.DataFrame) -> None:
        """Remember each machine's last reading time (any reading, alerting or not)."""
        if MACHINE_ID not in readings.columns or TIMESTAMP not in readings.columns:
            return
        known = readings[[MACHINE_ID, TIMESTAMP]].dropna()
        for name, at in known.groupby(MACHINE_ID)[TIMESTAMP].max().items():
            seen = self._last_seen.get(str(name))
            self._last_seen[str(name)] = at if seen is None else max(seen, at)

    def add_alerts(self, alerts: pd.DataFrame) -> None:
        """Fold alerting readings (prediction 1) into the orders."""
        n = len(alerts)
        machine = alerts[MACHINE_ID] if MACHINE_ID in alerts.columns else pd.Series([None] * n)
        stamp = alerts[TIMESTAMP] if TIMESTAMP in alerts.columns else pd.Series([pd.NaT] * n)
        rows = pd.DataFrame(
            {
                "machine_id": machine.astype(object).where(machine.notna(), None).to_numpy(),
                "prediction_id": alerts[PREDICTION_ID].astype(str).to_numpy(),
                "risk_level": alerts["risk_level"].astype(str).to_numpy(),
                "failure_probability": alerts["failure_probability"].to_numpy(),
                "failure_mode": _failure_mode(alerts).to_numpy(),
                "recommendation": alerts["recommendation"].astype(str).to_numpy(),
                "alert_readings": 1,
                "utilisation": _utilisation(alerts),
                "reading_at": stamp.astype(object).to_numpy(),
            }
        )
        # a machine's alerts make one order; an alert without a machine id is its own
        rows["by_reading"] = rows["machine_id"].isna()
        rows["key"] = rows["machine_id"].where(~rows["by_reading"], rows["prediction_id"])
        if not self._alerts.empty:
            rows = pd.concat([self._alerts, rows], ignore_index=True)
        self._alerts = _reduce(rows)

    def orders(self) -> list[WorkOrder]:
        """The work orders, ranked: priority 1 first."""
        if self._alerts.empty:
            return []
        ranked = self._alerts.sort_values(
            ["failure_probability", "utilisation", "alert_readings", "by_reading", "key"],
            ascending=[False, False, False, True, True],
            na_position="last",
            kind="stable",
        )
        records: list[dict[str, Any]] = ranked.to_dict("records")  # type: ignore[assignment]
        return [self._order(priority, row) for priority, row in enumerate(records, start=1)]

    def _order(self, priority: int, row: dict[str, Any]) -> WorkOrder:
        by_reading = bool(row["by_reading"])
        last = row["reading_at"] if by_reading else self._last_seen.get(str(row["machine_id"]))
        return WorkOrder(
            priority=priority,
            machine_id=None if by_reading else str(row["machine_id"]),
            prediction_id=str(row["prediction_id"]),
            risk_level=str(row["risk_level"]),
            failure_probability=round(float(row["failure_probability"]), 6),
            failure_mode=None if pd.isna(row["failure_mode"]) else str(row["failure_mode"]),
            recommendation=str(row["recommendation"]),
            alert_readings=int(row["alert_readings"]),
            last_reading_at=_iso(last),
        )


def _reduce(alerts: pd.DataFrame) -> pd.DataFrame:
    """One row per order: its worst reading (probability, then utilisation), alerts summed."""
    worst = alerts.sort_values(
        ["failure_probability", "utilisation", "reading_at"],
        ascending=[False, False, False],
        na_position="last",
        kind="stable",
    ).drop_duplicates(["by_reading", "key"])
    counts = alerts.groupby(["by_reading", "key"])["alert_readings"].sum()
    index = pd.MultiIndex.from_frame(worst[["by_reading", "key"]])
    return worst.assign(alert_readings=counts.reindex(index).to_numpy()).reset_index(drop=True)


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").isoformat()


def collect_work_orders(parts: Iterable[Path]) -> list[WorkOrder]:
    """The work orders of a day's part files (read back a row group at a time)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tally = WorkOrderTally()
    for path in parts:
        with pq.ParquetFile(path) as parquet:
            names = set(parquet.schema_arrow.names)
            wanted = [
                c
                for c in parquet.schema_arrow.names
                if c in {PREDICTION_ID, MACHINE_ID, TIMESTAMP, FAILURE_MODE, *_SCORED}
                or c.endswith(UTILISATION_SUFFIX)
            ]
            if not {PREDICTION_ID, *_SCORED} <= names:
                continue  # not a scored part file
            plant = [c for c in (MACHINE_ID, TIMESTAMP) if c in names]
            for batch in parquet.iter_batches(columns=wanted):
                # only the alerts are made Python objects; the rest stays in Arrow
                tally.see(batch.select(plant).to_pandas())
                alerts = batch.filter(pc.equal(batch.column("prediction"), 1))
                if alerts.num_rows:
                    tally.add_alerts(alerts.to_pandas())
    return tally.orders()


def write_work_orders(out_dir: Path, orders: list[WorkOrder]) -> tuple[Path, Path]:
    """``work_orders.csv`` and ``work_orders.json`` in ``out_dir`` (header / ``[]`` when none)."""
    records = [asdict(order) for order in orders]
    frame = pd.DataFrame(records, columns=list(WORK_ORDER_COLUMNS))
    csv = write_csv_atomic(frame, out_dir / CSV_FILE)
    return csv, write_json_atomic(out_dir / JSON_FILE, records)
