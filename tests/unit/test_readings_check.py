"""The vectorised readings check gives the pandera schema's verdicts and reasons, chunk or not."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from predmaint.data.readings_check import ReadingsCheck, RepeatedReadings, SeenIds
from predmaint.data.schemas import readings_schema
from predmaint.data.simulate import simulate_readings
from predmaint.data.validation import validate_frame


def _zoo() -> pd.DataFrame:
    """Plausible readings with every kind of bad value the readings schema knows."""
    frame = simulate_readings(60, date(2026, 5, 1), seed=11).reset_index(drop=True)
    frame.loc[1, "air_temperature"] = np.nan
    frame.loc[2, "process_temperature"] = np.inf
    frame.loc[3, "rotational_speed"] = 0.0  # (0, 6000]: zero is out
    frame.loc[4, "torque"] = -np.inf
    frame.loc[5, "tool_wear"] = 401.0
    frame.loc[6, ["air_temperature", "torque"]] = [20.0, 250.0]
    frame.loc[7, "udi"] = frame["udi"].iloc[3]  # duplicate of an invalid row: still a duplicate
    frame.loc[8, "udi"] = frame["udi"].iloc[9]
    frame.loc[10, "type"] = "X"
    frame.loc[11, ["type", "udi", "product_id"]] = [None, None, None]
    frame.loc[12, "udi"] = None
    frame.loc[13, "rotational_speed"] = 6000.0  # the upper bound is in
    frame.loc[14, "tool_wear"] = -0.0
    frame.loc[15, ["air_temperature", "process_temperature"]] = [np.nan, -np.inf]
    frame["timestamp"] = frame["timestamp"].astype("str")  # as a plant writes them: ISO text
    frame.loc[16, "timestamp"] = "yesterday"
    frame.loc[17, "machine_id"] = "   "
    frame.loc[18, ["machine_id", "timestamp"]] = ["M" * 65, "2026-05-01T08:00:00+02:00"]
    frame.loc[19, ["machine_id", "timestamp"]] = [None, None]  # both optional
    frame.loc[20, "timestamp"] = "2026-05-01T08:00:00"  # no offset: UTC
    return frame.astype({"udi": "Int64"})


def _reference(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    outcome = validate_frame(frame, readings_schema(identity_required=False), stage="s")
    return outcome.valid, outcome.quarantined


@pytest.mark.parametrize("as_text", [False, True], ids=["typed", "csv-text"])
def test_vectorised_check_matches_pandera_on_bad_data(as_text: bool) -> None:
    frame = _zoo()
    if as_text:  # as a CSV reads it: text, empty cells missing
        frame = frame.astype("str").replace({"nan": None, "<NA>": None, "None": None})
    valid, quarantined = _reference(frame)
    result = ReadingsCheck("s").check(frame)
    assert len(quarantined) == 13, "the zoo must exercise the rules"
    pd.testing.assert_frame_equal(result.quarantined, quarantined)
    pd.testing.assert_frame_equal(result.valid, valid)


def test_unparseable_values_get_pandera_reasons_and_duplicates_span_chunks() -> None:
    frame = _zoo().astype({"torque": "str"})
    frame.loc[21, "torque"] = "broken"
    frame.loc[40, "udi"] = frame["udi"].iloc[25]  # duplicate across the chunk boundary below
    valid, quarantined = _reference(frame)
    check = ReadingsCheck("s")
    parts = [check.check(frame.iloc[i : i + 30]) for i in (0, 30)]
    chunked = pd.concat([p.quarantined for p in parts], ignore_index=True)
    assert "torque: not a valid float64 (got 'broken')" in set(chunked["quarantine_reason"])
    assert chunked["source_row"].tolist() == quarantined["source_row"].tolist()
    assert chunked["quarantine_reason"].tolist() == quarantined["quarantine_reason"].tolist()
    rows = np.concatenate([p.valid_rows for p in parts])
    assert sorted(set(rows) | set(chunked["source_row"])) == list(range(1, len(frame) + 1))
    assert sum(len(p.valid) for p in parts) == len(valid)


def test_seen_ids_dense_and_sparse() -> None:
    seen = SeenIds()
    assert not seen.seen_before(np.array([1, 5, 9])).any()
    assert seen.seen_before(np.array([5, 6])).tolist() == [True, False]
    huge = np.array([1 << 40, 7], dtype=np.int64)
    assert seen.seen_before(huge).tolist() == [False, False]
    assert seen.seen_before(np.array([1 << 40, 9, -3])).tolist() == [True, True, False]


def test_repeats_count_exact_copies_only() -> None:
    base = np.array([[300.0, 310.0, 1500.0, 40.0, 0.0], [300.0, 310.0, 1500.0, 40.0, 1.0]])
    repeats = RepeatedReadings()
    assert repeats.add(base, np.array([1, 2])) == 0
    assert repeats.add(np.vstack([base, base[:1]]), np.array([3, 4, 5])) == 3
    assert repeats.add(np.array([[300.0, 310.0, 1500.0, 40.0, 0.0 + 1e-9]]), np.array([6])) == 0
    assert repeats.count == 3 and repeats.examples == [3, 4, 5]


def test_repeats_over_many_chunks_are_those_a_set_of_every_reading_finds() -> None:
    # given chunks of many sizes, some drawn from a small pool of readings, some all new
    rng = np.random.default_rng(5)
    pool = rng.normal(size=(3000, 5))
    repeats, seen, expected = RepeatedReadings(), set(), 0
    for i in range(40):
        size = int(rng.integers(1, 2500))
        chunk = pool[rng.integers(0, len(pool), size)] if i % 3 else rng.normal(size=(size, 5))
        # when each chunk is counted
        found = repeats.add(chunk, np.arange(size))
        # then its repeats are the readings already seen, in an earlier chunk or this one
        again = 0
        for row in map(tuple, chunk):
            again += row in seen
            seen.add(row)
        assert found == again, i
        expected += again
    assert repeats.count == expected > 0


def test_plant_columns_are_kept_typed_and_bad_ones_named() -> None:
    result = ReadingsCheck("s").check(_zoo())
    rejected = result.quarantined
    reasons = dict(zip(rejected["source_row"], rejected["quarantine_reason"], strict=True))
    assert reasons[17] == "timestamp must be an ISO 8601 date-time, e.g. 2026-11-25T08:30:00Z"
    assert (
        reasons[18]
        == reasons[19]
        == "machine_id must be text of 1 to 64 characters, not only spaces"
    )
    valid = result.valid.set_index(pd.Index(result.valid_rows))
    assert str(valid["timestamp"].dtype) == "datetime64[us, UTC]"
    assert valid.loc[21, "timestamp"] == pd.Timestamp("2026-05-01T08:00:00Z"), "no offset: UTC"
    machines = valid["machine_id"]
    assert machines.isna()[20] and valid["timestamp"].isna()[20], "both optional"
    assert str(machines[1]).startswith("L-")


def test_column_hash_is_the_row_hash_of_the_same_readings() -> None:
    from predmaint.data.readings_check import _row_hash, column_hash

    rows = np.random.default_rng(3).normal(size=(1000, 5))
    rows[::7, 2] = -0.0
    rows[1::7, 2] = 0.0
    columns = [rows[:, i].copy() for i in range(5)]
    hashes = column_hash(columns)
    assert (hashes == _row_hash(rows)).all()
    zero, negative = rows[:1].copy(), rows[:1].copy()
    zero[0, 2], negative[0, 2] = 0.0, -0.0
    assert column_hash(list(zero.T)) == column_hash(list(negative.T)), "-0.0 equals 0.0"
    assert (columns[2][::7] == -0.0).all() and np.signbit(columns[2][::7]).all(), "not mutated"


def test_only_value_names_the_one_type_of_a_chunk() -> None:
    from predmaint.data.readings_check import only_value

    assert only_value(pd.Series(["L"] * 5, dtype="str")) == "L"
    assert only_value(pd.Series(["L", "M"], dtype="str")) is None
    assert only_value(pd.Series(["L", None], dtype="str")) is None, "a missing type is not L"
    assert only_value(pd.Series([], dtype="str")) is None
    assert only_value(pd.Series(["L", "L"], dtype=object)) is None, "not in Arrow: unknown"


@pytest.mark.parametrize("kind", ["L", "X"])
def test_a_chunk_of_one_type_gets_the_verdicts_of_a_mixed_one(kind: str) -> None:
    # given a chunk whose readings are all of one type, and the same chunk with one more type
    frame = _zoo().drop(columns=["timestamp", "machine_id"])
    frame["type"] = pd.Series([kind] * len(frame), dtype="str")
    mixed = frame.copy()
    mixed.loc[len(mixed) - 1, "type"] = "H"
    # when both are checked
    one, other = ReadingsCheck("s").check(frame), ReadingsCheck("s").check(mixed)
    # then the readings they share get the same verdicts (the fast path agrees with isin)
    assert one.only_type == kind and other.only_type is None
    last = len(frame)
    shared = other.quarantined[other.quarantined["source_row"] != last]
    pd.testing.assert_frame_equal(
        one.quarantined[one.quarantined["source_row"] != last].reset_index(drop=True),
        shared.assign(
            type=pd.Series([kind] * len(shared), dtype="str", index=shared.index)
        ).reset_index(drop=True),
    )
    if kind == "X":
        assert len(one.valid) == 0
        assert one.quarantined["quarantine_reason"].str.contains("type must be one of").all()
