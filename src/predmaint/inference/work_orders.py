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

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from predmaint.data.columns import MACHINE_ID, TIMESTAMP
from predmaint.data.readers import open_parquet
from predmaint.features.mechanisms import UTILISATION_COLUMNS
from predmaint.inference.ids import PREDICTION_ID
from predmaint.storage import AtomicOutput

CSV_FILE = "work_orders.csv"
JSON_FILE = "work_orders.json"
#: The per-reading failure mode column (the diagnosis adds it; absent: orders carry null).
FAILURE_MODE = "failure_mode"
#: Readings read back at a time (the batch job's default chunk: the same bounded memory).
READ_ROWS = 125_000
#: Orders turned into JSON text at a time by pandas.
JSON_ROWS = 20_000
#: Orders turned into CSV or JSON text at a time by the column-wise writers.
TEXT_ROWS = 20_000
_SCORED = ("prediction", "failure_probability", "risk_level", "recommendation")
#: The columns of scored readings an order is made of (with the utilisation columns).
_ORDER_INPUTS = frozenset({PREDICTION_ID, MACHINE_ID, TIMESTAMP, FAILURE_MODE, *_SCORED})


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
    chosen = frame[columns]
    if not all(dtype == np.float64 for dtype in chosen.dtypes):
        chosen = chosen.apply(pd.to_numeric, errors="coerce")
    values = chosen.to_numpy(dtype=np.float64)
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
        alerting = np.flatnonzero(scored["prediction"].to_numpy() == 1)
        if len(alerting):
            # only the columns an order uses are taken (a chunk has two dozen), and
            # column by column: taking rows of the frame copies its blocks' other rows first
            wanted = [c for c in scored.columns if c in _ORDER_INPUTS or c in UTILISATION_COLUMNS]
            self.add_alerts(pd.DataFrame({c: scored[c].array.take(alerting) for c in wanted}))

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
        ranked = every.take(_ranking(every)).reset_index(drop=True)
        lone = ranked["by_reading"].to_numpy(dtype=bool)
        seen = pd.Series(self._last_seen, dtype=object)
        last = ranked["machine_id"].map(seen).where(~lone, ranked["reading_at"])
        machine = ranked["machine_id"].astype(object).where(~lone, None)
        return pd.DataFrame(
            {
                "priority": np.arange(1, len(ranked) + 1),
                "machine_id": machine.astype("str") if len(machine) else machine,
                "prediction_id": ranked["prediction_id"].astype("str"),
                "risk_level": _text(ranked["risk_level"]),
                "failure_probability": ranked["failure_probability"].round(6),
                "failure_mode": _text(ranked["failure_mode"]),
                "recommendation": _text(ranked["recommendation"]),
                "alert_readings": ranked["alert_readings"].astype(np.int64),
                "last_reading_at": _iso(last),
            }
        )

    def orders(self) -> list[WorkOrder]:
        """The work orders as typed records, ranked: priority 1 first."""
        table = self.table().astype(object)
        rows: list[dict[str, Any]] = table.where(table.notna(), None).to_dict("records")  # type: ignore[assignment]
        return [WorkOrder(**row) for row in rows]


def _ranking(every: pd.DataFrame) -> np.ndarray:
    """The rows' order: failure probability, utilisation and alert count from the highest,
    machines before lone readings, then by key; missing values last, ties in arrival order.

    pyarrow's stable multi-key sort, for measured speed: the order pandas' ``sort_values``
    (``kind="stable"``, ``na_position="last"``) gives, without factorizing every id (185,000
    orders: 40 ms instead of 190 ms).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.table(
        {
            "p": pa.array(every["failure_probability"].to_numpy(np.float64), from_pandas=True),
            "u": pa.array(every["utilisation"].to_numpy(np.float64), from_pandas=True),
            "a": pa.array(every["alert_readings"].to_numpy(np.int64)),
            "b": pa.array(every["by_reading"].to_numpy(bool)),
            "k": pa.array(every["key"].astype(object), type=pa.large_string(), from_pandas=True),
        }
    )
    order = [("p", "descending"), ("u", "descending"), ("a", "descending")]
    order += [("b", "ascending"), ("k", "ascending")]
    indices = pc.sort_indices(keys, sort_keys=[(*key, "at_end") for key in order])
    return np.asarray(indices.to_numpy(), dtype=np.int64)


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
    """ISO 8601 texts in UTC (``2026-11-25T08:30:00+00:00``); missing where there is no time."""
    utc = pd.to_datetime(stamps, utc=True)
    if not utc.notna().any():
        return pd.Series(np.nan, index=stamps.index, dtype="str")
    text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return text.astype("str").where(utc.notna())


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
    (a header line and ``[]`` when there is no order).

    The bytes are those pandas' ``to_csv(index=False)`` and ``to_json(orient="records",
    force_ascii=False, indent=2)`` write (the CMMS import format), made column-wise for
    measured speed (:func:`_csv_bytes`, :func:`_json_bytes`); a table holding anything but
    numbers and texts (None for missing) is written by pandas itself.
    """
    table = table[list(WORK_ORDER_COLUMNS)]
    fast = _plain(table)
    # The two files at once: their text is joined by pyarrow's kernels, which release the GIL
    # (185,059 orders of the bench day: 0.69-0.92 s in turn, 0.53-0.64 s at once, on 2 cores).
    with ThreadPoolExecutor(1, thread_name_prefix="predmaint-orders") as pool:
        json_written = pool.submit(
            _write_text, out_dir / JSON_FILE, table, _json_bytes if fast else None, _write_json
        )
        _write_text(out_dir / CSV_FILE, table, _csv_bytes if fast else None, _write_csv)
        json_written.result()
    return out_dir / CSV_FILE, out_dir / JSON_FILE


