"""A trained candidate as training logs it and the registry registers it.

Kept apart from :mod:`predmaint.models.training` so the registry can read candidates (and find
their test split) without depending on the training code and its scikit-learn search.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from predmaint.settings import ModelKind

#: Where each training run logs its untouched test split; promotion re-scores the champion on it.
TEST_SPLIT_ARTIFACT = "evaluation/test_split.parquet"


@dataclass(frozen=True)
class CandidateRun:
    """One trained model as logged in MLflow (plain data: fits in an XCom)."""

    kind: ModelKind
    run_id: str
    model_uri: str
    threshold: float
    metrics: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rank(candidates: list[CandidateRun]) -> list[CandidateRun]:
    """Best first by test F1: the order promotion ranks candidates in."""
    return sorted(candidates, key=lambda c: c.metrics["f1"], reverse=True)


def compare_candidates(candidates: list[CandidateRun]) -> list[dict[str, Any]]:
    """The candidates best first by test F1, the order ``promote`` ranks them in.

    One row per candidate with the metrics a reviewer compares; plain data for XCom and logs.
    """
    shown = ("f1", "precision", "recall", "pr_auc", "roc_auc", "accuracy", "threshold")
    return [
        {
            "rank": position,
            "kind": c.kind,
            "run_id": c.run_id,
            **{name: c.metrics[name] for name in shown if name in c.metrics},
        }
        for position, c in enumerate(rank(candidates), start=1)
    ]
