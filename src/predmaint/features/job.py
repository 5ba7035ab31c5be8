"""The feature-engineering job: validate raw data, derive features, validate them, clean up.

Four steps, each a function a DAG task or CLI command calls; each reads and writes files in the
day's partitions only, so re-running a day rewrites the same files (idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from predmaint.data.acquire import AcquiredData, acquire, read_ai4i
from predmaint.data.retention import clean_up
from predmaint.data.schemas import LABEL_CONSISTENCY, labelled_schema
from predmaint.data.validation import validate_frame
from predmaint.errors import DataValidationError
from predmaint.features.formulas import DERIVED_FEATURES, add_features
from predmaint.features.reports import FeatureReport, QualityReport
from predmaint.features.schema import features_schema
from predmaint.settings import Settings
from predmaint.storage import (
    partition_dir,
    write_json_atomic,
    write_parquet_atomic,
)

VALIDATED_FILE = "validated.parquet"
FEATURES_FILE = "features.parquet"
QUALITY_REPORT = "quality_report.json"
FEATURE_REPORT = "feature_report.json"


@dataclass(frozen=True)
class FeatureJobResult:
    """What the feature job produced for one day."""

    ds: date
    features_path: Path
    quality_report: QualityReport
    feature_report: FeatureReport
    removed_partitions: list[Path]


def processed_partition(settings: Settings, ds: date) -> Path:
    return partition_dir(settings.processed_dir, ds)


def quarantine_partition(settings: Settings, ds: date) -> Path:
    return partition_dir(settings.quarantine_dir, ds)


def validate_raw_data(
    settings: Settings, ds: date, acquired: AcquiredData | None = None
) -> QualityReport:
    """Validate the raw AI4I file, keep the configured machine types, write the quality report.

    Bad rows go to ``quarantine/ds=…/raw.csv`` with their reasons; the good rows of the kept
    types go to ``processed/ds=…/validated.parquet``. Returns the quality report.
    """
    acquired = acquired or acquire(settings)
    outcome = validate_frame(
        read_ai4i(acquired.path),
        labelled_schema(),
        stage="raw",
        warning_schema=LABEL_CONSISTENCY,
    )
    quarantine_path = outcome.write_quarantine(quarantine_partition(settings, ds))
    kept = outcome.valid[outcome.valid["type"].isin(settings.machine_types)]
    report = QualityReport(
        **vars(outcome.report()),
        ds=ds.isoformat(),
        source=acquired.source,
        source_path=str(acquired.path),
        source_sha256=acquired.sha256,
        source_notes=acquired.notes,
        machine_types=settings.machine_types,
        rows_kept=len(kept),
        rows_other_types=len(outcome.valid) - len(kept),
        failure_rate=round(float(kept["machine_failure"].mean()), 6) if len(kept) else None,
        quarantine_path=str(quarantine_path) if quarantine_path else None,
    )
    if kept.empty:
        raise DataValidationError(
            f"no valid row of machine type(s) {settings.machine_types} in {acquired.path}",
            quarantine_path,
            outcome.reason_counts,
        )
    out = processed_partition(settings, ds)
    write_parquet_atomic(kept, out / VALIDATED_FILE)
    write_json_atomic(out / QUALITY_REPORT, report.to_dict())
    return report


def extract_features(settings: Settings, ds: date) -> Path:
    """Add the derived features to the day's validated rows; returns ``features.parquet``."""
    folder = processed_partition(settings, ds)
    source = folder / VALIDATED_FILE
    if not source.is_file():
        raise DataValidationError(f"{source} does not exist: run the raw-data validation first")
    return write_parquet_atomic(add_features(pd.read_parquet(source)), folder / FEATURES_FILE)


def validate_features(settings: Settings, ds: date) -> FeatureReport:
    """Check the derived features; quarantine bad rows and keep the good ones in place.

    Writes ``feature_report.json``: counts, reasons, and per-feature summary statistics.
    """
    path = processed_partition(settings, ds) / FEATURES_FILE
    if not path.is_file():
        raise DataValidationError(f"{path} does not exist: run feature extraction first")
    outcome = validate_frame(pd.read_parquet(path), features_schema(), stage="features")
    quarantine_path = outcome.write_quarantine(quarantine_partition(settings, ds))
    if outcome.valid.empty:
        raise DataValidationError(
            "every row failed feature validation", quarantine_path, outcome.reason_counts
        )
    if not outcome.quarantined.empty:
        write_parquet_atomic(outcome.valid, path)
    stats = outcome.valid[list(DERIVED_FEATURES)].describe().T
    report = FeatureReport(
        **vars(outcome.report()),
        ds=ds.isoformat(),
        features_path=str(path),
        quarantine_path=str(quarantine_path) if quarantine_path else None,
        statistics={
            str(name): {str(k): round(float(v), 6) for k, v in row.items()}
            for name, row in stats.iterrows()
        },
    )
    write_json_atomic(processed_partition(settings, ds) / FEATURE_REPORT, report.to_dict())
    return report


def clean_old_partitions(settings: Settings, ds: date) -> list[Path]:
    """Remove every family's partitions past retention (:mod:`predmaint.data.retention`)."""
    return clean_up(settings, ds).expired


def build_features(
    settings: Settings, ds: date, acquired: AcquiredData | None = None
) -> FeatureJobResult:
    """The whole feature job for one day (what the daily DAG does, in one call)."""
    quality = validate_raw_data(settings, ds, acquired)
    path = extract_features(settings, ds)
    feature_report = validate_features(settings, ds)
    removed = clean_old_partitions(settings, ds)
    return FeatureJobResult(ds, path, quality, feature_report, removed)


def latest_features(settings: Settings, ds: date | None = None) -> Path:
    """The validated features file of ``ds``, or of the newest day that has one."""
    if ds is not None:
        candidates = [processed_partition(settings, ds)]
    else:
        candidates = sorted(settings.processed_dir.glob("ds=*"), reverse=True)
    for folder in candidates:
        if (folder / FEATURE_REPORT).is_file() and (folder / FEATURES_FILE).is_file():
            return folder / FEATURES_FILE
    where = candidates[0] if ds is not None else settings.processed_dir
    raise DataValidationError(
        f"no validated features in {where}: run `predmaint features` (or the "
        "feature_engineering_pipeline DAG) first"
    )
