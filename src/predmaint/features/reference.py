"""The training reference that drift is measured against: binned quantiles, not raw rows.

Computed from the training data when a model is trained and stored with it as a small JSON
artifact (a few kB), so checking a batch for drift needs neither the training rows nor MLflow's
copy of them. For each of the five sensors and the derived features it keeps:

- ``points``/``cdf``: the training ECDF at its percentiles (the share of rows ``<=`` each
  point, counted exactly, ties included), what the two-sample KS test compares a batch with;
- ``edges``/``shares``: decile bins and the share of training rows in each, what PSI compares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.features.formulas import MODEL_FEATURES, add_features
from predmaint.storage import read_json, write_json_atomic

REFERENCE_FILE = "drift_reference.json"
REFERENCE_FORMAT = 1


@dataclass(frozen=True)
class FeatureReference:
    """One feature's training distribution, summarised."""

    points: tuple[float, ...]
    cdf: tuple[float, ...]
    edges: tuple[float, ...]
    shares: tuple[float, ...]

    def bin_shares(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Share of ``values`` in each PSI bin (bins ``(-inf, e0], (e0, e1], …, (ek, inf)``)."""
        index = np.searchsorted(np.asarray(self.edges), values, side="left")
        counts = np.bincount(index, minlength=len(self.shares)).astype(np.float64)
        return counts / max(len(values), 1)

    def ecdf_gap(self, values: npt.NDArray[np.float64]) -> float:
        """Largest gap between the ECDF of ``values`` and the training ECDF at the reference points.

        Both sides count ``x <= point``, so ties (0.1 K, 1 rpm resolution) are treated alike.
        """
        ordered = np.sort(values)
        batch = np.searchsorted(ordered, np.asarray(self.points), side="right") / len(ordered)
        return float(np.max(np.abs(batch - np.asarray(self.cdf))))


@dataclass(frozen=True)
class DriftReference:
    """The training distributions of the model's input and derived features."""

    rows: int
    features: Mapping[str, FeatureReference]
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REFERENCE_FORMAT,
            "rows": self.rows,
            "source": self.source,
            "features": {
                name: {
                    "points": list(f.points),
                    "cdf": list(f.cdf),
                    "edges": list(f.edges),
                    "shares": list(f.shares),
                }
                for name, f in self.features.items()
            },
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DriftReference:
        if payload.get("format") != REFERENCE_FORMAT:
            raise ValueError(f"unknown drift reference format {payload.get('format')!r}")
        features = {
            name: FeatureReference(
                points=tuple(float(v) for v in f["points"]),
                cdf=tuple(float(v) for v in f["cdf"]),
                edges=tuple(float(v) for v in f["edges"]),
                shares=tuple(float(v) for v in f["shares"]),
            )
            for name, f in payload["features"].items()
        }
        return cls(rows=int(payload["rows"]), features=features, source=str(payload["source"]))

    def write(self, path: Path) -> Path:
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def read(cls, path: Path) -> DriftReference:
        return cls.from_dict(read_json(path))


def _summarise(values: npt.NDArray[np.float64], quantiles: int, bins: int) -> FeatureReference:
    ordered = np.sort(values)
    points = np.unique(np.quantile(ordered, np.linspace(0.0, 1.0, quantiles + 1)))
    cdf = np.searchsorted(ordered, points, side="right") / len(ordered)
    # Inner decile edges; repeated values (a discrete feature) merge bins rather than empty them.
    edges = np.unique(np.quantile(ordered, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    index = np.searchsorted(edges, ordered, side="left")
    shares = np.bincount(index, minlength=len(edges) + 1) / len(ordered)
    return FeatureReference(
        points=tuple(points.tolist()),
        cdf=tuple(cdf.tolist()),
        edges=tuple(edges.tolist()),
        shares=tuple(shares.tolist()),
    )


def build_reference(
    frame: pd.DataFrame, *, source: str = "", quantiles: int = 100, bins: int = 10
) -> DriftReference:
    """Summarise the training readings ``frame`` (five sensor columns; derived ones are added)."""
    missing = [c for c in SENSOR_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"a drift reference needs the sensor column(s) {', '.join(missing)}")
    if len(frame) < 2:
        raise ValueError("a drift reference needs at least 2 training rows")
    data = add_features(frame[list(SENSOR_COLUMNS)].astype(np.float64))
    features = {
        name: _summarise(data[name].to_numpy(dtype=np.float64), quantiles, bins)
        for name in MODEL_FEATURES
    }
    return DriftReference(rows=len(frame), features=features, source=source)
