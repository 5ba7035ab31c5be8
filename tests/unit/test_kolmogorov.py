"""The KS tail written out for speed against scipy's own ``kstwo.sf`` (the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from predmaint.features.kolmogorov import EXACT_UP_TO, kstwo_sf


def _durbin_region(n: int, d: float) -> bool:
    """Where scipy takes Durbin's matrix rather than the Pelz–Good expansion."""
    return n <= 100_000 and n * d**1.5 <= 1.4 and n * d * d < 2.2


@pytest.mark.parametrize("n", [EXACT_UP_TO + 1, 500, 4_800, 20_000])
def test_the_tail_is_scipys_above_the_exact_sizes(n: int) -> None:
    statistics = np.concatenate(
        [np.geomspace(1e-5, 0.999, 600), [0.5, 0.5 - 1e-9, 1 / n, 0.9 / n, 1.1 / n, 1 - 1 / n]]
    )
    for d in statistics:
        ours, scipys = kstwo_sf(d, n), float(stats.kstwo.sf(d, n))
        # the same formulas (2·smirnov, Pelz–Good) to the last bits; where scipy takes
        # Durbin's matrix instead, the tail is near 1 and the two agree to a few 1e-6 at n=141
        tolerance = 5e-6 if _durbin_region(n, d) else 1e-14
        assert abs(ours - scipys) <= tolerance, (n, d, ours, scipys)


@pytest.mark.parametrize("n", [1, 20, EXACT_UP_TO])
def test_small_sizes_are_scipys_exact_recursions(n: int) -> None:
    for d in (0.01, 0.1, 0.3, 0.6, 0.95):
        assert kstwo_sf(d, n) == pytest.approx(float(stats.kstwo.sf(d, n)), abs=1e-15)


def test_the_bounds() -> None:
    assert kstwo_sf(0.0, 5_000) == 1.0
    assert kstwo_sf(1.0, 5_000) == 0.0
    assert kstwo_sf(0.3, 5_000) == 0.0  # far out in the tail (n·d² >= 370)
    assert np.isnan(kstwo_sf(float("nan"), 5_000)) and np.isnan(stats.kstwo.sf(np.nan, 5_000))
