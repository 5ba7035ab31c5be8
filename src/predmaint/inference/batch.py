"""Daily batch scoring: the champion scores the day's readings; bad readings are quarantined.

Inputs are the files in ``inference/ds=YYYY-MM-DD/`` (CSV or Parquet, as plants drop them), or a
simulated day when none arrived. Each file is scored on its own (``score_file``), so Airflow can
map over files in parallel; ``run_batch`` does the whole day and swaps the day's partition in
atomically, so re-running a day replaces that day only.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd

from predmaint.clock import utc_now
from predmaint.data.acquire import read_ai4i
from predmaint.data.schemas import readings_schema
from predmaint.data.simulate import simulate_readings
from predmaint.data.validation import REASON_COLUMN, ROW_COLUMN, ValidationOutcome, validate_frame
from predmaint.errors import DataValidationError
from predmaint.inference.ids import with_batch_ids
from predmaint.inference.reports import BatchQuality, BatchReport, FileSummary
from predmaint.inference.risk import RISK_LEVELS, assess_many
from predmaint.inference.watch import Watch, add_shadow, load_watch, merge_counts
from predmaint.models.loading import LoadedModel, load_model
from predmaint.settings import Settings
from predmaint.storage import (
    partition_dir,
    replace_partition,
    write_json_atomic,
    write_parquet_atomic,
)

INPUT_SUFFIXES = (".csv", ".parquet")
REPORT_FILE = "report.json"
PART_PREFIX = "part-"
SIMULATED_FILE = "simulated.parquet"


def inference_partition(settings: Settings, ds: date) -> Path:
    return partition_dir(settings.inference_dir, ds)


def list_inputs(settings: Settings, ds: date) -> list[Path]:
    """The day's input files (hidden and temporary files are ignored)."""
    folder = inference_partition(settings, ds)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix in INPUT_SUFFIXES and not p.name.startswith(".")
    )


def simulate_day(
    settings: Settings,
    ds: date,
    rows: int | None = None,
    *,
    labels: bool = False,
    drift: float = 0.0,
    seed: int | None = None,
) -> Path:
    """Write a simulated day of readings to ``inference/ds=…/simulated.parquet``."""
    frame = simulate_readings(
        rows or settings.simulate_rows,
        ds,
        seed=seed,
        machine_types=settings.machine_types,
        labels=labels,
        drift=drift,
    )
    return write_parquet_atomic(frame, inference_partition(settings, ds) / SIMULATED_FILE)


def ensure_inputs(settings: Settings, ds: date, rows: int | None = None) -> list[Path]:
    """The day's input files, simulating a day first when none arrived."""
    return list_inputs(settings, ds) or [simulate_day(settings, ds, rows)]


