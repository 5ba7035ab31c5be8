"""Which stores :mod:`predmaint.models.local_store` may read without MLflow, and which it leaves
to MLflow's client."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from predmaint.models import local_store
from predmaint.settings import Settings


def _settings(home: Path, tracking_uri: str | None = None) -> Settings:
    settings = Settings(home=home, _env_file=None)  # type: ignore[call-arg]
    return settings.model_copy(update={"tracking_uri": tracking_uri})


def test_the_schema_revision_is_the_head_of_the_pinned_mlflow() -> None:
    # An MLflow upgrade that adds a migration fails here: check the queries, then update it
    # (until then every lookup would go through MLflow: correct, only slower).
    from mlflow.store.db.utils import _get_latest_schema_revision

    assert _get_latest_schema_revision() == local_store.SCHEMA_REVISION


def test_only_an_existing_local_sqlite_store_is_read_directly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    assert local_store.store_file(settings) is None, "no store yet: MLflow creates it"
    sqlite3.connect(settings.mlflow_db).close()
    assert local_store.store_file(settings) == settings.mlflow_db
    other = _settings(tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'other.db'}")
    assert local_store.store_file(other) is None
    for uri in ("http://mlflow:5000", "postgresql://u:p@db/mlflow", "sqlite:///relative.db"):
        assert local_store.store_file(_settings(tmp_path, tracking_uri=uri)) is None, uri
    with_options = _settings(tmp_path, tracking_uri=f"{settings.resolved_tracking_uri}?mode=ro")
    assert local_store.store_file(with_options) is None
    # a registry elsewhere, or MLflow's workspaces: MLflow's business
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "http://registry:5000")
    assert local_store.store_file(settings) is None
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert local_store.store_file(settings) is None
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "false")
    assert local_store.store_file(settings) == settings.mlflow_db


def test_a_store_of_another_schema_or_a_broken_file_is_left_to_mlflow(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with sqlite3.connect(settings.mlflow_db) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version VALUES ('0123456789ab')")
    assert local_store.read_version(settings, "champion", None) is None
    assert local_store.run_artifacts(settings, "abc") is None
    settings.mlflow_db.write_bytes(b"not a database")
    assert local_store.read_version(settings, "champion", None) is None
    assert local_store.run_artifacts(settings, "abc") is None


def test_latest_is_computed_by_mlflow_not_read(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    sqlite3.connect(settings.mlflow_db).close()
    assert local_store.read_version(settings, "latest", None) is None


def test_only_absolute_local_folders_are_artifact_locations(tmp_path: Path) -> None:
    folder = tmp_path / "a b"
    folder.mkdir()
    assert local_store.local_folder(folder.as_uri()) == folder
    assert local_store.local_folder(str(folder)) == folder
    assert local_store.local_folder((tmp_path / "missing").as_uri()) is None
    for uri in (None, "", "models:/m-123", "s3://bucket/x", "relative/path", "file://host/x"):
        assert local_store.local_folder(uri) is None, uri
