"""Realized classification metrics with 95 % intervals, from a confusion matrix.

Precision and recall get Wilson score intervals (good coverage at the small counts a plant's
failures give, unlike the normal approximation). F1 has no closed-form interval: it gets a
percentile bootstrap over the labelled readings. F1 depends on the readings only through the
confusion counts, so resampling readings with replacement is the same as drawing the four
counts from a multinomial with the observed shares, which is what is done (2,000 draws, fixed
seed, so a report is reproducible). Draws where F1 is undefined (no failure and no alert) are
left out. Every interval assumes the labelled readings are independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 20_201


@dataclass(frozen=True)
class Interval:
    """A 95 % interval; both ends None when the metric is undefined."""

    low: float | None
    high: float | None

    def to_list(self) -> list[float | None]:
        return [_round(self.low), _round(self.high)]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@cache
def z95() -> float:
    """The normal quantile of a two-sided 95 % interval: ``scipy.special.ndtri``, the function
    ``scipy.stats.norm.ppf`` calls, without importing ``scipy.stats`` (0.4-0.7 s, for one
    number; the stdlib's ``NormalDist`` differs in the last bit)."""
    from scipy.special import ndtri

    return float(ndtri(0.975))


def wilson(successes: int, trials: int, z: float | None = None) -> Interval:
    """Wilson score interval of a proportion (``z``: :func:`z95` unless given)."""
    if trials == 0:
        return Interval(None, None)
    z = z95() if z is None else z
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def f1_interval(tp: int, fp: int, fn: int, tn: int, draws: int = BOOTSTRAP_DRAWS) -> Interval:
    """Percentile bootstrap interval of F1 (multinomial draws of the confusion counts)."""
    n = tp + fp + fn + tn
    if n == 0 or tp + fp + fn == 0:
        return Interval(None, None)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    counts = rng.multinomial(n, np.array([tp, fp, fn, tn]) / n, size=draws)
    values = _f1(counts[:, 0], counts[:, 1], counts[:, 2])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Interval(None, None)
    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(float(low), float(high))


@dataclass(frozen=True)
class RealizedMetrics:
    """Precision, recall and F1 of predictions against outcomes (failure = positive)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def from_labels(cls, actual: Any, predicted: Any) -> RealizedMetrics:
        y = np.asarray(actual, dtype=bool)
        p = np.asarray(predicted, dtype=bool)
        return cls(
            tp=int(np.sum(y & p)),
            fp=int(np.sum(~y & p)),
            fn=int(np.sum(y & ~p)),
            tn=int(np.sum(~y & ~p)),
        )

    @property
    def labelled(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def failures(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """None when there is neither a failure nor an alert (nothing to be right about)."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "failures": self.failures,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": _round(self.precision),
            "precision_ci95": wilson(self.tp, self.tp + self.fp).to_list(),
            "recall": _round(self.recall),
            "recall_ci95": wilson(self.tp, self.tp + self.fn).to_list(),
            "f1": _round(self.f1),
            "f1_ci95": f1_interval(self.tp, self.fp, self.fn, self.tn).to_list(),
        }
