"""A reading's place in the plant: the machine that sent it and when, both optional.

Batch files may carry ``machine_id`` and ``timestamp`` columns. The vectorised check
(:mod:`predmaint.data.readings_check`) and the pandera schema (:mod:`predmaint.data.schemas`)
apply the same rules through these functions, and the scored readings keep both columns, so a
work order can name the machine and the time of its last reading. A timestamp without an offset
is read as UTC; every timestamp is kept in UTC to the microsecond. A machine id that arrives as a
number (a Parquet integer column) is kept as its text, as the same value read from a CSV would be.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predmaint.data.columns import MACHINE_ID, MACHINE_ID_MAX_LENGTH, TIMESTAMP

TIMESTAMP_DTYPE = pd.DatetimeTZDtype("us", "UTC")


def parse_timestamps(values: pd.Series) -> pd.Series:
    """``values`` as UTC timestamps; a value that is not an ISO 8601 date-time becomes NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("us")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").dt.as_unit("us")
    if pd.api.types.is_string_dtype(values.dtype):
        parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        return parsed.dt.as_unit("us")
    return pd.Series(pd.NaT, index=values.index, dtype=TIMESTAMP_DTYPE)  # numbers: not a date


def bad_timestamps(raw: pd.Series, parsed: pd.Series) -> np.ndarray:
    """Mask of values given (not missing) that did not parse as a date-time."""
    return (raw.notna() & parsed.isna()).to_numpy()


def machine_ids(values: pd.Series) -> pd.Series:
    """``values`` as text (missing stays missing)."""
    return values if values.dtype == "str" else values.astype("str")


def bad_machine_ids(ids: pd.Series) -> np.ndarray:
    """Mask of ids given that are blank or longer than :data:`MACHINE_ID_MAX_LENGTH`."""
    text = ids.astype("str")
    bad = (text.str.len() > MACHINE_ID_MAX_LENGTH) | (text.str.strip() == "")
    return (ids.notna() & bad.fillna(False)).to_numpy(dtype=bool)


def with_plant_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its plant columns (when present) in their kept types."""
    out = frame
    if MACHINE_ID in frame.columns:
        out = out.assign(**{MACHINE_ID: machine_ids(frame[MACHINE_ID])})
    if TIMESTAMP in frame.columns:
        out = out.assign(**{TIMESTAMP: parse_timestamps(frame[TIMESTAMP])})
    return out
