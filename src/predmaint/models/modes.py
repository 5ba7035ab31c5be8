"""The failure-mode model: which documented mode a predicted failure most likely is.

The binary champion says *whether* a reading fails; a technician also needs *what* to fix. This
classifier of the mode given a failure is trained on the failures of the training split (a
failure flagged with two modes counts once for each; failures with no mode flag are left out),
logged inside the same registered pyfunc as the binary pipeline, and compiled with ONNX Runtime
like it (the same converter, feature step included). It never changes the binary decision: it
is asked only about readings the champion predicts to fail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from predmaint.data.columns import FAILURE_MODES, SENSOR_COLUMNS, TARGET
from predmaint.features.mechanisms import MODES, FailureMode
from predmaint.features.transformer import PhysicsFeatures
from predmaint.models.compiled import PROBE_TOLERANCE, probe_readings, single_reading, to_onnx

log = logging.getLogger(__name__)

#: Small on purpose: about 150 failures to learn from, and every tree costs at load and in the
#: batch job. 20 trees of depth 6 name the same modes as 60 of depth 8 on the test split (accuracy
#: 1.0 both) and score 9 × faster.
MODE_TREES = 20
MODE_MAX_DEPTH = 6
MIN_PER_MODE = 2

FloatArray = npt.NDArray[np.float64]


def mode_examples(frame: pd.DataFrame) -> tuple[pd.DataFrame, npt.NDArray[np.str_]]:
    """Sensor values and mode (``"OSF"``…) of every flagged mode of every failure in ``frame``."""
    failures = frame[frame[TARGET].astype(int) == 1]
    parts, labels = [], []
    for column, mode in zip(FAILURE_MODES, MODES, strict=True):
        flagged = failures[failures[column].astype(int) == 1]
        parts.append(flagged[list(SENSOR_COLUMNS)])
        labels.extend([mode] * len(flagged))
    return pd.concat(parts, ignore_index=True), np.asarray(labels)


def has_mode_labels(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` carries the mode flags and at least two modes with a few failures each."""
    if any(column not in frame.columns for column in FAILURE_MODES):
        return False
    _, labels = mode_examples(frame)
    _, counts = np.unique(labels, return_counts=True)
    return int((counts >= MIN_PER_MODE).sum()) >= 2


def fit_mode_model(train: pd.DataFrame, seed: int) -> Pipeline:
    """A small forest on the physics features of the training split's failures."""
    sensors, labels = mode_examples(train)
    model = RandomForestClassifier(
        n_estimators=MODE_TREES,
        max_depth=MODE_MAX_DEPTH,
        max_features=None,
        class_weight="balanced",
        random_state=seed,
        n_jobs=1,
    )
    pipeline = Pipeline([("features", PhysicsFeatures()), ("model", model)])
    pipeline.fit(sensors.to_numpy(dtype=np.float64), labels)
    return pipeline


@dataclass(frozen=True)
class ModeMetrics:
    """Per-mode precision and recall on the test split's real failures (one mode per row
    predicted; a row flagged with several modes is right for any of them)."""

    precision: dict[str, float]
    recall: dict[str, float]
    support: dict[str, int]
    accuracy: float

    def as_mlflow(self) -> dict[str, float]:
        metrics = {"mode_accuracy": self.accuracy}
        for mode in self.support:
            key = mode.lower()
            metrics[f"mode_{key}_precision"] = self.precision[mode]
            metrics[f"mode_{key}_recall"] = self.recall[mode]
            metrics[f"mode_{key}_support"] = float(self.support[mode])
        return metrics


