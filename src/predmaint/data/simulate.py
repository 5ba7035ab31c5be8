"""A day of a plant's sensor readings, drawn from AI4I 2020's documented generation process.

What the daily batch scores when no plant data arrives, and fresh labelled data for checking the
champion. The process (``../shared/data/README.md``): random-walk temperatures, speed derived from
power with noise, torque around 40 Nm, tool wear added per process with tool replacement at
200-240 min, and the HDF/PWF/OSF/TWF/RNF failure rules.

A day is a shop floor, not independent rows: ``machines`` machines (ids ``L-001``, ``M-002``, …,
each making one product variant, drawn with the documented shares) send readings at times spread
through the day; each reading is one process on its machine, so each machine's tool wears reading
after reading (+2/3/5 min for L/M/H) until its own replacement wear, drawn in 200-240 min, where
the tool is replaced (or fails: TWF) and wear starts again from zero. Rows are in time order.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from predmaint.data.columns import (
    AIR_TEMPERATURE,
    MACHINE_ID,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TARGET,
    TIMESTAMP,
    TOOL_WEAR,
    TORQUE,
)
from predmaint.data.failure_rules import (
    HDF_SPEED_RPM,
    HDF_TEMP_DIFFERENCE_K,
    OSF_LIMITS,
    PWF_POWER_W,
    TWF_WINDOW_MIN,
)
from predmaint.data.plant import TIMESTAMP_DTYPE

WEAR_PER_PROCESS = {"L": 2, "M": 3, "H": 5}
TYPE_SHARE = {"L": 0.5, "M": 0.3, "H": 0.2}
#: Speed from power: least-squares fit of speed = a / torque + b on the public file (sd 71 rpm),
#: bounded by the file's observed ranges (torque from 3.8 Nm, speed up to 2,886 rpm).
_SPEED_A, _SPEED_B, _SPEED_NOISE = 17_135.0, 1_076.0, 71.0
_TORQUE_MIN, _SPEED_MIN, _SPEED_MAX = 3.8, 1_100.0, 2_886.0
TWF_PROBABILITY = 0.4  # share of tool replacements that end in a tool-wear failure instead
RNF_PROBABILITY = 0.001
#: Machines of a simulated plant (``PREDMAINT_SIMULATED_MACHINES`` for the batch job's days).
DEFAULT_MACHINES = 20


def _normalised_walk(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    walk = np.cumsum(rng.normal(0.0, 1.0, n))
    spread = walk.std()
    return (walk - walk.mean()) / (spread if spread > 0 else 1.0) * sd


def failure_modes(frame: pd.DataFrame) -> pd.DataFrame:
    """The deterministic failure rules (HDF, PWF, OSF) as 0/1 columns for ``frame``."""
    power = frame[TORQUE] * frame[ROTATIONAL_SPEED] * 2 * np.pi / 60
    limit = frame["type"].map(OSF_LIMITS).fillna(OSF_LIMITS["L"])
    low, high = PWF_POWER_W
    return pd.DataFrame(
        {
            "hdf": (frame[PROCESS_TEMPERATURE] - frame[AIR_TEMPERATURE] < HDF_TEMP_DIFFERENCE_K)
            & (frame[ROTATIONAL_SPEED] < HDF_SPEED_RPM),
            "pwf": (power < low) | (power > high),
            "osf": frame[TOOL_WEAR] * frame[TORQUE] > limit,
        },
        index=frame.index,
    ).astype(int)


def machine_names(types: np.ndarray) -> np.ndarray:
    """Plant ids of machines ``1..n`` of the given product variants: ``L-001``, ``M-002``, …"""
    return np.array([f"{t}-{n:03d}" for n, t in enumerate(types, start=1)], dtype=object)


def _tool_wear(
    rng: np.random.Generator, machine: np.ndarray, types: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Wear of the tool in use at each reading (in time order) and where a tool failed (TWF).

    Each machine starts the day with a tool part-way through its life; each reading adds its
    variant's step; at the tool's replacement wear the reading is the tool's last (it is replaced,
    or fails instead) and the next reading starts a new tool.
    """
    low, high = TWF_WINDOW_MIN  # a tool is replaced (or fails) at a wear drawn in this window
    step = np.array([WEAR_PER_PROCESS[str(t)] for t in types], dtype=float)
    current = rng.integers(0, int(low), len(types)).astype(float)
    replace_at = rng.uniform(low, high, len(types))
    wear = np.empty(len(machine))
    twf = np.zeros(len(machine), dtype=int)
    for i, m in enumerate(machine):
        current[m] += step[m]
        wear[i] = current[m]
        if current[m] >= replace_at[m]:
            twf[i] = int(rng.random() < TWF_PROBABILITY)
            current[m], replace_at[m] = 0.0, rng.uniform(low, high)
    return wear, twf


def simulate_readings(
    rows: int,
    ds: date,
    *,
    seed: int | None = None,
    machine_types: tuple[str, ...] | list[str] = ("L",),
    labels: bool = False,
    drift: float = 0.0,
    machines: int = DEFAULT_MACHINES,
) -> pd.DataFrame:
    """``rows`` readings of a plant of ``machines`` machines on day ``ds``, in time order
    (deterministic per day unless ``seed`` is given).

    Args:
        labels: add ``machine_failure`` and the five mode columns from the documented rules.
        drift: 0 reproduces the documented process; larger values heat the air (+3 K per unit),
            narrow the process-air gap (-1 K), and raise torque (+8 Nm), which raises failures.
    """
    if rows < 1 or machines < 1:
        raise ValueError("rows and machines must be at least 1")
    rng = np.random.default_rng(seed if seed is not None else ds.toordinal())
    shares = np.array([TYPE_SHARE[t] for t in machine_types], dtype=float)
    plant = rng.choice(list(machine_types), size=machines, p=shares / shares.sum())
    machine = rng.integers(0, machines, rows)  # which machine ran each process
    types = plant[machine]
    seconds = np.sort(rng.integers(0, 86_400, rows))  # through the day, in time order
    timestamps = pd.Timestamp(ds, tz="UTC") + pd.to_timedelta(seconds, unit="s")

    # The air is the hall's (one walk over the day); each process adds its own heat and load.
    air = 300.0 + _normalised_walk(rng, rows, 2.0) + 3.0 * drift
    process = air + 10.0 + _normalised_walk(rng, rows, 1.0) - 1.0 * drift
    torque = np.clip(rng.normal(40.0 + 8.0 * drift, 10.0, rows), _TORQUE_MIN, None)
    speed = np.clip(
        _SPEED_A / torque + _SPEED_B + rng.normal(0.0, _SPEED_NOISE, rows), _SPEED_MIN, _SPEED_MAX
    )
    wear, twf = _tool_wear(rng, machine, plant)

    first_udi = ds.toordinal() * 100_000
    frame = pd.DataFrame(
        {
            "udi": np.arange(first_udi, first_udi + rows, dtype=np.int64),
            "product_id": [
                f"{t}{n:05d}"
                for t, n in zip(types, rng.integers(10_000, 99_999, rows), strict=True)
            ],
            "type": types,
            MACHINE_ID: machine_names(plant)[machine],
            TIMESTAMP: pd.Series(timestamps).astype(TIMESTAMP_DTYPE),
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
