"""Evaluation plots (matplotlib, headless) logged as run artifacts."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers, CI or Airflow workers

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
)


def confusion_matrix_figure(y_true: Any, predicted: Any, title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ConfusionMatrixDisplay.from_predictions(
        y_true, predicted, display_labels=["normal", "failure"], ax=ax, colorbar=False
    )
    ax.set_title(title)
    fig.tight_layout()
    return fig


def roc_figure(y_true: Any, probability: Any, title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 4))
    RocCurveDisplay.from_predictions(y_true, probability, ax=ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def pr_figure(y_true: Any, probability: Any, threshold: float, title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 4))
    PrecisionRecallDisplay.from_predictions(y_true, probability, ax=ax)
    ax.set_title(f"{title} (threshold {threshold:.3f})")
    fig.tight_layout()
    return fig


def importance_figure(names: list[str], values: Any, errors: Any, title: str) -> Figure:
    order = np.argsort(values)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.barh(
        np.asarray(names)[order],
        np.asarray(values)[order],
        xerr=None if errors is None else np.asarray(errors)[order],
        color="#3b7dd8",
    )
    ax.set_title(title)
    fig.tight_layout()
    return fig


def close(fig: Figure) -> None:
    plt.close(fig)
