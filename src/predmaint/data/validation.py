"""Row-level validation: good rows go on, bad rows are quarantined with their reasons.

A pandera schema is run in two passes. The first only parses types (a ``"abc"`` torque becomes a
per-row reason instead of spoiling every later check); the second runs every range, null,
uniqueness and membership check on the parsed rows. Each failure case points at a row, so each
quarantined row carries the list of rules it broke.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from predmaint.data.plant import with_plant_columns
from predmaint.data.readings_check import (
    DUPLICATE_VALUE,
    MISSING_VALUE,
    REASON_COLUMN,
    ROW_COLUMN,
)
from predmaint.errors import DataValidationError
from predmaint.storage import write_csv_atomic

__all__ = ["REASON_COLUMN", "ROW_COLUMN", "ValidationOutcome", "validate_frame"]

_BUILTIN_RULES = {
    "not_nullable": MISSING_VALUE,
    "field_uniqueness": DUPLICATE_VALUE,
}


@dataclass(frozen=True)
class RuleWarning:
    """A rule that flagged rows without quarantining them: how many, and the first row ids."""

    count: int
    rows: list[Any]


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    """JSON-ready summary of one validation: good and bad rows, reasons, and warnings.

    Jobs extend it with their own fields (the feature job's quality and feature reports), so every
    report on disk starts with the same counts under the same names.
    """

    stage: str
    rows_in: int
    rows_valid: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int]
    warnings: dict[str, RuleWarning]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ValidationOutcome:
    """The result of validating one input against one schema."""

    stage: str
    valid: pd.DataFrame
    quarantined: pd.DataFrame
    warnings: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def reason_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for reasons in self.quarantined.get(REASON_COLUMN, pd.Series(dtype=str)):
            counts.update(str(reasons).split("; "))
        return dict(counts.most_common())

    def report(self) -> ValidationReport:
        """Counts of good and bad rows, reasons, and warnings (the first 50 row ids of each)."""
        return ValidationReport(
            stage=self.stage,
            rows_in=len(self.valid) + len(self.quarantined),
            rows_valid=len(self.valid),
            rows_quarantined=len(self.quarantined),
            quarantine_reasons=self.reason_counts,
            warnings={rule: RuleWarning(len(ids), ids[:50]) for rule, ids in self.warnings.items()},
        )

    def write_quarantine(self, folder: Path) -> Path | None:
        """Write the quarantined rows (original values + reasons) to ``folder/<stage>.csv``."""
        if self.quarantined.empty:
            return None
        return write_csv_atomic(self.quarantined, folder / f"{self.stage}.csv")


def _describe(case: pd.Series) -> str:
    column = case["column"]
    check = str(case["check"])
    if check.startswith("coerce_dtype") or check.startswith("dtype"):
        dtype = check.split("(", 1)[-1].rstrip(")").strip("'")
        return f"{column}: not a valid {dtype} (got {case['failure_case']!r})"
    rule = _BUILTIN_RULES.get(check, check)
    return rule if rule.startswith(str(column)) or pd.isna(column) else f"{column}: {rule}"


def _row_reasons(errors: SchemaErrors, stage: str) -> dict[Any, list[str]]:
    """Map each failing row index to its reasons; raise for failures that are not row-level."""
    cases = errors.failure_cases
    whole = cases[cases["index"].isna()]
    if not whole.empty:
        problems = sorted({_describe(case) for _, case in whole.iterrows()})
        raise DataValidationError(f"{stage} input is unusable: " + "; ".join(problems))
    reasons: dict[Any, list[str]] = {}
    for _, case in cases.iterrows():
        text = _describe(case)
        bucket = reasons.setdefault(case["index"], [])
        if text not in bucket:
            bucket.append(text)
    return reasons


def _type_only(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """The schema's columns with dtypes and coercion only (first pass)."""
    columns = {
        name: pa.Column(col.dtype, nullable=True, coerce=True, required=col.required)
        for name, col in schema.columns.items()
    }
    return pa.DataFrameSchema(columns, coerce=True, strict=False)


def _parse(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, stage: str
) -> tuple[pd.DataFrame, dict[Any, list[str]]]:
    """First pass: coerce types; rows whose values cannot be parsed get their reasons.

    A clean input is coerced once; only when some rows fail are the others coerced again.
    """
    types = _type_only(schema)
    try:
        return types.validate(frame, lazy=True), {}
    except SchemaErrors as errors:
        reasons = _row_reasons(errors, stage)
    return types.validate(frame.drop(index=list(reasons))), reasons


def _run(schema: pa.DataFrameSchema, frame: pd.DataFrame, stage: str) -> dict[Any, list[str]]:
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        return _row_reasons(errors, stage)
    return {}


def validate_frame(
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    stage: str,
    warning_schema: pa.DataFrameSchema | None = None,
    row_ids: str | None = "udi",
) -> ValidationOutcome:
    """Split ``frame`` into typed valid rows and quarantined rows with reasons.

    Raises :class:`DataValidationError` when the input as a whole is unusable (a required column
    is missing, a column of the wrong kind). No valid row at all is not an error here: the
    caller decides, after writing the quarantine.
    """
    missing = [n for n, c in schema.columns.items() if c.required and n not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{stage} input is missing required column(s): {', '.join(missing)}"
        )
    frame = frame.reset_index(drop=True)
    parsed, reasons = _parse(frame, schema, stage)
    for index, extra in _run(schema, parsed, stage).items():
        reasons.setdefault(index, []).extend(extra)

    bad_index = sorted(reasons)
    quarantined = frame.loc[bad_index].copy()
    quarantined.insert(0, ROW_COLUMN, [i + 1 for i in bad_index])
    quarantined[REASON_COLUMN] = ["; ".join(reasons[i]) for i in bad_index]
    # the plant columns' text is parsed by their checks, kept typed here (as the batch check does)
    valid = with_plant_columns(parsed.drop(index=[i for i in bad_index if i in parsed.index]))

    warnings: dict[str, list[Any]] = {}
    if warning_schema is not None and not valid.empty:
        warnings = _collect_warnings(warning_schema, valid, row_ids)
    return ValidationOutcome(
        stage=stage, valid=valid.reset_index(drop=True), quarantined=quarantined, warnings=warnings
    )


def _collect_warnings(
    schema: pa.DataFrameSchema, frame: pd.DataFrame, row_ids: str | None
) -> dict[str, list[Any]]:
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        found: dict[str, list[Any]] = {}
        cases = errors.failure_cases.dropna(subset=["index"])
        for _, case in cases.iterrows():
            ids = found.setdefault(str(case["check"]), [])
            row = frame.loc[case["index"]]
            key = row[row_ids] if row_ids and row_ids in frame.columns else int(case["index"]) + 1
            value = key.item() if hasattr(key, "item") else key
            if value not in ids:
                ids.append(value)
        return found
    return {}
