"""MLflow in one place: tracking URI, experiment, and the registry URIs everyone loads."""

from __future__ import annotations

import os

import mlflow
from mlflow.tracking import MlflowClient

from predmaint.settings import Settings

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous-champion"
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")

# MLflow 3 nags about things we decide on purpose (no git repo, no conda env inference).
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


def configure(settings: Settings) -> str:
    """Point MLflow at the configured store and make sure the experiment exists.

    With no ``MLFLOW_TRACKING_URI`` this is the embedded SQLite store under the project home,
    with artifacts in ``<home>/mlartifacts``: nothing to start for a first run.
    Returns the experiment id.
    """
    uri = settings.resolved_tracking_uri
    if settings.is_embedded_store:
        settings.mlflow_db.parent.mkdir(parents=True, exist_ok=True)
    # mlflow.set_*_uri also export MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI; Settings reads the
    # former, so a later Settings(home=other) in this process would silently use this store.
    exported = {name: os.environ.get(name) for name in _URI_VARIABLES}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for name, value in exported.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    experiment = mlflow.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        experiment_id: str = experiment.experiment_id
    else:
        location = settings.artifact_root.as_uri() if settings.is_embedded_store else None
        experiment_id = mlflow.create_experiment(settings.experiment_name, location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def client(settings: Settings) -> MlflowClient:
    configure(settings)
    return MlflowClient(settings.resolved_tracking_uri, settings.resolved_tracking_uri)


def alias_uri(settings: Settings, alias: str = CHAMPION) -> str:
    """``models:/<name>@<alias>``: the URI the API and the batch job load."""
    return f"models:/{settings.model_name}@{alias}"


def version_uri(settings: Settings, version: str | int) -> str:
    return f"models:/{settings.model_name}/{version}"
