"""A local Airflow for predmaint in one command (``make airflow``): no Docker, nothing to install.

Starts Airflow 3's four components (API server + UI, scheduler, DAG processor, triggerer) with
LocalExecutor on an embedded SQLite metadata database under ``.airflow/``, the project's DAGs, and
the spec's ``admin``/``admin`` login. Tasks use the same predmaint settings as ``make run``
(``PREDMAINT_HOME`` is the project root unless set), so their MLflow runs and models land in the
same store the ``make mlflow`` UI shows. Ctrl-C (or SIGTERM) stops every component and waits for it.

Why not ``airflow standalone`` (checked against its source in Airflow 3.3.2): it would accept the
same environment (the ``admin``/``admin`` password file written here, ``AIRFLOW__API__HOST``), but
it stops its components worse than this launcher does. It reacts to Ctrl-C (SIGINT) only: a
SIGTERM (``kill``, a test, a service manager) ends it and leaves every component running. On stop
it signals each direct child once and waits for it without a bound; here each component runs in
its own process group, which is stopped whole (task runners, API workers included), with SIGKILL
after a bounded wait. It also starts the scheduler and triggerer with their log servers, which
listen on ports 8793/8794 on every interface; one machine reading its own log files needs neither,
so they stay off here (``--skip-serve-logs``).

Usage: ``python pipelines/airflow/run_local.py [--port 8080] [--home .airflow] [--no-triggerer]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from predmaint import process_group
from predmaint.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = ROOT / "pipelines" / "airflow" / "dags"
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin"
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
#: Seconds a component gets to stop after SIGTERM before its process group is killed.
STOP_TIMEOUT_S = 30.0


def airflow_env(
    home: Path, port: int, host: str = "127.0.0.1", parallelism: int | None = None
) -> dict[str, str]:
    """The environment every component and task shares (Airflow reads it before anything else).

    Explicit ``AIRFLOW__*`` variables rather than an ``airflow.cfg``: they win over any config
    file, so a developer's own ``~/airflow`` setup cannot leak in; Airflow writes ``airflow.cfg``
    (with its generated JWT and Fernet keys, shared by all components) into ``home`` on first use.
    LocalExecutor runs ``parallelism`` task processes at most (default: the setting
    ``PREDMAINT_AIRFLOW_PARALLELISM``, itself the machine's usable cores).
    """
    if parallelism is None:
        parallelism = Settings().airflow_parallelism
    home = home.resolve()
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            # Task processes report to the API server's execution API on this port.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            # `airflow` subprocesses (task runners, the API server's workers) come from this venv.
            "PATH": os.pathsep.join([bin_dir, env.get("PATH", "")]),
            # The same predmaint project as `make run`: its MLflow store and data folder.
            "PREDMAINT_HOME": str(Path(env.get("PREDMAINT_HOME") or ROOT).resolve()),
        }
    )
    return env


def write_passwords(home: Path) -> Path:
    """The simple auth manager's password file: the spec's admin/admin, not a random password."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "passwords.json"
    path.write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}))
    path.chmod(0o600)
    return path


