"""The derived features' pandera schema and the physical bounds it checks.

The features package owns them (it defines the features); the raw and labelled schemas stay in
:mod:`predmaint.data.schemas`, below it. Each check's ``error`` names the feature and the rule,
because that text lands in the quarantine file and the feature report.
"""

from __future__ import annotations

import math

import pandera.pandas as pa

from predmaint.data.schemas import finite_check

#: Sanity bounds of each derived feature over readings that pass the sensor ranges.
FEATURE_RANGES: dict[str, tuple[float, float]] = {
    "temp_difference": (-100.0, 130.0),
    "estimated_power": (0.0, 200.0 * 6000.0 * 2 * math.pi / 60),
    "mechanical_stress": (0.0, 1e7),
    "thermal_efficiency": (0.5, 2.0),
    "wear_per_operation": (0.0, 1e7),
    "overstrain": (0.0, 400.0 * 200.0),
}


def features_schema() -> pa.DataFrameSchema:
    """The derived features: finite and within physically sensible bounds."""
    columns = {
        name: pa.Column(
            float,
            checks=[
                finite_check(name),
                pa.Check.in_range(low, high, error=f"{name} must be in [{low:g}, {high:g}]"),
            ],
            nullable=False,
            coerce=True,
        )
        for name, (low, high) in FEATURE_RANGES.items()
    }
    return pa.DataFrameSchema(columns, name="features", coerce=True, strict=False)
