"""Airflow's REST API as the end-to-end tests drive it: log in, wait for a DAG to be parsed,
trigger a run for today, wait for it to finish.

The same steps for the local launcher (``make airflow``) and the CeleryExecutor deployment; how
to wait (and which logs to show when waiting fails) is the caller's, as a ``wait`` function with
the signature of :func:`tests.support.waiting.wait_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from tests.support.loopback import http_json

T = TypeVar("T")
#: Airflow's login for the tests (the spec's, set by the launcher's password file).
ADMIN = {"username": "admin", "password": "admin"}
FINAL_STATES = frozenset({"success", "failed"})


class Wait(Protocol):
    """Poll ``probe`` until truthy, failing after ``timeout`` s (:func:`.waiting.wait_for`)."""

    def __call__(
        self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = ...
    ) -> T: ...


@dataclass
class AirflowApi:
    """An Airflow API server on the loopback and the token of a logged-in user."""

    url: str
    token: str = ""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One call that must succeed; its decoded JSON answer."""
        status, answer = http_json(method, f"{self.url}{path}", body, token=self.token or None)
        assert status < 300, f"{method} {path} answered {status}: {answer}"
        return answer

    def status(self, path: str) -> int:
        """The status of a GET (a probe: 404 while a DAG is not parsed yet)."""
        return http_json("GET", f"{self.url}{path}", token=self.token or None, timeout=3)[0]

    def healthy(self) -> bool:
        return self.status("/api/v2/monitor/health") == 200

    def log_in(self) -> None:
        """Log in as admin/admin (the simple auth manager's token endpoint)."""
        status, answer = http_json("POST", f"{self.url}/auth/token", ADMIN)
        assert status in (200, 201), answer
        self.token = answer["access_token"]

    def wait_until_parsed(self, dag_id: str, wait: Wait, timeout: float) -> None:
        wait(
            f"waiting for the DAG processor to parse {dag_id}",
            lambda: self.status(f"/api/v2/dags/{dag_id}") == 200,
            timeout,
        )

    def trigger(self, dag_id: str, day: date, run_prefix: str) -> str:
        """Trigger a run for ``day`` (midnight UTC), then unpause the DAG; returns the run id.

        For today, the unpaused schedule's latest interval has the same logical date, so there is
        exactly one run.
        """
        run_id = f"{run_prefix}-{day}"
        self.call(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            {"dag_run_id": run_id, "logical_date": f"{day}T00:00:00Z"},
        )
        self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str:
        state: str = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
        return state

    def wait_until_finished(
        self, dag_id: str, run_id: str, wait: Wait, timeout: float, interval: float = 2.0
    ) -> str:
        """The run's final state (``success`` or ``failed``), once it has one."""

        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in FINAL_STATES else None

        return wait(f"waiting for run {run_id} to finish", finished, timeout, interval)
