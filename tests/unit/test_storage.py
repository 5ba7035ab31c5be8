"""Atomic writes, day partitions and retention."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from predmaint.storage import (
    clean_temporaries,
    partition_date,
    partition_dir,
    partitions_before,
    publish_folder,
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


def test_partitions_before_lists_only_day_folders_before_the_cutoff(tmp_path: Path) -> None:
    for day in ("2026-01-01", "2026-01-19", "2026-01-20", "2026-01-31"):
        (tmp_path / f"ds={day}").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / ".ds=2026-01-02.x.tmp").mkdir()  # a run's work in progress: not a partition
    (tmp_path / "ds=2026-01-03").write_text("a file, not a partition")
    before = partitions_before(tmp_path, date(2026, 1, 20))
    assert [p.name for p in before] == ["ds=2026-01-01", "ds=2026-01-19"]
    assert partitions_before(tmp_path / "missing", date(2026, 1, 20)) == []


def test_partition_date_parses_only_partitions() -> None:
    assert partition_date(Path("ds=2026-03-04")) == date(2026, 3, 4)
    assert partition_date(Path("ds=garbage")) is None
    assert partition_date(Path("raw")) is None


def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "report.json", {"x": 1})
        with replace_partition(tmp_path, date(2026, 1, 2)) as staging:
            write_parquet_atomic(pd.DataFrame({"a": [1]}), staging / "part.parquet")
    finally:
        os.umask(old)
    day = partition_dir(tmp_path, date(2026, 1, 2))
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(day.stat().st_mode) == 0o755
    assert stat.S_IMODE((day / "part.parquet").stat().st_mode) == 0o644


def test_leftovers_of_a_killed_run_are_cleaned_by_the_next(tmp_path: Path) -> None:
    # given what a SIGKILL mid-write leaves: a hidden staging folder and a temporary file
    day = date(2026, 1, 2)
    (tmp_path / ".ds=2026-01-02.x1.tmp").mkdir()
    (tmp_path / ".ds=2026-01-02.x1.tmp" / "part.parquet").write_bytes(b"half")
    # and a build in progress in another process, which holds its lock
    busy = tmp_path / ".ds=2026-01-01.x2.tmp"
    busy.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(busy)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        # when the next run replaces a day
        with replace_partition(tmp_path, day) as staging:
            (staging / "new.txt").write_text("ok")
        # then the dead run's folder is gone and the live one is left alone
        assert sorted(p.name for p in tmp_path.iterdir()) == [busy.name, "ds=2026-01-02"]
    finally:
        holder.kill()
        holder.wait()
    assert clean_temporaries(tmp_path) == [busy]


_HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_a_reader_never_finds_the_day_missing_while_it_is_replaced(tmp_path: Path) -> None:
    day = date(2026, 1, 2)
    final = partition_dir(tmp_path, day)
    with replace_partition(tmp_path, day) as staging:
        (staging / "report.json").write_text("0")
    missing = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            if not os.path.isdir(final):
                missing.append(1)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for run in range(300):
            with replace_partition(tmp_path, day) as staging:
                (staging / "report.json").write_text(str(run))
    finally:
        stop.set()
        reader.join()
    assert not missing, f"the day's folder was missing {len(missing)} times"
    assert (final / "report.json").read_text() == "299"


def test_publish_folder_exchanges_in_one_step(tmp_path: Path) -> None:
    old, new = tmp_path / "ds=2026-01-02", tmp_path / ".staging.tmp"
    old.mkdir()
    (old / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    inode = new.stat().st_ino
    publish_folder(new, old)
    assert old.stat().st_ino == inode and [p.name for p in old.iterdir()] == ["new.txt"]
    assert not new.exists()
