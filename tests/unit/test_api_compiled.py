"""The compiled model: the ONNX feature step is ``derive`` bit for bit; a model that cannot be
compiled faithfully is served by scikit-learn, and says so."""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from predmaint.data.columns import SENSOR_COLUMNS, TARGET
from predmaint.features.transformer import PhysicsFeatures
from predmaint.models import compiled
from predmaint.models.compiled import (
    ONNX_RUNTIME,
    PARITY_TOLERANCE,
    SKLEARN,
    OnnxScorer,
    bulk_probability,
    compile_pipeline,
    probe_readings,
    to_onnx,
)
from predmaint.models.training import SVM_FEATURES


@pytest.fixture(scope="module")
def sensors_and_labels(raw_frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    frame = raw_frame[raw_frame["type"] == "L"]
    return frame[list(SENSOR_COLUMNS)].to_numpy(np.float64), frame[TARGET].to_numpy(int)


@pytest.fixture(scope="module")
def small_forest(sensors_and_labels: tuple[np.ndarray, np.ndarray]) -> Pipeline:
    x, y = sensors_and_labels
    forest = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0, n_jobs=1)
    return Pipeline([("features", PhysicsFeatures()), ("model", forest)]).fit(x, y)


def _feature_graph(step: PhysicsFeatures) -> Any:
    """An ONNX model of the feature step alone (a pipeline ending in an identity regressor)."""
    from onnxruntime import InferenceSession
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    compiled._register()
    model = convert_sklearn(
        step, initial_types=[("sensors", DoubleTensorType([None, 5]))], target_opset=17
    )
    return InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("keep", [None, SVM_FEATURES])
def test_feature_step_in_onnx_is_derive_bit_for_bit(keep: tuple[str, ...] | None) -> None:
    # given plausible readings and the feature step (all features, or the SVM's subset)
    sensors = probe_readings(5000)
    step = PhysicsFeatures(keep=keep).fit(sensors)
    # when the ONNX graph computes them
    session = _feature_graph(step)
    got = session.run(None, {"sensors": sensors})[0]
    # then every value is identical to numpy's float64 arithmetic
    expected = step.transform(sensors)
    assert got.dtype == np.float64 and got.shape == expected.shape
    assert np.array_equal(got, expected), np.max(np.abs(got - expected))


def test_forest_compiles_and_matches_on_the_dataset(
    small_forest: Pipeline, sensors_and_labels: tuple[np.ndarray, np.ndarray]
) -> None:
    x, _ = sensors_and_labels
    scorer = compile_pipeline(small_forest)
    assert scorer.runtime == ONNX_RUNTIME, scorer.detail
    expected = small_forest.predict_proba(x)[:, 1]
    got = scorer.probability(x)
    assert np.max(np.abs(got - expected)) <= PARITY_TOLERANCE
    assert scorer.probability_one(x[0].tolist()) == pytest.approx(expected[0], abs=1e-6)
    assert np.array_equal(bulk_probability(scorer, x, workers=2, chunk=1000), got), (
        "chunked scoring on threads must give the same numbers"
    )


@pytest.fixture(scope="module")
def small_svm(sensors_and_labels: tuple[np.ndarray, np.ndarray]) -> Pipeline:
    """The challenger's kind of pipeline (as training builds it), fitted on part of the data."""
    x, y = sensors_and_labels
    svc = SVC(kernel="rbf", gamma="scale", C=100.0, random_state=0)
    return Pipeline(
        [
            ("features", PhysicsFeatures(keep=SVM_FEATURES)),
            ("scale", StandardScaler()),
            ("model", CalibratedClassifierCV(svc, method="sigmoid", cv=3)),
        ]
    ).fit(x[:3000], y[:3000])


def test_the_calibrated_svm_compiles_in_float64_and_matches_on_the_dataset(
    small_svm: Pipeline, sensors_and_labels: tuple[np.ndarray, np.ndarray]
) -> None:
    # given the challenger's kind of pipeline, fitted on part of the data
    x, _ = sensors_and_labels
    svm = small_svm
    # when it is compiled
    scorer = compile_pipeline(svm)
    # then ONNX Runtime scores it, and reproduces scikit-learn on every Type L reading to
    # float64 rounding (ONNX-ML's SVMClassifier, in float32, was 1e-6 to 1e-5 off)
    assert scorer.runtime == ONNX_RUNTIME, scorer.detail
    gap = float(np.max(np.abs(scorer.probability(x) - svm.predict_proba(x)[:, 1])))
    assert gap <= 1e-9, f"compiled SVM differs from scikit-learn by {gap:.3g}"


# Scores 200,000 readings in bulk in a fresh process; prints the runtime, the peak RSS growth of
# the scoring (MB) and the support vectors of all folds.
_BULK_SVM = """
import pickle, resource, sys
import numpy as np
from predmaint.models.compiled import bulk_probability, compile_pipeline, probe_readings
with open(sys.argv[1], "rb") as file:
    pipeline = pickle.load(file)
scorer = compile_pipeline(pipeline)
sensors = np.tile(probe_readings(), (100, 1))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
bulk_probability(scorer, sensors, workers=2)
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
vectors = sum(len(f.estimator.support_) for f in pipeline[-1].calibrated_classifiers_)
print(scorer.runtime, round(grown), vectors)
"""


