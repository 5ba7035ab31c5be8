"""The deployment's MLflow server for real: PostgreSQL backend store, served artifacts, the API
on top.

``docker-compose.yml`` runs ``mlflow server`` on PostgreSQL with ``--serve-artifacts`` and points
training and the API at it with ``MLFLOW_TRACKING_URI``. Here the same command runs as a local
process on a private database, and the library trains, registers and promotes through it over
HTTP only: the client never opens the database or the artifact folder, so anything that works
on the embedded SQLite store but not through a server (artifact upload and download, aliases,
version tags, the champion re-scored from the server's copy of the test split) fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from predmaint.api.schemas import SPEC_EXAMPLE
from predmaint.features.job import build_features
from predmaint.models.registry import history, rollback
from predmaint.models.tracking import CHALLENGER, CHAMPION
from predmaint.workflow import train_and_promote
from tests.support.loopback import free_port, http_json
from tests.support.mlflow_server import BIN, child_env, settings_on_server, start_mlflow_server
from tests.support.processes import Servers
from tests.support.project import DAY
from tests.support.services import Postgres

pytestmark = [pytest.mark.services, pytest.mark.slow]

API_STARTUP_S = 90
SPEC_READING = SPEC_EXAMPLE  # the spec's curl example, defined once in the API schemas


def test_training_registers_and_promotes_through_the_mlflow_server_and_the_api_serves_it(
    servers: Servers, postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an MLflow server on a PostgreSQL database of its own, with served artifacts
    mlflow_server = start_mlflow_server(servers, postgres, tmp_path / "served-artifacts")
    uri, database, artifacts = mlflow_server.uri, mlflow_server.database, mlflow_server.artifacts

    # when a project whose only MLflow setting is MLFLOW_TRACKING_URI trains through it
    settings = settings_on_server(tmp_path / "trainer-home", uri, monkeypatch)
    features = build_features(settings, DAY)
    first = train_and_promote(settings, DAY, features.features_path)

    # then the first model is registered and made champion on the server
    assert first.decision.action == "promoted", first.decision
    assert first.decision.champion_version == "1"
    mlflow = MlflowClient(uri, uri)
    champion = mlflow.get_model_version_by_alias(settings.model_name, CHAMPION)
    assert champion.version == "1"
    assert champion.tags["last_decision"] == "promoted"
    assert float(champion.tags["f1"]) > 0.5, champion.tags  # a real model, not an empty one

    # and the registry lives in PostgreSQL, not in some file next to the client
    rows = postgres.query(
        database,
        "SELECT mv.version, ra.alias FROM model_versions mv "
        "JOIN registered_model_aliases ra ON ra.name = mv.name AND ra.version = mv.version "
        "WHERE mv.name = %s",
        settings.model_name,
    )
    assert rows == [(1, CHAMPION)], rows
    assert not settings.mlflow_db.exists(), "the client must not create an embedded store"

    # and the artifacts were uploaded to the server's folder, none written on the client's disk
    run = mlflow.get_run(first.candidates[0].run_id)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    served = {p.name for p in artifacts.rglob("*") if p.is_file()}
    assert "MLmodel" in served, sorted(served)
    assert any(name.endswith(".png") for name in served), sorted(served)  # evaluation plots
    assert not settings.artifact_root.exists(), "artifacts must not land in the client's home"

    # when the API starts on an empty home with the same MLFLOW_TRACKING_URI
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    api_home = tmp_path / "api-home"
    api_home.mkdir()
    servers.start(
        "api",
        [str(BIN / "predmaint"), "serve", "--host", "127.0.0.1", "--port", str(api_port)],
        env=child_env(
            MLFLOW_TRACKING_URI=uri,
            PREDMAINT_HOME=str(api_home),
            PREDMAINT_API_POLL_INTERVAL_S="1",
        ),
        cwd=api_home,
    )

    # then it becomes ready with the champion, loaded from the server
    def readiness() -> dict[str, Any] | None:
        status, body = http_json("GET", f"{api_url}/ready", timeout=3)
        return body if status == 200 else None

    ready = servers.wait_for("waiting for the API's /ready", readiness, API_STARTUP_S)
    assert ready["model_version"] == champion.version, ready

    # and answers the spec's request with the spec's fields, from the champion version
    status, body = http_json("POST", f"{api_url}/predict", SPEC_READING)
    assert status == 200, body
    assert {"prediction", "probability", "risk_level", "recommendation"} <= body.keys(), body
    assert body["prediction"] in (0, 1) and 0.0 <= body["probability"] <= 1.0
    assert body["risk_level"] in {"Baixo", "Médio", "Alto", "Crítico"}, body
    assert body["recommendation"], body
    assert body["model_version"] == champion.version, body
    assert not (api_home / "mlflow.db").exists() and not (api_home / "mlartifacts").exists()

    # when a second round trains through the server
    second = train_and_promote(settings, DAY, features.features_path)

    # then the new version is registered and the decision, taken against the champion re-scored
    # from the server's copy of the test split, is recorded on the server
    new_version = second.versions[second.candidates[0].run_id]
    assert new_version == "2", second.versions
    assert second.decision.action in {"promoted", "kept"}, second.decision
    assert "re-scored on the same test data" in second.decision.reason, second.decision
    events = history(settings)
    assert [(e.version, e.action) for e in events if e.action == "registered"] == [
        ("1", "registered"),
        ("2", "registered"),
    ], events
    decided = {(e.version, e.action) for e in events}
    if second.decision.action == "kept":
        assert {("1", "kept"), ("2", "challenger")} <= decided, events
        assert mlflow.get_model_version_by_alias(settings.model_name, CHALLENGER).version == "2"
    else:
        assert {("1", "demoted"), ("2", "promoted")} <= decided, events

    # when the champion alias moves on the server (here: by hand, to the new version, if needed)
    target = "2"
    if mlflow.get_model_version_by_alias(settings.model_name, CHAMPION).version != target:
        rollback(settings, to_version=target, reason="services test: move the alias")
    assert mlflow.get_model_version_by_alias(settings.model_name, CHAMPION).version == target

    # then the running API follows it without a restart
    servers.wait_for(
        f"waiting for the API to follow the champion alias to v{target}",
        lambda: http_json("GET", f"{api_url}/ready", timeout=3)[1].get("model_version") == target,
        60,
    )
    status, body = http_json("POST", f"{api_url}/predict", SPEC_READING)
    assert status == 200 and body["model_version"] == target, body
