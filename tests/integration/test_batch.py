"""Batch scoring end to end: the champion scores a day, bad readings are quarantined, re-runs
replace that day only."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.data.simulate import simulate_readings
from predmaint.errors import DataValidationError, ModelNotFoundError
from predmaint.features.mechanisms import UTILISATION_COLUMNS, overstrain_limits, utilisation_one
from predmaint.inference.batch import (
    REPORT_FILE,
    inference_partition,
    run_batch,
    score_file,
    simulate_day,
    write_report,
)
from predmaint.inference.risk import RISK_LEVELS
from predmaint.models.compiled import PARITY_TOLERANCE
from predmaint.models.loading import load_model
from predmaint.settings import Settings
from predmaint.storage import partition_dir, read_json
from tests.support.project import make_settings

DAY = date(2026, 12, 2)


@pytest.fixture
def home(trained_home: Settings, tmp_path: Path) -> Settings:
    """The shared champion, with this test's own data folder."""
    return trained_home.model_copy(update={"data_dir": tmp_path / "data"})


def _predictions(settings: Settings, ds: date) -> pd.DataFrame:
    folder = partition_dir(settings.predictions_dir, ds)
    return pd.concat(pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet")))


def test_simulated_day_is_scored_with_risk_and_report(home: Settings) -> None:
    report = run_batch(home, DAY, rows=300)
    scored = _predictions(home, DAY)
    assert len(scored) == 300 == report.rows_scored
    assert report.simulated is True
    expected = {
        "udi",
        "air_temperature",
        "tool_wear",
        "prediction",
        "probability",
        "failure_probability",
        "risk_level",
        "recommendation",
        "model_version",
    }
    assert expected <= set(scored.columns)
    assert set(scored["risk_level"]) <= set(RISK_LEVELS)
    failures = scored["prediction"] == 1
    assert scored.loc[failures, "risk_level"].isin(["Alto", "Crítico"]).all()
    assert scored.loc[~failures, "risk_level"].isin(["Baixo", "Médio"]).all()
    assert (scored["model_version"] == report.model_version).all()
    on_disk = read_json(partition_dir(home.predictions_dir, DAY) / REPORT_FILE)
    assert on_disk["risk_levels"] == report.risk_levels
    assert sum(report.risk_levels.values()) == 300
    assert report.predicted_failures == int(failures.sum())
    assert len(report.alerts) == min(int(failures.sum()), 200)


def test_batch_outputs_carry_failure_mode_and_utilisation_columns(home: Settings) -> None:
    # given a plant file with readings that break the OSF rule on machines of each type
    frame = simulate_readings(200, DAY, seed=11)
    frame.loc[:5, ["rotational_speed", "torque", "tool_wear"]] = (1300.0, 62.0, 195.0)
    frame.loc[:5, "type"] = "L"
    folder = inference_partition(home, DAY)
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "plant.parquet", index=False)
    # when the day is scored
    report = run_batch(home, DAY)
    scored = _predictions(home, DAY).sort_values("udi").reset_index(drop=True)
    # then every reading has its mechanisms' utilisation, equal to the scalar diagnosis
    assert set(UTILISATION_COLUMNS) <= set(scored.columns)
    sensors = scored[list(SENSOR_COLUMNS)].to_numpy(float)
    limits = overstrain_limits(scored["type"].to_numpy(object))
    for row in (0, 50, 199):
        expected = [use for _, _, use in utilisation_one(sensors[row], limits[row])]
        measured = scored[list(UTILISATION_COLUMNS)].to_numpy()[row]
        assert measured == pytest.approx(expected)
    assert (scored.loc[:5, "util_osf_overstrain"] > 1).all()
    # and a failure mode (with its probability) exactly for the predicted failures: OSF here
    failing = scored["prediction"] == 1
    assert scored.loc[failing, "failure_mode"].notna().all()
    assert scored.loc[~failing, "failure_mode"].isna().all()
    assert scored.loc[~failing, "failure_mode_probability"].isna().all()
    assert (scored.loc[:5, "failure_mode"] == "OSF").all(), scored.loc[:5]
    texts = scored["recommendation"].astype(str).tolist()[:6]
    assert all("Sobrecarga (OSF)" in text for text in texts), texts
    # and the report counts the predicted failures per mode and the readings per broken rule
    assert report.failure_modes["OSF"] >= 6
    assert sum(report.failure_modes.values()) == report.predicted_failures
    assert report.rules_broken["OSF"] == int((scored["util_osf_overstrain"] >= 1).sum())
    on_disk = read_json(partition_dir(home.predictions_dir, DAY) / REPORT_FILE)
    assert on_disk["failure_modes"] == report.failure_modes


