"""MLflow in one place: tracking URI, experiment, and the registry URIs everyone loads.

MLflow is imported by the functions that use it, not with this module: its import is about 1 s,
which a batch process reading an embedded store never pays
(:mod:`predmaint.models.local_store`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from predmaint import locks
from predmaint.settings import Settings

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous-champion"
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
#: Stores (and experiments) this process has already prepared: later calls skip the lock.
_prepared: set[tuple[str, str]] = set()

# MLflow 3 nags about things we decide on purpose (no git repo, no conda env inference).
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


@contextlib.contextmanager
def store_lock(settings: Settings) -> Iterator[None]:
    """Hold the embedded store's lock (other processes on this home wait); a no-op for a
    tracking server, which serialises its own writes.

    Held while the store's schema is created (two processes creating it at once crash in
    alembic's migrations) and while the registry's aliases are decided on and moved.
    """
    if not settings.is_embedded_store:
        yield
        return
    lock = settings.mlflow_db.with_name(settings.mlflow_db.name + ".lock")
    with locks.exclusive(lock, "the MLflow store"):
        yield


def configure(settings: Settings) -> str:
    """Point MLflow at the configured store and make sure the experiment exists.

    With no ``MLFLOW_TRACKING_URI`` this is the embedded SQLite store under the project home,
    with artifacts in ``<home>/mlartifacts``: nothing to start for a first run. The store's
    lock is held meanwhile: the first use creates its schema, and the experiment is created once.
    Returns the experiment id.
    """
    key = (settings.resolved_tracking_uri, settings.experiment_name)
    if key in _prepared:
        return _configure(settings, prepared=True)
    with store_lock(settings):
        experiment_id = _configure(settings, prepared=False)
    _prepared.add(key)
    return experiment_id


def _configure(settings: Settings, *, prepared: bool) -> str:
    import mlflow
    from mlflow.tracking import MlflowClient

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
    if not prepared:
        # The registry's tables are checked by its own store, built on first use: build it
        # here, under the lock, so no later call meets a schema another process is creating.
        MlflowClient(uri, uri).search_registered_models(max_results=1)
    return experiment_id


def client(settings: Settings) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    configure(settings)
    return MlflowClient(settings.resolved_tracking_uri, settings.resolved_tracking_uri)


def alias_uri(settings: Settings, alias: str = CHAMPION) -> str:
    """``models:/<name>@<alias>``: the URI the API and the batch job load."""
    return f"models:/{settings.model_name}@{alias}"


def version_uri(settings: Settings, version: str | int) -> str:
    return f"models:/{settings.model_name}/{version}"
