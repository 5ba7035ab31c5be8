"""The failure-mode model: which documented mode a predicted failure most likely is.

The binary champion says *whether* a reading fails; a technician also needs *what* to fix. This
classifier of the mode given a failure is trained on the failures of the training split (a
failure flagged with two modes counts once for each; failures with no mode flag are left out),
logged inside the same registered pyfunc as the binary pipeline, and compiled with ONNX Runtime
like it (the same converter, feature step included; serving: :mod:`predmaint.models.mode_scorer`,
which needs no scikit-learn). It never changes the binary decision: it is asked only about
readings the champion predicts to fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from predmaint.data.columns import FAILURE_MODES, SENSOR_COLUMNS, TARGET
from predmaint.features.mechanisms import MODES
from predmaint.features.transformer import PhysicsFeatures

#: Small on purpose: about 150 failures to learn from, and every tree costs at load and in the
#: batch job. 20 trees of depth 6 name the same modes as 60 of depth 8 on the test split (accuracy
#: 1.0 both) and score 9 × faster.
MODE_TREES = 20
MODE_MAX_DEPTH = 6
MIN_PER_MODE = 2


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
