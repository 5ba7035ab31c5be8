"""The limits of AI4I 2020's documented failure rules, defined once.

The dataset's documentation (``../shared/data/README.md``) says how HDF, PWF and OSF follow from
the sensor values and where TWF happens. The simulator draws labels from these rules
(:mod:`predmaint.data.simulate`) and the diagnosis measures each reading against them
(:mod:`predmaint.features.mechanisms`, which re-exports them): both read this module, so a limit
cannot differ between the data we make and the explanation we give. It lives in ``data``, the
lower of the two layers, because ``data`` may not import ``features``.
"""

from __future__ import annotations

from predmaint.data.columns import MACHINE_TYPES

#: HDF: process − air temperature below this [K] (and the speed below :data:`HDF_SPEED_RPM`).
HDF_TEMP_DIFFERENCE_K = 8.6
#: HDF: rotational speed below this [rpm] (and the temperature difference too).
HDF_SPEED_RPM = 1380.0
#: PWF: power (torque × speed in rad/s) outside this window [W].
PWF_POWER_W = (3500.0, 9000.0)
#: OSF: tool wear × torque above this [min·Nm], per machine type.
OSF_LIMITS: dict[str, float] = {"L": 11000.0, "M": 12000.0, "H": 13000.0}
#: TWF: a tool is replaced, or fails, at a wear drawn uniformly in this window [min].
TWF_WINDOW_MIN = (200.0, 240.0)

assert tuple(OSF_LIMITS) == MACHINE_TYPES, "an overstrain limit per machine type"
