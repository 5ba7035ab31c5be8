"""Metrics and the decision threshold: tuned on validation data, reported on the test split."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    classification_report,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)


def tune_threshold(y_true: Any, probability: Any) -> tuple[float, float]:
    """The probability threshold that maximises F1 on (validation) data, and that F1.

    Among equally good thresholds, the midpoint of the best interval is taken, so the decision
    does not sit on the score of one validation example.
    """
    precision, recall, thresholds = precision_recall_curve(y_true, probability)
    precision, recall = precision[:-1], recall[:-1]
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    best = float(f1.max())
    if best == 0.0:
        return 0.5, 0.0
    plateau = np.flatnonzero(np.isclose(f1, best))
    # Any threshold in (score below the plateau, last plateau score] makes the same best decisions.
    low = float(thresholds[plateau[0] - 1]) if plateau[0] > 0 else 0.0
    high = float(thresholds[plateau[-1]])
    return (low + high) / 2, best


def classification_metrics(y_true: Any, probability: Any, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall, F1 at ``threshold``; ROC-AUC and PR-AUC of the scores."""
    y_true = np.asarray(y_true).astype(int)
    predicted = (np.asarray(probability) >= threshold).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, probability)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(y_true, probability))
        if both_classes
        else float("nan"),
    }


def report_text(y_true: Any, probability: Any, threshold: float) -> str:
    predicted = (np.asarray(probability) >= threshold).astype(int)
    return str(
        classification_report(
            np.asarray(y_true).astype(int),
            predicted,
            target_names=["normal", "failure"],
            digits=4,
            zero_division=0,
        )
    )
