"""Reading a Parquet input a row group at a time: memory does not grow with the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from predmaint.data.readers import iter_readings

GROUP_ROWS = 20_000


def _write(path: Path, groups: int) -> int:
    """A file of ``groups`` row groups (ids and floats, as a day's parts); bytes of one group."""
    rng = np.random.default_rng(0)
    schema = pa.schema([("reading_id", pa.string()), ("x", pa.float64())])
    with pq.ParquetWriter(path, schema) as writer:
        for group in range(groups):
            start = group * GROUP_ROWS
            ids = pa.array([f"2026-06-01-{i:012d}" for i in range(start, start + GROUP_ROWS)])
            writer.write_table(pa.table({"reading_id": ids, "x": rng.normal(size=GROUP_ROWS)}))
    return int(pq.ParquetFile(path).metadata.row_group(0).total_byte_size)


def _read(path: Path, ahead: bool = False) -> tuple[int, int]:
    """Rows read chunk by chunk (a chunk per row group, one held at a time), and the most
    bytes Arrow held meanwhile."""
    rows, most = 0, 0
    for frame in iter_readings(path, GROUP_ROWS, ahead=ahead):
        rows += len(frame)
        most = max(most, pa.total_allocated_bytes())
        del frame
    return rows, most


def test_a_parquet_file_ten_times_longer_is_read_in_the_same_memory(tmp_path: Path) -> None:
    # given a file of 4 row groups and one of 40
    group_bytes = _write(tmp_path / "short.parquet", 4)
    _write(tmp_path / "long.parquet", 40)
    # when each is read chunk by chunk
    short_rows, short_most = _read(tmp_path / "short.parquet")
    long_rows, long_most = _read(tmp_path / "long.parquet")
    # then every row was read, and Arrow held about as much for the long file as for the short
    # one (pyarrow's default pre_buffer held the file's row groups: 16 MB against 3 MB here)
    assert (short_rows, long_rows) == (4 * GROUP_ROWS, 40 * GROUP_ROWS)
    assert long_most < short_most + group_bytes, (long_most, short_most, group_bytes)
    # and read ahead on a thread (as the batch job reads), at most two more groups are held
    ahead_rows, ahead_most = _read(tmp_path / "long.parquet", ahead=True)
    assert ahead_rows == long_rows
    assert ahead_most < short_most + 3 * group_bytes, (ahead_most, short_most, group_bytes)


def test_read_ahead_raises_where_the_items_fail_and_stops_when_left() -> None:
    import threading

    import pytest

    from predmaint.data.readers import read_ahead

    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("broken third")

    got = []
    with pytest.raises(ValueError, match="broken third"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]
    # a caller that stops early leaves no thread behind
    ahead = read_ahead(iter(range(1000)), name="left")
    assert next(ahead) == 0
    ahead.close()
    assert not [t for t in threading.enumerate() if t.name == "predmaint-left"]


def test_chunks_read_ahead_are_those_read_in_turn(tmp_path: Path) -> None:
    _write(tmp_path / "day.parquet", 5)
    ahead = list(iter_readings(tmp_path / "day.parquet", 7_000))
    in_turn = list(iter_readings(tmp_path / "day.parquet", 7_000, ahead=False))
    assert [len(f) for f in ahead] == [len(f) for f in in_turn]
    for a, b in zip(ahead, in_turn, strict=True):
        assert a.equals(b)
