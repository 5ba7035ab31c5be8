"""Each derived feature against values computed by hand, and the transformer's contract."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.features.formulas import DERIVED_FEATURES, MODEL_FEATURES, add_features, derive
from predmaint.features.transformer import PhysicsFeatures

# The spec's curl example: 298.5 K, 308.9 K, 1551 rpm, 42.8 Nm, 108 min.
READING = {
    "air_temperature": 298.5,
    "process_temperature": 308.9,
    "rotational_speed": 1551.0,
    "torque": 42.8,
    "tool_wear": 108.0,
}
HAND = {
    "temp_difference": 308.9 - 298.5,  # 10.4 K
    "estimated_power": 42.8 * 1551 * 2 * math.pi / 60,  # 6951.6 W
    "mechanical_stress": 42.8 / 1.551,  # 27.595
    "thermal_efficiency": 308.9 / 298.5,  # 1.03484
    "wear_per_operation": 108 / 1.551,  # 69.63
    "overstrain": 108 * 42.8,  # 4622.4 min·Nm
}


@pytest.mark.parametrize("name", DERIVED_FEATURES)
def test_each_formula_matches_hand_computation(name: str) -> None:
    # given the spec's example reading
    frame = pd.DataFrame([READING])
    # when features are added
    out = add_features(frame)
    # then each derived value equals the formula computed by hand
    assert out.loc[0, name] == pytest.approx(HAND[name], rel=1e-12), name


def test_power_of_spec_example_is_about_7_kw() -> None:
    assert HAND["estimated_power"] == pytest.approx(6951.6, abs=0.1)


def test_derive_is_vectorised_row_by_row() -> None:
    rows = np.array([[300.0, 310.0, 1500.0, 40.0, 0.0], [295.0, 305.0, 2000.0, 10.0, 200.0]])
    out = derive(rows)
    assert out.shape == (2, len(DERIVED_FEATURES))
    assert out[1, 0] == pytest.approx(10.0)
    assert out[1, 5] == pytest.approx(2000.0)  # 200 min * 10 Nm
    assert out[0, 4] == 0.0  # no wear, no wear per operation


def test_transformer_takes_raw_sensors_and_outputs_all_model_features() -> None:
    frame = pd.DataFrame([READING])
    transformer = PhysicsFeatures().fit(frame)
    out = transformer.transform(frame)
    assert out.shape == (1, len(MODEL_FEATURES))
    assert list(transformer.get_feature_names_out()) == list(MODEL_FEATURES)
    np.testing.assert_allclose(out[0, : len(SENSOR_COLUMNS)], list(READING.values()))
    np.testing.assert_allclose(out[0, len(SENSOR_COLUMNS) :], [HAND[n] for n in DERIVED_FEATURES])


def test_transformer_accepts_arrays_in_sensor_order_and_ignores_column_order() -> None:
    frame = pd.DataFrame([READING])
    shuffled = frame[list(reversed(SENSOR_COLUMNS))]
    as_array = frame[list(SENSOR_COLUMNS)].to_numpy()
    t = PhysicsFeatures()
    np.testing.assert_array_equal(t.transform(shuffled), t.transform(as_array))


def test_transformer_keep_selects_named_features_in_order() -> None:
    t = PhysicsFeatures(keep=("overstrain", "rotational_speed"))
    out = t.transform(pd.DataFrame([READING]))
    assert out.tolist() == [[HAND["overstrain"], 1551.0]]
    assert list(t.get_feature_names_out()) == ["overstrain", "rotational_speed"]


def test_transformer_refuses_missing_columns_and_unknown_features() -> None:
    with pytest.raises(ValueError, match="torque"):
        PhysicsFeatures().transform(pd.DataFrame([READING]).drop(columns="torque"))
    with pytest.raises(ValueError, match="unknown feature"):
        PhysicsFeatures(keep=("vibration",)).transform(pd.DataFrame([READING]))
    with pytest.raises(ValueError, match="shape"):
        PhysicsFeatures().transform(np.ones((2, 4)))