def mode_metrics(pipeline: Pipeline, test: pd.DataFrame) -> ModeMetrics:
    """Evaluate the mode model on the test split's failures that carry a mode flag."""
    failures = test[test[TARGET].astype(int) == 1]
    truth = failures[list(FAILURE_MODES)].astype(int).to_numpy().astype(bool)
    flagged = truth.any(axis=1)
    truth = truth[flagged]
    sensors = failures[list(SENSOR_COLUMNS)].to_numpy(dtype=np.float64)[flagged]
    predicted = pipeline.predict(sensors) if len(sensors) else np.asarray([], dtype=str)
    precision: dict[str, float] = {}
    recall: dict[str, float] = {}
    support: dict[str, int] = {}
    for position, mode in enumerate(MODES):
        said = predicted == mode
        actual = truth[:, position]
        hits = int((said & actual).sum())
        support[mode] = int(actual.sum())
        precision[mode] = hits / int(said.sum()) if said.any() else 0.0
        recall[mode] = hits / support[mode] if support[mode] else 0.0
    right = [truth[i, MODES.index(mode)] for i, mode in enumerate(predicted)]
    accuracy = float(np.mean(right)) if right else 0.0
    return ModeMetrics(precision, recall, support, accuracy)


class ModeScorer:
    """The mode model for serving: ONNX Runtime when it reproduces the pipeline, else sklearn.

    ``best_one`` answers for one reading in pure Python (API hot path, failures only): the
    forest's tree code (:mod:`predmaint.models.tree_code`) when it reproduces the pipeline on
    the probe (our own code, for measured speed: 1.1 µs of CPU per reading instead of ONNX
    Runtime's 13 µs, more under load); ``best_many`` for an array (batch). Modes are reported
    as codes into :data:`MODES`.
    """

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        classes = [str(c) for c in pipeline.classes_]
        self.modes: tuple[FailureMode, ...] = tuple(m for m in MODES if m in classes)
        self._order = [classes.index(m) for m in self.modes]
        self._codes = np.asarray([MODES.index(m) for m in self.modes], dtype=np.int8)
        self.runtime = "sklearn"
        self._session: Any = None
        probe = probe_readings()
        expected = np.asarray(pipeline.predict_proba(probe), dtype=np.float64)
        try:
            self._compile(probe, expected)
        except Exception as exc:  # any converter or runtime failure means: use the pipeline
            log.warning("failure-mode model served by scikit-learn: %s", exc)
        #: One reading's probabilities in :attr:`modes` order, without a runtime call.
        self.single, self.single_detail = single_reading(
            pipeline, self._order, probe, expected[:, self._order]
        )

    def _compile(self, probe: FloatArray, expected: FloatArray) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            to_onnx(self.pipeline), options, providers=["CPUExecutionProvider"]
        )
        self._input = session.get_inputs()[0].name
        self._output = [session.get_outputs()[1].name]
        compiled = session.run(self._output, {self._input: probe})[0]
        gap = float(np.max(np.abs(compiled - expected)))
        if gap > PROBE_TOLERANCE:
            raise ValueError(f"ONNX mode model differs from the pipeline by {gap:.3g}")
        self._session = session
        self.runtime = "onnxruntime"

    def probabilities(self, sensors: FloatArray) -> FloatArray:
        """``(n, len(self.modes))`` probabilities, columns in :attr:`modes` order."""
        x = np.ascontiguousarray(sensors, dtype=np.float64)
        if self._session is not None:
            proba = self._session.run(self._output, {self._input: x})[0]
        else:
            proba = self.pipeline.predict_proba(x)
        return np.asarray(proba, dtype=np.float64)[:, self._order]

    def best_one(self, values: Sequence[float]) -> tuple[FailureMode, float]:
        """The most likely mode of one reading and its probability."""
        if self.single is not None:
            row: Sequence[float] = self.single(*values)
        else:
            row = self.probabilities(np.array([values], dtype=np.float64))[0].tolist()
        top = max(row)
        return self.modes[row.index(top)], top

    def best_many(self, sensors: FloatArray) -> tuple[npt.NDArray[np.int8], FloatArray]:
        """Mode codes (positions in :data:`MODES`) and their probabilities for many readings."""
        if len(sensors) == 0:
            return np.zeros(0, np.int8), np.zeros(0)
        proba = self.probabilities(sensors)
        best = proba.argmax(axis=1)
        return self._codes[best], proba[np.arange(len(proba)), best]
