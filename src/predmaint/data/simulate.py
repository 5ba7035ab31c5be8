"""A day of new sensor readings, drawn from AI4I 2020's documented generation process.

What the daily batch scores when no plant data arrives, and fresh labelled data for checking the
champion. The process (``../shared/data/README.md``): random-walk temperatures, speed derived from
power with noise, torque around 40 Nm, tool wear added per process with tool replacement at
200-240 min, and the HDF/PWF/OSF/TWF/RNF failure rules.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from predmaint.data.columns import (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TARGET,
    TOOL_WEAR,
    TORQUE,
)

WEAR_PER_PROCESS = {"L": 2, "M": 3, "H": 5}
OVERSTRAIN_LIMIT = {"L": 11_000.0, "M": 12_000.0, "H": 13_000.0}
TYPE_SHARE = {"L": 0.5, "M": 0.3, "H": 0.2}
#: Speed from power: least-squares fit of speed = a / torque + b on the public file (sd 71 rpm),
#: bounded by the file's observed ranges (torque from 3.8 Nm, speed up to 2,886 rpm).
_SPEED_A, _SPEED_B, _SPEED_NOISE = 17_135.0, 1_076.0, 71.0
_TORQUE_MIN, _SPEED_MIN, _SPEED_MAX = 3.8, 1_100.0, 2_886.0
TWF_PROBABILITY = 0.4  # share of tool replacements that end in a tool-wear failure instead
RNF_PROBABILITY = 0.001


def _normalised_walk(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    walk = np.cumsum(rng.normal(0.0, 1.0, n))
    spread = walk.std()
    return (walk - walk.mean()) / (spread if spread > 0 else 1.0) * sd


def failure_modes(frame: pd.DataFrame) -> pd.DataFrame:
    """The deterministic failure rules (HDF, PWF, OSF) as 0/1 columns for ``frame``."""
    power = frame[TORQUE] * frame[ROTATIONAL_SPEED] * 2 * np.pi / 60
    limit = frame["type"].map(OVERSTRAIN_LIMIT).fillna(OVERSTRAIN_LIMIT["L"])
    return pd.DataFrame(
        {
            "hdf": (frame[PROCESS_TEMPERATURE] - frame[AIR_TEMPERATURE] < 8.6)
            & (frame[ROTATIONAL_SPEED] < 1380),
            "pwf": (power < 3500) | (power > 9000),
            "osf": frame[TOOL_WEAR] * frame[TORQUE] > limit,
        },
        index=frame.index,
    ).astype(int)


def simulate_readings(
    rows: int,
    ds: date,
    *,
    seed: int | None = None,
    machine_types: tuple[str, ...] | list[str] = ("L",),
    labels: bool = False,
    drift: float = 0.0,
) -> pd.DataFrame:
    """``rows`` readings for day ``ds`` (deterministic per day unless ``seed`` is given).

    Args:
        labels: add ``machine_failure`` and the five mode columns from the documented rules.
        drift: 0 reproduces the documented process; larger values heat the air (+3 K per unit),
            narrow the process-air gap (-1 K), and raise torque (+8 Nm), which raises failures.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    rng = np.random.default_rng(seed if seed is not None else ds.toordinal())
    shares = np.array([TYPE_SHARE[t] for t in machine_types], dtype=float)
    types = rng.choice(list(machine_types), size=rows, p=shares / shares.sum())

    air = 300.0 + _normalised_walk(rng, rows, 2.0) + 3.0 * drift
    process = air + 10.0 + _normalised_walk(rng, rows, 1.0) - 1.0 * drift
    torque = np.clip(rng.normal(40.0 + 8.0 * drift, 10.0, rows), _TORQUE_MIN, None)
    speed = np.clip(
        _SPEED_A / torque + _SPEED_B + rng.normal(0.0, _SPEED_NOISE, rows), _SPEED_MIN, _SPEED_MAX
    )

    # One tool in use: each process wears it; at a random 200-240 min it is replaced, and in some
    # cases it fails instead (TWF) at that very reading.
    wear = np.empty(rows)
    twf = np.zeros(rows, dtype=int)
    current = float(rng.integers(0, 200))
    replace_at = rng.uniform(200, 240)
    for i, machine_type in enumerate(types):
        current += WEAR_PER_PROCESS[str(machine_type)]
        if current >= replace_at:
            twf[i] = int(rng.random() < TWF_PROBABILITY)
            wear[i] = current
            current, replace_at = 0.0, rng.uniform(200, 240)
        else:
            wear[i] = current

    first_udi = ds.toordinal() * 100_000
    frame = pd.DataFrame(
        {
            "udi": np.arange(first_udi, first_udi + rows, dtype=np.int64),
            "product_id": [
                f"{t}{n:05d}"
                for t, n in zip(types, rng.integers(10_000, 99_999, rows), strict=True)
            ],
            "type": types,
            AIR_TEMPERATURE: np.round(air, 1),
            PROCESS_TEMPERATURE: np.round(process, 1),
            ROTATIONAL_SPEED: np.round(speed),
            TORQUE: np.round(torque, 1),
            TOOL_WEAR: np.round(wear),
        }
    )
    if labels:
        modes = failure_modes(frame)
        frame["twf"] = twf
        for name in ("hdf", "pwf", "osf"):
            frame[name] = modes[name]
        frame["rnf"] = (rng.random(rows) < RNF_PROBABILITY).astype(int)
        frame[TARGET] = frame[["twf", "hdf", "pwf", "osf", "rnf"]].max(axis=1)
    return frame
