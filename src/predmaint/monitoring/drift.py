"""Drift of a batch against the champion's training reference: PSI and a two-sample KS test.

A feature is *drifted* when both hold:

- its shift is **significant**: the two-sample Kolmogorov–Smirnov test rejects after Holm's
  correction for testing the eleven features of one batch (family-wise error ``drift_alpha``);
- its shift is **large enough to matter**: PSI over the reference's decile bins is at least
  ``drift_psi_threshold``.

Significance alone is not enough: with thousands of readings KS finds shifts no model would
notice, and readings within a day are autocorrelated (temperatures follow slow walks), which
makes an iid test over-confident. PSI alone is noisy on small batches. Below
``drift_min_sample`` readings there is no verdict at all (figures are still shown).

The KS statistic compares the batch ECDF with the training ECDF at the reference's percentile
points (:class:`predmaint.features.reference.FeatureReference`): a lower bound of the full
statistic that loses at most the mass between two percentiles, so the test errs conservative.
Its p-value is scipy's, as ``scipy.stats.ks_2samp`` computes it in asymptotic mode
(``kstwo`` at the effective size ``n·m/(n+m)``). Holm is written out here (five lines) rather
than taking statsmodels for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.features.formulas import add_features
from predmaint.features.reference import DriftReference, FeatureReference
from predmaint.settings import Settings

#: Floor for an empty PSI bin (a share of 0 would make the log infinite).
PSI_EPSILON = 1e-4


@dataclass(frozen=True)
class DriftRule:
    """The thresholds one verdict uses (from settings, or set by a benchmark)."""

    min_sample: int = 200
    psi_threshold: float = 0.2
    alpha: float = 0.01
    #: Count a batch for its effective size in the KS test (False: its row count, as if the
    #: readings were independent; kept so the benchmark can show what the correction buys).
    autocorrelation: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftRule:
        return cls(settings.drift_min_sample, settings.drift_psi_threshold, settings.drift_alpha)


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's shift in one batch."""

    psi: float
    ks_statistic: float
    ks_pvalue: float
    ks_pvalue_adjusted: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "psi": round(self.psi, 6),
            "ks_statistic": round(self.ks_statistic, 6),
            "ks_pvalue": self.ks_pvalue,
            "ks_pvalue_adjusted": self.ks_pvalue_adjusted,
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class DriftResult:
    """A batch's drift verdict; ``evaluated`` is False below the minimum sample."""

    rows: int
    evaluated: bool
    features: Mapping[str, FeatureDrift]
    rule: DriftRule

    @property
    def drifted_features(self) -> tuple[str, ...]:
        """Drifted features, the most shifted (by PSI) first."""
        drifted = [(f.psi, name) for name, f in self.features.items() if f.drifted]
        return tuple(name for _, name in sorted(drifted, reverse=True))

    @property
    def drift_detected(self) -> bool:
        return bool(self.drifted_features)

    def to_dict(self) -> dict[str, Any]:
        note = (
            ""
            if self.evaluated
            else f"fewer than {self.rule.min_sample} readings ({self.rows}): no verdict"
        )
        return {
            "drift_detected": self.drift_detected,
            "evaluated": self.evaluated,
            "rows": self.rows,
            "drifted_features": list(self.drifted_features),
            "note": note,
            "rule": {
                "min_sample": self.rule.min_sample,
                "psi_threshold": self.rule.psi_threshold,
                "alpha": self.rule.alpha,
                "correction": "holm",
            },
            "features": {name: f.to_dict() for name, f in self.features.items()},
        }


def psi(reference: FeatureReference, values: np.ndarray) -> float:
    """Population stability index of ``values`` over the reference's bins."""
    expected = np.maximum(np.asarray(reference.shares), PSI_EPSILON)
    actual = np.maximum(reference.bin_shares(values), PSI_EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def effective_size(values: np.ndarray) -> float:
    """How many independent readings ``values`` (in arrival order) are worth.

    ``n / τ`` with τ the integrated autocorrelation time, its sum over lags 1..√n weighted by
    Bartlett's window (as Newey–West do): ≈ n for independent readings, ≈ √n for a slow walk.
    """
    n = len(values)
    lags = min(int(np.sqrt(n)), n - 2)
    centred = values - values.mean()
    variance = float(centred @ centred)
    if lags < 1 or variance <= 0.0:
        return float(n)
    rho = np.array([centred[:-k] @ centred[k:] for k in range(1, lags + 1)]) / variance
    weights = 1.0 - np.arange(1, lags + 1) / (lags + 1)
    tau = 1.0 + 2.0 * float(np.sum(weights * rho))
    return float(n / max(tau, 1.0))


def ks_test(
    reference: FeatureReference,
    values: np.ndarray,
    reference_rows: int,
    autocorrelation: bool = True,
) -> tuple[float, float]:
    """KS statistic and p-value of ``values`` (in arrival order) against the reference ECDF.

    The batch counts for its effective size (:func:`effective_size`), not its row count.
    """
    statistic = reference.ecdf_gap(values)
    n = effective_size(values) if autocorrelation else float(len(values))
    effective = round(reference_rows * n / (reference_rows + n))
    return statistic, float(np.clip(stats.kstwo.sf(statistic, max(effective, 1)), 0.0, 1.0))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    order = np.argsort(pvalues)
    m = len(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted.tolist()


def batch_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The five sensors and the derived features of a batch, as floats."""
    return add_features(frame[list(SENSOR_COLUMNS)].astype(np.float64))


def detect_drift(
    frame: pd.DataFrame, reference: DriftReference, rule: DriftRule | None = None
) -> DriftResult:
    """Compare one batch of readings with the training reference, feature by feature."""
    rule = rule or DriftRule()
    if frame.empty:
        return DriftResult(rows=0, evaluated=False, features={}, rule=rule)
    data = batch_features(frame)
    names = [name for name in reference.features if name in data.columns]
    measured = {}
    for name in names:
        values = data[name].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        feature = reference.features[name]
        statistic, pvalue = ks_test(feature, values, reference.rows, rule.autocorrelation)
        measured[name] = (psi(feature, values), statistic, pvalue)
    adjusted = holm([measured[name][2] for name in names])
    evaluated = len(frame) >= rule.min_sample
    features = {
        name: FeatureDrift(
            psi=value,
            ks_statistic=statistic,
            ks_pvalue=pvalue,
            ks_pvalue_adjusted=p_adj,
            drifted=evaluated and p_adj < rule.alpha and value >= rule.psi_threshold,
        )
        for name, (value, statistic, pvalue), p_adj in zip(
            names, (measured[n] for n in names), adjusted, strict=True
        )
    }
    return DriftResult(rows=len(frame), evaluated=evaluated, features=features, rule=rule)
