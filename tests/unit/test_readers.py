"""Reading a Parquet input a row group at a time: memory does not grow with the file."""

from __future__ import annotations

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


def _read(path: Path) -> tuple[int, int]:
    """Rows read chunk by chunk (a chunk per row group, one held at a time), and the most
    bytes Arrow held meanwhile."""
    rows, most = 0, 0
    for frame in iter_readings(path, GROUP_ROWS):
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
