"""pandera schemas of the data stages: raw readings and labelled training data.

They are the single source of truth for names, dtypes and physical ranges (the ranges come from
:mod:`predmaint.data.columns`); the derived features' schema is
:mod:`predmaint.features.schema`, which owns those features and their bounds. Each check carries
an ``error`` text that names the field and the rule, because that text is what lands in the
quarantine file and the quality report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from predmaint.data.columns import (
    FAILURE_MODES,
    LABEL_COLUMNS,
    MACHINE_ID,
    MACHINE_ID_RULE,
    MACHINE_TYPES,
    SENSOR_COLUMNS,
    SENSOR_RANGES,
    TARGET,
    TIMESTAMP,
    TIMESTAMP_RULE,
    TYPE_RULE,
    finite_rule,
    range_rule,
)
from predmaint.data.plant import bad_machine_ids, parse_timestamps


def finite_check(name: str) -> pa.Check:
    """A value is a finite number (pandera's range checks let NaN and infinity through)."""
    return pa.Check(
        lambda s: pd.Series(np.isfinite(s.to_numpy(dtype=float)), index=s.index),
        error=finite_rule(name),
        name="finite",
    )


def _sensor_column(name: str) -> pa.Column:
    bounds = SENSOR_RANGES[name]
    return pa.Column(
        float,
        checks=[
            finite_check(name),
            pa.Check.in_range(
                bounds.low,
                bounds.high,
                include_min=bounds.low_inclusive,
                error=range_rule(name),
            ),
        ],
        nullable=False,
        coerce=True,
    )


def _identity_columns(required: bool) -> dict[str, pa.Column]:
    return {
        "udi": pa.Column(
            "Int64",
            nullable=not required,
            unique=True,
            report_duplicates="exclude_first",
            coerce=True,
            required=required,
        ),
        "product_id": pa.Column(str, nullable=not required, required=required, coerce=True),
        "type": pa.Column(
            str,
            checks=pa.Check.isin(MACHINE_TYPES, error=TYPE_RULE),
            nullable=not required,
            required=required,
            coerce=True,
        ),
    }


def _plant_columns() -> dict[str, pa.Column]:
    """The optional machine id and timestamp (rules in :mod:`predmaint.data.plant`)."""
    return {
        MACHINE_ID: pa.Column(
            str,
            checks=pa.Check(
                lambda s: pd.Series(~bad_machine_ids(s), index=s.index), error=MACHINE_ID_RULE
            ),
            nullable=True,
            required=False,
            coerce=True,
        ),
        # no dtype: the text is parsed by the check, then by ``with_plant_columns``
        TIMESTAMP: pa.Column(
            checks=pa.Check(lambda s: parse_timestamps(s).notna(), error=TIMESTAMP_RULE),
            nullable=True,
            required=False,
        ),
    }


def readings_schema(*, identity_required: bool) -> pa.DataFrameSchema:
    """Sensor readings (the AI4I file requires identity columns; plant readings may omit them,
    and may say which machine sent them and when)."""
    columns = {name: _sensor_column(name) for name in SENSOR_COLUMNS}
    columns.update(_identity_columns(identity_required))
    columns.update(_plant_columns())
    return pa.DataFrameSchema(columns, name="readings", coerce=True, strict=False)


def _label_column(name: str) -> pa.Column:
    return pa.Column(
        "Int64",
        checks=pa.Check.isin([0, 1], error=f"{name} must be 0 or 1"),
        nullable=False,
        coerce=True,
    )


def labelled_schema(*, identity_required: bool = True) -> pa.DataFrameSchema:
    """Readings plus the six label columns, each 0 or 1."""
    base = readings_schema(identity_required=identity_required)
    return base.add_columns({name: _label_column(name) for name in LABEL_COLUMNS}).set_name(
        "labelled"
    )


def _modes(frame: pd.DataFrame) -> pd.Series:
    return frame[list(FAILURE_MODES)].sum(axis=1)


#: Known quirks of the public file (4 failures without a mode, 12 RNF rows without a failure):
#: they are reported as warnings, not quarantined, because the label itself is well-formed.
LABEL_CONSISTENCY = pa.DataFrameSchema(
    checks=[
        pa.Check(
            lambda f: ~((f[TARGET] == 1) & (_modes(f) == 0)),
            error="machine_failure is 1 but no failure mode (twf/hdf/pwf/osf/rnf) is set",
            name="failure_without_mode",
        ),
        pa.Check(
            lambda f: ~((f[TARGET] == 0) & (_modes(f) > 0)),
            error="a failure mode is set but machine_failure is 0",
            name="mode_without_failure",
        ),
    ],
    name="label_consistency",
)
