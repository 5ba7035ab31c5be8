"""Drift scenarios for the simulator: what a plant's readings look like when something changes.

Each scenario starts from a normal simulated day (:func:`predmaint.data.simulate.simulate_readings`)
and changes the sensors the way a physical fault would; labels are then re-derived from the
changed values with the documented failure rules, so a drifted day also fails differently:

- ``cooling_loss``: the process runs hotter, ``severity`` kelvin above normal (HDF needs a small
  process-air gap, so failures by heat dissipation become rarer; the model sees new inputs);
- ``slow_spindle``: the spindle turns ``severity`` × 100 % slower (less power: more readings
  below PWF's 3,500 W, fewer above its 9,000 W; more HDF below 1,380 rpm).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from predmaint.data.columns import (
    FAILURE_MODES,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    SENSOR_RANGES,
    TARGET,
)
from predmaint.data.simulate import DEFAULT_MACHINES, failure_modes, simulate_readings

Scenario = Literal["normal", "cooling_loss", "slow_spindle"]
SCENARIOS: tuple[Scenario, ...] = ("normal", "cooling_loss", "slow_spindle")
#: The severity each scenario is benchmarked at: +2 K, and a 10 % slower spindle.
DEFAULT_SEVERITY: dict[Scenario, float] = {"normal": 0.0, "cooling_loss": 2.0, "slow_spindle": 0.1}


def apply_scenario(frame: pd.DataFrame, scenario: Scenario, severity: float) -> pd.DataFrame:
    """A copy of ``frame`` with the scenario's change; labels re-derived when present."""
    out = frame.copy()
    if scenario == "cooling_loss":
        out[PROCESS_TEMPERATURE] = np.round(out[PROCESS_TEMPERATURE] + severity, 1)
    elif scenario == "slow_spindle":
        if not 0.0 <= severity < 1.0:
            raise ValueError(f"slow_spindle severity must be in [0, 1); got {severity}")
        low = SENSOR_RANGES[ROTATIONAL_SPEED].low
        out[ROTATIONAL_SPEED] = np.maximum(
            np.round(out[ROTATIONAL_SPEED] * (1.0 - severity)), low + 1.0
        )
    elif scenario != "normal":
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    if TARGET in out.columns:
        modes = failure_modes(out)
        for name in ("hdf", "pwf", "osf"):
            out[name] = modes[name]
        out[TARGET] = out[list(FAILURE_MODES)].max(axis=1)
    return out


def simulate_scenario(
    rows: int,
    ds: date,
    scenario: Scenario = "normal",
    severity: float | None = None,
    *,
    seed: int | None = None,
    machine_types: tuple[str, ...] | list[str] = ("L",),
    labels: bool = False,
    machines: int = DEFAULT_MACHINES,
) -> pd.DataFrame:
    """A simulated plant day under ``scenario`` (at its benchmark severity unless one is given)."""
    frame = simulate_readings(
        rows, ds, seed=seed, machine_types=machine_types, labels=labels, machines=machines
    )
    level = DEFAULT_SEVERITY[scenario] if severity is None else severity
    return apply_scenario(frame, scenario, level)
