"""Errors a user can act on. The CLI prints their message without a traceback."""

from __future__ import annotations

from pathlib import Path

#: What to do when no model is registered: every "no model" message ends with it.
TRAIN_HINT = "train one with `predmaint run` (or `make run`)"


class PredmaintError(Exception):
    """Base class: the message says what went wrong and what to do."""


class DataAcquisitionError(PredmaintError):
    """The raw AI4I 2020 file could not be fetched or is not what it should be."""


class DataValidationError(PredmaintError):
    """A whole input is unusable (a missing column, no good row left).

    Row-level problems never raise: those rows are quarantined and the good ones go on.
    """

    def __init__(
        self,
        message: str,
        quarantine_path: Path | None = None,
        reasons: dict[str, int] | None = None,
    ) -> None:
        if reasons:
            # The most frequent rules: a failed task or command says why without opening a file.
            shown = "; ".join(f"{rule} ({count} rows)" for rule, count in list(reasons.items())[:3])
            message = f"{message}; rules broken: {shown}"
        if quarantine_path is not None:
            message = f"{message} (quarantined rows: {quarantine_path})"
        super().__init__(message)
        self.quarantine_path = quarantine_path
        self.reasons = reasons or {}


class UnreadableInputError(PredmaintError):
    """An input file cannot be read as readings at all (truncated, empty, not a CSV/Parquet).

    The batch job quarantines such a file whole, with this message as its reason, and scores the
    day's other files.
    """


class ModelNotFoundError(PredmaintError):
    """No registered model (or alias) to load."""


class HomeBusyError(PredmaintError):
    """Another predmaint command holds the project home (one training or main job at a time)."""
