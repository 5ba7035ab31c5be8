"""Stopping a process group leaves nothing behind: what the leader forked, what ignores SIGTERM.

Real processes (``sh`` and ``sleep``), each started in a session of its own as the launcher,
the benchmarks and the tests start their servers.
"""

from __future__ import annotations

import subprocess
import time

from predmaint import process_group


def start(script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sh", "-c", script], start_new_session=True)


def test_stopping_the_group_stops_what_the_leader_forked() -> None:
    # given a leader with a child of its own in the background
    process = start("sleep 300 & sleep 300")
    time.sleep(0.2)
    assert process_group.alive(process.pid)
    # when the group is stopped
    process_group.stop(process, timeout=5)
    # then the leader is reaped and no process of the group is left
    assert process.returncode is not None
    assert not process_group.alive(process.pid)


def test_children_a_leader_leaves_behind_are_stopped_too() -> None:
    # given a leader that exits on SIGTERM without passing it on to its background child
    process = start("sleep 300 & wait")
    time.sleep(0.2)
    # when only the leader is asked to stop, as the Airflow launcher asks its components
    process_group.stop(process, timeout=5, whole_group=False, grace=1.0)
    # then the child it left behind is stopped as well
    assert not process_group.alive(process.pid)


def test_a_group_that_ignores_sigterm_is_killed_after_the_bounded_waits() -> None:
    # given a leader and a child that both ignore SIGTERM
    process = start('trap "" TERM; sleep 300 & wait')
    time.sleep(0.2)
    # when the group is stopped with short waits
    started = time.monotonic()
    process_group.stop(process, timeout=0.5, grace=0.5)
    # then SIGKILL ends it within the waits, not after the sleeps
    assert time.monotonic() - started < 10
    assert process.returncode is not None and not process_group.alive(process.pid)
