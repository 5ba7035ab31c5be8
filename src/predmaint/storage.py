"""Files on disk: day partitions, atomic writes, retention.

Every output is written to a temporary name in the same folder and renamed into place, so a crash
never leaves a half-written file where a reader (a DAG, the API, a user) would pick it up, and
re-running a day replaces that day's partition only.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

PARTITION_PREFIX = "ds="


def partition_dir(root: Path, ds: date) -> Path:
    """``root/ds=YYYY-MM-DD``: one folder per logical day."""
    return root / f"{PARTITION_PREFIX}{ds.isoformat()}"


def partition_date(path: Path) -> date | None:
    """The day of a ``ds=YYYY-MM-DD`` folder, or None for anything else."""
    if not path.name.startswith(PARTITION_PREFIX):
        return None
    try:
        return date.fromisoformat(path.name[len(PARTITION_PREFIX) :])
    except ValueError:
        return None


@contextmanager
def _temporary_sibling(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    with _temporary_sibling(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_json_atomic(path: Path, payload: Any) -> Path:
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str, sort_keys=False)
    return write_bytes_atomic(path, (text + "\n").encode())


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> Path:
    with _temporary_sibling(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return path


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> Path:
    with _temporary_sibling(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@contextmanager
def replace_partition(root: Path, ds: date) -> Iterator[Path]:
    """Build a day's partition in a temporary folder, then swap it in whole.

    Readers see either the old partition or the new one, never a mix; other days are untouched.
    """
    final = partition_dir(root, ds)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=root))
    try:
        yield staging
        old = None
        if final.exists():
            old = root / f".{final.name}.old-{os.getpid()}"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(staging, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def clean_partitions(root: Path, today: date, retention_days: int) -> list[Path]:
    """Remove ``ds=`` partitions older than ``today - retention_days``; return what was removed."""
    if not root.exists():
        return []
    cutoff = today - timedelta(days=retention_days)
    removed = []
    for child in sorted(root.iterdir()):
        day = partition_date(child)
        if child.is_dir() and day is not None and day < cutoff:
            shutil.rmtree(child)
            removed.append(child)
    return removed
