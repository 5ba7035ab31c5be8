"""Outcomes in real files: validated, quarantined with reasons, recorded atomically, latest kept."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from predmaint.data.validation import REASON_COLUMN
from predmaint.errors import DataValidationError
from predmaint.monitoring.outcomes import (
    INGESTED_DIR,
    ingest_dropped,
    load_outcomes,
    read_outcome_file,
    record_outcomes,
)
from predmaint.settings import Settings
from predmaint.storage import partition_dir

DAY = date(2026, 11, 27)
KNOWN = {"20261125-aaaa", "20261125-bbbb", "20261125-cccc", "01JD0000000000000000000000"}
AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_csv_file_is_recorded_and_bad_rows_quarantined_with_field_and_rule(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_factory()
    source = write_csv(
        tmp_path / "feedback.csv",
        "prediction_id,outcome,failure_mode,observed_at,note\n"
        "20261125-aaaa,failure,hdf,2026-11-25T14:00:00Z,bearing hot\n"
        "20261125-bbbb, No_Failure ,,,\n"
        "20261125-cccc,broken,,,\n"
        "20261125-zzzz,failure,,,\n"
        "01JD0000000000000000000000,no_failure,OSF,,\n"
        "20261125-cccc,failure,XYZ,,\n"
        "20261125-cccc,failure,,yesterday,\n",
    )
    # when the file is recorded
    result = record_outcomes(
        settings, read_outcome_file(source), known_ids=KNOWN, source=source.name, recorded_at=AT
    )
    # then the two good rows are recorded and the five bad ones quarantined with reasons
    assert (result.rows_in, result.rows_recorded, result.rows_quarantined) == (7, 2, 5)
    assert result.recorded_path is not None
    assert result.recorded_path.parent == partition_dir(settings.outcomes_dir, DAY)
    quarantine = pd.read_csv(result.quarantine_path)  # type: ignore[arg-type]
    reasons = dict(zip(quarantine["source_row"], quarantine[REASON_COLUMN], strict=True))
    assert reasons[3] == "outcome must be one of failure, no_failure", reasons
    assert reasons[4].startswith("prediction_id: unknown")
    assert reasons[5] == "failure_mode: only allowed when outcome is failure"
    assert reasons[6] == "failure_mode must be one of TWF, HDF, PWF, OSF, RNF"
    assert reasons[7].startswith("observed_at must be an ISO 8601 date-time")
    recorded = pd.read_parquet(result.recorded_path)
    assert recorded["outcome"].tolist() == ["failure", "no_failure"], "trimmed, lower-cased"
    assert recorded["failure_mode"].tolist()[0] == "HDF"
    # an outcome without observed_at counts as observed when it was recorded
    assert recorded["observed_at"].tolist()[1] == pd.Timestamp(AT)
    assert not list(result.recorded_path.parent.glob(".*.tmp")), "no temporary file left"


def test_the_same_id_twice_keeps_the_latest_observation_then_the_last_recorded(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory()
    first = pd.DataFrame(
        {
            "prediction_id": ["20261125-aaaa", "20261125-bbbb", "20261125-aaaa"],
            "outcome": ["no_failure", "failure", "failure"],
            "observed_at": ["2026-11-25T10:00:00", "2026-11-25T12:00:00", "2026-11-25T11:00:00"],
        }
    )
    record_outcomes(settings, first, known_ids=KNOWN, source="api", recorded_at=AT)
    # a later file: an older observation of aaaa (ignored) and a new one for bbbb
    later = pd.DataFrame(
        {
            "prediction_id": ["20261125-aaaa", "20261125-bbbb"],
            "outcome": ["no_failure", "no_failure"],
            "observed_at": ["2026-11-25T09:00:00", "2026-11-25T12:00:00"],
        }
    )
    record_outcomes(
        settings,
        later,
        known_ids=KNOWN,
        source="cli",
        recorded_at=datetime(2026, 11, 28, tzinfo=UTC),
    )
    latest = load_outcomes(settings, end=date(2026, 11, 28)).set_index("prediction_id")
    assert latest.loc["20261125-aaaa", "outcome"] == "failure", "latest observed_at wins"
    assert latest.loc["20261125-bbbb", "outcome"] == "no_failure", "a tie: last recorded wins"
    assert len(latest) == 2
    # read as of the first day, only the first file counts
    assert (
        load_outcomes(settings, end=DAY).set_index("prediction_id").loc["20261125-bbbb", "outcome"]
        == "failure"
    )


def test_replicas_sharing_the_data_folder_never_replace_each_others_records(
    settings_factory: Callable[..., Settings],
) -> None:
    # given two API replicas on one data volume, recording /feedback in the same microsecond
    settings = settings_factory()
    results = [
        record_outcomes(
            settings,
            pd.DataFrame(  # a good outcome and one with a bad failure mode
                {
                    "prediction_id": [pid] * 2,
                    "outcome": ["failure"] * 2,
                    "failure_mode": ["HDF", "?"],
                }
            ),
            known_ids=KNOWN,
            source="api-feedback",
            recorded_at=AT,
            host=host,
        )
        for pid, host in (("20261125-aaaa", "api-7f9c"), ("20261125-bbbb", "api-3e1d"))
    ]
    # then each wrote its own record and its own quarantine file, named after its host
    recorded = [r.recorded_path for r in results]
    quarantined = [r.quarantine_path for r in results]
    assert None not in recorded and None not in quarantined
    assert recorded[0] != recorded[1] and quarantined[0] != quarantined[1]
    assert "-api-7f9c-" in recorded[0].name and "-api-3e1d-" in recorded[1].name  # type: ignore[union-attr]
    assert "-api-7f9c-" in quarantined[0].name  # type: ignore[union-attr]
    # and both outcomes count
    assert set(load_outcomes(settings, end=DAY)["prediction_id"]) == {
        "20261125-aaaa",
        "20261125-bbbb",
    }
    # by default the name is this machine's (a container's hostname in Docker)
    default = record_outcomes(
        settings,
        pd.DataFrame({"prediction_id": ["20261125-cccc"], "outcome": ["no_failure"]}),
        known_ids=KNOWN,
        source="api-feedback",
        recorded_at=AT,
    )
    assert default.recorded_path is not None
    assert f"-{socket.gethostname()}-{os.getpid()}-" in default.recorded_path.name


def test_dropped_files_are_ingested_once_and_an_unusable_one_is_set_aside(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory()
    folder = partition_dir(settings.outcomes_dir, DAY)
    write_csv(folder / "cmms.csv", "prediction_id,outcome\n20261125-aaaa,failure\n")
    pd.DataFrame({"prediction_id": ["20261125-bbbb"], "outcome": ["no_failure"]}).to_parquet(
        folder / "more.parquet"
    )
    write_csv(folder / "wrong.csv", "id,result\n20261125-cccc,failure\n")
    # when the day's drops are ingested
    results = {r.source: r for r in ingest_dropped(settings, DAY, KNOWN)}
    # then the good files are recorded and moved aside; the bad one is quarantined with why
    assert results["cmms.csv"].rows_recorded == 1 and results["more.parquet"].rows_recorded == 1
    assert "missing required column(s): prediction_id, outcome" in next(
        iter(results["wrong.csv"].quarantine_reasons)
    )
    assert sorted(p.name for p in (folder / INGESTED_DIR).iterdir()) == ["cmms.csv", "more.parquet"]
    moved = partition_dir(settings.quarantine_dir, DAY) / "outcomes-wrong.csv"
    assert (
        moved.is_file()
        and "prediction_id" in moved.with_name(moved.name + ".reason.txt").read_text()
    )
    assert ingest_dropped(settings, DAY, KNOWN) == [], "a second run finds nothing new"
    assert len(load_outcomes(settings, end=DAY)) == 2


def test_an_outcome_file_of_another_kind_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="CSV or Parquet"):
        read_outcome_file(write_csv(tmp_path / "notes.txt", "x"))