def test_bulk_scoring_of_the_svm_holds_a_bounded_memory(
    small_svm: Pipeline, tmp_path: Path
) -> None:
    # given the compiled SVM in a process of its own, and 200,000 readings
    path = tmp_path / "svm.pkl"
    path.write_bytes(pickle.dumps(small_svm))
    # when they are scored in bulk on two threads
    done = subprocess.run(
        [sys.executable, "-c", _BULK_SVM, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runtime, grown, vectors = done.stdout.split()
    # then ONNX Runtime scored them in chunks: the process grew by far less than one matrix of
    # readings × support vectors (float64) over the 50,000 rows a call once took (1 GB more for
    # the shadow step on a plant's day, docs/benchmarks.md)
    assert runtime == ONNX_RUNTIME
    whole_chunk_mb = 50_000 * int(vectors) * 8 / 2**20
    assert int(grown) < min(100, whole_chunk_mb), (grown, vectors)


class _Unconvertible(ClassifierMixin, BaseEstimator):
    """A classifier skl2onnx knows nothing about."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Unconvertible:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(np.asarray(x)[:, 3] - 60.0)))
        return np.column_stack([1.0 - p, p])


def test_unconvertible_model_falls_back_to_the_pipeline(
    sensors_and_labels: tuple[np.ndarray, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    x, y = sensors_and_labels
    pipeline = Pipeline([("features", PhysicsFeatures()), ("model", _Unconvertible())]).fit(x, y)
    with pytest.raises(Exception):  # noqa: B017  (whatever skl2onnx raises)
        to_onnx(pipeline)
    with caplog.at_level(logging.WARNING, logger=compiled.log.name):
        scorer = compile_pipeline(pipeline, label="predmaint-failure-classifier v7 (custom)")
    assert scorer.runtime == SKLEARN
    assert "failed" in scorer.detail, scorer.detail
    # the operator's warning says which version is served uncompiled
    assert "predmaint-failure-classifier v7 (custom): serving the scikit-learn" in caplog.text
    assert np.allclose(scorer.probability(x[:50]), pipeline.predict_proba(x[:50])[:, 1])


def test_unfaithful_compilation_falls_back(
    small_forest: Pipeline,
    sensors_and_labels: tuple[np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a converter that (wrongly) produces the graph of another forest
    x, y = sensors_and_labels
    other = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=1, n_jobs=1)
    wrong = Pipeline([("features", PhysicsFeatures()), ("model", other)]).fit(x, y[::-1])
    wrong_graph = to_onnx(wrong)
    monkeypatch.setattr(compiled, "to_onnx", lambda pipeline: wrong_graph)
    # when the real forest is compiled
    scorer = compile_pipeline(small_forest)
    # then the probe comparison catches it and the pipeline itself is served
    assert scorer.runtime == SKLEARN
    assert "differs" in scorer.detail, scorer.detail


def test_the_forest_compiles_to_one_tree_ensemble_with_one_output(
    small_forest: Pipeline, sensors_and_labels: tuple[np.ndarray, np.ndarray]
) -> None:
    import onnx

    # given the forest pipeline converted (our TreeEnsemble, ai.onnx.ml opset 5)
    model = onnx.load_from_string(to_onnx(small_forest))
    # then the graph ends in one TreeEnsemble with one output, the positive class's probability
    assert [n.op_type for n in model.graph.node].count("TreeEnsemble") == 1
    assert [o.name for o in model.graph.output] == ["probability"]
    # and it reproduces scikit-learn to rounding (float32 features, float64 thresholds and sums)
    x, _ = sensors_and_labels
    scorer = OnnxScorer(to_onnx(small_forest), list(small_forest.classes_).index(1))
    expected = small_forest.predict_proba(x)[:, list(small_forest.classes_).index(1)]
    assert float(np.max(np.abs(scorer.probability(x) - expected))) < 1e-12
    assert scorer.probability_one(x[0]) == pytest.approx(expected[0], abs=1e-12)


def test_a_forest_with_a_single_leaf_tree_compiles(
    sensors_and_labels: tuple[np.ndarray, np.ndarray],
) -> None:
    # given a forest whose trees are single leaves (no split is worth making)
    x, y = sensors_and_labels
    forest = RandomForestClassifier(
        n_estimators=3, min_impurity_decrease=1.0, random_state=0, n_jobs=1
    )
    pipeline = Pipeline([("features", PhysicsFeatures()), ("model", forest)]).fit(x, y)
    assert all(e.tree_.node_count == 1 for e in forest.estimators_)
    # then the compiled model gives scikit-learn's probabilities
    scorer = OnnxScorer(to_onnx(pipeline), 1)
    expected = pipeline.predict_proba(x)[:, 1]
    assert float(np.max(np.abs(scorer.probability(x) - expected))) < 1e-12


def test_a_forest_certain_of_a_reading_gives_exactly_one_and_zero(
    sensors_and_labels: tuple[np.ndarray, np.ndarray],
) -> None:
    # given a forest of 40 trees grown to purity, and readings every tree is certain of
    x, y = sensors_and_labels
    forest = RandomForestClassifier(n_estimators=40, random_state=0, n_jobs=1)
    pipeline = Pipeline([("features", PhysicsFeatures()), ("model", forest)]).fit(x, y)
    expected = pipeline.predict_proba(x)[:, 1]
    certain = (expected == 1.0) | (expected == 0.0)
    assert (expected == 1.0).any() and (expected == 0.0).any()
    # then the compiled forest says exactly 1 and 0 there (never 1.0000000000000004: the API's
    # schema caps probabilities at 1), and scikit-learn's values elsewhere
    scored = OnnxScorer(to_onnx(pipeline), 1).probability(x)
    assert np.array_equal(scored[certain], expected[certain])
    assert float(scored.max()) <= 1.0
    assert float(np.max(np.abs(scored - expected))) < 1e-12