def _write_text(path: Path, table: pd.DataFrame, fast: Any, slow: Any) -> None:
    """``fast(table)``'s pieces written to ``path`` (atomically); pandas' writer ``slow`` when
    there is no fast one or it cannot hold a text (e.g. a lone surrogate)."""
    with AtomicOutput(path) as out, out.tmp.open("wb") as binary:
        if fast is not None:
            try:
                binary.writelines(fast(table))
                return
            except (UnicodeError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
                binary.seek(0)
                binary.truncate()
        slow(table, binary)


def _write_csv(table: pd.DataFrame, file: IO[bytes]) -> None:
    table.to_csv(file, index=False)


def _plain(table: pd.DataFrame) -> bool:
    """Every column integers, floats, or texts (strings, categories of strings, objects that
    are strings or missing): what the fast writers format exactly as pandas does."""
    for name in table.columns:
        column = table[name]
        dtype = column.dtype
        if dtype == np.float64 or (dtype.kind in "iu" and isinstance(dtype, np.dtype)):
            continue
        values: Any
        if isinstance(dtype, pd.CategoricalDtype):
            values = dtype.categories
        elif pd.api.types.is_object_dtype(dtype):
            values = column.dropna().unique()
        elif pd.api.types.is_string_dtype(dtype):
            continue
        else:
            return False
        if not all(isinstance(v, str) for v in values):
            return False
    return True


def _is_text(column: pd.Series) -> bool:
    dtype = column.dtype
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)


def _texts(column: pd.Series, special: str, quote: str, encode: Any, missing: str) -> Any:
    """A text column's cells as a pyarrow string array; ``missing`` for None/NaN.

    Categories and objects: each distinct value through ``encode``, then gathered. Strings
    (one per order, e.g. the ids): each between two ``quote`` in one pyarrow call when none
    holds a character of the regex class ``special``, else as objects.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        uniques: Any = column.cat.categories
    elif pd.api.types.is_object_dtype(column.dtype):
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    else:
        texts = pa.array(column, type=pa.large_string(), from_pandas=True)
        if isinstance(texts, pa.ChunkedArray):  # a column concatenated from chunks
            texts = texts.combine_chunks()
        if pc.any(pc.match_substring_regex(texts, f"[{special}]")).as_py():
            return _texts(column.astype(object), special, quote, encode, missing)
        mark = pa.scalar(quote, pa.large_string())
        quoted = pc.binary_join_element_wise(mark, texts, mark, pa.scalar("", pa.large_string()))
        return pc.fill_null(quoted, pa.scalar(missing, pa.large_string()))
    encoded = pa.array([encode(v) for v in uniques] + [missing], type=pa.large_string())
    return encoded.take(pa.array(np.where(codes < 0, len(uniques), codes)))


#: Characters that may make a text's CSV cell or JSON string more than the text (in quotes).
_CSV_SPECIAL = r',"\r\n'
_JSON_SPECIAL = r'\x00-\x1f"\\/'


def _json_text(value: str) -> str:
    from pandas.io.json import ujson_dumps  # type: ignore[attr-defined]

    return str(ujson_dumps(value, ensure_ascii=False))


def _csv_cell(value: str) -> str:
    """A text as pandas' ``to_csv`` writes it: through Python's csv writer with pandas'
    settings (whose quoting rules vary a little between Python versions, e.g. for ``\\r``)."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([value, ""])
    return buffer.getvalue()[: -len(",\n")]