@dataclass
class Component:
    """One Airflow command running in its own process group, its output prefixed by its name."""

    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    _reader: threading.Thread | None = field(default=None, repr=False)

    def start(self, env: dict[str, str], out: _Output) -> None:
        # A new session: Ctrl-C reaches only the launcher, which stops components in order.
        # The working directory is the predmaint project, as for `make run`: tasks read its .env.
        self.process = subprocess.Popen(
            self.command,
            env=env,
            cwd=env["PREDMAINT_HOME"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = threading.Thread(
            target=out.pump, args=(self.name, self.process), daemon=True
        )
        self._reader.start()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        """Ask the component to shut down gracefully (SIGTERM), without waiting."""
        if self.process is not None:
            process_group.terminate(self.process, whole_group=False)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the component (its leader, which stops its own children in order), wait, then
        SIGTERM and at last SIGKILL whatever is left of its process group (task runners, API
        workers it left behind)."""
        if self.process is None:
            return
        process_group.stop(self.process, timeout, whole_group=False, grace=1.0)
        if self._reader is not None:
            self._reader.join(timeout=5)


class _Output:
    """Serialises the components' output lines onto the launcher's stdout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        with self._lock:
            print(f"{name:<13}| {line}", flush=True)

    def pump(self, name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            self.say(name, raw.decode("utf-8", "replace").rstrip())


def wait_for_api(port: int, timeout: float, alive: Sequence[Component]) -> bool:
    """Poll the API server's health endpoint until it answers (or a component died)."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api/v2/monitor/health"
    while time.monotonic() < deadline:
        if any(c.exited() is not None for c in alive):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1.0)
    return False


class _Stop(Exception):
    """Raised in the main thread by SIGINT/SIGTERM."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run(home: Path, port: int, host: str, triggerer: bool) -> int:
    """Migrate the metadata database, start the components, supervise them until stopped."""
    out = _Output()
    env = airflow_env(home, port, host)
    write_passwords(home.resolve())
    Path(env["PREDMAINT_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).parent / "airflow")
    out.say(
        "predmaint",
        f"AIRFLOW_HOME={env['AIRFLOW_HOME']}  PREDMAINT_HOME={env['PREDMAINT_HOME']}  "
        f"parallelism={env['AIRFLOW__CORE__PARALLELISM']}",
    )
    out.say("predmaint", "migrating the metadata database (SQLite)")
    migrate = subprocess.run(
        [airflow, "db", "migrate"],
        env=env,
        cwd=env["PREDMAINT_HOME"],
        capture_output=True,
        text=True,
    )
    if migrate.returncode != 0:
        out.say("predmaint", migrate.stdout + migrate.stderr)
        out.say("predmaint", "`airflow db migrate` failed; see above")
        return migrate.returncode

    # One machine, one AIRFLOW_HOME: the API server reads task logs from local files, so the
    # scheduler's and triggerer's log servers (ports 8793/8794 on every interface) stay off.
    commands = {
        "api-server": [airflow, "api-server"],
        "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer", "--skip-serve-logs"],
    }
    if not triggerer:
        del commands["triggerer"]
    components = [Component(name, command) for name, command in commands.items()]
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    status = 0
    try:
        for component in components:
            component.start(env, out)
        pids = ", ".join(f"{c.name}={c.process.pid}" for c in components if c.process)
        out.say("predmaint", f"started: {pids}")
        if wait_for_api(port, timeout=180, alive=components):
            out.say(
                "predmaint",
                f"Airflow is up: http://localhost:{port}  (login {ADMIN_USER} / {ADMIN_PASSWORD}); "
                "DAGs start paused: unpause them in the UI. Ctrl-C stops everything.",
            )
        while True:
            for component in components:
                code = component.exited()
                if code is not None:
                    out.say("predmaint", f"{component.name} exited with code {code}; stopping")
                    status = code or 1
                    raise _Stop(component.name)
            time.sleep(1.0)
    except _Stop:
        pass
    finally:
        # Ignore further Ctrl-C while stopping: a half-stopped Airflow leaves orphans behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        out.say("predmaint", "stopping Airflow (API server last)")
        # The others together (the triggerer alone takes ~10 s), then the API server: tasks
        # still running report their end to it.
        ordered = sorted(components, key=lambda c: c.name == "api-server")
        for component in ordered[:-1]:
            component.terminate()
        for component in ordered:
            component.stop()
            out.say("predmaint", f"{component.name} stopped")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="API server and UI port")
    parser.add_argument("--host", default="127.0.0.1", help="address the UI listens on")
    parser.add_argument(
        "--home", type=Path, default=ROOT / ".airflow", help="AIRFLOW_HOME (metadata DB, logs)"
    )
    parser.add_argument(
        "--no-triggerer", action="store_true", help="skip the triggerer (no deferrable tasks here)"
    )
    args = parser.parse_args(argv)
    return run(args.home, args.port, args.host, triggerer=not args.no_triggerer)


if __name__ == "__main__":
    sys.exit(main())
