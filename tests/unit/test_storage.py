"""Atomic writes, day partitions and retention."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from predmaint.storage import (
    clean_partitions,
    partition_date,
    partition_dir,
    replace_partition,
    write_json_atomic,
    write_parquet_atomic,
)


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "a" / "report.json", {"x": 1})
    write_parquet_atomic(pd.DataFrame({"a": [1]}), tmp_path / "a" / "t.parquet")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["report.json", "t.parquet"]


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    write_parquet_atomic(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's error type is not the point
        write_parquet_atomic(pd.DataFrame({"a": [object()]}), target)
    assert pd.read_parquet(target)["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_replace_partition_swaps_one_day_and_keeps_others(tmp_path: Path) -> None:
    day, other = date(2026, 1, 2), date(2026, 1, 1)
    with replace_partition(tmp_path, other) as staging:
        (staging / "keep.txt").write_text("other day")
    with replace_partition(tmp_path, day) as staging:
        (staging / "old.txt").write_text("first run")
    with replace_partition(tmp_path, day) as staging:
        (staging / "new.txt").write_text("second run")
    assert [p.name for p in partition_dir(tmp_path, day).iterdir()] == ["new.txt"]
    assert (partition_dir(tmp_path, other) / "keep.txt").read_text() == "other day"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds=2026-01-01", "ds=2026-01-02"]


def test_failed_partition_build_keeps_the_old_partition(tmp_path: Path) -> None:
    day = date(2026, 1, 2)
    with replace_partition(tmp_path, day) as staging:
        (staging / "good.txt").write_text("ok")
    with pytest.raises(RuntimeError), replace_partition(tmp_path, day) as staging:
        (staging / "half.txt").write_text("...")
        raise RuntimeError("crash mid-way")
    assert [p.name for p in partition_dir(tmp_path, day).iterdir()] == ["good.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["ds=2026-01-02"]


def test_clean_partitions_removes_only_days_past_retention(tmp_path: Path) -> None:
    for day in ("2026-01-01", "2026-01-20", "2026-01-31"):
        (tmp_path / f"ds={day}").mkdir()
    (tmp_path / "notes").mkdir()
    removed = clean_partitions(tmp_path, date(2026, 1, 31), retention_days=11)
    assert [p.name for p in removed] == ["ds=2026-01-01"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds=2026-01-20", "ds=2026-01-31", "notes"]


def test_partition_date_parses_only_partitions() -> None:
    assert partition_date(Path("ds=2026-03-04")) == date(2026, 3, 4)
    assert partition_date(Path("ds=garbage")) is None
    assert partition_date(Path("raw")) is None
