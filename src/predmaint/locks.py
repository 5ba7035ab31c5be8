"""File locks on the project home, so processes that share it take turns where they must.

Two uses: the embedded MLflow store (creating its SQLite schema is not safe with two processes
at once: alembic's migrations collide, and the registry's aliases are read, decided on and moved
as one step) and a whole command (two ``predmaint run`` in one home would write the same day's
partitions and race to promote). POSIX ``flock``: the kernel releases a lock when its holder
dies, so a killed run never leaves a stale lock behind. Each lock is re-entrant within a process
(a promotion holding the store lock opens MLflow clients that take it again) and taken by one
thread at a time.

Only the standard library, with no import from the rest of predmaint (a bottom layer).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class LockBusy(Exception):
    """The lock is held by another process; ``holder`` is what that process wrote in it."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder or 'another process'}")
        self.path = path
        self.holder = holder


@dataclass
class _FileLock:
    path: Path
    thread_lock: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    fd: int | None = None

    def acquire(self, note: str, wait: bool) -> None:
        if not self.thread_lock.acquire(blocking=wait):
            raise LockBusy(self.path, "another thread of this process")
        if self.depth == 0:
            try:
                self.fd = self._lock_file(note, wait)
            except BaseException:
                self.thread_lock.release()
                raise
        self.depth += 1

    def _lock_file(self, note: str, wait: bool) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise LockBusy(self.path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        # Who holds it, for the message another process shows when it finds the lock taken.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{note} (pid {os.getpid()})".encode(), 0)
        return fd

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        self.thread_lock.release()


_locks: dict[Path, _FileLock] = {}
_registry = threading.Lock()


@contextlib.contextmanager
def exclusive(path: Path, note: str, *, wait: bool = True) -> Iterator[None]:
    """Hold the lock file ``path`` (created if missing) for the ``with`` block.

    ``note`` says who holds it (shown to whoever finds it busy). With ``wait=False`` a lock held
    by another process raises :class:`LockBusy` at once instead of waiting for it.
    """
    with _registry:
        lock = _locks.setdefault(path.resolve(), _FileLock(path.resolve()))
    lock.acquire(note, wait)
    try:
        yield
    finally:
        lock.release()
