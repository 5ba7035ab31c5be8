"""The record of a registered model version, and how it is read from the MLflow registry.

One record for one idea: :class:`ModelVersion` is what the registry says about a version (type,
threshold, test metrics, run). The loaded model (:class:`predmaint.models.loading.LoadedModel`),
the served model (``predmaint.api.holder.ServedModel``) and the API's ``/model`` answer carry or
extend it instead of copying its fields. It is a pydantic dataclass so the API's response model
can inherit its fields (and their descriptions) while staying a plain frozen dataclass here.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field
from pydantic.dataclasses import dataclass

from predmaint.errors import TRAIN_HINT, ModelNotFoundError
from predmaint.models import local_store
from predmaint.models.tracking import CHAMPION, client
from predmaint.settings import Settings

#: Test metrics written as tags on each version at registration (read back here).
METRIC_TAGS = ("f1", "precision", "recall", "roc_auc", "pr_auc", "accuracy")


@dataclass(frozen=True)
class ModelVersion:
    """One registered version as the registry describes it."""

    name: str
    alias: Annotated[str, Field(description="The alias it was looked up by ('' if pinned).")]
    version: str
    run_id: str
    model_type: str
    threshold: float
    metrics: Annotated[
        dict[str, float], Field(description="Test-split metrics logged at training.")
    ]
    source: str
    registered_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def not_found(settings: Settings, wanted: str) -> ModelNotFoundError:
    """The error (and the API's 503 text) when ``wanted`` is not in the registry."""
    return ModelNotFoundError(
        f"no {wanted} of {settings.model_name} in {settings.resolved_tracking_uri}: {TRAIN_HINT}"
    )


def champion_info(
    settings: Settings, alias: str = CHAMPION, version: str | None = None
) -> ModelVersion:
    """A registered version (by alias, or pinned by number) with its type, threshold, metrics.

    The embedded store is read directly (:mod:`predmaint.models.local_store`: milliseconds, no
    MLflow import); any other store, and anything that module is not certain of, through
    MLflow's client.
    """
    stored = local_store.read_version(settings, None if version is not None else alias, version)
    if stored is None:
        stored = _through_mlflow(settings, alias, version)
    tags = stored.tags
    return ModelVersion(
        name=settings.model_name,
        alias=alias if version is None else "",
        version=stored.version,
        run_id=stored.run_id or tags.get("run_id", ""),
        model_type=tags.get("model_type", "unknown"),
        threshold=float(tags.get("threshold", "nan")),
        metrics={k: float(tags[k]) for k in METRIC_TAGS if k in tags},
        source=stored.source,
        registered_at=datetime.fromtimestamp(stored.creation_timestamp / 1000, UTC).isoformat(),
    )


def _through_mlflow(
    settings: Settings, alias: str, version: str | None
) -> local_store.StoredVersion:
    from mlflow.exceptions import MlflowException

    mlflow_client = client(settings)
    try:
        if version is not None:
            mv = mlflow_client.get_model_version(settings.model_name, version)
        else:
            mv = mlflow_client.get_model_version_by_alias(settings.model_name, alias)
    except MlflowException as exc:
        wanted = f"version {version}" if version is not None else f"'{alias}' version"
        raise not_found(settings, wanted) from exc
    return local_store.StoredVersion(
        name=settings.model_name,
        version=str(mv.version),
        run_id=str(mv.run_id or ""),
        source=str(mv.source),
        storage_location=None,
        creation_timestamp=mv.creation_timestamp,
        tags=dict(mv.tags),
    )
