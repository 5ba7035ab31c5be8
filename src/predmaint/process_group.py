"""Stopping a command together with everything it forked: its whole process group.

Servers started by the local Airflow launcher (``pipelines/airflow/run_local.py``), the
benchmarks and the tests run in a session of their own (``start_new_session=True``), so the
leader's pid is also the id of a process group holding its workers (uvicorn and Celery workers,
Airflow task runners). Stopping only the leader can leave those behind, holding ports and
database connections; these functions stop the group, with bounded waits, in one place.

Only the standard library: the launcher imports this before anything heavy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

#: How long the rest of a group gets to finish its own SIGTERM handling once the leader is gone.
DEFAULT_GRACE_S = 5.0


def alive(pgid: int) -> bool:
    """Whether any process of the group is still running (the leader or a child).

    A member that has exited but not been reaped yet (a zombie: an orphan waits for the init
    process, which in a container may take its time) does not count: it holds no port, no file
    and no connection. Zombies are told apart by their state in ``/proc`` (Linux); elsewhere any
    member counts.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a recycled group id owned by someone else
        return False
    running = _running_members(pgid)
    return True if running is None else running > 0


def _running_members(pgid: int) -> int | None:
    """How many members of the group are not zombies, from ``/proc/<pid>/stat``; ``None``
    without ``/proc``."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    count = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            count += 1
    return count


def send(pgid: int, sig: signal.Signals) -> None:
    """Signal every process of the group; a group that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def terminate(process: subprocess.Popen[bytes], *, whole_group: bool = True) -> None:
    """Ask to shut down (SIGTERM) without waiting: the whole group, or the leader only (which
    then stops its children in its own order, as Airflow's components do)."""
    if whole_group:
        send(process.pid, signal.SIGTERM)
    elif process.poll() is None:
        process.terminate()


def stop(
    process: subprocess.Popen[bytes],
    timeout: float,
    *,
    whole_group: bool = True,
    grace: float = DEFAULT_GRACE_S,
) -> None:
    """SIGTERM (see :func:`terminate`), wait up to ``timeout`` for the leader, give what is left
    of the group up to ``grace`` seconds, SIGKILL it, and reap the leader.

    A leader started with ``start_new_session=True`` is expected: ``process.pid`` is the group.
    """
    terminate(process, whole_group=whole_group)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    if not whole_group:
        send(process.pid, signal.SIGTERM)  # children the leader left behind, asked once
    deadline = time.monotonic() + grace
    while alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    send(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
    process.wait()