def read_readings(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        frame.columns = [str(c) for c in frame.columns]
        return frame
    return read_ai4i(path)


def _validate(settings: Settings, frame: pd.DataFrame, stage: str) -> ValidationOutcome:
    outcome = validate_frame(frame, readings_schema(identity_required=False), stage=stage)
    if "type" in outcome.valid.columns:
        served = outcome.valid["type"].isna() | outcome.valid["type"].isin(settings.machine_types)
        if not served.all():
            other = outcome.valid[~served].copy()
            other.insert(0, ROW_COLUMN, other.index + 1)
            other[REASON_COLUMN] = [
                f"type: {t!r} is not served by this model (machine_types={settings.machine_types})"
                for t in other["type"]
            ]
            outcome.quarantined = pd.concat([outcome.quarantined, other]).sort_values(ROW_COLUMN)
            outcome.valid = outcome.valid[served].reset_index(drop=True)
    return outcome


def score_frame(settings: Settings, frame: pd.DataFrame, model: LoadedModel) -> pd.DataFrame:
    """Valid readings plus prediction, probabilities, risk level, recommendation, model version."""
    scored = frame.copy()
    assessed = assess_many(model.failure_probability(frame), model.threshold, settings.language)
    for column, values in assessed.items():
        scored[column] = values
    scored["model_name"] = model.info.name
    scored["model_version"] = model.info.version
    scored["scored_at"] = utc_now().isoformat()
    return scored


def score_file(
    settings: Settings,
    ds: date,
    path: Path,
    model: LoadedModel,
    out_dir: Path | None = None,
    watch: Watch | None = None,
) -> FileSummary:
    """Validate and score one input file; write its part file and its quarantine.

    Each row gets its prediction id before validation; ``watch`` adds the shadow challenger's
    columns and counts the file for drift. Returns a small summary (XCom-sized) that
    :func:`write_report` aggregates.
    """
    out_dir = out_dir or partition_dir(settings.predictions_dir, ds)
    readings = with_batch_ids(read_readings(path), ds, path.name)
    outcome = _validate(settings, readings, stage=f"inference-{path.stem}")
    quarantine = outcome.write_quarantine(partition_dir(settings.quarantine_dir, ds))
    part = out_dir / f"{PART_PREFIX}{path.stem}.parquet"
    if outcome.valid.empty:
        part.unlink(missing_ok=True)
        scored = pd.DataFrame()
    else:
        scored = score_frame(settings, outcome.valid, model)
        if watch is not None:
            scored = add_shadow(scored, watch.challenger)
        write_parquet_atomic(scored, part)
    alerts = scored[scored["prediction"] == 1] if not scored.empty else scored
    alert_columns = [
        c
        for c in ("prediction_id", "udi", "product_id", "failure_probability", "risk_level")
        if c in alerts
    ]
    return FileSummary(
        input=str(path),
        output=part.name if not scored.empty else None,
        rows_in=len(outcome.valid) + len(outcome.quarantined),
        rows_scored=len(scored),
        rows_quarantined=len(outcome.quarantined),
        quarantine_reasons=outcome.reason_counts,
        quarantine_path=str(quarantine) if quarantine else None,
        risk_levels=dict(Counter(scored["risk_level"])) if not scored.empty else {},
        alerts=[
            {str(k): v for k, v in row.items()}
            for row in alerts[alert_columns].head(100).to_dict("records")
        ],
        model_version=model.info.version,
        challenger_version=(
            watch.challenger.info.version if watch is not None and watch.challenger else None
        ),
        drift_counts=watch.count(outcome.valid) if watch is not None else None,
    )


def write_report(
    settings: Settings,
    ds: date,
    parts: list[FileSummary],
    model_version: str,
    out_dir: Path | None = None,
    watch: Watch | None = None,
) -> BatchReport:
    """Aggregate the parts of a day into ``report.json``; drop part files of vanished inputs.

    With ``watch``, the files' drift counts are added up and judged once: the day's ``drift``.
    """
    out_dir = out_dir or partition_dir(settings.predictions_dir, ds)
    expected = {p.output for p in parts if p.output}
    for stale in out_dir.glob(f"{PART_PREFIX}*.parquet"):
        if stale.name not in expected:
            stale.unlink()
    levels: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for part in parts:
        levels.update(part.risk_levels)
        reasons.update(part.quarantine_reasons)
    report = BatchReport(
        ds=ds.isoformat(),
        model_name=settings.model_name,
        model_version=model_version,
        inputs=len(parts),
        simulated=any(Path(p.input).name == SIMULATED_FILE for p in parts),
        rows_in=sum(p.rows_in for p in parts),
        rows_scored=sum(p.rows_scored for p in parts),
        rows_quarantined=sum(p.rows_quarantined for p in parts),
        risk_levels={level: levels.get(level, 0) for level in RISK_LEVELS},
        predicted_failures=levels.get("Alto", 0) + levels.get("Crítico", 0),
        alerts=[alert for p in parts for alert in p.alerts][:200],
        quality=BatchQuality(dict(reasons.most_common())),
        files=list(parts),
        written_at=utc_now().isoformat(),
        # Where the day's partition is published (``out_dir`` may be a staging folder).
        predictions_dir=str(partition_dir(settings.predictions_dir, ds)),
        challenger_version=next(
            (p.challenger_version for p in parts if p.challenger_version), None
        ),
        drift=watch.verdict(merge_counts([p.drift_counts for p in parts])) if watch else None,
    )
    write_json_atomic(out_dir / REPORT_FILE, report.to_dict())
    return report


def require_scored(settings: Settings, ds: date, report: BatchReport) -> None:
    """Fail a day in which no reading could be scored: an empty report would pass for a quiet day.

    The message names the rules the readings broke and the day's quarantine folder.
    """
    if report.rows_scored > 0:
        return
    raise DataValidationError(
        f"no valid reading to score for {ds} in {report.inputs} input file(s)",
        partition_dir(settings.quarantine_dir, ds),
        report.quality.quarantine_reasons,
    )


def run_batch(settings: Settings, ds: date, rows: int | None = None) -> BatchReport:
    """Score a whole day with the champion and swap the day's predictions in atomically."""
    inputs = ensure_inputs(settings, ds, rows)
    model = load_model(settings)
    watch = load_watch(settings, model.info)
    with replace_partition(settings.predictions_dir, ds) as staging:
        parts = [score_file(settings, ds, path, model, staging, watch) for path in inputs]
        report = write_report(settings, ds, parts, model.info.version, staging, watch)
    require_scored(settings, ds, report)
    return report
