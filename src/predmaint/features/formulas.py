"""The spec's derived features (exact formulas), plus ``overstrain``; written once.

``derive`` works on a 2-D float array in :data:`SENSOR_COLUMNS` order, so the same arithmetic runs
inside the scikit-learn transformer, on a pandas frame, and (mirrored in ONNX) in the API.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from predmaint.data.columns import SENSOR_COLUMNS

DERIVED_FEATURES: tuple[str, ...] = (
    "temp_difference",  # process - air [K]: thermal stress (HDF below 8.6 K at low speed)
    "estimated_power",  # torque * speed * 2π/60 [W] (PWF outside 3,500-9,000 W)
    "mechanical_stress",  # torque / (speed / 1000)
    "thermal_efficiency",  # process / air
    "wear_per_operation",  # tool_wear / (speed * 0.001)
    "overstrain",  # tool_wear * torque [min·Nm] (OSF above 11,000 for type L)
)
MODEL_FEATURES: tuple[str, ...] = (*SENSOR_COLUMNS, *DERIVED_FEATURES)


def derived_values(air: Any, process: Any, speed: Any, torque: Any, wear: Any) -> tuple[Any, ...]:
    """The six derived features of :data:`DERIVED_FEATURES`, in order, from the five sensors.

    Plain arithmetic, so it takes floats (one reading, the API's compiled trees) as well as
    arrays (:func:`derive`) and gives the same float64 bits either way.
    """
    return (
        process - air,
        torque * (speed * 2.0 * math.pi / 60.0),
        torque / (speed / 1000.0),
        process / air,
        wear / (speed * 0.001),
        wear * torque,
    )


def derive(sensors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Derived features for an ``(n, 5)`` array of sensor values, as an ``(n, 6)`` array."""
    x = np.asarray(sensors, dtype=np.float64)
    return np.column_stack(derived_values(*(x[:, i] for i in range(5))))


def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with the six derived feature columns appended."""
    derived = derive(frame[list(SENSOR_COLUMNS)].to_numpy(dtype=np.float64))
    out = frame.copy()
    for i, name in enumerate(DERIVED_FEATURES):
        out[name] = derived[:, i]
    return out
