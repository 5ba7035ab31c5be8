"""What the feature job reports: the raw data's quality and the derived features' check.

Each is written as JSON in the day's ``processed/`` partition (``to_dict``) and summarised for
XCom (``summary``); both forms are built from the typed fields, so a renamed field is a type
error in every reader, not a silent ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from predmaint.data.validation import ValidationReport


@dataclass(frozen=True, kw_only=True)
class QualityReport(ValidationReport):
    """The raw AI4I file's validation, with its source and the rows of the kept machine types."""

    ds: str
    source: str
    source_path: str
    source_sha256: str
    source_notes: list[str]
    machine_types: list[str]
    rows_kept: int
    rows_other_types: int
    failure_rate: float | None
    quarantine_path: str | None

    def summary(self) -> dict[str, Any]:
        """The counts a DAG task hands on (reasons and label warnings stay in the file)."""
        return {
            "ds": self.ds,
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_kept": self.rows_kept,
            "rows_quarantined": self.rows_quarantined,
            "quarantine_reasons": self.quarantine_reasons,
            "failure_rate": self.failure_rate,
            "quarantine_path": self.quarantine_path,
        }


@dataclass(frozen=True, kw_only=True)
class FeatureReport(ValidationReport):
    """The derived features' validation, with summary statistics of each feature."""

    ds: str
    features_path: str
    quarantine_path: str | None
    statistics: dict[str, dict[str, float]]

    def summary(self) -> dict[str, Any]:
        """The counts and the features file a DAG task hands on."""
        return {
            "ds": self.ds,
            "features_path": self.features_path,
            "rows_valid": self.rows_valid,
            "rows_quarantined": self.rows_quarantined,
            "quarantine_path": self.quarantine_path,
        }
