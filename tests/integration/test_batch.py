"""Batch scoring end to end: the champion scores a day, bad readings are quarantined, re-runs
replace that day only."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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
from predmaint.inference.work_orders import WORK_ORDER_COLUMNS, collect_work_orders
from predmaint.models.compiled import PARITY_TOLERANCE
from predmaint.models.loading import load_model
from predmaint.settings import Settings
from predmaint.storage import partition_dir, read_json
from tests.support.project import make_settings, scored_parts

DAY = date(2026, 12, 2)


def test_simulated_day_is_scored_with_risk_and_report(scoring_home: Settings) -> None:
    report = run_batch(scoring_home, DAY, rows=300)
    scored = scored_parts(scoring_home, DAY)
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
    on_disk = read_json(partition_dir(scoring_home.predictions_dir, DAY) / REPORT_FILE)
    assert on_disk["risk_levels"] == report.risk_levels
    assert sum(report.risk_levels.values()) == 300
    assert report.predicted_failures == int(failures.sum())
    assert len(report.alerts) == min(int(failures.sum()), 200)


def test_batch_outputs_carry_failure_mode_and_utilisation_columns(scoring_home: Settings) -> None:
    # given a plant file with readings that break the OSF rule on machines of each type
    frame = simulate_readings(200, DAY, seed=11)
    frame.loc[:5, ["rotational_speed", "torque", "tool_wear"]] = (1300.0, 62.0, 195.0)
    frame.loc[:5, "type"] = "L"
    folder = inference_partition(scoring_home, DAY)
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "plant.parquet", index=False)
    # when the day is scored
    report = run_batch(scoring_home, DAY)
    scored = scored_parts(scoring_home, DAY).sort_values("udi").reset_index(drop=True)
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
    on_disk = read_json(partition_dir(scoring_home.predictions_dir, DAY) / REPORT_FILE)
    assert on_disk["failure_modes"] == report.failure_modes


def test_predictions_match_the_champion_on_the_same_readings(scoring_home: Settings) -> None:
    run_batch(scoring_home, DAY, rows=200)
    scored = scored_parts(scoring_home, DAY).sort_values("udi")
    model = load_model(scoring_home)
    direct = model.failure_probability(scored)
    # the batch scores with the compiled champion: equal to the pyfunc within the parity bound
    assert scored["failure_probability"].to_numpy() == pytest.approx(direct, abs=PARITY_TOLERANCE)


def test_bad_readings_are_quarantined_and_the_rest_scored(scoring_home: Settings) -> None:
    # given a plant CSV with four bad rows and a row of a type the model does not serve
    frame = simulate_readings(50, DAY).astype({"torque": str, "air_temperature": str, "type": str})
    frame.loc[3, "torque"] = "broken"
    frame.loc[4, "air_temperature"] = "27.0"  # °C, not K
    frame.loc[5, "udi"] = frame["udi"].iloc[6]
    frame.loc[7, "type"] = "M"
    folder = inference_partition(scoring_home, DAY)
    folder.mkdir(parents=True)
    frame.to_csv(folder / "plant-a.csv", index=False)
    # when scored
    report = run_batch(scoring_home, DAY)
    # then 46 readings are scored and 4 quarantined, with reasons, nothing simulated
    assert (report.rows_scored, report.rows_quarantined) == (46, 4)
    # (the batch's quarantine lives in the day's partition, linked from quarantine/ds=…/inference)
    quarantine = pd.read_csv(
        scoring_home.quarantine_dir / f"ds={DAY}" / "inference" / "inference-plant-a.csv"
    )
    reasons = " | ".join(quarantine["quarantine_reason"])
    for word in ("torque", "air_temperature", "udi: duplicate", "not served"):
        assert word in reasons
    assert not (folder / "simulated.parquet").exists()
    assert report.simulated is False


def test_rerunning_a_day_replaces_that_day_only(scoring_home: Settings) -> None:
    other = DAY - timedelta(days=1)
    run_batch(scoring_home, other, rows=100)
    run_batch(scoring_home, DAY, rows=100)
    before_other = scored_parts(scoring_home, other)
    # a second file arrives for DAY; the re-run includes it and nothing else changes
    simulate_readings(40, DAY, seed=7).to_csv(
        inference_partition(scoring_home, DAY) / "late.csv", index=False
    )
    report = run_batch(scoring_home, DAY)
    assert report.rows_scored == 140 and report.inputs == 2
    assert len(scored_parts(scoring_home, DAY)) == 140
    pd.testing.assert_frame_equal(before_other, scored_parts(scoring_home, other))
    assert sorted(p.name for p in scoring_home.predictions_dir.iterdir()) == [
        f"ds={other}",
        f"ds={DAY}",
    ]


def test_per_file_scoring_and_report_drop_stale_parts(scoring_home: Settings) -> None:
    # the Airflow path: one call per file, then the report
    model = load_model(scoring_home)
    out = partition_dir(scoring_home.predictions_dir, DAY)
    first = simulate_day(scoring_home, DAY, 30)
    second = inference_partition(scoring_home, DAY) / "extra.parquet"
    simulate_readings(20, DAY, seed=3).to_parquet(second, index=False)
    parts = [score_file(scoring_home, DAY, p, model) for p in (first, second)]
    write_report(scoring_home, DAY, parts, model.info.version)
    assert len(list(out.glob("part-*.parquet"))) == 2
    second.unlink()
    report = write_report(scoring_home, DAY, parts[:1], model.info.version)
    assert [p.name for p in out.glob("part-*.parquet")] == ["part-simulated.parquet"]
    assert report.rows_scored == 30


def test_a_day_with_only_bad_readings_fails_clearly(scoring_home: Settings) -> None:
    folder = inference_partition(scoring_home, DAY)
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
        run_batch(scoring_home, DAY)


def test_no_champion_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="predmaint run"):
        run_batch(make_settings(tmp_path), DAY, rows=10)


def test_a_simulated_plant_day_writes_work_orders_one_per_machine(scoring_home: Settings) -> None:
    # given a plant of 8 machines whose day is simulated and scored
    plant = scoring_home.model_copy(update={"simulated_machines": 8})
    report = run_batch(plant, DAY, rows=800)
    scored = scored_parts(plant, DAY)
    folder = partition_dir(plant.predictions_dir, DAY)
    # then the readings keep their machine and time, and the day has both work-order files
    assert scored["machine_id"].nunique() == 8
    assert str(scored["timestamp"].dtype) == "datetime64[us, UTC]"
    table = pd.read_csv(folder / "work_orders.csv", dtype={"machine_id": str}, encoding="utf-8")
    records = read_json(folder / "work_orders.json")
    assert tuple(table.columns) == WORK_ORDER_COLUMNS, "the documented CMMS columns"
    assert [tuple(r) for r in records] == [WORK_ORDER_COLUMNS] * len(table)
    assert table["machine_id"].tolist() == [r["machine_id"] for r in records]
    # one row per machine with an alert, with its alert count and last reading, worst first
    alerts = scored[scored["prediction"] == 1].groupby("machine_id")
    assert len(alerts) >= 3, "the day must exercise the ranking"
    assert report.work_orders == len(table) == len(alerts)
    assert table["machine_id"].is_unique
    counts = alerts.size()
    assert dict(zip(table["machine_id"], table["alert_readings"], strict=True)) == counts.to_dict()
    assert (table["failure_probability"].diff().dropna() <= 0).all()
    assert table["priority"].tolist() == list(range(1, len(table) + 1))
    for row in table.itertuples():
        readings = scored[scored["machine_id"] == row.machine_id]
        top = readings["failure_probability"].max()
        worst = readings[readings["failure_probability"] == top]  # ties: any of them
        assert row.failure_probability == pytest.approx(top, abs=1e-6)
        assert row.prediction_id in set(worst["prediction_id"])
        assert row.risk_level == worst["risk_level"].iloc[0]
        assert row.last_reading_at == readings["timestamp"].max().isoformat()


def test_plant_columns_from_a_csv_are_checked_and_lone_readings_rank_alone(
    scoring_home: Settings,
) -> None:
    # given a plant CSV: ISO text times, one of them broken, and readings without a machine id
    frame = simulate_readings(400, DAY, seed=12, machines=4)
    frame["timestamp"] = frame["timestamp"].map(lambda t: t.isoformat())
    frame.loc[3, "timestamp"] = "25/12/2026 8h"
    frame.loc[frame.index % 5 == 0, "machine_id"] = None
    folder = inference_partition(scoring_home, DAY)
    folder.mkdir(parents=True)
    frame.to_csv(folder / "line.csv", index=False)
    # when the day is scored
    report = run_batch(scoring_home, DAY)
    # then the bad time is quarantined with a reason naming the field, the rest scored
    assert report.quality.quarantine_reasons == {
        "timestamp must be an ISO 8601 date-time, e.g. 2026-11-25T08:30:00Z": 1
    }
    scored = scored_parts(scoring_home, DAY)
    lone = scored[scored["machine_id"].isna() & (scored["prediction"] == 1)]
    orders = read_json(partition_dir(scoring_home.predictions_dir, DAY) / "work_orders.json")
    unnamed = [o for o in orders if o["machine_id"] is None]
    assert sorted(o["prediction_id"] for o in unnamed) == sorted(lone["prediction_id"])
    assert all(o["alert_readings"] == 1 for o in unnamed)
    assert (
        len(orders) == len(unnamed) + scored.loc[scored["prediction"] == 1, "machine_id"].nunique()
    )


def test_work_orders_counted_while_scoring_equal_those_read_back(scoring_home: Settings) -> None:
    # given a plant day in two files, scored in chunks of 150 readings
    plant = scoring_home.model_copy(update={"simulated_machines": 6, "batch_chunk_rows": 150})
    folder = inference_partition(plant, DAY)
    folder.mkdir(parents=True)
    day = simulate_readings(900, DAY, seed=11, machines=6)
    day.iloc[:500].to_parquet(folder / "line_a.parquet", index=False)
    day.iloc[500:].to_csv(folder / "line_b.csv", index=False)
    # when the day is scored (the job counts the orders as it goes)
    report = run_batch(plant, DAY)
    out = partition_dir(plant.predictions_dir, DAY)
    written = pd.read_csv(out / "work_orders.csv", dtype={"machine_id": str})
    # then they are the orders the published part files give when read back
    read_back = collect_work_orders(sorted(out.glob("part-*.parquet"))).table()
    assert report.work_orders == len(written) == len(read_back) > 0
    expected = pd.read_csv(io.StringIO(read_back.to_csv(index=False)), dtype={"machine_id": str})
    pd.testing.assert_frame_equal(written, expected)


@pytest.mark.parametrize("types", ["mixed", "one"])
def test_score_frame_gives_the_columns_added_one_by_one(scoring_home: Settings, types: str) -> None:
    # given valid readings of several machine types (some missing), or of type H only
    import numpy as np

    from predmaint.inference.batch import _categorical, osf_limits, score_frame
    from predmaint.inference.risk import risk_level_codes

    frame = simulate_readings(400, DAY, seed=5)
    frame.loc[:150, ["rotational_speed", "torque", "tool_wear"]] = (1300.0, 62.0, 210.0)
    if types == "mixed":
        frame["type"] = pd.Series(["L", "M", "H", None] * 100, dtype="str")
    else:
        frame["type"] = pd.Series(["H"] * 400, dtype="str")
    model = load_model(scoring_home)
    # when the chunk is scored (numbers apart, the frame built once)
    scored = score_frame(scoring_home, frame, model)
    # then it is the frame the columns added one by one to a copy gave before
    sensors = frame[list(SENSOR_COLUMNS)].to_numpy(dtype=np.float64)
    probability = model.bulk_failure_probability(sensors)
    failure = probability >= model.threshold
    codes = risk_level_codes(probability, model.threshold)
    expected = frame.copy()
    expected["prediction"] = failure.astype(np.int64)
    expected["failure_probability"] = probability
    expected["probability"] = np.where(failure, probability, 1.0 - probability)
    expected["risk_level"] = _categorical(codes, RISK_LEVELS)
    expected["recommendation"] = None
    _add_diagnosis_one_by_one(expected, sensors, failure, codes, model, scoring_home.language)
    zeros = np.zeros(len(frame), np.int8)
    expected["model_name"] = _categorical(zeros, [model.info.name])
    expected["model_version"] = _categorical(zeros, [model.info.version])
    assert failure.sum() > 0 and scored["failure_mode"].notna().sum() > 0
    pd.testing.assert_frame_equal(scored.drop(columns="scored_at"), expected)
    limits = osf_limits(frame)
    assert (np.ndim(limits) == 0) == (types == "one")
    assert np.array_equal(np.broadcast_to(limits, len(frame)), overstrain_limits(frame["type"]))


def _add_diagnosis_one_by_one(
    scored: pd.DataFrame,
    sensors: Any,
    failure: Any,
    level_codes: Any,
    model: Any,
    language: Any,
) -> None:
    """The diagnosis columns as the batch job added them before ``chunk_scores``: one at a time,
    the mode model on predicted failures only, texts as codes into the (level, mode) table."""
    import numpy as np

    from predmaint.features.mechanisms import MODES, OSF_LIMITS, utilisation_many
    from predmaint.inference.batch import _categorical
    from predmaint.inference.diagnosis import recommendation_table

    limits = overstrain_limits(scored["type"]) if "type" in scored.columns else OSF_LIMITS["L"]
    utilisation = utilisation_many(sensors, limits)
    mode_codes = np.full(len(sensors), -1, dtype=np.int8)
    mode_probability = np.full(len(sensors), np.nan)
    failing = np.flatnonzero(failure)
    if model.mode_scorer is not None and len(failing):
        mode_codes[failing], mode_probability[failing] = model.mode_scorer.best_many(
            sensors[failing]
        )
    scored["failure_mode"] = _categorical(mode_codes, MODES)
    scored["failure_mode_probability"] = mode_probability
    for position, column in enumerate(UTILISATION_COLUMNS):
        scored[column] = utilisation[:, position]
    texts = tuple(recommendation_table(language).values())
    text_codes = level_codes.astype(np.int16) * (len(MODES) + 1) + (mode_codes + 1)
    scored["recommendation"] = _categorical(text_codes, texts)
