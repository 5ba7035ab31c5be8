"""Real server processes for the services tests: start, wait for, report on, and stop them.

Each process runs in its own session (process group), its output in a log file, so a failing
test can show the last lines of every server, and teardown can stop whatever the server forked
(uvicorn and Celery workers, Airflow task runners) by killing the whole group, not just its
leader. Nothing here knows about MLflow or Airflow: the tests say what to start and what to wait
for.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

#: Seconds a server gets to stop after SIGTERM before its process group is killed.
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    """A port nobody listens on right now, on the loopback interface only."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_json(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """One HTTP call with a JSON body; returns (status, decoded JSON or text) even for 4xx/5xx,
    so a test can assert on the answer of a server that is up but not ready."""
    assert url.startswith("http://127.0.0.1:"), f"tests only talk to the loopback: {url}"
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode("utf-8", "replace")


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
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - a recycled group id owned by someone else
            return False
        return True

    def terminate(self) -> None:
        """Ask the whole group to shut down (SIGTERM), without waiting."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the group, wait for the leader, then SIGKILL whatever is left of the group."""
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        deadline = time.monotonic() + 5.0
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.2)  # children finishing their own SIGTERM handling
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


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

    def wait_for(
        self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0
    ) -> T:
        """Call ``probe`` until it returns something truthy; fail with every server's log tail
        when the time is up or a server died (waiting longer would only hide why)."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while True:
            dead = [s for s in self.started if s.exited() is not None]
            if dead:
                names = ", ".join(f"{s.name} (code {s.exited()})" for s in dead)
                pytest.fail(f"{names} exited while {what}\n{self.report()}", pytrace=False)
            try:
                result = probe()
            except (OSError, urllib.error.URLError) as error:
                result, last_error = None, f"{type(error).__name__}: {error}"
            if result:
                return result
            if time.monotonic() > deadline:
                detail = f" (last error: {last_error})" if last_error else ""
                pytest.fail(
                    f"timed out after {timeout:.0f} s {what}{detail}\n{self.report()}",
                    pytrace=False,
                )
            time.sleep(interval)

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
