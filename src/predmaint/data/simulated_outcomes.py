"""Outcomes for a scored day, as a plant's technicians would report them: late, and not all.

What happened to each reading follows the data's documented failure rules
(``../shared/data/README.md``): HDF, PWF and OSF from the sensor values; TWF by chance once the
tool is past 200 min (a tool is replaced, or fails, at a wear drawn in 200-240 min); RNF with
0.1 % chance whatever the values. Readings that already carry labels (a simulated day made with
``labels=True``) keep them. Each outcome is observed during the scored day and reported 1 to
``max_delay_days`` days later; only ``report_share`` of the readings are ever reported.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from predmaint.data.columns import FAILURE_MODES, TARGET, TOOL_WEAR
from predmaint.data.failure_rules import TWF_WINDOW_MIN
from predmaint.data.simulate import (
    RNF_PROBABILITY,
    TWF_PROBABILITY,
    WEAR_PER_PROCESS,
    failure_modes,
)

#: Width of the replacement-wear window (200-240 min): the chance that a reading past 200 min
#: is the tool's last is its wear step over this width.
_REPLACEMENT_WINDOW = TWF_WINDOW_MIN[1] - TWF_WINDOW_MIN[0]


def _truth(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    if TARGET in frame.columns and all(m in frame.columns for m in FAILURE_MODES):
        return frame[list(FAILURE_MODES)].astype(int)
    typed = frame if "type" in frame.columns else frame.assign(type="L")
    typed = typed.assign(type=typed["type"].fillna("L"))
    modes = failure_modes(typed)
    step = typed["type"].map(WEAR_PER_PROCESS).fillna(WEAR_PER_PROCESS["L"])
    twf_chance = np.where(
        frame[TOOL_WEAR] >= TWF_WINDOW_MIN[0], TWF_PROBABILITY * step / _REPLACEMENT_WINDOW, 0.0
    )
    n = len(frame)
    return pd.DataFrame(
        {
            "twf": (rng.random(n) < twf_chance).astype(int),
            "hdf": modes["hdf"],
            "pwf": modes["pwf"],
            "osf": modes["osf"],
            "rnf": (rng.random(n) < RNF_PROBABILITY).astype(int),
        },
        index=frame.index,
    )


def simulate_outcomes(
    scored: pd.DataFrame,
    ds: date,
    *,
    seed: int | None = None,
    report_share: float = 1.0,
    max_delay_days: int = 3,
) -> pd.DataFrame:
    """Outcome records for the readings of ``scored`` (which must carry ``prediction_id``).

    Columns: ``prediction_id``, ``outcome``, ``failure_mode`` (the first mode, upper case),
    ``observed_at`` (ISO 8601, UTC), ``note``, and ``reported_on``: the day the plant sends it.
    """
    if "prediction_id" not in scored.columns:
        raise ValueError("outcomes are simulated for scored readings: prediction_id is missing")
    if not 0.0 <= report_share <= 1.0 or max_delay_days < 1:
        raise ValueError("report_share must be in [0, 1] and max_delay_days at least 1")
    rng = np.random.default_rng(seed if seed is not None else ds.toordinal() + 7)
    modes = _truth(scored, rng)
    failed = modes.sum(axis=1) > 0
    first_mode = modes.idxmax(axis=1).astype(str).str.upper().where(failed)
    seconds = rng.integers(0, 86_400, len(scored))
    start = datetime.combine(ds, time(), tzinfo=UTC)
    observed = [(start + timedelta(seconds=int(s))).isoformat() for s in seconds]
    delay = rng.integers(1, max_delay_days + 1, len(scored))
    frame = pd.DataFrame(
        {
            "prediction_id": scored["prediction_id"].astype(str).to_numpy(),
            "outcome": np.where(failed, "failure", "no_failure"),
            "failure_mode": first_mode.to_numpy(),
            "observed_at": observed,
            "note": "simulated",
            "reported_on": [ds + timedelta(days=int(d)) for d in delay],
        }
    )
    return frame[rng.random(len(frame)) < report_share].reset_index(drop=True)


def reported_on(outcomes: pd.DataFrame, day: date) -> pd.DataFrame:
    """The outcomes the plant sends on ``day`` (without the ``reported_on`` column)."""
    return outcomes[outcomes["reported_on"] == day].drop(columns="reported_on")
