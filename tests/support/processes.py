"""Real server processes for the tests: start, wait for, report on, and stop them.

Each process runs in its own session (process group), its output in a log file, so a failing
test can show the last lines of every server, and teardown can stop whatever the server forked
(uvicorn and Celery workers, Airflow task runners) by stopping the whole group, not just its
leader (:mod:`predmaint.process_group`). Nothing here knows about MLflow or Airflow: the tests
say what to start and what to wait for.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from predmaint import process_group
from tests.support.waiting import wait_for

T = TypeVar("T")

#: Seconds a server gets to stop after SIGTERM before its process group is killed.
STOP_TIMEOUT_S = 20.0


@dataclass
class Server:
    """One started command: its process (group leader) and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def exited(self) -> int | None:
        return self.process.poll()

    def group_alive(self) -> bool:
        """Whether any process of the server's group is still there (the leader or a child)."""
        return process_group.alive(self.process.pid)

    def terminate(self) -> None:
        """Ask the whole group to shut down (SIGTERM), without waiting."""
        process_group.terminate(self.process)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the group, wait for the leader, then SIGKILL whatever is left of the group."""
        process_group.stop(self.process, timeout)


@dataclass
class Servers:
    """The servers one test started; stopped together at teardown, last started first."""

    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    started: list[Server] = field(default_factory=list)
    #: How long each server took to stop (shown with a teardown failure; slow stops cost CI time).
    stop_seconds: dict[str, float] = field(default_factory=dict)

    def start(
        self,
        name: str,
        command: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Server:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                list(command),
                env=env if env is not None else self.env,
                cwd=cwd or self.log_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: teardown kills what it forks, too
            )
        server = Server(name, process, log_path)
        self.started.append(server)
        return server

    def report(self, lines: int = 25) -> str:
        """The last lines of every server's log, each under its name and exit status."""
        parts = []
        for server in self.started:
            code = server.exited()
            status = "running" if code is None else f"exited with code {code}"
            parts.append(f"----- {server.name} ({status}), last {lines} lines of {server.log_path}")
            parts.append(server.tail(lines))
        return "\n".join(parts)

    def died(self) -> str | None:
        """The servers that exited, with their codes (``None`` while all run)."""
        dead = [s for s in self.started if s.exited() is not None]
        return ", ".join(f"{s.name} (code {s.exited()})" for s in dead) or None

    def wait_for(
        self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0
    ) -> T:
        """:func:`tests.support.waiting.wait_for`, failing with every server's log tail when the
        time is up or a server died."""
        return wait_for(what, probe, timeout, interval, died=self.died, report=self.report)

    def stop_all(self, last: Sequence[str] = ()) -> list[str]:
        """Stop every server; returns the names of those whose process group survived.

        All but ``last`` get SIGTERM at once (stopping one after the other would add up their
        shutdown times), then ``last`` (e.g. Airflow's API server, which tasks still running
        report their end to) is stopped once the others are gone.
        """
        early = [s for s in reversed(self.started) if s.name not in last]
        late = [s for s in self.started if s.name in last]
        for server in early:
            server.terminate()
        for server in early + late:
            start = time.monotonic()
            server.stop()
            self.stop_seconds[server.name] = round(time.monotonic() - start, 1)
        return [s.name for s in self.started if s.group_alive()]
