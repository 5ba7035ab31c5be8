"""The simulator follows the dataset's documented generation process."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predmaint.data.columns import normalise_header
from predmaint.data.schemas import labelled_schema
from predmaint.data.simulate import WEAR_PER_PROCESS, failure_modes, simulate_readings
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


def test_a_day_is_a_plant_of_n_machines_through_the_day() -> None:
    # given a plant of 12 machines making the three variants
    day = simulate_readings(3000, DAY, machine_types=("L", "M", "H"), machines=12)
    # then every machine sends readings, under an id naming its variant and number
    ids = sorted(day["machine_id"].unique())
    assert len(ids) == 12, ids
    assert all(re.fullmatch(r"[LMH]-0(0[1-9]|1[0-2])", i) for i in ids), ids
    assert (day["machine_id"].str[0] == day["type"]).all(), "a machine makes one variant"
    assert day.groupby("machine_id")["type"].nunique().max() == 1
    # and the readings are in time order, spread over that day (UTC)
    stamps = day["timestamp"]
    assert str(stamps.dtype) == "datetime64[us, UTC]"
    assert stamps.is_monotonic_increasing
    assert stamps.min().date() == DAY and stamps.max().date() == DAY
    assert stamps.max() - stamps.min() > pd.Timedelta(hours=23)


@pytest.mark.parametrize("machine_types", [("L",), ("L", "M", "H")])
def test_each_machines_tool_wears_reading_after_reading_until_replaced(
    machine_types: tuple[str, ...],
) -> None:
    day = simulate_readings(6000, DAY, machine_types=machine_types, machines=10, labels=True)
    replacements = 0
    for machine, readings in day.groupby("machine_id", sort=False):
        wear = readings["tool_wear"].to_numpy()
        step = WEAR_PER_PROCESS[str(machine)[0]]
        diffs = np.diff(wear)
        # between replacements wear grows by the variant's step per process, never down
        assert set(diffs[diffs >= 0]) <= {float(step)}, (machine, set(diffs))
        # a replacement happens inside the 200-240 min window; the new tool starts at one step
        last = wear[:-1][diffs < 0]
        assert ((last >= 200) & (last < 240 + step)).all(), (machine, last)
        assert (wear[1:][diffs < 0] == step).all(), machine
        replacements += len(last)
        # a tool-wear failure is a tool's last reading, inside the window
        failed = readings["twf"].to_numpy() == 1
        assert (wear[failed] >= 200).all(), machine
    assert replacements >= 20, "600 processes per machine wear out several tools"


def test_machines_must_be_positive() -> None:
    with pytest.raises(ValueError, match="machines"):
        simulate_readings(10, DAY, machines=0)


def test_labels_follow_the_failure_rules(day: pd.DataFrame) -> None:
    rules = failure_modes(day)
    for mode in ("hdf", "pwf", "osf"):
        assert (day[mode] == rules[mode]).all(), mode
    assert (day["machine_failure"] == day[["twf", "hdf", "pwf", "osf", "rnf"]].max(axis=1)).all()
    assert day.loc[day["twf"] == 1, "tool_wear"].between(200, 242).all()
    assert 0.02 < day["machine_failure"].mean() < 0.08  # the file's Type L rate is 3.9 %


def test_the_rules_flag_the_real_files_failures_exactly(raw_csv: Path) -> None:
    # given every reading of AI4I 2020, all three machine types, with typed columns
    real = pd.read_csv(raw_csv)
    real.columns = [normalise_header(c) for c in real.columns]
    assert set(real["type"]) == {"L", "M", "H"}
    # when the simulator's rules (limits of predmaint.data.failure_rules) label them
    rules = failure_modes(real)
    # then HDF, PWF and OSF (deterministic) are exactly the file's flags
    for mode in ("hdf", "pwf", "osf"):
        assert (rules[mode] == real[mode]).all(), mode


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
