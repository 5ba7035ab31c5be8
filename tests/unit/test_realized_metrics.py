"""Realized metrics and their 95 % intervals."""

from __future__ import annotations

import pytest

from predmaint.monitoring.metrics import RealizedMetrics, f1_interval, wilson, z95


def test_z95_is_scipys_normal_quantile_to_the_bit() -> None:
    from scipy import stats

    assert z95() == float(stats.norm.ppf(0.975))


def test_wilson_matches_the_textbook_value() -> None:
    interval = wilson(8, 10)
    assert interval.low == pytest.approx(0.4902, abs=1e-4)
    assert interval.high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0).low is None
    # it never leaves [0, 1], even at the edges where the normal approximation would
    assert wilson(0, 5).low == 0.0 and wilson(5, 5).high == pytest.approx(1.0)


def test_confusion_counts_and_metrics_from_labels() -> None:
    actual = [1, 1, 1, 0, 0, 0, 0, 1]
    predicted = [1, 1, 0, 1, 0, 0, 0, 0]
    m = RealizedMetrics.from_labels(actual, predicted)
    assert (m.tp, m.fp, m.fn, m.tn) == (2, 1, 2, 3)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(0.5)
    assert m.f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))


def test_f1_interval_holds_the_estimate_and_narrows_with_more_outcomes() -> None:
    small = f1_interval(8, 2, 3, 87)
    large = f1_interval(80, 20, 30, 870)
    estimate = 2 * 8 / (2 * 8 + 2 + 3)
    assert small.low is not None and small.high is not None
    assert large.low is not None and large.high is not None
    assert small.low < estimate < small.high
    assert large.high - large.low < small.high - small.low
    assert f1_interval(8, 2, 3, 87) == small, "a fixed seed: the same report twice"


def test_undefined_metrics_are_none_not_zero() -> None:
    quiet = RealizedMetrics(tp=0, fp=0, fn=0, tn=40)  # no failure, no alert
    assert quiet.precision is None and quiet.recall is None and quiet.f1 is None
    row = quiet.to_dict()
    assert row["f1"] is None and row["f1_ci95"] == [None, None] and row["labelled"] == 40
    missed = RealizedMetrics(tp=0, fp=0, fn=3, tn=40)  # failures, none caught: F1 is 0
    assert missed.f1 == 0.0 and missed.precision is None and missed.recall == 0.0