def test_predictions_match_the_champion_on_the_same_readings(home: Settings) -> None:
    run_batch(home, DAY, rows=200)
    scored = _predictions(home, DAY).sort_values("udi")
    model = load_model(home)
    direct = model.failure_probability(scored)
    # the batch scores with the compiled champion: equal to the pyfunc within the parity bound
    assert scored["failure_probability"].to_numpy() == pytest.approx(direct, abs=PARITY_TOLERANCE)


def test_bad_readings_are_quarantined_and_the_rest_scored(home: Settings) -> None:
    # given a plant CSV with four bad rows and a row of a type the model does not serve
    frame = simulate_readings(50, DAY).astype({"torque": str, "air_temperature": str, "type": str})
    frame.loc[3, "torque"] = "broken"
    frame.loc[4, "air_temperature"] = "27.0"  # °C, not K
    frame.loc[5, "udi"] = frame["udi"].iloc[6]
    frame.loc[7, "type"] = "M"
    folder = inference_partition(home, DAY)
    folder.mkdir(parents=True)
    frame.to_csv(folder / "plant-a.csv", index=False)
    # when scored
    report = run_batch(home, DAY)
    # then 46 readings are scored and 4 quarantined, with reasons, nothing simulated
    assert (report.rows_scored, report.rows_quarantined) == (46, 4)
    # (the batch's quarantine lives in the day's partition, linked from quarantine/ds=…/inference)
    quarantine = pd.read_csv(
        home.quarantine_dir / f"ds={DAY}" / "inference" / "inference-plant-a.csv"
    )
    reasons = " | ".join(quarantine["quarantine_reason"])
    for word in ("torque", "air_temperature", "udi: duplicate", "not served"):
        assert word in reasons
    assert not (folder / "simulated.parquet").exists()
    assert report.simulated is False


def test_rerunning_a_day_replaces_that_day_only(home: Settings) -> None:
    other = DAY - timedelta(days=1)
    run_batch(home, other, rows=100)
    run_batch(home, DAY, rows=100)
    before_other = _predictions(home, other)
    # a second file arrives for DAY; the re-run includes it and nothing else changes
    simulate_readings(40, DAY, seed=7).to_csv(
        inference_partition(home, DAY) / "late.csv", index=False
    )
    report = run_batch(home, DAY)
    assert report.rows_scored == 140 and report.inputs == 2
    assert len(_predictions(home, DAY)) == 140
    pd.testing.assert_frame_equal(before_other, _predictions(home, other))
    assert sorted(p.name for p in home.predictions_dir.iterdir()) == [f"ds={other}", f"ds={DAY}"]


def test_per_file_scoring_and_report_drop_stale_parts(home: Settings) -> None:
    # the Airflow path: one call per file, then the report
    model = load_model(home)
    out = partition_dir(home.predictions_dir, DAY)
    first = simulate_day(home, DAY, 30)
    second = inference_partition(home, DAY) / "extra.parquet"
    simulate_readings(20, DAY, seed=3).to_parquet(second, index=False)
    parts = [score_file(home, DAY, p, model) for p in (first, second)]
    write_report(home, DAY, parts, model.info.version)
    assert len(list(out.glob("part-*.parquet"))) == 2
    second.unlink()
    report = write_report(home, DAY, parts[:1], model.info.version)
    assert [p.name for p in out.glob("part-*.parquet")] == ["part-simulated.parquet"]
    assert report.rows_scored == 30


def test_a_day_with_only_bad_readings_fails_clearly(home: Settings) -> None:
    folder = inference_partition(home, DAY)
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "air_temperature": [20.0],
            "process_temperature": [30.0],
            "rotational_speed": [1500.0],
            "torque": [40.0],
            "tool_wear": [5.0],
        }
    ).to_csv(folder / "celsius.csv", index=False)
    with pytest.raises(DataValidationError, match="no valid reading"):
        run_batch(home, DAY)


def test_no_champion_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="predmaint run"):
        run_batch(make_settings(tmp_path), DAY, rows=10)
