"""Work orders: one per machine needing action, worst first; readings without a machine alone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from predmaint.inference.work_orders import (
    CSV_FILE,
    JSON_FILE,
    WORK_ORDER_COLUMNS,
    WorkOrder,
    WorkOrderTally,
    write_work_orders,
)

STOP = "Parar para inspeção imediata."


def _scored(rows: list[tuple[str | None, str, float, str | None]]) -> pd.DataFrame:
    """Scored readings: (machine_id, time, failure probability, failure mode); alert at >= 0.5."""
    probability = [r[2] for r in rows]
    return pd.DataFrame(
        {
            "prediction_id": [f"20261125-{i:016x}" for i in range(len(rows))],
            "machine_id": pd.Series([r[0] for r in rows], dtype="str"),
            "timestamp": pd.to_datetime([f"2026-11-25T{r[1]}Z" for r in rows]).as_unit("us"),
            "prediction": [int(p >= 0.5) for p in probability],
            "failure_probability": probability,
            "risk_level": pd.Categorical(
                ["Crítico" if p >= 0.8 else "Alto" if p >= 0.5 else "Baixo" for p in probability]
            ),
            "recommendation": [STOP if p >= 0.5 else "Operação normal." for p in probability],
            "failure_mode": [r[3] for r in rows],
        }
    )


DAY = [
    ("L-001", "08:00:00", 0.60, "HDF"),
    ("L-002", "08:05:00", 0.95, "OSF"),
    ("L-001", "09:00:00", 0.70, "PWF"),  # L-001's worst reading
    ("L-003", "09:30:00", 0.10, None),  # never alerts: no order
    (None, "10:00:00", 0.80, "PWF"),  # no machine id: an order of its own
    ("L-001", "11:00:00", 0.20, None),  # L-001's last reading, not an alert
    ("L-002", "12:00:00", 0.55, "TWF"),
    (None, "13:00:00", 0.30, None),
]


def _orders(frame: pd.DataFrame, chunk: int) -> list[WorkOrder]:
    tally = WorkOrderTally()
    for start in range(0, len(frame), chunk):
        tally.add(frame.iloc[start : start + chunk].reset_index(drop=True))
    return tally.orders()


@pytest.mark.parametrize("chunk", [1, 3, 100])
def test_one_order_per_machine_ranked_by_its_worst_reading(chunk: int) -> None:
    # when a day with three machines and two readings without a machine id is tallied
    orders = _orders(_scored(DAY), chunk)
    # then the alerting machines appear once each, the alert without machine alone, worst first
    assert [(o.priority, o.machine_id) for o in orders] == [(1, "L-002"), (2, None), (3, "L-001")]
    top, lone, l001 = orders
    assert (top.alert_readings, top.failure_probability, top.failure_mode) == (2, 0.95, "OSF")
    assert top.risk_level == "Crítico" and top.recommendation == STOP
    assert top.last_reading_at == "2026-11-25T12:00:00+00:00", "its last reading of the day"
    assert (l001.alert_readings, l001.failure_mode, l001.failure_probability) == (2, "PWF", 0.7)
    assert l001.risk_level == "Alto"
    assert l001.last_reading_at == "2026-11-25T11:00:00+00:00", "a later normal reading counts"
    assert l001.prediction_id == "20261125-0000000000000002", "the worst reading names it"
    assert (lone.prediction_id, lone.alert_readings) == ("20261125-0000000000000004", 1)
    assert lone.last_reading_at == "2026-11-25T10:00:00+00:00"


def test_equal_probabilities_rank_by_utilisation_then_alert_count() -> None:
    frame = _scored(
        [
            ("A-1", "08:00:00", 0.9, "HDF"),
            ("B-1", "08:00:00", 0.9, "OSF"),
            ("C-1", "08:00:00", 0.9, "PWF"),
            ("C-1", "09:00:00", 0.6, "PWF"),
        ]
    )
    # without diagnosis columns: probability, then how many readings alerted, then the id
    assert [o.machine_id for o in _orders(frame, 10)] == ["C-1", "A-1", "B-1"]
    # with them: the reading closest to (or past) its documented limit first
    frame["util_osf_overstrain"] = [0.5, 1.3, 0.2, 0.1]
    frame["util_hdf_temp_difference"] = [0.9, 0.1, None, None]
    assert [o.machine_id for o in _orders(frame, 10)] == ["B-1", "A-1", "C-1"]


def test_no_failure_mode_column_gives_null_and_no_alert_gives_no_order() -> None:
    frame = _scored(DAY).drop(columns="failure_mode")
    assert all(o.failure_mode is None for o in _orders(frame, 4))
    quiet = _scored([("L-001", "08:00:00", 0.1, None)])
    assert _orders(quiet, 4) == []


def test_without_plant_columns_every_alert_is_its_own_order() -> None:
    frame = _scored(DAY).drop(columns=["machine_id", "timestamp"])
    orders = _orders(frame, 2)
    assert len(orders) == 5 and all(o.machine_id is None for o in orders)
    assert all(o.alert_readings == 1 and o.last_reading_at is None for o in orders)
    assert [o.failure_probability for o in orders] == [0.95, 0.8, 0.7, 0.6, 0.55]


def test_files_have_the_documented_columns_utf8_and_iso_times(tmp_path: Path) -> None:
    tally = WorkOrderTally()
    tally.add(_scored(DAY))
    csv, js = write_work_orders(tmp_path, tally.table())
    assert (csv.name, js.name) == (CSV_FILE, JSON_FILE)
    text = csv.read_bytes().decode("utf-8")
    assert text.splitlines()[0] == ",".join(WORK_ORDER_COLUMNS)
    assert "Crítico" in text and "inspeção" in text
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert table["machine_id"].tolist() == ["L-002", "", "L-001"]
    records = json.loads(js.read_text(encoding="utf-8"))
    assert [list(r) for r in records] == [list(WORK_ORDER_COLUMNS)] * 3
    assert records[1]["machine_id"] is None
    for at in table["last_reading_at"]:
        assert pd.Timestamp(at).isoformat() == at and at.endswith("+00:00")
    # an empty day still writes both files: no order today, rather than no answer
    write_work_orders(tmp_path, WorkOrderTally().table())
    assert csv.read_text(encoding="utf-8").strip() == ",".join(WORK_ORDER_COLUMNS)
    assert json.loads(js.read_text(encoding="utf-8")) == []


AWKWARD = ["a,b", 'say "stop"', "line\nbreak", "cr\rhere", "a/b", "back\\slash", "tab\there"]
AWKWARD += ["\x01ctl", "Crítico – ção", "", "plain"]


def _awkward_table(rows: int = 60) -> pd.DataFrame:
    """A work order table in every dtype the writers meet, with texts that need quoting or
    escaping, missing values and floats whose text differs between CSV and JSON (1e-06)."""
    texts = [AWKWARD[i % len(AWKWARD)] for i in range(rows)]
    probability = [[1.0, 0.5, 1e-06, 0.123457, 0.999999, 2e-05][i % 6] for i in range(rows)]
    return pd.DataFrame(
        {
            "priority": range(1, rows + 1),
            "machine_id": pd.Series(
                [t if i % 3 else None for i, t in enumerate(texts)], dtype="str"
            ),
            # in two Arrow chunks, as columns concatenated from the day's chunks are
            "prediction_id": pd.concat(
                [
                    pd.Series([f"20261125-{i:016x}" for i in range(n, n + rows // 2)], dtype="str")
                    for n in (0, rows // 2)
                ],
                ignore_index=True,
            ),
            "risk_level": pd.Categorical([["Crítico", "Alto"][i % 2] for i in range(rows)]),
            "failure_probability": probability,
            "failure_mode": pd.Categorical([["OSF", None, "HDF"][i % 3] for i in range(rows)]),
            "recommendation": pd.Categorical(texts),
            "alert_readings": [i % 4 + 1 for i in range(rows)],
            "last_reading_at": pd.Series(
                [None if i % 2 else f"2026-11-25T{i % 24:02d}:00:00+00:00" for i in range(rows)],
                dtype="str",
            ),
        }
    )


def _as_objects(table: pd.DataFrame) -> pd.DataFrame:
    objects = table.astype(object)
    out = objects.where(table.notna(), None)
    out["failure_probability"] = table["failure_probability"]
    out["priority"] = table["priority"]
    out["alert_readings"] = table["alert_readings"]
    return out


@pytest.mark.parametrize("form", ["compact", "objects", "special ids", "empty"])
def test_files_are_the_bytes_pandas_writes(
    tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The column-wise writers give exactly pandas' to_csv / to_json text (the CMMS format)."""
    from predmaint.inference import work_orders
    from predmaint.inference.work_orders import _write_json

    monkeypatch.setattr(work_orders, "TEXT_ROWS", 7)  # slices end mid-table

    table = _awkward_table()
    if form == "objects":
        table = _as_objects(table)
    elif form == "special ids":  # texts with a character to escape in a one-per-order column
        table["prediction_id"] = pd.Series([f'id/{i},"x"' for i in range(len(table))], dtype="str")
    elif form == "empty":
        table = table.iloc[:0]
    csv, js = write_work_orders(tmp_path, table)
    assert csv.read_bytes() == table.to_csv(index=False).encode()
    with (tmp_path / "expected.json").open("wb") as file:
        _write_json(table, file)
    assert js.read_bytes() == (tmp_path / "expected.json").read_bytes()
    if len(table):
        back = json.loads(js.read_text(encoding="utf-8"))
        assert back[0]["machine_id"] is None and back[1]["machine_id"] == AWKWARD[1]
        assert back[2]["failure_probability"] == 1e-06
