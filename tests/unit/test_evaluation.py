"""Threshold tuning and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from predmaint.models.evaluation import classification_metrics, tune_threshold


def test_threshold_separating_the_classes_gives_f1_one() -> None:
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    threshold, f1 = tune_threshold(y, p)
    assert f1 == pytest.approx(1.0)
    # midpoint of the plateau between the last negative and the first positive score
    assert 0.3 < threshold <= 0.7
    assert classification_metrics(y, p, threshold)["f1"] == pytest.approx(1.0)


def test_threshold_is_not_the_default_half_when_scores_are_low() -> None:
    y = np.array([0] * 90 + [1] * 10)
    p = np.concatenate([np.linspace(0.0, 0.1, 90), np.linspace(0.2, 0.3, 10)])
    threshold, f1 = tune_threshold(y, p)
    assert threshold < 0.5 and f1 == pytest.approx(1.0)


def test_metrics_count_errors() -> None:
    y = [1, 1, 0, 0]
    p = [0.9, 0.1, 0.8, 0.2]
    m = classification_metrics(y, p, 0.5)
    assert (m["precision"], m["recall"], m["f1"], m["accuracy"]) == (0.5, 0.5, 0.5, 0.5)
    assert set(m) == {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"}
