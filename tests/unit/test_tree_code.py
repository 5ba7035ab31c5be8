"""Tree code: one reading scored by the forest compiled to Python gives scikit-learn's
probabilities, for any tree classifier and any classes; other models are declined."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from predmaint.data.columns import SENSOR_COLUMNS, TARGET
from predmaint.features.transformer import PhysicsFeatures
from predmaint.models.compiled import ONNX_RUNTIME, compile_pipeline, probe_readings
from predmaint.models.training import SVM_FEATURES
from predmaint.models.tree_code import compile_trees, float32_threshold

MODES = ["twf", "hdf", "pwf", "osf", "rnf"]


@pytest.fixture(scope="module")
def sensors(raw_frame: pd.DataFrame) -> np.ndarray:
    return raw_frame[list(SENSOR_COLUMNS)].to_numpy(np.float64)


def _check(pipeline: Pipeline, readings: np.ndarray) -> None:
    columns = tuple(range(len(pipeline.classes_)))
    function = compile_trees(pipeline, columns)
    assert function is not None
    expected = pipeline.predict_proba(readings)
    got = np.array([function(*row) for row in readings.tolist()])
    # the same sums in the same order: equal up to the last bit or two
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


def test_a_binary_forest_on_every_feature(raw_frame: pd.DataFrame, sensors: np.ndarray) -> None:
    forest = RandomForestClassifier(n_estimators=15, max_depth=8, random_state=1, n_jobs=1)
    pipeline = Pipeline([("features", PhysicsFeatures()), ("model", forest)])
    pipeline.fit(sensors, raw_frame[TARGET].to_numpy(int))
    _check(pipeline, np.vstack([sensors, probe_readings()]))


def test_a_failure_mode_forest_with_several_classes_and_kept_features(
    raw_frame: pd.DataFrame, sensors: np.ndarray
) -> None:
    # given a mode label per reading (0: none, else the first documented mode that fired)
    flags = raw_frame[MODES].to_numpy(int)
    modes = np.where(flags.any(axis=1), flags.argmax(axis=1) + 1, 0)
    keep = ("torque", "rotational_speed", "tool_wear", "temp_difference", "overstrain")
    for model in (
        ExtraTreesClassifier(n_estimators=8, random_state=0, n_jobs=1),  # unbounded depth
        DecisionTreeClassifier(max_depth=6, random_state=0),
    ):
        pipeline = Pipeline([("features", PhysicsFeatures(keep=keep)), ("model", model)])
        pipeline.fit(sensors, modes)
        _check(pipeline, np.vstack([sensors[:3000], probe_readings(500)]))


def test_other_models_are_declined(raw_frame: pd.DataFrame, sensors: np.ndarray) -> None:
    svm = Pipeline(
        [
            ("features", PhysicsFeatures(keep=SVM_FEATURES)),
            ("scale", StandardScaler()),
            ("m", SVC()),
        ]
    )
    svm.fit(sensors[:500], raw_frame[TARGET].to_numpy(int)[:500])
    assert compile_trees(svm, (1,)) is None
    # and the compiled model says single readings go through ONNX Runtime
    svm_probability = Pipeline([*svm.steps[:-1], ("m", SVC(probability=True, random_state=0))])
    svm_probability.fit(sensors[:500], raw_frame[TARGET].to_numpy(int)[:500])
    scorer = compile_pipeline(svm_probability)
    assert scorer.runtime == ONNX_RUNTIME and "single readings: ONNX Runtime" in scorer.detail


@pytest.mark.parametrize("threshold", [0.5, 1e-3, 298.45, 1551.5, 42.850000001, 3.4e38, -7.25])
def test_moved_thresholds_decide_as_float32_comparisons(threshold: float) -> None:
    def as_sklearn(x: float) -> bool:  # float32 input, compared in double (not in float32)
        return float(np.float32(x)) <= threshold

    bound = float32_threshold(threshold)
    assert as_sklearn(bound), "the bound itself still passes"
    assert not as_sklearn(float(np.nextafter(bound, np.inf))), "the next double fails"
    for x in np.random.default_rng(0).normal(threshold, abs(threshold) * 1e-6 + 1e-9, 2000):
        assert (x <= bound) == as_sklearn(float(x)), x


@pytest.fixture(scope="module")
def small_forest(raw_frame: pd.DataFrame, sensors: np.ndarray) -> Pipeline:
    forest = RandomForestClassifier(n_estimators=5, max_depth=6, random_state=0, n_jobs=1)
    pipeline = Pipeline([("features", PhysicsFeatures()), ("model", forest)])
    return pipeline.fit(sensors, raw_frame[TARGET].to_numpy(int))


def test_the_served_scorer_uses_tree_code_for_one_reading(
    small_forest: Pipeline, sensors: np.ndarray
) -> None:
    pipeline = small_forest
    scorer = compile_pipeline(pipeline)
    assert "single readings: tree code" in scorer.detail
    reading = tuple(sensors[17].tolist())
    one = scorer.probability_one(reading)
    assert one == pytest.approx(float(scorer.probability(np.array([reading]))[0]), abs=1e-6)
    assert abs(one - pipeline.predict_proba(np.array([reading]))[0, 1]) <= 1e-15


def test_a_speed_whose_division_underflows_is_scored_as_onnx_scores_it(
    small_forest: Pipeline,
) -> None:
    # given the served scorer on tree code, and a reading the API's rules accept whose speed is
    # so small that speed / 1000 is 0.0 (Python raises where ONNX follows IEEE 754)
    scorer = compile_pipeline(small_forest)
    reading = (250.0, 250.0, 5e-324, 0.0, 0.0)
    # then one reading gets the same answer as the batch path (within the parity bound, as any
    # reading: the tree code divides as ONNX does, with IEEE 754 rules), not an exception
    one = scorer.probability_one(reading)
    assert one == pytest.approx(float(scorer.probability(np.array([reading]))[0]), abs=1e-6)
