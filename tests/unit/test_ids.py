"""Prediction ids: deterministic for batch rows, unique and time-ordered for API answers."""

from __future__ import annotations

from datetime import date

import pandas as pd

from predmaint.inference.ids import (
    PREDICTION_ID,
    BatchIds,
    batch_prediction_id,
    batch_prediction_ids,
    new_prediction_id,
    prediction_id_time_ms,
    with_batch_ids,
)

DAY = date(2026, 11, 25)


def test_batch_ids_are_the_same_on_a_rerun_and_differ_by_day_file_and_row() -> None:
    # given the same day, file and row twice
    first = batch_prediction_id(DAY, "plant-a.csv", 7)
    again = batch_prediction_id(DAY, "plant-a.csv", 7)
    # then the id is the same, and changing any part changes it
    assert first == again, "a re-run must give the same id"
    others = {
        batch_prediction_id(date(2026, 11, 26), "plant-a.csv", 7),
        batch_prediction_id(DAY, "plant-b.csv", 7),
        batch_prediction_id(DAY, "plant-a.csv", 8),
    }
    assert first not in others and len(others) == 3
    assert first.startswith("20261125-") and len(first) == 9 + 16, first


def test_vectorised_batch_ids_match_the_single_id_and_are_unique() -> None:
    ids = batch_prediction_ids(DAY, "simulated.parquet", 50_000)
    assert ids[0] == batch_prediction_id(DAY, "simulated.parquet", 1)
    assert ids[-1] == batch_prediction_id(DAY, "simulated.parquet", 50_000)
    assert len(set(ids)) == 50_000, "ids of one file must be unique"


def test_a_chunks_ids_are_the_single_ids_of_its_rows_across_digit_counts() -> None:
    # given a chunk of a file whose row numbers go from two to four digits
    ids = batch_prediction_ids(DAY, "plant-a.parquet", 1_000, first_row=95)
    # then each id is the one the single-id function gives that row of the file
    assert list(ids) == [batch_prediction_id(DAY, "plant-a.parquet", r) for r in range(95, 1_095)]


def test_ids_taken_chunk_by_chunk_are_the_files_ids_whatever_the_chunks() -> None:
    # given a file handed out in chunks of uneven sizes
    sizes = [1_000, 1_000, 300, 2_500, 1_000, 7]
    ids = BatchIds(DAY, "plant-a.parquet")
    made = [i for n in sizes for i in ids.take(n)]
    # then every row has the id of its place in the file
    assert made == list(batch_prediction_ids(DAY, "plant-a.parquet", sum(sizes)))


def test_batch_ids_are_stable_across_releases() -> None:
    # outcomes are recorded against ids: a day re-run by a later release must give the same ids
    assert batch_prediction_id(DAY, "plant-a.csv", 7) == "20261125-af36e364834237f9"
    assert batch_prediction_id(DAY, "plant-a.csv", 8) == "20261125-532c1a193c0563f1"


def test_a_large_files_ids_never_collide_and_differ_from_another_files() -> None:
    # given two files of a plant-sized day (the row mix is a bijection per file)
    first = batch_prediction_ids(DAY, "line-1.parquet", 2_000_000)
    second = batch_prediction_ids(DAY, "line-2.parquet", 2_000_000)
    # then no id repeats within a file or across the two
    assert len(set(first)) == len(first)
    assert set(first).isdisjoint(second)


def test_with_batch_ids_numbers_rows_as_they_arrived() -> None:
    # given a file read with a non-default index (e.g. after filtering)
    frame = pd.DataFrame({"torque": [40.0, 41.0, 42.0]}, index=[5, 9, 11])
    out = with_batch_ids(frame, DAY, "f.csv")
    # then ids come first and follow the row's position in the file, not its index
    assert list(out.columns) == [PREDICTION_ID, "torque"]
    assert out[PREDICTION_ID].tolist() == [batch_prediction_id(DAY, "f.csv", i) for i in (1, 2, 3)]
    assert PREDICTION_ID not in frame.columns, "the caller's frame is left alone"


def test_api_ids_are_unique_sortable_by_time_and_never_look_like_batch_ids() -> None:
    ids = [new_prediction_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 26 and "-" not in i for i in ids)
    early, late = new_prediction_id(now_ms=1_700_000_000_000), new_prediction_id(1_700_000_000_001)
    assert early < late, "a later id sorts after an earlier one"
    assert prediction_id_time_ms(early) == 1_700_000_000_000
    assert prediction_id_time_ms(batch_prediction_id(DAY, "f.csv", 1)) is None


def test_api_ids_random_part_uses_every_digit_in_every_position() -> None:
    # given ids made within the same millisecond (the time part is shared)
    ids = [new_prediction_id(now_ms=1_700_000_000_000) for _ in range(5_000)]
    assert len({i[:10] for i in ids}) == 1 and len(set(ids)) == len(ids)
    # then each of the 16 random positions takes all 32 Crockford digits (80 random bits)
    for position in range(10, 26):
        assert len({i[position] for i in ids}) == 32, position


def test_api_ids_time_part_is_the_crockford_encoding_of_the_milliseconds() -> None:
    for ms in (0, 1, 1023, 1_700_000_000_000, (1 << 48) - 1):
        assert prediction_id_time_ms(new_prediction_id(now_ms=ms)) == ms, ms


def test_ids_from_codes_write_every_byte_value_as_two_lowercase_hex_digits() -> None:
    import numpy as np

    from predmaint.inference.ids import ids_from_codes

    joined = bytes(range(256)) + bytes(range(255, -1, -1))  # 64 codes of 8 bytes
    ids = ids_from_codes(date(2026, 6, 1), np.frombuffer(joined, dtype=">u8").astype(np.uint64))
    expected = [f"20260601-{joined[i : i + 8].hex()}" for i in range(0, len(joined), 8)]
    assert list(ids) == expected
