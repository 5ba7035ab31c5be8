"""The batch job against broken files, re-runs, repeated readings and chunking (issue 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from predmaint.data.simulate import simulate_readings
from predmaint.inference.batch import (
    PARTIAL_EXIT_CODE,
    inference_partition,
    run_batch,
    score_file,
    write_report,
)
from predmaint.models.loading import load_model
from predmaint.settings import Settings
from predmaint.storage import partition_dir

DAY = date(2026, 12, 3)


def _broken_files(folder: Path) -> dict[str, str]:
    """Four unreadable files and the words their reasons must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    simulate_readings(500, DAY, seed=4).to_parquet(folder / "whole.parquet", index=False)
    data = (folder / "whole.parquet").read_bytes()
    (folder / "truncated.parquet").write_bytes(data[: len(data) // 2])
    (folder / "whole.parquet").unlink()
    (folder / "empty.csv").write_bytes(b"")
    (folder / "noise.csv").write_bytes(np.random.default_rng(1).bytes(4000))
    rows = simulate_readings(20, DAY, seed=5).to_csv(index=False).splitlines()
    rows[9] += ",surplus"
    (folder / "wide.csv").write_text("\n".join(rows) + "\n")
    return {
        "truncated.parquet": "parquet",
        "empty.csv": "empty",
        "noise.csv": "",
        "wide.csv": "column",
    }


def test_unreadable_files_are_quarantined_whole_and_the_others_scored(
    scoring_home: Settings,
) -> None:
    # given a day with one good file and four unreadable ones
    folder = inference_partition(scoring_home, DAY)
    broken = _broken_files(folder)
    simulate_readings(300, DAY, seed=2).to_csv(folder / "good.csv", index=False)
    # when the day is scored
    report = run_batch(scoring_home, DAY)
    # then the good file is scored, each bad file is quarantined whole with its reason
    assert report.status == "partial"
    assert report.rows_scored == 300 and report.rows_in == 300
    assert set(report.quality.unreadable_files) == set(broken)
    for name, word in broken.items():
        reason = report.quality.unreadable_files[name]
        assert name in reason and word in reason.lower(), reason
    rejected = partition_dir(scoring_home.predictions_dir, DAY) / "quarantine"
    for name in broken:
        assert (rejected / f"unreadable-{name}").read_bytes() == (folder / name).read_bytes()
    # and the quarantine is shown beside the feature job's, through the link
    assert (
        scoring_home.quarantine_dir / f"ds={DAY}" / "inference" / "unreadable-empty.csv"
    ).is_file()


def test_infer_exits_partial_with_one_line_per_bad_file_and_no_traceback(
    scoring_home: Settings,
) -> None:
    folder = inference_partition(scoring_home, DAY)
    broken = _broken_files(folder)
    simulate_readings(100, DAY, seed=2).to_parquet(folder / "good.parquet", index=False)
    env = {
        **os.environ,
        "PREDMAINT_HOME": str(scoring_home.home),
        "PREDMAINT_DATA_DIR": str(scoring_home.data_dir),
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("predmaint")), "infer", "--date", str(DAY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == PARTIAL_EXIT_CODE, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.startswith("quarantined whole")]
    assert sorted(line.split(":")[1].strip() for line in lines) == sorted(broken)
    assert "partial" in done.stdout


def test_a_clean_rerun_replaces_the_days_quarantine(scoring_home: Settings) -> None:
    folder = inference_partition(scoring_home, DAY)
    folder.mkdir(parents=True)
    frame = simulate_readings(50, DAY, seed=3)
    frame.loc[4, "torque"] = -1.0
    frame.to_csv(folder / "line.csv", index=False)
    first = run_batch(scoring_home, DAY)
    rejected = (
        partition_dir(scoring_home.predictions_dir, DAY) / "quarantine" / "inference-line.csv"
    )
    assert first.rows_quarantined == 1 and rejected.is_file()
    # the plant resends the file, corrected: the re-run's report and quarantine agree
    frame.loc[4, "torque"] = 40.0
    frame.to_csv(folder / "line.csv", index=False)
    second = run_batch(scoring_home, DAY)
    assert second.rows_quarantined == 0 and second.rows_scored == 50
    assert not rejected.exists()
    assert not list((scoring_home.quarantine_dir / f"ds={DAY}" / "inference").iterdir())


def test_per_file_path_drops_a_quarantine_the_file_no_longer_has(scoring_home: Settings) -> None:
    # the Airflow path (no staging folder): score_file, then write_report
    model = load_model(scoring_home)
    folder = inference_partition(scoring_home, DAY)
    folder.mkdir(parents=True)
    frame = simulate_readings(30, DAY, seed=6)
    frame.loc[2, "air_temperature"] = 20.0
    frame.to_csv(folder / "line.csv", index=False)
    write_report(
        scoring_home, DAY, [score_file(scoring_home, DAY, folder / "line.csv", model)], "x"
    )
    rejected = (
        partition_dir(scoring_home.predictions_dir, DAY) / "quarantine" / "inference-line.csv"
    )
    assert rejected.is_file()
    frame.loc[2, "air_temperature"] = 300.0
    frame.to_csv(folder / "line.csv", index=False)
    summary = score_file(scoring_home, DAY, folder / "line.csv", model)
    report = write_report(scoring_home, DAY, [summary], "x")
    assert report.rows_quarantined == 0 and not rejected.exists()


def test_repeated_readings_are_counted_and_kept(scoring_home: Settings) -> None:
    # given 1,000 readings of which 500 repeat earlier ones exactly, under new row ids
    frame = simulate_readings(500, DAY, seed=8)
    again = frame.copy()
    again["udi"] = frame["udi"] + 10_000
    day = pd.concat([frame, again], ignore_index=True)
    folder = inference_partition(scoring_home, DAY)
    folder.mkdir(parents=True)
    day.to_parquet(folder / "replayed.parquet", index=False)
    # when scored in chunks smaller than the file (repeats span chunks)
    report = run_batch(scoring_home.model_copy(update={"batch_chunk_rows": 128}), DAY)
    # then the repeats are reported, not quarantined
    assert report.quality.repeated_readings == 500
    assert report.rows_scored == 1000 and report.rows_quarantined == 0
    assert report.files[0].repeated_examples[:3] == again["udi"].head(3).tolist()


def test_chunked_scoring_equals_one_chunk(scoring_home: Settings) -> None:
    frame = simulate_readings(1000, DAY, seed=9)
    frame.loc[10, "udi"] = frame["udi"].iloc[900]  # a duplicate across chunks
    frame.loc[20, "torque"] = 500.0
    folder = inference_partition(scoring_home, DAY)
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "day.parquet", index=False)
    whole = run_batch(scoring_home.model_copy(update={"batch_chunk_rows": 5000}), DAY)
    one = pd.read_parquet(partition_dir(scoring_home.predictions_dir, DAY) / "part-day.parquet")
    chunked = run_batch(scoring_home.model_copy(update={"batch_chunk_rows": 100}), DAY)
    part = partition_dir(scoring_home.predictions_dir, DAY) / "part-day.parquet"
    assert pq.ParquetFile(part).num_row_groups == 10
    many = pd.read_parquet(part)
    assert (whole.rows_scored, whole.rows_quarantined) == (998, 2)
    assert (chunked.rows_scored, chunked.quality.quarantine_reasons) == (
        whole.rows_scored,
        whole.quality.quarantine_reasons,
    )
    columns = ["udi", "failure_probability", "risk_level", "prediction"]
    pd.testing.assert_frame_equal(one[columns], many[columns])
