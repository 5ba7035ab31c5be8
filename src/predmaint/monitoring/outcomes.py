"""Outcomes: what happened after a prediction, validated like readings and kept as recorded.

An outcome names a ``prediction_id`` and says ``failure`` or ``no_failure``, optionally with the
failure mode (TWF, HDF, PWF, OSF, RNF), when it was observed and a note. Rows with a bad value,
or naming a prediction nobody made, are quarantined with a reason naming the field and the rule
(:mod:`predmaint.data.validation`, the mechanism readings use); the good rows are recorded.

**The same id recorded twice keeps the latest**: the record with the latest ``observed_at``
wins, ties going to the one recorded last (arrival order: recording time, then row in its file).
An outcome without ``observed_at`` counts as observed when it was recorded, so a correction sent
later without a time replaces what was sent before. Every record is kept on disk (the audit
trail); the rule is applied when outcomes are read (:func:`latest_outcomes`).

Layout: ``outcomes/ds=<day recorded>/recorded-<UTC time>-<host>-<pid>-<n>-<source>.parquet``,
written atomically. The host, process and a per-process count make each name the writer's own, so
API replicas (or workers) that share the data volume never replace each other's records.
Files a plant drops in ``outcomes/ds=…/`` are ingested by :func:`ingest_dropped`, which records
them and moves the original into that folder's ``.ingested/``.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa

from predmaint.data.validation import (
    REASON_COLUMN,
    ROW_COLUMN,
    ValidationOutcome,
    validate_frame,
)
from predmaint.errors import DataValidationError
from predmaint.inference.ids import PREDICTION_ID
from predmaint.settings import Settings
from predmaint.storage import partition_date, partition_dir, write_parquet_atomic

Outcome = Literal["failure", "no_failure"]
OUTCOMES: tuple[Outcome, ...] = ("failure", "no_failure")
FAILURE_MODE_CODES: tuple[str, ...] = ("TWF", "HDF", "PWF", "OSF", "RNF")
COLUMNS: tuple[str, ...] = (PREDICTION_ID, "outcome", "failure_mode", "observed_at", "note")
RECORDED_PREFIX = "recorded-"
INGESTED_DIR = ".ingested"
INPUT_SUFFIXES = (".csv", ".parquet")
NOTE_MAX = 2000
#: Outcomes one ``POST /feedback`` may carry (its body limit is sized from it).
FEEDBACK_MAX = 10_000
UNKNOWN_ID = "prediction_id: unknown (no prediction was made with this id)"
#: Numbers this process's records: two recorded in the same microsecond still differ.
_RECORDS = itertools.count()


def _parses_as_time(series: pd.Series) -> pd.Series:
    present = series.notna()
    parsed = pd.to_datetime(series.where(present), errors="coerce", utc=True, format="ISO8601")
    return ~present | parsed.notna()


def outcome_schema() -> pa.DataFrameSchema:
    """One outcome per row; each check's text names the field and the rule."""
    return pa.DataFrameSchema(
        {
            PREDICTION_ID: pa.Column(
                str,
                checks=pa.Check.str_length(1, 64, error="prediction_id must be 1 to 64 characters"),
                nullable=False,
                coerce=True,
            ),
            "outcome": pa.Column(
                str,
                checks=pa.Check.isin(
                    OUTCOMES, error=f"outcome must be one of {', '.join(OUTCOMES)}"
                ),
                nullable=False,
                coerce=True,
            ),
            "failure_mode": pa.Column(
                str,
                checks=pa.Check.isin(
                    FAILURE_MODE_CODES,
                    error=f"failure_mode must be one of {', '.join(FAILURE_MODE_CODES)}",
                ),
                nullable=True,
                required=False,
                coerce=True,
            ),
            "observed_at": pa.Column(
                object,
                checks=pa.Check(
                    _parses_as_time,
                    error="observed_at must be an ISO 8601 date-time (UTC when no offset)",
                ),
                nullable=True,
                required=False,
            ),
            "note": pa.Column(
                str,
                checks=pa.Check.str_length(
                    0, NOTE_MAX, error=f"note must be at most {NOTE_MAX} characters"
                ),
                nullable=True,
                required=False,
                coerce=True,
            ),
        },
        name="outcomes",
        strict=False,
    )


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Trim text, lower-case outcomes, upper-case modes; blanks become missing."""
    out = frame.copy()
    for column in COLUMNS:
        if column in out.columns:
            text = out[column].astype("string").str.strip()
            out[column] = text.mask(text == "")
    if "outcome" in out.columns:
        out["outcome"] = out["outcome"].str.lower()
    if "failure_mode" in out.columns:
        out["failure_mode"] = out["failure_mode"].str.upper()
    return out.astype(object).where(out.notna(), None)


def _quarantine_valid_rows(
    result: ValidationOutcome, source: pd.DataFrame, bad: pd.Series, reason: str
) -> None:
    """Move the valid rows flagged by ``bad`` into the quarantine with ``reason``."""
    if not bad.any():
        return
    # valid rows kept their order: their source rows are those not already quarantined
    kept = sorted(set(range(len(source))) - set(result.quarantined.index))
    rows = [kept[i] for i in bad.to_numpy().nonzero()[0]]
    moved = source.loc[rows].copy()
    moved.insert(0, ROW_COLUMN, [r + 1 for r in rows])
    moved[REASON_COLUMN] = reason
    result.quarantined = pd.concat([result.quarantined, moved]).sort_values(ROW_COLUMN)
    result.valid = result.valid[~bad.to_numpy()].reset_index(drop=True)


def validate_outcomes(
    frame: pd.DataFrame, known_ids: Collection[str] | None, *, stage: str = "outcomes"
) -> ValidationOutcome:
    """Split outcome rows into valid ones and quarantined ones with reasons.

    ``known_ids`` are the prediction ids an outcome may name (None: do not check). Columns
    other than the five are ignored. Raises :class:`DataValidationError` when a required column
    is missing.
    """
    source = _normalise(frame[[c for c in frame.columns if c in COLUMNS]].reset_index(drop=True))
    result = validate_frame(source, outcome_schema(), stage=stage, row_ids=None)
    if "failure_mode" in result.valid.columns:
        _quarantine_valid_rows(
            result,
            source,
            result.valid["failure_mode"].notna() & (result.valid["outcome"] != "failure"),
            "failure_mode: only allowed when outcome is failure",
        )
    if known_ids is not None and not result.valid.empty:
        _quarantine_valid_rows(
            result, source, ~result.valid[PREDICTION_ID].isin(known_ids), UNKNOWN_ID
        )
    return result


def read_outcome_file(path: Path) -> pd.DataFrame:
    """An outcome file as text columns (CSV) or as stored (Parquet)."""
    if path.suffix not in INPUT_SUFFIXES:
        raise DataValidationError(f"{path}: outcome files must be CSV or Parquet")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


@dataclass(frozen=True)
class OutcomeIngest:
    """What recording one batch of outcomes did."""

    source: str
    rows_in: int
    rows_recorded: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int]
    recorded_path: Path | None
    quarantine_path: Path | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_recorded": self.rows_recorded,
            "rows_quarantined": self.rows_quarantined,
            "quarantine_reasons": self.quarantine_reasons,
            "recorded_path": str(self.recorded_path) if self.recorded_path else None,
            "quarantine_path": str(self.quarantine_path) if self.quarantine_path else None,
        }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60] or "outcomes"


def record_outcomes(
    settings: Settings,
    frame: pd.DataFrame,
    *,
    known_ids: Collection[str] | None,
    source: str,
    recorded_at: datetime | None = None,
    ds: date | None = None,
    host: str | None = None,
) -> OutcomeIngest:
    """Validate outcomes and record the good ones under ``outcomes/ds=<ds>/`` (default: the UTC
    day of recording; a dropped file stays in the day it was dropped for).

    Bad rows go to ``quarantine/ds=…/outcomes-<source>-<time>-<host>-<pid>-<n>.csv``. Nothing is
    recorded when no row is valid; that is not an error (the ingest result says so). ``host``
    (default: this machine's name, a container's id in Docker) goes in both file names.
    """
    now = (recorded_at or datetime.now(UTC)).astimezone(UTC)
    day = ds or now.date()
    writer = f"{_slug(host or socket.gethostname())}-{os.getpid()}-{next(_RECORDS)}"
    stamp = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{writer}"
    name = _slug(source)
    result = validate_outcomes(frame, known_ids, stage=f"outcomes-{name}-{stamp}")
    quarantine = result.write_quarantine(partition_dir(settings.quarantine_dir, day))
    path = None
    if not result.valid.empty:
        valid = result.valid
        observed = pd.to_datetime(
            valid.get("observed_at", pd.Series(None, index=valid.index, dtype=object)),
            utc=True,
            format="ISO8601",
        ).astype("datetime64[us, UTC]")
        records = pd.DataFrame(
            {
                PREDICTION_ID: valid[PREDICTION_ID].astype(str),
                "outcome": valid["outcome"].astype(str),
                "failure_mode": valid.get("failure_mode", pd.Series(None, index=valid.index)),
                "observed_at": observed.fillna(pd.Timestamp(now)),
                "note": valid.get("note", pd.Series(None, index=valid.index)),
                "recorded_at": pd.Series(pd.Timestamp(now), index=valid.index).astype(
                    "datetime64[us, UTC]"
                ),
                "arrival": range(len(valid)),
                "source": source,
            }
        )
        records["failure_mode"] = records["failure_mode"].astype("string")
        records["note"] = records["note"].astype("string")
        folder = partition_dir(settings.outcomes_dir, day)
        path = write_parquet_atomic(records, folder / f"{RECORDED_PREFIX}{stamp}-{name}.parquet")
    return OutcomeIngest(
        source=source,
        rows_in=len(result.valid) + len(result.quarantined),
        rows_recorded=len(result.valid),
        rows_quarantined=len(result.quarantined),
        quarantine_reasons=result.reason_counts,
        recorded_path=path,
        quarantine_path=quarantine,
    )


def dropped_files(settings: Settings, ds: date) -> list[Path]:
    """Outcome files dropped in ``outcomes/ds=…/`` and not yet ingested."""
    folder = partition_dir(settings.outcomes_dir, ds)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix in INPUT_SUFFIXES
        and not p.name.startswith((".", RECORDED_PREFIX))
    )


def ingest_dropped(
    settings: Settings, ds: date, known_ids: Collection[str] | None
) -> list[OutcomeIngest]:
    """Record each dropped file of day ``ds``, then move it into ``.ingested/`` (done once).

    A file that cannot be used at all (missing column, unreadable) is moved to the quarantine
    folder with a ``.reason.txt`` beside it, and the others go on.
    """
    results = []
    for path in dropped_files(settings, ds):
        try:
            frame = read_outcome_file(path)
            results.append(
                record_outcomes(settings, frame, known_ids=known_ids, source=path.name, ds=ds)
            )
            target = path.parent / INGESTED_DIR / path.name
        except (DataValidationError, ValueError, OSError) as error:
            target = partition_dir(settings.quarantine_dir, ds) / f"outcomes-{path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.with_name(target.name + ".reason.txt").write_text(f"{error}\n")
            results.append(OutcomeIngest(path.name, 0, 0, 0, {str(error): 1}, None, target))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    return results


def latest_outcomes(records: pd.DataFrame) -> pd.DataFrame:
    """One row per prediction id: the latest by ``observed_at``, then by arrival order."""
    if records.empty:
        return records
    ordered = records.sort_values(["observed_at", "recorded_at", "arrival"], kind="stable")
    return ordered.drop_duplicates(PREDICTION_ID, keep="last").reset_index(drop=True)


def load_outcomes(settings: Settings, end: date, start: date | None = None) -> pd.DataFrame:
    """Outcomes recorded on days ``start``..``end`` (or up to ``end``), the latest per id."""
    root = settings.outcomes_dir
    frames: list[pd.DataFrame] = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            day = partition_date(folder)
            if day is None or day > end or (start is not None and day < start):
                continue
            frames.extend(
                pd.read_parquet(p) for p in sorted(folder.glob(f"{RECORDED_PREFIX}*.parquet"))
            )
    if not frames:
        return pd.DataFrame(
            {
                PREDICTION_ID: pd.Series(dtype=str),
                "outcome": pd.Series(dtype=str),
                "failure_mode": pd.Series(dtype="string"),
                "observed_at": pd.Series(dtype="datetime64[us, UTC]"),
                "note": pd.Series(dtype="string"),
                "recorded_at": pd.Series(dtype="datetime64[us, UTC]"),
                "arrival": pd.Series(dtype="int64"),
                "source": pd.Series(dtype=str),
            }
        )
    return latest_outcomes(pd.concat(frames, ignore_index=True))
