"""The feature job on the real file: partitions, reports, quarantine, retention, idempotence."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from predmaint.data.acquire import read_ai4i
from predmaint.errors import DataValidationError
from predmaint.features.formulas import DERIVED_FEATURES
from predmaint.features.job import (
    FEATURE_REPORT,
    FEATURES_FILE,
    QUALITY_REPORT,
    build_features,
    extract_features,
    latest_features,
    validate_features,
)
from predmaint.storage import read_json
from tests.support.project import DAY, make_settings


def test_real_file_gives_6000_type_l_rows_with_features(raw_csv: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    result = build_features(settings, DAY)
    folder = settings.processed_dir / f"ds={DAY}"
    assert result.features_path == folder / FEATURES_FILE
    frame = pd.read_parquet(result.features_path)
    assert len(frame) == 6000 and set(frame["type"]) == {"L"}
    assert int(frame["machine_failure"].sum()) == 235
    assert set(DERIVED_FEATURES) <= set(frame.columns)
    quality = read_json(folder / QUALITY_REPORT)
    assert quality["rows_in"] == 10_000 and quality["rows_quarantined"] == 0
    assert quality["rows_kept"] == 6000 and quality["rows_other_types"] == 4000
    assert quality["failure_rate"] == pytest.approx(0.0392, abs=1e-4)
    features = read_json(folder / FEATURE_REPORT)
    assert features["rows_valid"] == 6000
    assert features["statistics"]["temp_difference"]["mean"] == pytest.approx(10.0, abs=0.1)


def test_bad_rows_are_quarantined_and_good_rows_go_on(raw_csv: Path, tmp_path: Path) -> None:
    # given a raw file with three broken Type L rows
    frame = read_ai4i(raw_csv)
    broken = frame.index[frame["type"] == "L"][:3]
    frame.loc[broken[0], "torque"] = "n/a"
    frame.loc[broken[1], "air_temperature"] = "26.1"
    frame.loc[broken[2], "tool_wear"] = None
    raw = tmp_path / "raw.csv"
    frame.to_csv(raw, index=False)
    settings = make_settings(tmp_path, raw=raw)
    # when the job runs
    result = build_features(settings, DAY)
    # then 5,997 rows go on and the three are in the quarantine with reasons
    assert len(pd.read_parquet(result.features_path)) == 5997
    quarantine = pd.read_csv(settings.quarantine_dir / f"ds={DAY}" / "raw.csv", dtype=str)
    assert len(quarantine) == 3
    assert quarantine["quarantine_reason"].str.contains("torque|air_temperature|tool_wear").all()
    assert result.quality_report.rows_quarantined == 3
    quarantine_path = result.quality_report.quarantine_path
    assert quarantine_path is not None and quarantine_path.endswith("raw.csv")


def test_derived_feature_out_of_bounds_is_quarantined(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    build_features(settings, DAY)
    path = extract_features(settings, DAY)
    frame = pd.read_parquet(path)
    frame.loc[5, "thermal_efficiency"] = 7.0  # corrupted after extraction
    frame.to_parquet(path, index=False)
    report = validate_features(settings, DAY)
    assert report.rows_quarantined == 1
    assert "thermal_efficiency must be in" in next(iter(report.quarantine_reasons))
    assert len(pd.read_parquet(path)) == 5999


def test_rerun_is_idempotent_and_old_partitions_are_cleaned(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_days=7)
    old = DAY - timedelta(days=30)
    build_features(settings, old)
    first = build_features(settings, DAY)
    assert [p.name for p in first.removed_partitions] == [f"ds={old}"]
    before = pd.read_parquet(first.features_path)
    second = build_features(settings, DAY)
    pd.testing.assert_frame_equal(before, pd.read_parquet(second.features_path))
    assert sorted(p.name for p in settings.processed_dir.iterdir()) == [f"ds={DAY}"]


def test_no_row_of_the_kept_type_fails_clearly(raw_csv: Path, tmp_path: Path) -> None:
    frame = read_ai4i(raw_csv)
    only_m = tmp_path / "m.csv"
    frame[frame["type"] == "M"].to_csv(only_m, index=False)
    with pytest.raises(DataValidationError, match=r"no valid row of machine type\(s\) \['L'\]"):
        build_features(make_settings(tmp_path, raw=only_m), DAY)


def test_machine_types_are_configurable(tmp_path: Path) -> None:
    result = build_features(make_settings(tmp_path, machine_types=["L", "M"]), DAY)
    assert result.quality_report.rows_kept == 8997


def test_latest_features_names_the_missing_step(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="predmaint features"):
        latest_features(make_settings(tmp_path), date(2020, 1, 1))
