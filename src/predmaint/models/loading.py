"""Loading a registered version into memory: the one way the batch job, the API and the
registry's re-scoring get a model.

The registry entry (:class:`ModelVersion`) is fetched first, so every output can cite the
version it came from; loading a version whose entry is already fetched costs no second lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.compiled import Scorer, bulk_probability
from predmaint.models.compiled_cache import (
    Compiled,
    compile_version,
    pipeline_digest,
    read_cached,
    write_cached,
)
from predmaint.models.modes import ModeScorer
from predmaint.models.tracking import CHAMPION, version_uri
from predmaint.models.versions import ModelVersion, champion_info
from predmaint.settings import Settings


@dataclass(frozen=True)
class LoadedModel:
    """A registered version (its registry record); its MLflow pyfunc and compiled form are
    loaded once, when first needed.

    Bulk scoring needs only the compiled form and the threshold, which a version's entry in the
    compiled cache holds (:mod:`predmaint.models.compiled_cache`): with a valid entry the pyfunc
    (scikit-learn, the pipeline file) is never loaded at all.
    """

    info: ModelVersion
    settings: Settings = field(repr=False, compare=False)

    @cached_property
    def pyfunc(self) -> Any:
        return load_pyfunc(self.settings, self.info.version)

    @cached_property
    def compiled(self) -> Compiled:
        """The compiled scorer and threshold: from the cache, else compiled and cached."""
        digest = pipeline_digest(self.settings, self.info)
        if digest is not None and (cached := read_cached(self.settings, self.info, digest)):
            return cached
        classifier = self.pyfunc.unwrap_python_model()
        compiled = compile_version(classifier)
        if digest is not None:
            write_cached(self.settings, self.info, digest, classifier.pipeline, compiled)
        return compiled

    @property
    def threshold(self) -> float:
        """The decision threshold the pyfunc applies (its model config, set at training)."""
        return self.compiled.threshold

    def failure_probability(self, sensors: pd.DataFrame) -> np.ndarray:
        output = self.pyfunc.predict(sensors[list(SENSOR_COLUMNS)])
        return np.asarray(output["failure_probability"], dtype=np.float64)

    @property
    def scorer(self) -> Scorer:
        """The pipeline compiled for bulk scoring (ONNX Runtime; the pipeline if that fails)."""
        return self.compiled.scorer

    @cached_property
    def mode_scorer(self) -> ModeScorer | None:
        """The failure-mode model compiled (None for a version trained without one)."""
        return mode_scorer(self.pyfunc)

    def bulk_failure_probability(self, sensors: np.ndarray) -> np.ndarray:
        """Failure probability of many readings (five sensor columns) on every core.

        The compiled model agrees with :meth:`failure_probability` within
        :data:`predmaint.models.compiled.PARITY_TOLERANCE`, without MLflow's per-call schema
        enforcement: what the batch job needs for millions of readings.
        """
        return bulk_probability(self.scorer, sensors)


def mode_scorer(pyfunc: Any) -> ModeScorer | None:
    """The failure-mode model of a loaded pyfunc, compiled; None if the version has none."""
    modes = getattr(pyfunc.unwrap_python_model(), "modes", None)
    return ModeScorer(modes) if modes is not None else None


def load_pyfunc(settings: Settings, version: str) -> Any:
    """The MLflow pyfunc of a registered version (blocking: downloads and deserialises it)."""
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(version_uri(settings, version))


def load_model(settings: Settings, version: str | None = None) -> LoadedModel:
    """Load the champion, or a pinned version so that every file of a day uses the same one."""
    return load_version(settings, champion_info(settings, CHAMPION, version))


def load_version(settings: Settings, info: ModelVersion) -> LoadedModel:
    """The registered version ``info`` describes (its registry entry is already fetched); what
    it needs is loaded on first use."""
    return LoadedModel(info, settings)
