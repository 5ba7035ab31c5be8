"""Drift scenarios change the sensors as the fault would, and the labels follow the rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from predmaint.data.scenarios import apply_scenario, simulate_scenario
from predmaint.data.simulate import simulate_readings

DAY = date(2027, 3, 1)


def test_normal_scenario_is_the_simulators_day() -> None:
    normal = simulate_scenario(500, DAY, labels=True)
    assert normal.equals(simulate_readings(500, DAY, labels=True))


def test_cooling_loss_raises_process_temperature_and_only_that() -> None:
    base = simulate_readings(2000, DAY, labels=True)
    hot = simulate_scenario(2000, DAY, "cooling_loss", labels=True)
    shift = (hot["process_temperature"] - base["process_temperature"]).to_numpy()
    assert np.allclose(shift, 2.0, atol=1e-6), "every reading runs 2 K hotter"
    for column in ("air_temperature", "rotational_speed", "torque", "tool_wear"):
        assert hot[column].equals(base[column]), column
    # a wider process-air gap: heat-dissipation failures can only become rarer
    assert hot["hdf"].sum() <= base["hdf"].sum()
    assert (hot["machine_failure"] == hot[["twf", "hdf", "pwf", "osf", "rnf"]].max(axis=1)).all()


def test_slow_spindle_slows_by_the_severity_and_lowers_power() -> None:
    base = simulate_readings(2000, DAY, labels=True)
    slow = simulate_scenario(2000, DAY, "slow_spindle", 0.1, labels=True)
    ratio = slow["rotational_speed"] / base["rotational_speed"]
    assert ratio.between(0.899, 0.901).mean() > 0.99, ratio.describe()

    def power(f: pd.DataFrame) -> pd.Series:
        return f["torque"] * f["rotational_speed"] * 2 * np.pi / 60

    assert (power(slow) < 3500).sum() > (power(base) < 3500).sum(), "more below 3,500 W"
    assert (power(slow) > 9000).sum() <= (power(base) > 9000).sum(), "fewer above 9,000 W"
    assert slow["hdf"].sum() >= base["hdf"].sum(), "more readings under 1,380 rpm"


def test_unknown_scenario_and_bad_severity_are_refused() -> None:
    frame = simulate_readings(10, DAY)
    with pytest.raises(ValueError, match="unknown scenario"):
        apply_scenario(frame, "flood", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="slow_spindle severity"):
        apply_scenario(frame, "slow_spindle", 1.5)
