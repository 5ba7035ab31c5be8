"""The two-sided Kolmogorov–Smirnov distribution's tail, ``scipy.stats.kstwo.sf``, without
importing ``scipy.stats``.

Why: the drift verdict needs one p-value per feature, and importing ``scipy.stats`` for them
cost a batch job 0.4-0.5 s of its end (it pulls in scipy's linear algebra, optimisers and
spatial code), serial after every reading was scored. :func:`kstwo_sf` takes scipy's own
route (Simard & L'Ecuyer 2011, as ``scipy.stats._ksstats._kolmogn`` dispatches) for sizes
above 140:

- the upper tail (``n·d² >= 2.2``, or ``d >= 0.5``): ``2·smirnov(n, d)``, scipy's exact
  one-sided distribution from ``scipy.special`` (a compiled ufunc, cheap to import);
- below it, one minus the Pelz–Good expansion of the CDF, written out here from scipy's code
  (BSD-3-Clause, SciPy Developers) with the same constants and number of terms. Where scipy
  takes Durbin's matrix instead (``n·d^1.5 <= 1.4``: small statistics, p-values near 1) the
  two differ by at most 3.1e-6 at n = 141 and 1.2e-10 at n = 4,800; elsewhere by 1e-14
  (tests/unit/test_kolmogorov.py sweeps both regions against ``scipy.stats.kstwo.sf``).

Sizes up to 140 (a small or strongly autocorrelated batch) need scipy's exact recursions
(Durbin, Pomeranz), which are not rewritten: those ask ``scipy.stats`` itself.
"""

from __future__ import annotations

import math

import numpy as np

#: Above this size scipy takes the asymptotic routes written out here.
EXACT_UP_TO = 140
_SQRT2PI = math.sqrt(2 * math.pi)
_MIN_LOG = -708
_SQRT3 = math.sqrt(3)
_PI2, _PI4, _PI6 = math.pi**2, math.pi**4, math.pi**6


def kstwo_sf(statistic: float, n: int) -> float:
    """P(D_n >= statistic) for the two-sided one-sample KS statistic of ``n`` readings."""
    if n <= EXACT_UP_TO:
        from scipy import stats  # the exact small-sample recursions: scipy's own

        return float(np.clip(stats.kstwo.sf(statistic, n), 0.0, 1.0))
    x = float(statistic)
    if math.isnan(x):
        return math.nan  # as scipy answers
    if x >= 1.0:
        return 0.0
    t = n * x
    if t <= 1.0:  # P(D_n <= 1/n) <= n!/n^n, below 1e-58 here: the tail is 1 in floats
        return 1.0
    if t >= n - 1:  # Ruben–Gambino, exact
        return _clip(2 * (1.0 - x) ** n)
    squared = t * x
    if x < 0.5 and squared >= 370.0:
        return 0.0
    if x >= 0.5 or squared >= 2.2:
        from scipy.special import smirnov  # a compiled ufunc: cheap to import

        return _clip(2 * float(smirnov(n, x)))
    return _clip(1.0 - _pelz_good_cdf(n, x))


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)


def _pelz_good_cdf(n: int, x: float) -> float:
    """Pelz & Good's (1976) approximation of P(D_n <= x): Li-Chien's and Korolyuk's expansion
    ``K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^1.5`` at ``z = x·√n``, its terms as Jacobi theta
    sums that converge for small ``z`` (scipy's ``_kolmogn_PelzGood``, term for term)."""
    z = math.sqrt(n) * x
    z2, z3, z4, z6 = z**2, z**3, z**4, z**6
    qlog = -_PI2 / 8 / z2
    if qlog < _MIN_LOG:
        return 0.0
    q = math.exp(qlog)
    k1a, k1b = -z2, _PI2 / 4
    k2a = 6 * z6 + 2 * z4
    k2b = (2 * z4 - 5 * z2) * _PI2 / 4
    k2c = _PI4 * (1 - 2 * z2) / 16
    k3d = _PI6 * (5 - 30 * z2) / 64
    k3c = _PI4 * (-60 * z2 + 212 * z4) / 16
    k3b = _PI2 * (135 * z4 - 96 * z6) / 4
    k3a = -30 * z6 - 90 * z**8
    terms = np.zeros(4)
    # sum over odd m = 2k - 1 of c(m)·q^(m²), by Horner in q^(8k)
    top = math.ceil(16 * z / math.pi)
    for k in range(top, 0, -1):
        m = 2 * k - 1
        m2, m4, m6 = m**2, m**4, m**6
        terms *= q ** (8 * k)
        terms += np.array(
            [
                1.0,
                k1a + k1b * m2,
                k2a + k2b * m2 + k2c * m4,
                k3a + k3b * m2 + k3c * m4 + k3d * m6,
            ]
        )
    terms *= q * _SQRT2PI
    terms /= np.array([z, 6 * z4, 72 * z**7, 6480 * z**10])
    # the sums over all integers k of K2's and K3's other terms
    q = math.exp(-_PI2 / 2 / z2)
    ks = np.arange(top, 0, -1)
    k2 = ks**2
    powers = q**k2
    kpi = np.pi * ks
    terms[2] += np.sum(k2 * powers) * _PI2 * _SQRT2PI / (-36 * z3)
    terms[3] += np.sum((_SQRT3 * z + kpi) * (_SQRT3 * z - kpi) * k2 * powers) * (
        _PI2 * _SQRT2PI / (216 * z6)
    )
    terms /= np.power(float(n), np.arange(4) / 2.0)
    return float(sum(terms))
