"""What the batch job reports: one summary per scored file and the day's report.

A file's summary is small enough for XCom (``to_dict`` / ``from_dict``: Airflow maps one task per
file and aggregates their summaries); the day's report is ``predictions/ds=…/report.json``
(``to_dict``) and its counts are what the report task hands on (``summary``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from predmaint.features.drift import DriftCounts, DriftResult

#: ``success``: every input file was read; ``partial``: some were quarantined whole, the others
#: scored (the CLI exits with :data:`PARTIAL_EXIT_CODE`, the DAG marks the day).
BatchStatus = Literal["success", "partial"]


@dataclass(frozen=True)
class FileSummary:
    """One input file validated and scored: counts, quarantine, risk levels and alerts."""

    input: str
    output: str | None  # the part file's name; None when no reading of the file was valid
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int]
    quarantine_path: str | None
    risk_levels: dict[str, int]
    alerts: list[dict[str, Any]]  # the first rows predicted to fail (id, probability, level)
    model_version: str
    drift_counts: DriftCounts | None = None  # the file counted against the drift reference
    #: Why the file could not be read at all (it is then quarantined whole); None when it was.
    unreadable: str | None = None
    #: Valid readings whose five sensor values repeat an earlier reading of the file (kept).
    repeated_readings: int = 0
    repeated_examples: list[Any] = field(default_factory=list)  # their first row ids
    #: Predicted failures per failure mode (``OSF``…), as the mode model named them.
    failure_modes: dict[str, int] = field(default_factory=dict)
    #: Readings per documented rule (HDF, PWF, OSF, TWF) whose utilisation reached 1.
    rules_broken: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        counts = self.drift_counts.to_dict() if self.drift_counts is not None else None
        return {**asdict(replace(self, drift_counts=None)), "drift_counts": counts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileSummary:
        counts = data.get("drift_counts")
        return cls(**{**data, "drift_counts": DriftCounts.from_dict(counts) if counts else None})


@dataclass(frozen=True)
class BatchQuality:
    """The day's data quality: rules broken by quarantined rows, unreadable files, repeats."""

    quarantine_reasons: dict[str, int]
    unreadable_files: dict[str, str] = field(default_factory=dict)  # file name -> reason
    repeated_readings: int = 0


@dataclass(frozen=True)
class BatchReport:
    """A day's scoring: what came in, what was scored with which version, what to act on."""

    ds: str
    status: BatchStatus
    model_name: str
    model_version: str
    inputs: int
    #: True when no plant file arrived and the day was simulated: say so, never pass it off.
    simulated: bool
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    risk_levels: dict[str, int]
    predicted_failures: int
    alerts: list[dict[str, Any]]
    quality: BatchQuality
    files: list[FileSummary]
    written_at: str
    predictions_dir: str
    #: The day's drift against the champion's training reference (None: the champion has none).
    drift: DriftResult | None = None
    #: Machines (and readings without a machine id) to act on: rows of ``work_orders.csv``.
    work_orders: int = 0
    #: Predicted failures per failure mode; readings breaking each documented rule.
    failure_modes: dict[str, int] = field(default_factory=dict)
    rules_broken: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        files = [f.to_dict() for f in self.files]
        plain = asdict(replace(self, files=[], drift=None))
        drift = self.drift.to_dict() if self.drift is not None else None
        return {**plain, "files": files, "drift": drift}

    def summary(self) -> dict[str, Any]:
        """The counts a DAG task hands on (alerts and per-file details stay in the file)."""
        return {
            "ds": self.ds,
            "predictions_dir": self.predictions_dir,
            "status": self.status,
            "model_version": self.model_version,
            "inputs": self.inputs,
            "unreadable_files": sorted(self.quality.unreadable_files),
            "rows_in": self.rows_in,
            "rows_scored": self.rows_scored,
            "rows_quarantined": self.rows_quarantined,
            "risk_levels": self.risk_levels,
            "predicted_failures": self.predicted_failures,
            "work_orders": self.work_orders,
            "failure_modes": self.failure_modes,
            "rules_broken": self.rules_broken,
            "drift_detected": self.drift.drift_detected if self.drift is not None else None,
        }
