"""The deployment's MLflow server as a local process, and predmaint settings that use it.

Shared by the MLflow test (training, registry and API through the server) and the Airflow test
(Celery workers loading the champion from the server), so both run the compose topology:
``mlflow server`` on a PostgreSQL backend store with served artifacts, reached over HTTP only.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from predmaint.settings import Settings
from tests.support.loopback import free_port, http_json
from tests.support.processes import Server, Servers
from tests.support.project import FAST, SHARED_DATA
from tests.support.services import Postgres

BIN = Path(sys.executable).parent
#: It creates its schema on the empty database first (~10 s on 2 cores).
MLFLOW_STARTUP_S = 120


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment minus predmaint/MLflow/Airflow settings, the venv's bin first on
    PATH (``mlflow server`` starts uvicorn by name), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREDMAINT_", "MLFLOW_", "AIRFLOW"))
    }
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass(frozen=True)
class MlflowServer:
    uri: str
    database: str
    artifacts: Path
    server: Server


def start_mlflow_server(servers: Servers, postgres: Postgres, artifacts: Path) -> MlflowServer:
    """``mlflow server`` as compose runs it, on a new database of its own and a free port."""
    database = postgres.create_database("mlflow")
    port = free_port()
    server = servers.start(
        "mlflow-server",
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            postgres.url(database),
            "--serve-artifacts",
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=child_env(),
    )
    uri = f"http://127.0.0.1:{port}"
    servers.wait_for(
        "waiting for the MLflow server's /health",
        lambda: http_json("GET", f"{uri}/health", timeout=3)[0] == 200,
        MLFLOW_STARTUP_S,
    )
    return MlflowServer(uri, database, artifacts, server)


def settings_on_server(home: Path, uri: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Quick-training settings whose only MLflow setting is ``MLFLOW_TRACKING_URI``, as in
    compose (the variable, not a field: that is what the deployment sets)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # mlflow.set_experiment exports the id of this server's experiment: restore it afterwards, so
    # a later test's embedded store is not sent looking for it.
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    options: dict[str, Any] = {
        "home": home,
        "raw_data": SHARED_DATA,
        "models": ["random_forest"],
        **FAST,
    }
    settings = Settings(_env_file=None, **options)  # type: ignore[call-arg]
    assert settings.resolved_tracking_uri == uri and not settings.is_embedded_store
    return settings