def _numbers(column: pd.Series, as_json: bool) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column.to_numpy()
    if values.dtype.kind in "iu":
        return pc.cast(pa.array(values), pa.large_string())
    if as_json:  # pandas' JSON encoder (10 decimals, its own exponent rule), one call
        text = column.reset_index(drop=True).to_json(  # type: ignore[call-overload]
            orient="values", double_precision=10
        )
        return pa.array(text[1:-1].split(","), type=pa.large_string())
    # pandas writes floats as numpy's str (the shortest repr), missing as empty
    cells = values.astype(str).astype(object)
    cells[np.isnan(values)] = ""
    return pa.array(cells, type=pa.large_string())


def _joined(pieces: list[Any]) -> memoryview:
    """The cells of ``pieces`` (arrays and literal texts) joined row by row, rows one after
    another, as bytes (pyarrow's ``binary_join_element_wise``: no Python string per row; the
    text is its result's data buffer, not copied)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = pc.binary_join_element_wise(
        *[p if isinstance(p, pa.Array) else pa.scalar(p, pa.large_string()) for p in pieces],
        pa.scalar("", pa.large_string()),
    )
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
    start, end = offsets[rows.offset], offsets[rows.offset + len(rows)]
    return memoryview(rows.buffers()[2])[start:end]


def _csv_bytes(table: pd.DataFrame) -> Iterator[bytes | memoryview]:
    """The table as pandas' ``to_csv(index=False)`` writes it (``\\n`` line ends), column-wise,
    :data:`TEXT_ROWS` orders at a time.

    Our own writer, for measured speed: the 185,000 orders of the 5 M-reading bench day in
    0.18-0.30 CPU-s instead of 0.57-0.62 (``to_csv``), the same bytes (compared on that day and
    in the tests).
    """
    yield (",".join(_csv_cell(str(c)) for c in table.columns) + "\n").encode()
    for start in range(0, len(table), TEXT_ROWS):
        rows = table.iloc[start : start + TEXT_ROWS]
        pieces: list[Any] = []
        for i, name in enumerate(rows.columns):
            column = rows[name]
            if _is_text(column):
                pieces.append(_texts(column, _CSV_SPECIAL, "", _csv_cell, ""))
            else:
                pieces.append(_numbers(column, as_json=False))
            pieces.append("," if i < len(rows.columns) - 1 else "\n")
        yield _joined(pieces)


def _json_bytes(table: pd.DataFrame) -> Iterator[bytes | memoryview]:
    """The table as pandas' ``to_json(orient="records", force_ascii=False, indent=2)`` writes
    it, with the final line break :func:`_write_json` adds, column-wise, :data:`TEXT_ROWS`
    orders at a time.

    Our own writer, for measured speed: the 185,000 orders of the 5 M-reading bench day in
    0.13-0.21 CPU-s instead of 0.33-0.43 (``to_json`` in slices), the same bytes (compared on
    that day and in the tests). Texts are encoded by pandas' own JSON encoder, once per
    distinct value (or quoted at once when none needs escaping), floats by pandas too.
    """
    from pandas.io.json import ujson_dumps  # type: ignore[attr-defined]

    if not len(table):
        yield b"[]\n"
        return
    yield b"[\n"
    for start in range(0, len(table), TEXT_ROWS):
        rows = table.iloc[start : start + TEXT_ROWS]
        pieces: list[Any] = [",\n"]  # before every record; the file's first one goes
        for i, name in enumerate(rows.columns):
            column = rows[name]
            key = ujson_dumps(str(name), ensure_ascii=False)
            pieces.append(("  {\n    " if i == 0 else ",\n    ") + key + ":")
            if _is_text(column):
                pieces.append(_texts(column, _JSON_SPECIAL, '"', _json_text, "null"))
            else:
                pieces.append(_numbers(column, as_json=True))
        pieces.append("\n  }")
        text = _joined(pieces)
        yield text[len(b",\n") :] if start == 0 else text
    yield b"\n]\n"


def _write_json(table: pd.DataFrame, file: IO[bytes]) -> None:
    """The orders as one JSON array of records, written by pandas a slice at a time (the text
    of a day with an order per alerting reading is larger than the table itself)."""
    if not len(table):
        file.write(b"[]\n")
        return
    file.write(b"[\n")
    for start in range(0, len(table), JSON_ROWS):
        text = table.iloc[start : start + JSON_ROWS].to_json(
            orient="records", force_ascii=False, indent=2
        )
        if start:
            file.write(b",\n")
        file.write(text[2:-2].encode())  # the records without the slice's own "[\n" and "\n]"
    file.write(b"\n]\n")
