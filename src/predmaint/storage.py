"""Files on disk: day partitions, atomic writes, retention.

Every output is written to a temporary name in the same folder, flushed to disk and renamed into
place, so a crash never leaves a half-written file where a reader (a DAG, the API, a user) would
pick it up, and re-running a day replaces that day's partition only. Outputs get the modes the
umask gives (``tempfile`` alone would leave them private to the writing user).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

PARTITION_PREFIX = "ds="
#: Hidden work-in-progress entries end with it: ``.ds=…tmp`` folders, ``.<file>.…tmp`` files.
TEMP_SUFFIX = ".tmp"


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


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic set-and-restore (not thread-safe)
    os.umask(mask)
    return mask


def follow_umask(path: Path, *, folder: bool) -> None:
    """Give a ``tempfile`` file (0600) or folder (0700) the mode a plain ``open`` would give.

    ``tempfile`` creates private entries on purpose; once renamed into place they are outputs
    that another user, or a container under another uid, must be able to read.
    """
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's content (a folder: its entries) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder``, then ``folder`` itself."""
    for parent, dirs, files in os.walk(folder):
        for name in files:
            fsync_path(Path(parent, name))
        for name in dirs:
            fsync_path(Path(parent, name))
    fsync_path(folder)


def _lock(fd: int) -> bool:
    """Take an exclusive ``flock`` without waiting; False when another live process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class AtomicOutput:
    """A file written under a hidden, locked temporary name and renamed into place when done.

    ``with AtomicOutput(path) as out:`` write ``out.tmp`` (any number of times: a streamed part
    file). On success the file is flushed and renamed over ``path``, and the folder flushed; set
    ``out.publish = False`` to say "this run has no such file": an earlier run's ``path`` is then
    removed instead. On an error the temporary file goes and ``path`` is left as it was. The lock
    is held while writing, so :func:`clean_temporaries` can tell a killed writer's leftover (no
    lock) from a file another process is writing right now.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.publish = True
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent
        )
        _lock(self._fd)
        self.tmp = Path(tmp)

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None and self.publish:
                follow_umask(self.tmp, folder=False)
                os.fsync(self._fd)
                os.replace(self.tmp, self.path)
                fsync_path(self.path.parent)
            elif kind is None:
                self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self.tmp.unlink(missing_ok=True)


@contextmanager
def _temporary_sibling(path: Path) -> Iterator[Path]:
    with AtomicOutput(path) as out:
        yield out.tmp


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


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported.

    Called through ctypes because Python has no binding for it; unsupported means another
    system, an old kernel, or a filesystem without the flag (the caller then falls back).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def publish_folder(staging: Path, final: Path) -> None:
    """Put ``staging`` in the place of ``final`` so that ``final`` never stops existing.

    With an existing ``final`` the two are exchanged atomically and the old content (now under
    the staging name) is removed. Where the exchange is unsupported the old folder is renamed
    aside first: the one case with a moment in which ``final`` is missing.
    """
    if not final.exists():
        os.rename(staging, final)
    elif _renameat2_exchange(staging, final):
        shutil.rmtree(staging, ignore_errors=True)
    else:
        aside = final.with_name(f".{final.name}.{os.getpid()}.old{TEMP_SUFFIX}")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(final, aside)
        os.replace(staging, final)
        shutil.rmtree(aside, ignore_errors=True)
    fsync_path(final.parent)


def clean_temporaries(folder: Path) -> list[Path]:
    """Remove hidden ``.…tmp`` files and folders of writers that died (killed mid-write).

    A writer holds a lock on its temporary entry until it is published, so an entry whose lock
    can be taken belongs to nobody: a crash or a SIGKILL left it behind.
    """
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            fd = os.open(entry, os.O_RDONLY)
        except FileNotFoundError:
            continue  # published or removed meanwhile
        try:
            if not _lock(fd):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
        finally:
            os.close(fd)
    return removed


@contextmanager
def replace_partition(root: Path, ds: date) -> Iterator[Path]:
    """Build a day's partition in a temporary folder, then swap it in whole.

    Readers see either the old partition or the new one, never a mix and never none; other days
    are untouched. Leftovers of killed runs are removed first; the files are flushed to disk
    before the swap, so a power cut cannot publish a partition whose files are empty.
    """
    final = partition_dir(root, ds)
    root.mkdir(parents=True, exist_ok=True)
    clean_temporaries(root)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=TEMP_SUFFIX, dir=root))
    fd = os.open(staging, os.O_RDONLY)
    _lock(fd)  # held until published: a concurrent clean_temporaries leaves the build alone
    try:
        follow_umask(staging, folder=True)
        yield staging
        fsync_tree(staging)
        publish_folder(staging, final)
    finally:
        os.close(fd)
        shutil.rmtree(staging, ignore_errors=True)


def partitions_before(root: Path, cutoff: date) -> list[Path]:
    """The ``ds=`` folders of ``root`` for days before ``cutoff``, oldest first.

    Hidden work-in-progress folders (``.ds=…tmp``) are not partitions and never listed.
    """
    if not root.is_dir():
        return []
    return [
        child
        for child in sorted(root.iterdir())
        if child.is_dir() and (day := partition_date(child)) is not None and day < cutoff
    ]
