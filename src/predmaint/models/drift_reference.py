"""The drift reference stored with each trained model, and read back for the version scoring.

Training logs the binned quantiles of its training rows (:mod:`predmaint.features.reference`)
as a small JSON artifact of the model's run; the batch job checks each day against the reference
of the champion that scored it. A version trained before references existed has none: its days
get no drift verdict (said so in the report), never a verdict against some other data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from predmaint.features.reference import REFERENCE_FILE, DriftReference, build_reference
from predmaint.models import local_store
from predmaint.models.tracking import client
from predmaint.models.versions import ModelVersion
from predmaint.settings import Settings

#: Where the reference sits among the run's artifacts.
REFERENCE_ARTIFACT = f"drift/{REFERENCE_FILE}"


def log_drift_reference(training: pd.DataFrame, source: str) -> DriftReference:
    """Summarise the training rows and log the summary to the active MLflow run."""
    import mlflow

    reference = build_reference(training, source=source)
    with tempfile.TemporaryDirectory() as tmp:
        path = reference.write(Path(tmp) / REFERENCE_FILE)
        mlflow.log_artifact(str(path), str(Path(REFERENCE_ARTIFACT).parent))
    return reference


def load_drift_reference(settings: Settings, info: ModelVersion) -> DriftReference | None:
    """The reference logged with ``info``'s run; None when that run has none."""
    if not info.run_id:
        return None
    folder = local_store.run_artifacts(settings, info.run_id)  # embedded store: read in place
    if folder is not None:
        path = folder / REFERENCE_ARTIFACT
        return DriftReference.read(path) if path.is_file() else None
    from mlflow.exceptions import MlflowException

    try:
        local = client(settings).download_artifacts(info.run_id, REFERENCE_ARTIFACT)
    except (MlflowException, OSError):
        return None
    return DriftReference.read(Path(local))
