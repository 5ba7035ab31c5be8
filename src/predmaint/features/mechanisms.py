"""The documented failure mechanisms of AI4I 2020: each reading's quantity, limit and utilisation.

The dataset's documentation (``../shared/data/README.md``) states how HDF, PWF and OSF follow from
the sensor values and where TWF happens; a technician wants to see, for every reading, how close
each rule is to breaking. Five entries per reading:

==========  ====================  ====================================  =========
mode        quantity              rule broken when                      bound
==========  ====================  ====================================  =========
HDF         ``temp_difference``   process − air < 8.6 K (and speed too)  minimum
HDF         ``rotational_speed``  speed < 1,380 rpm (and temperature)    minimum
PWF         ``power``             torque × ω outside 3,500–9,000 W       window
OSF         ``overstrain``        tool wear × torque > 11,000 / 12,000 /  maximum
                                  13,000 min·Nm (type L / M / H)
TWF         ``tool_wear``         wear in the 200–240 min window (or     maximum
                                  past it)
==========  ====================  ====================================  =========

**Utilisation** is one number per entry on one scale: ``1 − margin / limit``, the margin being how
far the value sits from the limit on the safe side (negative once past it). So utilisation is
``value / limit`` for a maximum, ``2 − value / limit`` for a minimum (a value at twice the minimum
uses none of it; clipped at 0), and for the power window the larger of the two bounds' figures
(the entry's ``limit`` is the bound in play). In every case 1 is exactly the limit and ≥ 1 means
the documented rule holds for that quantity. HDF needs both of its entries ≥ 1.

Two forms: :func:`utilisation_one` on pure floats for the API's hot path (a few µs), and
:func:`utilisation_many` on arrays for batch scoring (millions of readings per second).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

# The limits are the data's (the simulator draws its labels from them), re-exported from here.
from predmaint.data.failure_rules import (
    HDF_SPEED_RPM,
    HDF_TEMP_DIFFERENCE_K,
    OSF_LIMITS,
    PWF_POWER_W,
    TWF_WINDOW_MIN,
)

FailureMode = Literal["TWF", "HDF", "PWF", "OSF", "RNF"]
#: The data's failure modes, in the order of the label columns (``twf`` … ``rnf``).
MODES: tuple[FailureMode, ...] = ("TWF", "HDF", "PWF", "OSF", "RNF")
Bound = Literal["minimum", "maximum", "window"]

RAD_S_PER_RPM = 2.0 * math.pi / 60.0  # rpm -> rad/s, as in ``estimated_power``
_OMEGA = RAD_S_PER_RPM


@dataclass(frozen=True, slots=True)
class Mechanism:
    """One documented quantity of a failure mode and the side of its limit that is safe."""

    mode: FailureMode
    quantity: str
    unit: str
    bound: Bound

    @property
    def column(self) -> str:
        """Its utilisation column in batch outputs, e.g. ``util_osf_overstrain``."""
        return f"util_{self.mode.lower()}_{self.quantity}"


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("HDF", "temp_difference", "K", "minimum"),
    Mechanism("HDF", "rotational_speed", "rpm", "minimum"),
    Mechanism("PWF", "power", "W", "window"),
    Mechanism("OSF", "overstrain", "min·Nm", "maximum"),
    Mechanism("TWF", "tool_wear", "min", "maximum"),
)
UTILISATION_COLUMNS: tuple[str, ...] = tuple(m.column for m in MECHANISMS)

#: (value, limit, utilisation) of each entry of :data:`MECHANISMS`, in that order.
Measure = tuple[float, float, float]


def overstrain_limit(machine_type: str | None) -> float:
    """The OSF limit of a machine type; a reading of unknown type gets the strictest (type L)."""
    return OSF_LIMITS.get(machine_type or "L", OSF_LIMITS["L"])


def _below(value: float, limit: float) -> float:
    return max(0.0, 2.0 - value / limit)


def utilisation_one(values: Sequence[float], osf_limit: float = OSF_LIMITS["L"]) -> list[Measure]:
    """Every mechanism of one reading (sensor values in ``SENSOR_COLUMNS`` order), pure floats."""
    air, process, speed, torque, wear = values
    difference = process - air
    power = torque * (speed * _OMEGA)
    low, high = PWF_POWER_W
    low_use, high_use = _below(power, low), power / high
    overstrain = wear * torque
    return [
        (difference, HDF_TEMP_DIFFERENCE_K, _below(difference, HDF_TEMP_DIFFERENCE_K)),
        (speed, HDF_SPEED_RPM, _below(speed, HDF_SPEED_RPM)),
        (power, low, low_use) if low_use > high_use else (power, high, high_use),
        (overstrain, osf_limit, overstrain / osf_limit),
        (wear, TWF_WINDOW_MIN[0], wear / TWF_WINDOW_MIN[0]),
    ]


def utilisation_many(
    sensors: npt.NDArray[np.float64], osf_limit: float | npt.NDArray[np.float64] = OSF_LIMITS["L"]
) -> npt.NDArray[np.float64]:
    """Utilisation of every mechanism for an ``(n, 5)`` sensor array, as an ``(n, 5)`` array.

    ``osf_limit`` is one limit or one per reading (:func:`overstrain_limits` of a type column).
    Columns follow :data:`MECHANISMS` (named by :data:`UTILISATION_COLUMNS`); each column is
    contiguous in memory (the result is the transpose of a ``(5, n)`` array), so a batch job
    copies it into a frame column at memory speed.
    """
    x = np.asarray(sensors, dtype=np.float64)
    air, process, speed, torque, wear = (x[:, i] for i in range(5))
    out = np.empty((len(MECHANISMS), len(x)), dtype=np.float64)
    scratch = np.empty(len(x), dtype=np.float64)
    np.subtract(process, air, out=scratch)
    _below_many(scratch, HDF_TEMP_DIFFERENCE_K, out[0])
    _below_many(speed, HDF_SPEED_RPM, out[1])
    np.multiply(torque, speed, out=scratch)
    scratch *= _OMEGA  # power [W]
    _below_many(scratch, PWF_POWER_W[0], out[2])
    np.maximum(out[2], scratch / PWF_POWER_W[1], out=out[2])
    np.multiply(wear, torque, out=out[3])
    out[3] /= osf_limit
    np.divide(wear, TWF_WINDOW_MIN[0], out=out[4])
    return out.T


def _below_many(value: npt.NDArray[np.float64], limit: float, out: npt.NDArray[np.float64]) -> None:
    """``max(0, 2 − value / limit)`` into ``out`` without temporaries."""
    np.divide(value, -limit, out=out)
    out += 2.0
    np.maximum(out, 0.0, out=out)


def overstrain_limits(types: Any) -> npt.NDArray[np.float64]:
    """The OSF limit of each reading from its machine type (unknown or missing: type L's).

    ``types`` is a pandas Series (any string or categorical dtype, compared without a Python
    object per row) or anything a Series can be built from.
    """
    kinds = types if isinstance(types, pd.Series) else pd.Series(types, dtype=object)
    limits = np.full(len(kinds), OSF_LIMITS["L"])
    for kind, limit in OSF_LIMITS.items():
        if kind != "L":
            limits[(kinds == kind).to_numpy(dtype=bool, na_value=False)] = limit
    return limits


def rules_broken(utilisation: npt.NDArray[np.float64]) -> dict[FailureMode, npt.NDArray[np.bool_]]:
    """Per documented rule, which readings break it (HDF: both of its quantities at once)."""
    broken = utilisation >= 1.0
    return {
        "HDF": broken[:, 0] & broken[:, 1],
        "PWF": broken[:, 2],
        "OSF": broken[:, 3],
        "TWF": broken[:, 4],
    }
