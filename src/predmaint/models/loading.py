"""Loading a registered version into memory: the one way the batch job, the API and the
registry's re-scoring get a model.

The registry entry (:class:`ModelVersion`) is fetched first, so every output can cite the
version it came from; loading a version whose entry is already fetched costs no second lookup.
Nothing here imports scikit-learn or loads the pyfunc until it is needed: with a valid
compiled-cache entry, bulk scoring (failure probability, threshold, failure mode) never needs
either (:mod:`predmaint.models.compiled_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.models.compiled import (
    OnnxScorer,
    Scorer,
    attach_single_reading,
    bulk_probability,
    probe_readings,
)
from predmaint.models.compiled_cache import (
    Compiled,
    compile_version,
    read_cached,
    version_digests,
    write_cached,
)
from predmaint.models.mode_scorer import ModeScorer
from predmaint.models.tracking import CHAMPION, configure, version_uri
from predmaint.models.versions import ModelVersion, champion_info
from predmaint.settings import Settings

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class LoadedModel:
    """A registered version (its registry record); its MLflow pyfunc and compiled form are
    loaded once, when first needed.

    Bulk scoring needs only the compiled forms and the threshold, which a version's entry in the
    compiled cache holds (:mod:`predmaint.models.compiled_cache`): with a valid entry the pyfunc
    (scikit-learn, the pipeline files) is never loaded at all.
    """

    info: ModelVersion
    settings: Settings = field(repr=False, compare=False)

    @cached_property
    def pyfunc(self) -> Any:
        return load_pyfunc(self.settings, self.info.version)

    @cached_property
    def compiled(self) -> Compiled:
        """The compiled scorer, mode model and threshold: from the cache, else compiled (from
        the pyfunc) and cached."""
        digests = version_digests(self.settings, self.info)
        if digests is not None and (cached := read_cached(self.settings, self.info, digests)):
            return cached
        label = f"{self.info.name} v{self.info.version} ({self.info.model_type})"
        compiled = compile_version(self.pyfunc.unwrap_python_model(), label)
        if digests is not None:
            write_cached(self.settings, self.info, digests, compiled)
        return compiled

    @property
    def threshold(self) -> float:
        """The decision threshold the pyfunc applies (its model config, set at training)."""
        return self.compiled.threshold

    def failure_probability(self, sensors: pd.DataFrame) -> np.ndarray:
        """Through the MLflow pyfunc itself (its schema check included): the reference."""
        output = self.pyfunc.predict(sensors[list(SENSOR_COLUMNS)])
        return np.asarray(output["failure_probability"], dtype=np.float64)

    @property
    def scorer(self) -> Scorer:
        """The pipeline compiled for bulk scoring (ONNX Runtime; the pipeline if that fails)."""
        return self.compiled.scorer

    @property
    def mode_scorer(self) -> ModeScorer | None:
        """The failure-mode model compiled (None for a version trained without one)."""
        return self.compiled.modes

    def attach_tree_code(self) -> None:
        """Give a cache-loaded version the tree code of its pipelines for single readings (the
        API's path), checked against the probe answers the entry recorded: the pyfunc is
        loaded for its trees, but its pipelines are not run over the probe again. A version
        compiled in this process has its tree code already."""
        compiled = self.compiled
        if not compiled.from_cache:
            return
        classifier = self.pyfunc.unwrap_python_model()
        if isinstance(compiled.scorer, OnnxScorer) and compiled.scorer.single is None:
            attach_single_reading(
                compiled.scorer, classifier.pipeline, probe_readings(), compiled.probe_probability
            )
        if compiled.modes is not None and compiled.modes.single is None:
            compiled.modes.attach_single(classifier.modes)

    def bulk_failure_probability(self, sensors: np.ndarray) -> np.ndarray:
        """Failure probability of many readings (five sensor columns, float64) on every core.

        The compiled model agrees with :meth:`failure_probability` within
        :data:`predmaint.models.compiled.PARITY_TOLERANCE` (the forest and the calibrated SVM
        alike: :mod:`predmaint.models.svm_onnx`), without MLflow's per-call schema
        enforcement: what the batch job needs for millions of readings, the champion's and the
        shadow challenger's. On the probe readings it agrees within ``PROBE_TOLERANCE``, else
        the pipeline itself scores (and scikit-learn is loaded).
        """
        return bulk_probability(self.scorer, sensors)


def load_pyfunc(settings: Settings, version: str) -> Any:
    """The MLflow pyfunc of a registered version (blocking: downloads and deserialises it)."""
    import mlflow.pyfunc

    configure(settings)  # the registry entry may have been read without MLflow (local_store)
    return mlflow.pyfunc.load_model(version_uri(settings, version))


def load_model(settings: Settings, version: str | None = None) -> LoadedModel:
    """Load the champion, or a pinned version so that every file of a day uses the same one."""
    return load_version(settings, champion_info(settings, CHAMPION, version))


def load_version(settings: Settings, info: ModelVersion) -> LoadedModel:
    """The registered version ``info`` describes (its registry entry is already fetched); what
    it needs is loaded on first use."""
    return LoadedModel(info, settings)
