"""The simulator follows the dataset's documented generation process."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from predmaint.data.schemas import labelled_schema
from predmaint.data.simulate import failure_modes, simulate_readings
from predmaint.data.validation import validate_frame

DAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def day() -> pd.DataFrame:
    return simulate_readings(5000, DAY, labels=True)


def test_simulated_rows_pass_the_labelled_schema(day: pd.DataFrame) -> None:
    outcome = validate_frame(day, labelled_schema(), stage="simulated")
    assert outcome.quarantined.empty, outcome.quarantined.head()


def test_marginals_match_the_documented_process(day: pd.DataFrame) -> None:
    assert day["air_temperature"].mean() == pytest.approx(300.0, abs=0.2)
    assert day["air_temperature"].std() == pytest.approx(2.0, abs=0.1)
    gap = day["process_temperature"] - day["air_temperature"]
    assert gap.mean() == pytest.approx(10.0, abs=0.1)
    assert day["torque"].mean() == pytest.approx(40.0, abs=0.6)
    assert day["torque"].min() >= 0
    # speed is derived from power: strongly anti-correlated with torque, like the public file
    assert day["rotational_speed"].corr(day["torque"]) < -0.8
    assert day["rotational_speed"].mean() == pytest.approx(1539, rel=0.05)


def test_tool_wear_grows_by_two_minutes_and_is_replaced_by_240(day: pd.DataFrame) -> None:
    steps = day["tool_wear"].diff().dropna()
    assert set(steps[steps > 0].unique()) == {2.0}
    assert day["tool_wear"].max() <= 242
    assert (steps < 0).sum() >= 30  # the tool is replaced many times over 5,000 processes


def test_labels_follow_the_failure_rules(day: pd.DataFrame) -> None:
    rules = failure_modes(day)
    for mode in ("hdf", "pwf", "osf"):
        assert (day[mode] == rules[mode]).all(), mode
    assert (day["machine_failure"] == day[["twf", "hdf", "pwf", "osf", "rnf"]].max(axis=1)).all()
    assert day.loc[day["twf"] == 1, "tool_wear"].between(200, 242).all()
    assert 0.02 < day["machine_failure"].mean() < 0.08  # the file's Type L rate is 3.9 %


def test_same_day_same_readings_other_day_other_readings() -> None:
    a = simulate_readings(100, DAY)
    pd.testing.assert_frame_equal(a, simulate_readings(100, DAY))
    assert not np.allclose(a["torque"], simulate_readings(100, date(2026, 11, 26))["torque"])
    assert "machine_failure" not in a.columns


def test_drift_raises_the_failure_rate(day: pd.DataFrame) -> None:
    drifted = simulate_readings(5000, DAY, labels=True, drift=1.0)
    assert drifted["air_temperature"].mean() > day["air_temperature"].mean() + 2
    assert drifted["machine_failure"].mean() > 2 * day["machine_failure"].mean()


def test_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rows"):
        simulate_readings(0, DAY)
